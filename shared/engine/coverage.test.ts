import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHECKS_READING } from '../checks/audit-003-permission-missing/check.ts';
import { CATALOGUE } from '../checks/catalogue.ts';
import { classifyAwsError, safeMessage } from '../collectors/failures.ts';
import type { Account, CollectionError, Fleet } from '../model/fleet.ts';
import { FIXTURE_NOW } from '../testing/check-harness.ts';
import { FleetBuilder, irsaTrustPolicy } from '../testing/fleet-builder.ts';
import { INPUTS, inputsLeftUnread, legacyResource, unreadInputs } from './coverage.ts';
import { runAudit } from './run-audit.ts';

/** `IRSA-001, 002, 011..018; PODID-001..003` -> the catalogue ids it names (a bare number takes the last prefix). */
function expand(list: string): string[] {
  const ids = CATALOGUE.map((c) => c.metadata.id);
  const out: string[] = [];
  let prefix = 'IRSA-';
  for (const token of list.split(/[,;]\s*/)) {
    const [from, to] = token
      .trim()
      .split('..')
      .map((part) => {
        const named = /^[A-Z]+-/.exec(part);
        if (named) prefix = named[0];
        return named ? part : `${prefix}${part}`;
      });
    if (to === undefined) out.push(from as string);
    else out.push(...ids.filter((id) => id >= (from as string) && id <= to && id.startsWith(prefix)));
  }
  return out.sort();
}

describe('coverage declarations', () => {
  it('AUDIT-003 names, for each input, exactly the checks that declare they read it', () => {
    for (const input of INPUTS) {
      const declared = CATALOGUE.filter((c) => c.reads.some((r) => r.input === input))
        .map((c) => c.metadata.id)
        .sort();
      expect(expand(CHECKS_READING[input]), input).toEqual(declared);
    }
  });

  it('maps the Pod Identity reads: associations and their roles, add-ons', () => {
    const error = (api: string): CollectionError => ({ api, code: 'AccessDeniedException', message: '' });
    expect(inputsLeftUnread(error('eks:DescribePodIdentityAssociation'), 'cluster')).toEqual([
      'pod-identity-associations',
    ]);
    expect(inputsLeftUnread(error('eks:ListAddons'), 'cluster')).toEqual(['addons']);
    expect(inputsLeftUnread(error('eks:DescribeAddon'), 'cluster')).toEqual(['addons']);
  });

  it('every check of the catalogue but the coverage ones declares at least one input', () => {
    for (const check of CATALOGUE) {
      if (check.metadata.id.startsWith('AUDIT-')) expect(check.reads).toEqual([]);
      else expect(check.reads.length, check.metadata.id).toBeGreaterThan(0);
    }
  });

  it('reads the resource older snapshots put in the api of an account-level error', () => {
    const errors: CollectionError[] = [
      { api: 'eks:DescribeCluster (eu-west-1/payments)', code: 'AccessDenied', message: '' },
      { api: 'eks:ListClusters (us-east-1)', code: 'AccessDenied', message: '' },
      { api: 'iam:ListAttachedRolePolicies (app-role)', code: 'AccessDenied', message: '' },
    ];
    const account: Account = {
      accountId: '111122223333',
      iam: null,
      regions: [],
      clusters: [],
      collectionErrors: errors,
    };
    const fleet: Fleet = { accounts: [account], inputErrors: [] };
    const unread = unreadInputs(fleet).map((u) => [u.input, u.region, u.cluster, u.role]);
    expect(unread).toContainEqual(['cluster', 'eu-west-1', 'payments', null]);
    expect(unread).toContainEqual(['cluster-list', 'us-east-1', null, null]);
    expect(unread).toContainEqual(['role-policies', null, null, 'app-role']);
    expect(unread).not.toContainEqual(['iam', null, null, null]);
  });

  it('a cluster that was described but has no endpoint leaves only its Kubernetes inputs unread', () => {
    const error = { api: 'k8s', code: 'NoEndpoint', message: '' };
    expect(inputsLeftUnread(error, 'cluster')).not.toContain('cluster');
    expect(inputsLeftUnread({ ...error, api: 'eks:DescribeCluster' }, 'cluster')).not.toContain('cluster');
    expect(
      inputsLeftUnread({ api: 'eks:DescribeCluster', code: 'AccessDenied', message: '' }, 'cluster'),
    ).toContain('cluster');
  });
});

/** An SDK error as the SDK builds it: a name, a message, and the answer's metadata. */
function sdkError(name: string, message: string, status?: number, code?: string): Error {
  return Object.assign(new Error(message), {
    name,
    ...(code ? { code } : {}),
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
  });
}

describe('failures classified once', () => {
  it.each([
    [
      'an HTML 404 page the SDK could not parse',
      sdkError('SyntaxError', "Unexpected token '<'", 404),
      'not-found',
      'HTTP404',
    ],
    ['a 404 without an AWS error', sdkError('NotFound', 'Unknown', 404), 'not-found', 'HTTP404'],
    [
      'a 2xx body cut off',
      sdkError('SyntaxError', 'Unexpected end of JSON input', 200),
      'malformed',
      'MalformedResponse',
    ],
    [
      'XML that does not parse',
      sdkError('Error', '@aws-sdk XML parse error: unexpected content', 200),
      'malformed',
      'MalformedResponse',
    ],
    ['an HTML 500', sdkError('SyntaxError', "Unexpected token '<'", 500), 'server-error', 'HTTP500'],
    ['AccessDenied', sdkError('AccessDenied', 'not authorized', 403), 'denied', 'AccessDenied'],
    [
      'AccessDeniedException with a 400',
      sdkError('AccessDeniedException', 'no', 400),
      'denied',
      'AccessDeniedException',
    ],
    ['throttling', sdkError('ThrottlingException', 'Rate exceeded', 400), 'throttled', 'ThrottlingException'],
    ['IAM ServiceFailure', sdkError('ServiceFailure', 'failed', 500), 'server-error', 'ServiceFailure'],
    [
      'a name that does not resolve',
      sdkError('Error', 'getaddrinfo ENOTFOUND x', undefined, 'ENOTFOUND'),
      'unreachable',
      'ENOTFOUND',
    ],
    [
      'a refused connection',
      sdkError('Error', 'connect ECONNREFUSED', undefined, 'ECONNREFUSED'),
      'unreachable',
      'ECONNREFUSED',
    ],
    ['the SDK request timeout', sdkError('TimeoutError', 'timed out'), 'unreachable', 'TimeoutError'],
    [
      'an operation the endpoint lacks',
      sdkError('UnknownOperationException', 'unknown', 400),
      'not-found',
      'UnknownOperationException',
    ],
  ])('%s', (_what, error, failureClass, code) => {
    const classified = classifyAwsError(error);
    expect(classified.class).toBe(failureClass);
    expect(classified.code).toBe(code);
    expect(classified.code).not.toBe('SyntaxError');
  });

  it('keeps the HTTP status of an answer and none for a network failure', () => {
    expect(classifyAwsError(sdkError('SyntaxError', 'x', 404)).status).toBe(404);
    expect(classifyAwsError(sdkError('Error', 'x', undefined, 'ENOTFOUND')).status).toBeUndefined();
  });

  it('never keeps a bearer token or a presigned signature in a message', () => {
    const message = safeMessage(
      'refused k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9u at https://sts/?X-Amz-Signature=abcdef&X-Amz-Security-Token=SECRET\nsecond line',
    );
    expect(message).not.toMatch(/aHR0cHM6|abcdef|SECRET|second line/);
    expect(message).toContain('k8s-aws-v1.<redacted>');
  });
});

describe('the resource of an older api (`eks:ListClusters (us-east-1)`)', () => {
  /** What legacyResource replaced. */
  const byRegex = (api: string) => / \((.+)\)$/.exec(api)?.[1] ?? null;

  it('is what / \\((.+)\\)$/ matches', () => {
    expect(legacyResource('eks:ListClusters (us-east-1)')).toBe('us-east-1');
    expect(legacyResource('eks:DescribeCluster (eu-west-1/payments)')).toBe('eu-west-1/payments');
    expect(legacyResource('k8s:pods')).toBeNull();
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(' ', '(', ')', 'a', '/', '\n', '\u2028'), maxLength: 30 }),
        (api) => {
          expect(legacyResource(api)).toBe(byRegex(api));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('is found in a hostile api (many " (" that never close)', () => {
    // The regular expression took minutes on this (found by test/fuzz-snapshot.test.ts); the scan is
    // indexOf and lastIndexOf, and test/regex-safety.test.ts keeps such expressions out, untimed.
    const api = `iam:ListRoles${' ('.repeat(500_000)}x)`;
    expect(legacyResource(api)).toBe(api.slice('iam:ListRoles ('.length, -1));
    expect(legacyResource(`${api} `)).toBeNull();
  });
});

describe('a result whose ServiceAccount names a role in another account', () => {
  // Cluster account A runs shop/api (role payments of account B) and shop/web (role web of B);
  // reading payments' policies in B was denied.
  const fleet = new FleetBuilder();
  const a = fleet.account('111111111111');
  const b = fleet.account('222222222222');
  const cluster = a.cluster('demo');
  a.provider(cluster.issuer);
  cluster.webhook();
  for (const name of ['api', 'web']) {
    const role = b.role(
      name === 'api' ? 'payments' : 'web',
      irsaTrustPolicy(cluster.providerArn(), cluster.issuer, `system:serviceaccount:shop:${name}`),
    );
    cluster.serviceAccount('shop', name, { 'eks.amazonaws.com/role-arn': role.arn });
  }
  b.collectionErrors.push({
    api: 'iam:ListAttachedRolePolicies',
    code: 'AccessDenied',
    message: 'not authorized',
    class: 'denied',
    role: 'payments',
  });
  const findings = runAudit(fleet.build(), { now: FIXTURE_NOW, checkIds: ['IRSA-018'] }).findings;
  const of = (serviceAccount: string) => findings.find((f) => f.serviceAccount === serviceAccount);

  it("is not evaluated when that role's reads failed there, naming the failure", () => {
    expect(of('api')?.status).toBe('not-evaluated');
    expect(of('api')?.message).toContain(
      'iam:ListAttachedRolePolicies failed on role payments of account 222222222222',
    );
  });

  it("stands when the failure was another role's", () => {
    expect(of('web')?.status).not.toBe('not-evaluated');
    expect(of('web')?.message).not.toContain('failed');
  });
});

describe("a result whose ServiceAccount names a role that is not in its account's iam.json", () => {
  // shop/api names role payments of account B, shop/web role web of account C; neither role is in
  // its account's iam.json, and a read of B's IAM failed: only api's verdict depends on that read.
  const fleet = new FleetBuilder();
  const a = fleet.account('111111111111');
  const b = fleet.account('222222222222');
  fleet.account('333333333333');
  const cluster = a.cluster('demo');
  a.provider(cluster.issuer);
  cluster.webhook();
  cluster.serviceAccount('shop', 'api', {
    'eks.amazonaws.com/role-arn': 'arn:aws:iam::222222222222:role/payments',
  });
  cluster.serviceAccount('shop', 'web', {
    'eks.amazonaws.com/role-arn': 'arn:aws:iam::333333333333:role/apps/web',
  });
  b.collectionErrors.push({
    api: 'iam:GetRole',
    code: 'AccessDenied',
    message: 'not authorized',
    class: 'denied',
    role: 'payments',
  });
  const findings = runAudit(fleet.build(), { now: FIXTURE_NOW, checkIds: ['IRSA-011'] }).findings;
  const of = (serviceAccount: string) => findings.find((f) => f.serviceAccount === serviceAccount);

  it("is not evaluated when a read of the role's account failed, naming the failure", () => {
    expect(of('api')?.status).toBe('not-evaluated');
    expect(of('api')?.message).toContain('iam:GetRole failed on account 222222222222');
  });

  it("fails when the failed read was another account's", () => {
    expect(of('web')?.status).toBe('fail');
    expect(of('web')?.message).toContain('role web, which does not exist in account 333333333333');
  });
});
