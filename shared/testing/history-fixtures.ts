/**
 * Builds the nightly pipeline's values (stored findings, changes, unit outcomes, run digests) for
 * tests: plausible defaults for a cluster `checkout` of account 210987654321 in eu-west-1, which a
 * test overrides where it matters.
 */
import { createHash } from 'node:crypto';
import { SEVERITIES, type Severity, severityRank } from '../checks/types.ts';
import { type Finding, findingKey } from '../engine/run-audit.ts';
import type {
  AuditUnit,
  ChangeType,
  FindingChange,
  RunDigest,
  StoredFinding,
  UnitAuditOutcome,
} from '../history/types.ts';

export const FIXTURE_ACCOUNT = '210987654321';
export const FIXTURE_REGION = 'eu-west-1';
export const FIXTURE_CLUSTER = 'checkout';
export const FIXTURE_RUN_ID = 'run-2026-05-01T02:00:00Z';
export const FIXTURE_AUDITED_AT = '2026-05-01T02:13:07.000Z';

export function clusterUnit(overrides: Partial<AuditUnit> = {}): AuditUnit {
  return { accountId: FIXTURE_ACCOUNT, region: FIXTURE_REGION, cluster: FIXTURE_CLUSTER, ...overrides };
}

export function accountUnit(accountId = FIXTURE_ACCOUNT): AuditUnit {
  return { accountId, region: null, cluster: null };
}

export function bySeverity(counts: Partial<Record<Severity, number>> = {}): Record<Severity, number> {
  return Object.fromEntries(SEVERITIES.map((s) => [s, counts[s] ?? 0])) as Record<Severity, number>;
}

/**
 * A failing IRSA-030 finding on Deployment checkout/cart-api by default. The key and id follow
 * the fields, so findings that differ in their subject differ in their id.
 */
export function storedFinding(overrides: Partial<StoredFinding> = {}): StoredFinding {
  const base = {
    checkId: 'IRSA-030',
    title: 'Pods run without the IRSA injection',
    severity: 'high' as Severity,
    state: 'open' as const,
    accountId: FIXTURE_ACCOUNT,
    region: FIXTURE_REGION,
    cluster: FIXTURE_CLUSTER,
    namespace: 'checkout',
    serviceAccount: 'cart-api',
    roleName: 'checkout-cart-api',
    workload: { kind: 'Deployment', name: 'cart-api' },
    resource: null,
    message:
      '2 of 2 pod(s) of Deployment checkout/cart-api (service account cart-api) run without the IRSA injection and use the node role.',
    remediation: 'kubectl --context checkout rollout restart deployment/cart-api -n checkout',
    firstSeenAt: '2026-04-01T02:10:00.000Z',
    openedAt: FIXTURE_AUDITED_AT,
    resolvedAt: null,
    ...overrides,
  };
  const key = overrides.findingKey ?? findingKey(base);
  return {
    ...base,
    findingKey: key,
    findingId: overrides.findingId ?? createHash('sha256').update(key).digest('hex').slice(0, 32),
  };
}

/**
 * A change of `type` to a finding; `regression` follows the store's rule (opened, reopened and a
 * raised severity are regressions) unless given.
 */
export function findingChange(
  type: ChangeType,
  finding: Partial<StoredFinding> = {},
  options: { previousSeverity?: Severity | null; regression?: boolean } = {},
): FindingChange {
  const state = type === 'resolved' ? 'resolved' : type === 'exempted' ? 'exempted' : 'open';
  const stored = storedFinding({
    state,
    ...(type === 'resolved' ? { resolvedAt: FIXTURE_AUDITED_AT } : {}),
    ...finding,
  });
  const previousSeverity = options.previousSeverity ?? null;
  const raised = previousSeverity !== null && severityRank(stored.severity) < severityRank(previousSeverity);
  const regression =
    options.regression ??
    (type === 'opened' || type === 'reopened' || (type === 'severity-changed' && raised));
  return { type, finding: stored, previousSeverity, regression };
}

/** The outcome of a complete, non-baseline audit of cluster checkout with `changes`. */
export function unitOutcome(overrides: Partial<UnitAuditOutcome> = {}): UnitAuditOutcome {
  return {
    runId: FIXTURE_RUN_ID,
    unit: clusterUnit(),
    auditedAt: FIXTURE_AUDITED_AT,
    baseline: false,
    partial: false,
    changes: [],
    openBySeverity: bySeverity({ high: 1 }),
    durationMs: 4_200,
    ...overrides,
  };
}

/** A run of 3 accounts, one failed, with one regressed cluster. */
export function runDigest(overrides: Partial<RunDigest> = {}): RunDigest {
  return {
    runId: FIXTURE_RUN_ID,
    startedAt: '2026-05-01T02:00:00.000Z',
    completedAt: '2026-05-01T02:14:30.000Z',
    accountsPlanned: 3,
    accountsAudited: 2,
    unreadInputs: [],
    accountsFailed: [
      {
        accountId: '111122223333',
        reason: 'AccessDenied: sts:AssumeRole on arn:aws:iam::111122223333:role/irsa-auditor was denied',
      },
    ],
    clustersAudited: 5,
    clustersPartial: 1,
    clustersBaselined: 1,
    newFindings: 4,
    resolvedFindings: 2,
    regressions: 3,
    openBySeverity: bySeverity({ critical: 1, high: 4, low: 2 }),
    regressedUnits: [{ unit: clusterUnit(), regressions: 3, maxSeverity: 'critical' }],
    ...overrides,
  };
}

/** An engine result (what runAudit reports) in `unit`: a failing IRSA-030 on shop/cart unless overridden. */
export function auditFinding(unit: AuditUnit, overrides: Partial<Finding> = {}): Finding {
  return {
    checkId: 'IRSA-030',
    name: 'pod-not-mutated',
    title: 'Pods run without the IRSA injection',
    severity: 'high',
    status: 'fail',
    accountId: unit.accountId,
    region: unit.region,
    cluster: unit.cluster,
    namespace: 'shop',
    serviceAccount: 'cart',
    roleName: 'cart',
    workload: { kind: 'Deployment', name: 'cart' },
    resource: null,
    message: `pods of Deployment shop/cart on ${unit.cluster} run without the IRSA injection`,
    evidence: {},
    remediation: 'kubectl rollout restart deployment/cart -n shop',
    ...overrides,
  };
}
