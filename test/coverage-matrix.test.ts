/**
 * The failure matrix (issue 21): every AWS API and Kubernetes list the collector calls is made to
 * fail in the emulator, in every way a real endpoint fails (denied, a 404 with an HTML page, a
 * 500 on every attempt, a body cut off, no answer), over the sample fleet, with the real SDK,
 * the real Kubernetes requests and the real checks. For each:
 * - no check that reads the failed input passes where the failure applies;
 * - every result the failure does not cover is exactly what it is without the failure;
 * - one coverage finding (AUDIT-001/002/003) names the operation, at the scope of the failure,
 *   with the class of the failure recorded (and the HTTP status when there was an answer).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import { type CollectOptions, collectFleet } from '#shared/collectors/collect-fleet.ts';
import { AuditContext } from '#shared/engine/audit-context.ts';
import { Coverage, type InputName } from '#shared/engine/coverage.ts';
import { type Finding, findingKey, runAudit } from '#shared/engine/run-audit.ts';
import type { FailureClass, Fleet } from '#shared/model/fleet.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import { memorySource } from '#shared/snapshot/snapshot-source.ts';
import type { FailureMode, FaultOptions } from '../emulator/faults.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
const NOW = new Date('2026-06-01T00:00:00Z');

/** The sample fleet: payments (eu-west-1) in 210987654321, ml-platform (us-east-1) in 345678901234. */
const PAYMENTS = { accountId: '210987654321', region: 'eu-west-1', cluster: 'payments' };
const ML = { accountId: '345678901234', region: 'us-east-1', cluster: 'ml-platform' };
/** batch (eu-west-1) in 210987654321: its pod identity webhook is self-hosted, behind a Service. */
const BATCH = { accountId: '210987654321', region: 'eu-west-1', cluster: 'batch' };
/** A role a ServiceAccount of payments names (its policies are looked up for IRSA-018). */
const ROLE = 'payments-settlement';
/** The launch template payments' node group runs (ec2:DescribeLaunchTemplateVersions, IRSA-060). */
const TEMPLATE: string = JSON.parse(
  readFileSync(join(FLEET, '210987654321/eu-west-1/payments/nodegroups.json'), 'utf8'),
).launchTemplateVersions[0].LaunchTemplateId;
const CLUSTER_INPUTS: readonly InputName[] = [
  'cluster',
  'pod-identity-associations',
  'node-groups',
  'launch-templates',
  'ServiceAccount',
  'Pod',
  'MutatingWebhookConfiguration',
];

interface Read {
  /** The fault key (emulator/faults.ts `failures`). */
  readonly key: string;
  /** The operation recorded in collection-errors.json. */
  readonly api: string;
  /** The input it leaves unread. */
  readonly inputs: readonly InputName[];
  /** The coverage finding expected, and its subject. */
  readonly audit: 'AUDIT-001' | 'AUDIT-002' | 'AUDIT-003';
  readonly at: { accountId: string; region: string | null; cluster: string | null };
}

const account = (accountId: string) => ({ accountId, region: null, cluster: null });

const READS: readonly Read[] = [
  {
    key: `sts:AssumeRole@${ML.accountId}`,
    api: 'sts:AssumeRole',
    inputs: ['iam', 'cluster-list', ...CLUSTER_INPUTS],
    audit: 'AUDIT-001',
    at: account(ML.accountId),
  },
  {
    key: `iam:ListRoles@${PAYMENTS.accountId}`,
    api: 'iam:ListRoles',
    inputs: ['iam'],
    audit: 'AUDIT-001',
    at: account(PAYMENTS.accountId),
  },
  {
    key: `iam:ListOpenIDConnectProviders@${PAYMENTS.accountId}`,
    api: 'iam:ListOpenIDConnectProviders',
    inputs: ['iam'],
    audit: 'AUDIT-001',
    at: account(PAYMENTS.accountId),
  },
  {
    key: `iam:GetOpenIDConnectProvider@${ML.accountId}`,
    api: 'iam:GetOpenIDConnectProvider',
    inputs: ['iam'],
    audit: 'AUDIT-001',
    at: account(ML.accountId),
  },
  {
    key: `iam:ListAttachedRolePolicies@${ROLE}`,
    api: 'iam:ListAttachedRolePolicies',
    inputs: ['role-policies'],
    audit: 'AUDIT-003',
    at: account(PAYMENTS.accountId),
  },
  {
    key: `iam:ListRolePolicies@${ROLE}`,
    api: 'iam:ListRolePolicies',
    inputs: ['role-policies'],
    audit: 'AUDIT-003',
    at: account(PAYMENTS.accountId),
  },
  {
    key: `account:ListRegions@${ML.accountId}`,
    api: 'account:ListRegions',
    inputs: ['cluster-list', ...CLUSTER_INPUTS],
    audit: 'AUDIT-001',
    at: account(ML.accountId),
  },
  {
    key: `eks:ListClusters@${PAYMENTS.accountId}`,
    api: 'eks:ListClusters',
    inputs: ['cluster-list', ...CLUSTER_INPUTS],
    audit: 'AUDIT-001',
    at: account(PAYMENTS.accountId),
  },
  {
    key: `eks:DescribeCluster@${PAYMENTS.cluster}`,
    api: 'eks:DescribeCluster',
    inputs: CLUSTER_INPUTS,
    audit: 'AUDIT-003',
    at: PAYMENTS,
  },
  {
    key: `eks:ListPodIdentityAssociations@${PAYMENTS.cluster}`,
    api: 'eks:ListPodIdentityAssociations',
    inputs: ['pod-identity-associations'],
    audit: 'AUDIT-003',
    at: PAYMENTS,
  },
  {
    key: `eks:ListNodegroups@${PAYMENTS.cluster}`,
    api: 'eks:ListNodegroups',
    inputs: ['node-groups', 'launch-templates'],
    audit: 'AUDIT-003',
    at: PAYMENTS,
  },
  {
    key: `eks:DescribeNodegroup@${PAYMENTS.cluster}`,
    api: 'eks:DescribeNodegroup',
    inputs: ['node-groups', 'launch-templates'],
    audit: 'AUDIT-003',
    at: PAYMENTS,
  },
  {
    key: `ec2:DescribeLaunchTemplateVersions@${TEMPLATE}`,
    api: 'ec2:DescribeLaunchTemplateVersions',
    inputs: ['launch-templates'],
    audit: 'AUDIT-003',
    at: PAYMENTS,
  },
  {
    key: `k8s:${PAYMENTS.cluster}:serviceaccounts`,
    api: 'k8s:serviceaccounts',
    inputs: ['ServiceAccount'],
    audit: 'AUDIT-003',
    at: PAYMENTS,
  },
  { key: `k8s:${ML.cluster}:pods`, api: 'k8s:pods', inputs: ['Pod'], audit: 'AUDIT-003', at: ML },
  {
    key: `k8s:${PAYMENTS.cluster}:mutatingwebhookconfigurations`,
    api: 'k8s:mutatingwebhookconfigurations',
    inputs: ['MutatingWebhookConfiguration'],
    audit: 'AUDIT-003',
    at: PAYMENTS,
  },
  {
    key: `k8s:${BATCH.cluster}:namespaces`,
    api: 'k8s:namespaces',
    inputs: ['Namespace'],
    audit: 'AUDIT-003',
    at: BATCH,
  },
  // Only batch's pod identity webhook is called through a Service (the self-hosted one).
  {
    key: `k8s:${BATCH.cluster}:services`,
    api: 'k8s:services',
    inputs: ['Service'],
    audit: 'AUDIT-003',
    at: BATCH,
  },
  {
    key: `k8s:${BATCH.cluster}:endpointslices`,
    api: 'k8s:endpointslices',
    inputs: ['EndpointSlice'],
    audit: 'AUDIT-003',
    at: BATCH,
  },
];

const MODES: readonly { mode: FailureMode; class: FailureClass; status?: number }[] = [
  { mode: 'denied', class: 'denied', status: 403 },
  { mode: 'html-404', class: 'not-found', status: 404 },
  { mode: 'server-error', class: 'server-error', status: 500 },
  { mode: 'malformed', class: 'malformed', status: 200 },
  { mode: 'silent', class: 'unreachable' },
];

/** A whole Kubernetes API failing: the cluster is AUDIT-002, its AWS side still audited. */
const WHOLE_API: readonly { name: string; faults: FaultOptions; class: FailureClass; code: string }[] = [
  {
    name: 'connection refused',
    faults: { unreachableClusters: [PAYMENTS.cluster] },
    class: 'unreachable',
    code: 'ECONNREFUSED',
  },
  {
    name: 'token refused (401)',
    faults: { forbiddenClusters: [PAYMENTS.cluster] },
    class: 'denied',
    code: 'Unauthorized',
  },
  {
    name: 'no TLS handshake',
    faults: { silentClusters: [PAYMENTS.cluster] },
    class: 'unreachable',
    code: 'Timeout',
  },
  {
    name: 'no answer',
    faults: { stalledClusters: [PAYMENTS.cluster] },
    class: 'unreachable',
    code: 'Timeout',
  },
  {
    name: 'private endpoint only',
    faults: { privateClusters: [PAYMENTS.cluster] },
    class: 'unreachable',
    code: 'PrivateEndpoint',
  },
  // One list that never answers: an API server that does not answer is out of reach as a whole.
  ...['serviceaccounts', 'pods', 'mutatingwebhookconfigurations'].map((resource) => ({
    name: `k8s:${resource} never answers`,
    faults: { failures: { [`k8s:${PAYMENTS.cluster}:${resource}`]: 'silent' as const } },
    class: 'unreachable' as const,
    code: 'Timeout',
  })),
];

let emulator: Emulator;
const savedEnv = { ...process.env };

const OPTIONS: CollectOptions = {
  accounts: { kind: 'organization' },
  auditRole: { roleName: 'irsa-auditor' },
  // Two attempts per AWS call and short timeouts: every failure mode ends quickly.
  clientOptions: { maxAttempts: 2, requestTimeoutMs: 300 },
  kubernetes: {
    backoffMs: 1,
    maxRetries: 1,
    timeoutMs: 400,
    connectTimeoutMs: 400,
    deadlineMs: 1_500,
    pageSize: 50,
  },
};

async function audit(): Promise<{ fleet: Fleet; findings: readonly Finding[] }> {
  const { files } = await collectFleet(OPTIONS);
  const fleet = await loadFleet(memorySource(files));
  expect(fleet.inputErrors).toEqual([]);
  return { fleet, findings: runAudit(fleet, { now: NOW }).findings };
}

let baseline: Map<string, Finding>;

beforeAll(async () => {
  emulator = await startEmulator({ fleetDir: FLEET });
  Object.assign(process.env, emulator.env);
  const { findings } = await audit();
  baseline = new Map(findings.map((f) => [findingKey(f), f]));
  expect([...baseline.values()].filter((f) => f.checkId.startsWith('AUDIT-') && f.status === 'fail')).toEqual(
    [],
  );
});
afterAll(async () => {
  await emulator?.stop();
  process.env = savedEnv;
});

const READS_OF = new Map(CATALOGUE.map((check) => [check.metadata.id, check.reads.map((r) => r.input)]));

/** Asserts the three rules of the matrix for one failed read. */
function assertMatrix(
  fleet: Fleet,
  findings: readonly Finding[],
  inputs: readonly InputName[],
  expected: { audit: string; api: string; at: Read['at']; class: FailureClass; status?: number },
): void {
  const coverage = new Coverage(fleet, new AuditContext(fleet, NOW));
  const seen = new Set<string>();
  for (const finding of findings) {
    const key = findingKey(finding);
    seen.add(key);
    if (finding.checkId.startsWith('AUDIT-')) continue;
    const check = CATALOGUE.find((c) => c.metadata.id === finding.checkId);
    const reads = (READS_OF.get(finding.checkId) ?? []).some((input) => inputs.includes(input));
    const covered = check ? coverage.gapsOf(check.reads, finding).length > 0 : false;
    if (reads && covered) {
      expect(finding.status, `${key} reads ${inputs.join(', ')}, which failed`).toBe('not-evaluated');
    } else if (!reads) {
      // A check that does not read the failed input gives the result it gives without the failure.
      expect(finding.status, `${key} does not read ${inputs.join(', ')}`).toBe(baseline.get(key)?.status);
    }
  }
  // A result that disappeared must belong to a check that reads the input (no ServiceAccounts: no SA results).
  for (const [key, before] of baseline) {
    if (seen.has(key) || before.checkId.startsWith('AUDIT-')) continue;
    const reads = (READS_OF.get(before.checkId) ?? []).some((input) => inputs.includes(input));
    expect(
      reads,
      `${key} (${before.status}) vanished although ${before.checkId} does not read ${inputs.join(', ')}`,
    ).toBe(true);
  }
  const coverageFindings = findings.filter((f) => f.checkId.startsWith('AUDIT-') && f.status === 'fail');
  expect(coverageFindings.map((f) => [f.checkId, f.accountId, f.region, f.cluster])).toEqual([
    [expected.audit, expected.at.accountId, expected.at.region, expected.at.cluster],
  ]);
  const [finding] = coverageFindings;
  expect(finding?.message).toContain(expected.api);
  const recorded = [
    ...fleet.accounts.flatMap((a) => a.collectionErrors),
    ...fleet.accounts.flatMap((a) => a.clusters.flatMap((c) => c.collectionErrors)),
  ];
  expect(recorded.map((e) => e.api)).toContain(expected.api);
  const error = recorded.find((e) => e.api === expected.api);
  expect(error?.class, JSON.stringify(error)).toBe(expected.class);
  if (expected.status !== undefined) expect(error?.status, JSON.stringify(error)).toBe(expected.status);
  expect(error?.code).not.toBe('SyntaxError');
}

describe('the failure matrix: no check passes on an input that could not be read', () => {
  for (const read of READS) {
    for (const mode of MODES) {
      // A Kubernetes list that never answers is a stalled API: the whole cluster ends (AUDIT-002, below).
      // A Kubernetes list that never answers is a stalled API: the whole cluster ends (AUDIT-002, below).
      if (mode.mode === 'silent' && read.api.startsWith('k8s:')) continue;
      it(`${read.api} ${mode.mode}`, async () => {
        emulator.setFaults({ failures: { [read.key]: mode.mode } });
        const { fleet, findings } = await audit();
        assertMatrix(fleet, findings, read.inputs, {
          ...read,
          class: mode.class,
          ...(mode.status === undefined ? {} : { status: mode.status }),
        });
      });
    }
  }

  for (const whole of WHOLE_API) {
    it(`the Kubernetes API as a whole: ${whole.name}`, async () => {
      emulator.setFaults(whole.faults);
      const { fleet, findings } = await audit();
      const cluster = fleet.accounts.flatMap((a) => a.clusters).find((c) => c.name === PAYMENTS.cluster);
      expect(cluster?.collectionErrors.map((e) => [e.code, e.class])).toEqual([[whole.code, whole.class]]);
      const coverage = findings.filter((f) => f.checkId.startsWith('AUDIT-') && f.status === 'fail');
      expect(coverage.map((f) => [f.checkId, f.cluster])).toEqual([['AUDIT-002', PAYMENTS.cluster]]);
      for (const finding of findings.filter(
        (f) => f.cluster === PAYMENTS.cluster && !f.checkId.startsWith('AUDIT-'),
      )) {
        const kubernetes = (READS_OF.get(finding.checkId) ?? []).some((i) =>
          ['ServiceAccount', 'Pod', 'MutatingWebhookConfiguration'].includes(i),
        );
        if (kubernetes) expect(finding.status, findingKey(finding)).not.toBe('pass');
        else expect(finding.status, findingKey(finding)).toBe(baseline.get(findingKey(finding))?.status);
      }
    });
  }

  it('a failed account:ListRegions is AUDIT-001 whose fix names --regions', async () => {
    emulator.setFaults({ failures: { [`account:ListRegions@${ML.accountId}`]: 'html-404' } });
    const { findings } = await audit();
    const [finding] = findings.filter((f) => f.checkId === 'AUDIT-001' && f.status === 'fail');
    expect(finding?.accountId).toBe(ML.accountId);
    expect(finding?.remediation).toContain('--regions');
  });

  it('writes the same errors, in the same order, on every run with the same failures', async () => {
    // Failures that finish in any order: every cluster's Pod Identity read and every role's policies.
    emulator.setFaults({
      failures: {
        'eks:ListPodIdentityAssociations': 'denied',
        'iam:ListAttachedRolePolicies': 'server-error',
        'eks:ListClusters@345678901234': 'html-404',
      },
    });
    const runs: string[] = [];
    for (let run = 0; run < 3; run++) {
      const { files } = await collectFleet(OPTIONS);
      const errors = [...files].filter(([path]) => path.endsWith('collection-errors.json')).sort();
      const { findings } = await audit();
      const coverage = findings.filter((f) => f.checkId.startsWith('AUDIT-') && f.status === 'fail');
      runs.push(JSON.stringify({ errors, coverage: coverage.map((f) => [f.checkId, f.cluster, f.message]) }));
    }
    expect(new Set(runs).size).toBe(1);
    const account = JSON.parse(runs[0] ?? '{}').errors.find(
      ([path]: [string]) => path === `${PAYMENTS.accountId}/collection-errors.json`,
    );
    const apis = JSON.parse(account?.[1] ?? '{"errors":[]}').errors.map(
      (e: { api: string; role?: string }) => `${e.api} ${e.role}`,
    );
    expect(apis.length).toBeGreaterThan(1);
    expect(apis).toEqual([...apis].sort());
  });

  it('IRSA-021 (and PODID-004) on a cluster whose Pod Identity associations could not be listed: not evaluated there, and nothing else changes', async () => {
    emulator.setFaults({ failures: { [`eks:ListPodIdentityAssociations@${PAYMENTS.cluster}`]: 'denied' } });
    const { findings } = await audit();
    const changed = findings.filter((f) => {
      const before = baseline.get(findingKey(f));
      return before?.status !== f.status;
    });
    const irsa021 = findings.filter((f) => f.checkId === 'IRSA-021' && f.cluster === PAYMENTS.cluster);
    expect(irsa021.length).toBeGreaterThan(0);
    expect(irsa021.every((f) => f.status === 'not-evaluated')).toBe(true);
    expect(irsa021[0]?.message).toContain('eks:ListPodIdentityAssociations failed on cluster payments');
    expect(new Set(changed.map((f) => `${f.checkId} ${f.cluster}`))).toEqual(
      // PODID-004 passes on a cluster without associations: unknown associations, unknown verdict.
      new Set([
        `IRSA-021 ${PAYMENTS.cluster}`,
        `PODID-004 ${PAYMENTS.cluster}`,
        `AUDIT-003 ${PAYMENTS.cluster}`,
      ]),
    );
  });
});
