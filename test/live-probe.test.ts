/**
 * The live probe IRSA-040 end to end, over real HTTP(S) on loopback: the emulator serves
 * examples/fleet; the real @kubernetes/client-node requests a token per annotated service account
 * (signed RS256 by the cluster issuer's key) and the real STS client sends it, unsigned, to
 * AssumeRoleWithWebIdentity, which the emulator validates as STS does. Then: nothing without
 * --probe, a denied TokenRequest (AUDIT-003, not failures), STS throttling and 5xx, and no token or
 * credential anywhere in what the CLI prints or writes. Last, the emulator's STS validation paths.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CollectOptions, collectFleet } from '#shared/collectors/collect-fleet.ts';
import { probeCandidates, redactTokens } from '#shared/collectors/probe.ts';
import { type Finding, runAudit } from '#shared/engine/run-audit.ts';
import type { Fleet } from '#shared/model/fleet.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import { memorySource } from '#shared/snapshot/snapshot-source.ts';
import type { IssuedCredentials } from '../emulator/credentials.ts';
import type { FleetAccountFiles } from '../emulator/fleet-files.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { assumeRoleWithWebIdentity, OidcIssuers, type TokenClaims } from '../emulator/sts-web-identity.ts';
import { assumeRoleIn, emulatedCluster, kubernetesClients } from '../emulator/testing.ts';
import { type ExpectedFinding, REPO_ROOT, runCliAsync } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
const expected: ExpectedFinding[] = JSON.parse(
  readFileSync(join(FLEET, 'expected-findings.json'), 'utf8'),
).findings;
const NOW = new Date('2026-06-01T00:00:00Z');

/** What STS answers when a static check says the chain is broken (the token is judged before the trust). */
const STS_REJECTS: Record<string, 'InvalidIdentityToken' | 'AccessDenied'> = {
  'IRSA-001': 'InvalidIdentityToken', // no provider for the issuer in the cluster's account (cluster scope)
  'IRSA-002': 'InvalidIdentityToken', // the provider lacks the audience (cluster scope)
  'IRSA-022': 'InvalidIdentityToken', // the role's account has no provider for the issuer
  'IRSA-011': 'AccessDenied',
  'IRSA-012': 'AccessDenied',
  'IRSA-013': 'AccessDenied',
  'IRSA-014': 'AccessDenied',
};

let emulator: Emulator;
let staticFleet: Fleet;
const savedEnv = { ...process.env };
const scratch = mkdtempSync(join(tmpdir(), 'irsa-probe-'));

beforeAll(async () => {
  emulator = await startEmulator({ fleetDir: FLEET });
  Object.assign(process.env, emulator.env);
  staticFleet = await loadFleet(FLEET);
});
afterAll(async () => {
  await emulator?.stop();
  process.env = savedEnv;
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.setFaults({});
  emulator.resetCounts();
});

const saKey = (f: { cluster: string | null; namespace: string | null; serviceAccount: string | null }) =>
  `${f.cluster}/${f.namespace}/${f.serviceAccount}`;

/** Every service account the probe should try: `cluster/ns/name` -> its role's account. */
function probedServiceAccounts(): Map<string, { cluster: string; roleAccount: string }> {
  const out = new Map<string, { cluster: string; roleAccount: string }>();
  for (const account of staticFleet.accounts) {
    for (const cluster of account.clusters) {
      const items = (cluster.kubernetes?.serviceAccounts ?? []).map((sa) => ({
        kind: 'ServiceAccount',
        metadata: { name: sa.name, namespace: sa.namespace, annotations: sa.annotations },
      }));
      for (const candidate of probeCandidates(items)) {
        out.set(`${cluster.name}/${candidate.namespace}/${candidate.name}`, {
          cluster: cluster.name,
          roleAccount: candidate.roleArn.split(':')[4] ?? '',
        });
      }
    }
  }
  return out;
}

/** `cluster/ns/name` -> the STS error code the static findings of the snapshot imply. */
function expectedRejections(): Map<string, string> {
  const out = new Map<string, string>();
  const put = (key: string, code: string) => {
    if (out.get(key) !== 'InvalidIdentityToken') out.set(key, code);
  };
  const probed = probedServiceAccounts();
  for (const finding of expected) {
    const code = STS_REJECTS[finding.checkId];
    if (!code) continue;
    if (finding.serviceAccount) {
      put(saKey(finding), code);
      continue;
    }
    // Cluster scope: every probed SA of the cluster whose role is in the cluster's account.
    for (const [key, sa] of probed) {
      if (sa.cluster === finding.cluster && sa.roleAccount === finding.accountId) put(key, code);
    }
  }
  return out;
}

const env = () => ({ ...emulator.env, NODE_NO_WARNINGS: '1' });
const LIVE = ['--organization', '--role-name', 'irsa-auditor'];

interface JsonFinding extends ExpectedFinding {
  status: string;
  severity: string;
  evidence: Record<string, unknown>;
  remediation: string | null;
  message: string;
}

const probeFindings = (findings: JsonFinding[], status: string) =>
  findings.filter((f) => f.checkId === 'IRSA-040' && f.status === status);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('check --live --probe against the emulator', () => {
  it("reports IRSA-040 with STS's code for exactly the service accounts STS rejects", async () => {
    const run = await runCliAsync(
      ['check', '--live', '--probe', ...LIVE, '--format', 'json', '--include-passed', '-q'],
      { env: env() },
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/probe enabled.*serviceaccounts\/token/);
    const findings: JsonFinding[] = JSON.parse(run.stdout).findings;

    const wanted = expectedRejections();
    expect(new Set(wanted.values())).toEqual(new Set(['InvalidIdentityToken', 'AccessDenied']));
    const failed = probeFindings(findings, 'fail');
    expect(new Map(failed.map((f) => [saKey(f), f.evidence.errorCode]))).toEqual(wanted);
    for (const finding of failed) {
      expect(finding.severity).toBe('critical');
      expect(finding.remediation).toMatch(
        finding.evidence.errorCode === 'AccessDenied'
          ? /aws iam update-assume-role-policy/
          : /eksctl utils associate-iam-oidc-provider|aws iam create-open-id-connect-provider/,
      );
    }
    // The healthy service accounts passed (STS issued credentials), none was left unprobed.
    const probed = [...probedServiceAccounts().keys()];
    const passed = probeFindings(findings, 'pass').map(saKey);
    expect(passed.sort()).toEqual(probed.filter((key) => !wanted.has(key)).sort());
    expect(probeFindings(findings, 'not-evaluated')).toEqual([]);
    // The probe adds IRSA-040 and changes nothing else.
    const others = findings.filter((f) => f.status === 'fail' && f.checkId !== 'IRSA-040');
    expect(others.map((f) => `${f.checkId} ${saKey(f)}`).sort()).toEqual(
      expected.map((f) => `${f.checkId} ${saKey(f)}`).sort(),
    );

    const counts = emulator.requestCounts();
    expect(counts['sts:AssumeRoleWithWebIdentity']).toBe(probed.length);
    for (const cluster of ['payments', 'checkout', 'batch', 'legacy', 'ml-platform']) {
      expect(counts[`k8s:${cluster}:token`]).toBe(
        probed.filter((key) => key.startsWith(`${cluster}/`)).length,
      );
    }
  });

  it('requests no token and calls no STS web identity without --probe', async () => {
    const run = await runCliAsync(
      ['check', '--live', ...LIVE, '--format', 'json', '--include-passed', '-q'],
      {
        env: env(),
      },
    );
    expect(run.status).toBe(0);
    expect(run.stderr).not.toMatch(/probe/);
    const counts = emulator.requestCounts();
    expect(counts['k8s:ml-platform:serviceaccounts']).toBeGreaterThan(0);
    expect(
      Object.keys(counts).filter((key) => key.endsWith(':token') || key.includes('WebIdentity')),
    ).toEqual([]);
    const findings: JsonFinding[] = JSON.parse(run.stdout).findings;
    const probe = findings.filter((f) => f.checkId === 'IRSA-040');
    expect(probe.length).toBe(probedServiceAccounts().size);
    expect(new Set(probe.map((f) => f.status))).toEqual(new Set(['not-evaluated']));
  });

  it('refuses --probe on a snapshot directory', async () => {
    const run = await runCliAsync(['check', FLEET, '--probe'], { env: env() });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--probe needs --live/);
  });

  it('never prints or writes a token or the credentials STS returned', async () => {
    const before = emulator.webIdentitySecrets().length;
    const out = join(scratch, 'collected');
    const collect = await runCliAsync(['collect', '--out', out, '--probe', ...LIVE], { env: env() });
    expect(collect.status).toBe(0);
    const check = await runCliAsync(['check', '--live', '--probe', ...LIVE, '--include-passed'], {
      env: env(),
    });
    const checkJson = await runCliAsync(['check', out, '--format', 'json', '--include-passed'], {
      env: env(),
    });

    const secrets = emulator.webIdentitySecrets().slice(before);
    // Two probe runs: a token per probed SA each, and credentials for each that passed.
    const probed = probedServiceAccounts().size;
    expect(secrets.filter((s) => s.startsWith('eyJ')).length).toBe(2 * probed);
    expect(secrets.length).toBeGreaterThan(2 * probed);
    const files = filesUnder(out);
    expect(files.some((file) => file.endsWith('/probes.json'))).toBe(true);
    const outputs = [
      collect.stdout,
      collect.stderr,
      check.stdout,
      check.stderr,
      checkJson.stdout,
      checkJson.stderr,
      ...files.map((file) => readFileSync(file, 'utf8')),
    ];
    for (const text of outputs) {
      for (const secret of secrets) expect(text.includes(secret)).toBe(false);
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
      expect(text).not.toMatch(/k8s-aws-v1\.[A-Za-z0-9_-]{10,}/);
    }
    // The snapshot written by collect --probe gives the same IRSA-040 verdicts as the live check.
    const fromFiles: JsonFinding[] = JSON.parse(checkJson.stdout).findings;
    expect(new Map(probeFindings(fromFiles, 'fail').map((f) => [saKey(f), f.evidence.errorCode]))).toEqual(
      expectedRejections(),
    );
  });
});

describe('the probe under faults', () => {
  const ORGANIZATION: CollectOptions = {
    accounts: { kind: 'organization' },
    auditRole: { roleName: 'irsa-auditor' },
    kubernetes: { backoffMs: 5 },
    probe: { backoffMs: 5 },
  };

  async function audit(
    options: CollectOptions = ORGANIZATION,
  ): Promise<{ fleet: Fleet; findings: Finding[] }> {
    const { files } = await collectFleet(options);
    const fleet = await loadFleet(memorySource(files));
    expect(fleet.inputErrors).toEqual([]);
    return { fleet, findings: [...runAudit(fleet, { now: NOW }).findings] };
  }

  it('reports a denied TokenRequest as AUDIT-003 and leaves IRSA-040 of that cluster not evaluated', async () => {
    emulator.setFaults({ deniedTokenRequests: ['ml-platform'] });
    const { fleet, findings } = await audit();
    const mlPlatform = fleet.accounts.flatMap((a) => a.clusters).find((c) => c.name === 'ml-platform');
    expect(mlPlatform?.probes).toBeNull();
    const audit003 = findings.filter((f) => f.checkId === 'AUDIT-003' && f.status === 'fail');
    expect(audit003.map((f) => f.cluster)).toEqual(['ml-platform']);
    expect(audit003[0]?.evidence).toMatchObject({ notCollected: ['TokenRequest'] });
    expect(audit003[0]?.remediation).toContain('auth can-i create serviceaccounts/token');
    const probe = findings.filter((f) => f.checkId === 'IRSA-040');
    expect(probe.filter((f) => f.cluster === 'ml-platform' && f.status !== 'not-evaluated')).toEqual([]);
    // The other clusters were probed as usual.
    const wanted = [...expectedRejections()].filter(([key]) => !key.startsWith('ml-platform/'));
    expect(
      new Map(probe.filter((f) => f.status === 'fail').map((f) => [saKey(f), f.evidence.errorCode])),
    ).toEqual(new Map(wanted));
    // The first 403 stops the cluster's probe: no STS call was made for ml-platform.
    expect(emulator.requestCounts()['k8s:ml-platform:token']).toBeLessThanOrEqual(4);
    expect(findings.some((f) => f.checkId === 'AUDIT-002' && f.status === 'fail')).toBe(false);
  });

  it('retries STS throttling and 5xx, and counts an unanswered probe as not evaluated, never failed', async () => {
    emulator.setFaults({
      throttle: { 'sts:AssumeRoleWithWebIdentity': 2 },
      serverErrors: { 'sts:AssumeRoleWithWebIdentity': 2 },
    });
    const retried = await audit();
    const failing = (findings: Finding[]) =>
      new Map(
        findings
          .filter((f) => f.checkId === 'IRSA-040' && f.status === 'fail')
          .map((f) => [saKey(f), f.evidence.errorCode]),
      );
    expect(failing(retried.findings)).toEqual(expectedRejections());
    expect(emulator.requestCounts()['sts:AssumeRoleWithWebIdentity']).toBe(probedServiceAccounts().size + 4);

    emulator.setFaults({ serverErrors: { 'sts:AssumeRoleWithWebIdentity': 1000 } });
    const down = await audit({ ...ORGANIZATION, clientOptions: { maxAttempts: 2 } });
    const probe = down.findings.filter((f) => f.checkId === 'IRSA-040');
    expect(probe.length).toBe(probedServiceAccounts().size);
    expect(new Set(probe.map((f) => f.status))).toEqual(new Set(['not-evaluated']));
    expect(probe[0]?.message).toMatch(/InternalFailure/);
  });

  it('reports a broken probes.json as AUDIT-004 and leaves IRSA-040 not evaluated there', async () => {
    const { files } = await collectFleet(ORGANIZATION);
    const path = '345678901234/us-east-1/ml-platform/probes.json';
    expect(files.has(path)).toBe(true);
    files.set(path, JSON.stringify({ results: [{ namespace: 'data', outcome: 'maybe' }] }));
    const fleet = await loadFleet(memorySource(files));
    expect(fleet.inputErrors).toEqual([
      expect.objectContaining({ file: path, field: 'results[0].serviceAccount' }),
    ]);
    const findings = runAudit(fleet, { now: NOW }).findings;
    expect(findings.some((f) => f.checkId === 'AUDIT-004' && f.resource === path)).toBe(true);
    const mlPlatform = findings.filter((f) => f.checkId === 'IRSA-040' && f.cluster === 'ml-platform');
    expect(new Set(mlPlatform.map((f) => f.status))).toEqual(new Set(['not-evaluated']));
  });
});

describe("the emulator's STS AssumeRoleWithWebIdentity", () => {
  const ACCOUNT = '210987654321';
  const ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/1BD2304DC6677EE4E1F84F38A0EF8FC5';
  const HOST = ISSUER.slice('https://'.length);
  const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${HOST}`;

  function trust(sub: string, aud = 'sts.amazonaws.com') {
    return {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: PROVIDER_ARN },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { [`${HOST}:sub`]: sub, [`${HOST}:aud`]: aud } },
        },
      ],
    };
  }

  const account: FleetAccountFiles = {
    accountId: ACCOUNT,
    roles: [
      {
        RoleName: 'app',
        Arn: `arn:aws:iam::${ACCOUNT}:role/app`,
        AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(trust('system:serviceaccount:shop:app'))),
      },
      {
        RoleName: 'broken',
        Arn: `arn:aws:iam::${ACCOUNT}:role/broken`,
        AssumeRolePolicyDocument: '{"Version": ',
      },
    ],
    oidcProviders: [{ Url: HOST, Arn: PROVIDER_ARN, ClientIDList: ['sts.amazonaws.com'] }],
    rolePolicies: {},
    policies: [],
    regions: ['eu-west-1'],
  };
  const issuers = new OidcIssuers();
  const issued: IssuedCredentials[] = [];
  const context = {
    accounts: new Map([[ACCOUNT, account]]),
    issuers,
    issueSession: (accountId: string, roleName: string, sessionName: string, duration: number) => {
      const credentials: IssuedCredentials = {
        accessKeyId: `ASIA${issued.length}`,
        secretAccessKey: 'secret',
        sessionToken: 'session',
        accountId,
        arn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`,
        userId: `AROA:${sessionName}`,
        expiration: new Date(Date.now() + duration * 1000),
      };
      issued.push(credentials);
      return credentials;
    },
  };

  function claims(change: Partial<TokenClaims> = {}): TokenClaims {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: ISSUER,
      sub: 'system:serviceaccount:shop:app',
      aud: ['sts.amazonaws.com'],
      exp: now + 600,
      iat: now,
      nbf: now,
      ...change,
    };
  }

  function call(
    token: string,
    roleArn = `arn:aws:iam::${ACCOUNT}:role/app`,
    extra: Record<string, string> = {},
    keys: OidcIssuers = issuers,
  ) {
    const params = new URLSearchParams({
      Action: 'AssumeRoleWithWebIdentity',
      RoleArn: roleArn,
      RoleSessionName: 'irsa-audit-probe',
      WebIdentityToken: token,
      DurationSeconds: '900',
      ...extra,
    });
    return assumeRoleWithWebIdentity(params, { ...context, issuers: keys });
  }

  it('issues credentials for a valid token that the trust admits', () => {
    const outcome = call(issuers.sign(claims()));
    expect(outcome).toMatchObject({
      ok: true,
      result: {
        subject: 'system:serviceaccount:shop:app',
        audience: 'sts.amazonaws.com',
        provider: PROVIDER_ARN,
      },
    });
    expect(issuers.issuedSecrets()).toEqual(expect.arrayContaining(['secret', 'session']));
  });

  it.each([
    [
      'an expired token',
      () => call(issuers.sign(claims({ exp: Math.floor(Date.now() / 1000) - 5 }))),
      'ExpiredTokenException',
      /Token expired/,
    ],
    [
      'a signature that does not verify',
      () => {
        const [header, payload] = issuers.sign(claims()).split('.');
        const other = issuers.sign(claims({ sub: 'system:serviceaccount:shop:other' })).split('.')[2];
        return call(`${header}.${payload}.${other}`);
      },
      'InvalidIdentityToken',
      /signature/,
    ],
    [
      'an issuer whose keys STS cannot fetch',
      () => call(new OidcIssuers().sign(claims()), undefined, {}, new OidcIssuers()),
      'InvalidIdentityToken',
      /verification key/,
    ],
    [
      'an issuer with no provider in the role account',
      () => call(issuers.sign(claims({ iss: 'https://oidc.eks.eu-west-1.amazonaws.com/id/OTHER' }))),
      'InvalidIdentityToken',
      /No OpenIDConnect provider found in your account for https:\/\/oidc\.eks\.eu-west-1\.amazonaws\.com\/id\/OTHER/,
    ],
    [
      'an audience the provider does not list',
      () => call(issuers.sign(claims({ aud: ['vault'] }))),
      'InvalidIdentityToken',
      /Incorrect token audience/,
    ],
    ['not a JWT', () => call('not-a-jwt-at-all'), 'InvalidIdentityToken', /not a valid JWT/],
    [
      'a subject the trust does not admit',
      () => call(issuers.sign(claims({ sub: 'system:serviceaccount:shop:web' }))),
      'AccessDenied',
      /Not authorized/,
    ],
    [
      'a role that does not exist',
      () => call(issuers.sign(claims()), `arn:aws:iam::${ACCOUNT}:role/ghost`),
      'AccessDenied',
      /Not authorized/,
    ],
    [
      'a trust policy that cannot be parsed',
      () => call(issuers.sign(claims()), `arn:aws:iam::${ACCOUNT}:role/broken`),
      'AccessDenied',
      /Not authorized/,
    ],
    ['a malformed role ARN', () => call(issuers.sign(claims()), 'app'), 'ValidationError', /ARN is invalid/],
    [
      'a session longer than the role allows',
      () => call(issuers.sign(claims()), undefined, { DurationSeconds: '7200' }),
      'ValidationError',
      /MaxSessionDuration/,
    ],
  ])('refuses %s', (_name, run, code, message) => {
    const outcome = run();
    expect(outcome).toMatchObject({ ok: false, code });
    expect(outcome.ok ? '' : outcome.message).toMatch(message);
  });

  it('answers the real SDK unsigned, with credentials that work, for a real TokenRequest token', async () => {
    const cluster = emulatedCluster(emulator, 'payments');
    const { core } = await kubernetesClients(cluster, await assumeRoleIn(emulator, '210987654321'));
    const issuedToken = await core.createNamespacedServiceAccountToken({
      name: 'settlement',
      namespace: 'payments',
      body: { spec: { audiences: ['sts.amazonaws.com'], expirationSeconds: 600 } },
    });
    const token = issuedToken.status?.token ?? '';
    const [header] = token.split('.');
    expect(JSON.parse(Buffer.from(header ?? '', 'base64url').toString())).toMatchObject({ alg: 'RS256' });
    // No credentials at all: the SDK must send it unsigned for the emulator to accept it.
    const sts = new STSClient({
      region: 'eu-west-1',
      endpoint: emulator.endpoint,
      credentials: async () => {
        throw new Error('AssumeRoleWithWebIdentity must not need credentials');
      },
    });
    const answer = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: 'arn:aws:iam::210987654321:role/payments-settlement',
        RoleSessionName: 'probe-test',
        WebIdentityToken: token,
      }),
    );
    expect(answer).toMatchObject({
      SubjectFromWebIdentityToken: 'system:serviceaccount:payments:settlement',
      Audience: 'sts.amazonaws.com',
      AssumedRoleUser: { Arn: 'arn:aws:sts::210987654321:assumed-role/payments-settlement/probe-test' },
    });
    const session = new STSClient({
      region: 'eu-west-1',
      endpoint: emulator.endpoint,
      credentials: {
        accessKeyId: answer.Credentials?.AccessKeyId ?? '',
        secretAccessKey: answer.Credentials?.SecretAccessKey ?? '',
        sessionToken: answer.Credentials?.SessionToken ?? '',
      },
    });
    const identity = await session.send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe('arn:aws:sts::210987654321:assumed-role/payments-settlement/probe-test');
    expect(emulator.requestCounts()['sts:AssumeRoleWithWebIdentity']).toBe(1);
  });

  it('redacts bearer and service account tokens from probe messages', () => {
    const jwt = issuers.sign(claims());
    const text = redactTokens(`refused ${jwt} with k8s-aws-v1.aHR0cHM6Ly9zdHM and more`);
    expect(text).not.toContain(jwt.split('.')[1]);
    expect(text).toBe('refused <redacted-jwt> with k8s-aws-v1.<redacted> and more');
  });
});
