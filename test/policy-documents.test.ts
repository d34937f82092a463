/**
 * The permission documents of the roles ServiceAccounts reference (IRSA-023), over real HTTP with
 * the real SDK: the emulator serves GetRolePolicy, GetPolicy, GetPolicyVersion and
 * GetAccountAuthorizationDetails from a snapshot's iam.json as IAM does (URL-encoded documents,
 * NoSuchEntity, Marker paging, injected faults); the collector writes the documents of exactly the
 * roles it looks up into iam.json, and a failed read leaves the names and records an error per role.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetAccountAuthorizationDetailsCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  paginateGetAccountAuthorizationDetails,
} from '@aws-sdk/client-iam';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CollectOptions, collectFleet } from '#shared/collectors/collect-fleet.ts';
import type { IamSnapshot } from '#shared/collectors/iam.ts';
import type { CollectionError } from '#shared/model/fleet.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { assumeRoleIn, awsClients, failure } from '../emulator/testing.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
const PAYMENTS = '210987654321';
const ML = '345678901234';
/** Referenced by a payments ServiceAccount: one inline policy and one customer-managed policy. */
const LEDGER = 'payments-ledger-writer';
const LEDGER_POLICY = `arn:aws:iam::${PAYMENTS}:policy/ledger-writer-dynamodb`;

/** A document as the snapshot holds it (the sample fleet's second account stores them URL-encoded). */
const decoded = (document: unknown) =>
  typeof document === 'string' ? JSON.parse(decodeURIComponent(document)) : document;

/** The snapshot's own iam.json of an account. */
const snapshotIam = (accountId: string) =>
  JSON.parse(readFileSync(join(FLEET, accountId, 'iam.json'), 'utf8')) as {
    Roles: { RoleName: string }[];
    RolePolicies: Record<
      string,
      {
        AttachedPolicies: { PolicyArn: string }[];
        PolicyNames: string[];
        RolePolicyList: { PolicyName: string; PolicyDocument: unknown }[];
      }
    >;
    Policies: {
      Arn: string;
      DefaultVersionId: string;
      PolicyVersionList: { VersionId: string; Document: unknown }[];
    }[];
  };

let emulator: Emulator;
let payments: AwsCredentialIdentity;
const savedEnv = { ...process.env };

beforeAll(async () => {
  emulator = await startEmulator({ fleetDir: FLEET });
  Object.assign(process.env, emulator.env);
  payments = await assumeRoleIn(emulator, PAYMENTS);
});
afterAll(async () => {
  await emulator?.stop();
  process.env = savedEnv;
});
beforeEach(() => {
  emulator.setFaults({});
  emulator.resetCounts();
});

describe('emulator: the policy documents of iam.json', () => {
  it('GetRolePolicy answers an inline document URL-encoded, and NoSuchEntity for an unknown one', async () => {
    const { iam } = awsClients(emulator, payments);
    const answer = await iam.send(
      new GetRolePolicyCommand({ RoleName: LEDGER, PolicyName: 'ledger-kms-encrypt' }),
    );
    expect([answer.RoleName, answer.PolicyName]).toEqual([LEDGER, 'ledger-kms-encrypt']);
    expect(answer.PolicyDocument).toMatch(/^%7B/);
    const stored = snapshotIam(PAYMENTS).RolePolicies[LEDGER]?.RolePolicyList[0]?.PolicyDocument;
    expect(JSON.parse(decodeURIComponent(answer.PolicyDocument ?? ''))).toEqual(stored);
    const policy = await failure(
      iam.send(new GetRolePolicyCommand({ RoleName: LEDGER, PolicyName: 'nope' })),
    );
    expect([policy.name, policy.$metadata?.httpStatusCode, policy.message]).toEqual([
      'NoSuchEntityException',
      404,
      'The role policy with name nope cannot be found.',
    ]);
    const role = await failure(iam.send(new GetRolePolicyCommand({ RoleName: 'nope', PolicyName: 'x' })));
    expect([role.name, role.message]).toEqual([
      'NoSuchEntityException',
      'The role with name nope cannot be found.',
    ]);
  });

  it('GetPolicy names the default version, GetPolicyVersion answers its document', async () => {
    const { iam } = awsClients(emulator, payments);
    const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: LEDGER_POLICY }));
    expect(Policy).toMatchObject({
      PolicyName: 'ledger-writer-dynamodb',
      Arn: LEDGER_POLICY,
      DefaultVersionId: 'v2',
    });
    expect(Policy?.PolicyId).toMatch(/^ANPA/);
    const { PolicyVersion } = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: LEDGER_POLICY, VersionId: 'v2' }),
    );
    expect([PolicyVersion?.VersionId, PolicyVersion?.IsDefaultVersion]).toEqual(['v2', true]);
    const stored = snapshotIam(PAYMENTS).Policies.find((p) => p.Arn === LEDGER_POLICY);
    expect(JSON.parse(decodeURIComponent(PolicyVersion?.Document ?? ''))).toEqual(
      stored?.PolicyVersionList.find((v) => v.VersionId === 'v2')?.Document,
    );
    const old = await iam.send(new GetPolicyVersionCommand({ PolicyArn: LEDGER_POLICY, VersionId: 'v1' }));
    expect(old.PolicyVersion?.IsDefaultVersion).toBe(false);

    const missing = `arn:aws:iam::${PAYMENTS}:policy/nope`;
    const absent = await failure(iam.send(new GetPolicyCommand({ PolicyArn: missing })));
    expect([absent.name, absent.$metadata?.httpStatusCode, absent.message]).toEqual([
      'NoSuchEntityException',
      404,
      `Policy ${missing} does not exist or is not attachable.`,
    ]);
    const version = await failure(
      iam.send(new GetPolicyVersionCommand({ PolicyArn: LEDGER_POLICY, VersionId: 'v9' })),
    );
    expect([version.name, version.message]).toEqual([
      'NoSuchEntityException',
      `Policy ${LEDGER_POLICY} version v9 does not exist or is not attachable.`,
    ]);
    // AWS-managed policies are not in the snapshot: the emulator does not know them.
    const managed = await failure(
      iam.send(new GetPolicyCommand({ PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy' })),
    );
    expect(managed.name).toBe('NoSuchEntityException');
    const invalid = await failure(iam.send(new GetPolicyCommand({ PolicyArn: 'not-an-arn' })));
    expect(invalid.name).toBe('InvalidInputException');
  });

  it('GetAccountAuthorizationDetails pages roles then customer-managed policies, by Filter', async () => {
    const { iam } = awsClients(emulator, payments);
    const snapshot = snapshotIam(PAYMENTS);
    const roles: string[] = [];
    const policies: string[] = [];
    let pages = 0;
    for await (const page of paginateGetAccountAuthorizationDetails(
      { client: iam, pageSize: 5 },
      { Filter: ['Role', 'LocalManagedPolicy'] },
    )) {
      pages++;
      expect((page.RoleDetailList?.length ?? 0) + (page.Policies?.length ?? 0)).toBeLessThanOrEqual(5);
      expect(page.UserDetailList).toEqual([]);
      for (const role of page.RoleDetailList ?? []) {
        roles.push(role.RoleName ?? '');
        if (role.RoleName === LEDGER) {
          expect(role.RolePolicyList?.map((p) => p.PolicyName)).toEqual(['ledger-kms-encrypt']);
          expect(role.RolePolicyList?.[0]?.PolicyDocument).toMatch(/^%7B/);
          expect(role.AttachedManagedPolicies).toEqual([
            { PolicyName: 'ledger-writer-dynamodb', PolicyArn: LEDGER_POLICY },
          ]);
          expect(role.AssumeRolePolicyDocument).toMatch(/^%7B/);
        }
      }
      for (const policy of page.Policies ?? []) {
        policies.push(policy.Arn ?? '');
        const stored = snapshot.Policies.find((p) => p.Arn === policy.Arn);
        // Every version, as the snapshot holds them (newest first), the default one flagged.
        expect(policy.PolicyVersionList?.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual(
          stored?.PolicyVersionList.map((v) => [v.VersionId, v.VersionId === stored.DefaultVersionId]),
        );
        expect(policy.PolicyVersionList?.[0]?.Document).toMatch(/^%7B/);
      }
    }
    expect(roles).toEqual(snapshot.Roles.map((r) => r.RoleName));
    expect(policies).toEqual(snapshot.Policies.map((p) => p.Arn));
    expect(pages).toBe(Math.ceil((roles.length + policies.length) / 5));
    const onlyPolicies = await iam.send(
      new GetAccountAuthorizationDetailsCommand({ Filter: ['LocalManagedPolicy'] }),
    );
    expect([onlyPolicies.RoleDetailList, onlyPolicies.Policies?.length]).toEqual([[], policies.length]);
    const bad = await failure(iam.send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 1001 })));
    expect(bad.name).toBe('InvalidInputException');
  });

  it('fails them as injected: denied by operation, role or policy, throttled, counted', async () => {
    const { iam } = awsClients(emulator, payments, { maxAttempts: 1 });
    emulator.setFaults({
      failures: {
        [`iam:GetRolePolicy@${LEDGER}`]: 'denied',
        'iam:GetPolicyVersion@ledger-writer-dynamodb': 'denied',
        'iam:GetAccountAuthorizationDetails': 'server-error',
      },
      throttle: { 'iam:GetPolicy': 1 },
    });
    const inline = await failure(
      iam.send(new GetRolePolicyCommand({ RoleName: LEDGER, PolicyName: 'ledger-kms-encrypt' })),
    );
    expect([inline.name, inline.$metadata?.httpStatusCode]).toEqual(['AccessDenied', 403]);
    const throttled = await failure(iam.send(new GetPolicyCommand({ PolicyArn: LEDGER_POLICY })));
    expect(throttled.name).toBe('Throttling');
    expect(
      (await iam.send(new GetPolicyCommand({ PolicyArn: LEDGER_POLICY }))).Policy?.DefaultVersionId,
    ).toBe('v2');
    const version = await failure(
      iam.send(new GetPolicyVersionCommand({ PolicyArn: LEDGER_POLICY, VersionId: 'v2' })),
    );
    expect(version.name).toBe('AccessDenied');
    const details = await failure(iam.send(new GetAccountAuthorizationDetailsCommand({})));
    expect(details.$metadata?.httpStatusCode).toBe(500);
    expect(emulator.requestCounts()).toMatchObject({
      'iam:GetRolePolicy': 1,
      'iam:GetPolicy': 2,
      'iam:GetPolicyVersion': 1,
      'iam:GetAccountAuthorizationDetails': 1,
    });
  });
});

const ORGANIZATION: CollectOptions = {
  accounts: { kind: 'organization' },
  auditRole: { roleName: 'irsa-auditor' },
  kubernetes: { backoffMs: 5 },
};

async function collected(options: CollectOptions = ORGANIZATION) {
  const { files } = await collectFleet(options);
  const iam = (accountId: string) => JSON.parse(files.get(`${accountId}/iam.json`) ?? '{}') as IamSnapshot;
  const errors = (accountId: string) =>
    (
      JSON.parse(files.get(`${accountId}/collection-errors.json`) ?? '{"errors": []}') as {
        errors: CollectionError[];
      }
    ).errors;
  /** The node roles of the collected node groups (IRSA-061): their policy names are read, never their documents. */
  const nodeRoles = new Set(
    [...files.entries()]
      .filter(([path]) => path.endsWith('/nodegroups.json'))
      .flatMap(([, content]) =>
        (JSON.parse(content) as { described: { nodegroup: { nodeRole?: string } }[] }).described.map(
          (d) => d.nodegroup.nodeRole?.split('/').pop() ?? '',
        ),
      ),
  );
  return { files, iam, errors, nodeRoles };
}

describe('collection of the documents', () => {
  it('writes the documents of exactly the referenced roles: inline, and customer-managed default versions once', async () => {
    const { iam, errors, nodeRoles } = await collected();
    expect(nodeRoles.size).toBeGreaterThan(0);
    for (const accountId of [PAYMENTS, ML]) {
      expect(errors(accountId)).toEqual([]);
      const snapshot = snapshotIam(accountId);
      const written = iam(accountId);
      const lookedUp = Object.keys(written.RolePolicies);
      expect(lookedUp.length).toBeGreaterThan(0);
      const attached = new Set<string>();
      for (const roleName of lookedUp) {
        const role = written.RolePolicies[roleName];
        const stored = snapshot.RolePolicies[roleName];
        if (nodeRoles.has(roleName)) {
          // A node role (IRSA-061): its policy names, as the snapshot has them, and no document.
          expect(role?.AttachedPolicies?.map((p) => p.PolicyArn)).toEqual(
            stored?.AttachedPolicies.map((p) => p.PolicyArn),
          );
          expect(role?.PolicyNames).toEqual(stored?.PolicyNames);
          expect(role?.RolePolicyList).toBeUndefined();
          continue;
        }
        // Every inline document, as the API returned it (URL-encoded).
        expect(role?.RolePolicyList?.map((p) => p.PolicyName)).toEqual(stored?.PolicyNames);
        for (const inline of role?.RolePolicyList ?? []) {
          const original = stored?.RolePolicyList.find((p) => p.PolicyName === inline.PolicyName);
          expect(JSON.parse(decodeURIComponent(inline.PolicyDocument))).toEqual(
            decoded(original?.PolicyDocument),
          );
        }
        for (const policy of role?.AttachedPolicies ?? []) attached.add(policy.PolicyArn);
      }
      const customer = [...attached].filter((arn) => !arn.includes(':iam::aws:policy/')).sort();
      expect(written.Policies.map((p) => p.Arn)).toEqual(customer);
      for (const policy of written.Policies) {
        const stored = snapshot.Policies.find((p) => p.Arn === policy.Arn);
        expect(policy.DefaultVersionId).toBe(stored?.DefaultVersionId);
        expect(policy.PolicyVersionList.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
          [stored?.DefaultVersionId, true],
        ]);
        const document = stored?.PolicyVersionList.find(
          (v) => v.VersionId === stored.DefaultVersionId,
        )?.Document;
        expect(JSON.parse(decodeURIComponent(policy.PolicyVersionList[0]?.Document ?? ''))).toEqual(
          decoded(document),
        );
      }
    }
    const counts = emulator.requestCounts();
    // Each customer-managed policy once per account, however many roles attach it; AWS-managed never.
    const customerPolicies = iam(PAYMENTS).Policies.length + iam(ML).Policies.length;
    expect(counts['iam:GetPolicy']).toBe(customerPolicies);
    expect(counts['iam:GetPolicyVersion']).toBe(customerPolicies);
    expect(counts['iam:GetRolePolicy']).toBe(
      Object.values(iam(PAYMENTS).RolePolicies).reduce((n, r) => n + r.PolicyNames.length, 0) +
        Object.values(iam(ML).RolePolicies).reduce((n, r) => n + r.PolicyNames.length, 0),
    );
    expect(counts['iam:GetAccountAuthorizationDetails']).toBeUndefined();
  });

  it('reads nothing for roles no ServiceAccount references', async () => {
    const { iam } = await collected();
    const referenced = new Set(Object.keys(iam(PAYMENTS).RolePolicies));
    expect(referenced.has(LEDGER)).toBe(true);
    expect(referenced.has('payments-cluster-role')).toBe(false);
    // A node role's names are read for IRSA-061, never its documents.
    expect(iam(PAYMENTS).RolePolicies['payments-node-role']?.RolePolicyList).toBeUndefined();
  });

  it('a denied GetRolePolicy keeps the names, leaves the inline documents absent, and records the role', async () => {
    emulator.setFaults({ failures: { [`iam:GetRolePolicy@${LEDGER}`]: 'denied' } });
    const { iam, errors } = await collected();
    const ledger = iam(PAYMENTS).RolePolicies[LEDGER];
    expect(ledger?.PolicyNames).toEqual(['ledger-kms-encrypt']);
    expect(ledger?.AttachedPolicies.map((p) => p.PolicyArn)).toEqual([LEDGER_POLICY]);
    expect(ledger?.RolePolicyList).toBeUndefined();
    // Its managed policy was read all the same.
    expect(iam(PAYMENTS).Policies.map((p) => p.Arn)).toContain(LEDGER_POLICY);
    expect(errors(PAYMENTS)).toEqual([
      expect.objectContaining({
        api: 'iam:GetRolePolicy',
        code: 'AccessDenied',
        class: 'denied',
        status: 403,
        role: LEDGER,
      }),
    ]);
    expect(errors(ML)).toEqual([]);
  });
});

/**
 * A copy of the sample fleet where payments-settlement also attaches ledger-writer-dynamodb (one
 * policy, two referenced roles), and settlement-s3-export is gone from `Policies`: deleted after
 * ListAttachedRolePolicies named it.
 */
describe('collection of the documents: shared and vanished policies', () => {
  const SETTLEMENT = 'payments-settlement';
  const VANISHED = `arn:aws:iam::${PAYMENTS}:policy/settlement-s3-export`;
  let copy: Emulator;
  let dir: string;
  const options = (): CollectOptions => ({
    ...ORGANIZATION,
    accounts: { kind: 'list', accountIds: [PAYMENTS] },
    regions: ['eu-west-1'],
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'irsa-policy-documents-'));
    cpSync(FLEET, dir, { recursive: true });
    const path = join(dir, PAYMENTS, 'iam.json');
    const iam = JSON.parse(readFileSync(path, 'utf8'));
    iam.RolePolicies[SETTLEMENT].AttachedPolicies.push({
      PolicyName: 'ledger-writer-dynamodb',
      PolicyArn: LEDGER_POLICY,
    });
    iam.Policies = iam.Policies.filter((p: { Arn: string }) => p.Arn !== VANISHED);
    writeFileSync(path, JSON.stringify(iam));
    copy = await startEmulator({ fleetDir: dir });
    Object.assign(process.env, copy.env);
  });
  afterAll(async () => {
    await copy?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    copy.setFaults({});
    copy.resetCounts();
  });

  it('reads a policy two roles attach once; denied, it is absent and an error on each role', async () => {
    let { iam, errors } = await collected(options());
    expect(copy.requestCounts()['iam:GetPolicyVersion']).toBe(iam(PAYMENTS).Policies.length);
    expect(iam(PAYMENTS).Policies.filter((p) => p.Arn === LEDGER_POLICY)).toHaveLength(1);

    copy.setFaults({ failures: { 'iam:GetPolicyVersion@ledger-writer-dynamodb': 'denied' } });
    ({ iam, errors } = await collected(options()));
    const written = iam(PAYMENTS);
    expect(written.Policies.map((p) => p.Arn)).not.toContain(LEDGER_POLICY);
    expect(written.Policies.length).toBeGreaterThan(0);
    // The names stay (IRSA-018), the inline documents of the ledger writer too.
    for (const roleName of [LEDGER, SETTLEMENT])
      expect(written.RolePolicies[roleName]?.AttachedPolicies.map((p) => p.PolicyArn)).toContain(
        LEDGER_POLICY,
      );
    expect(written.RolePolicies[LEDGER]?.RolePolicyList?.map((p) => p.PolicyName)).toEqual([
      'ledger-kms-encrypt',
    ]);
    const denied = errors(PAYMENTS).filter((e) => e.api === 'iam:GetPolicyVersion');
    expect(denied.map((e) => [e.class, e.status, e.role])).toEqual([
      ['denied', 403, LEDGER],
      ['denied', 403, SETTLEMENT],
    ]);
  });

  it('a policy deleted between the calls (NoSuchEntity) is absent and an error, never a crash', async () => {
    const { iam, errors } = await collected(options());
    expect(iam(PAYMENTS).Policies.map((p) => p.Arn)).not.toContain(VANISHED);
    expect(iam(PAYMENTS).RolePolicies[SETTLEMENT]?.AttachedPolicies.map((p) => p.PolicyArn)).toContain(
      VANISHED,
    );
    expect(errors(PAYMENTS)).toEqual([
      expect.objectContaining({
        api: 'iam:GetPolicy',
        code: 'NoSuchEntityException',
        class: 'not-found',
        status: 404,
        role: SETTLEMENT,
      }),
    ]);
  });
});
