/**
 * The digest's fleet-wide open counts come from the unit states (one Query of gsi5, O(units)), not
 * from counting every open finding. They must stay exact: after several nights on dynalite, with a
 * partial cluster, a failed account, a deleted cluster and a delivery that crashed after writing a
 * unit's findings (its message on the DLQ), they equal a full count of the open findings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEVERITIES, type Severity } from '#shared/checks/types.ts';
import type { Finding } from '#shared/engine/run-audit.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import { type RecordedUnit, recordUnit, type UnitResults } from '#shared/history/record-audit.ts';
import type { AuditUnit } from '#shared/history/types.ts';
import { buildDigest } from '#shared/pipeline/audit-account.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { auditFinding } from '#shared/testing/history-fixtures.ts';

const X = '111122223333';
const Y = '444455556666';
const XL: AuditUnit = { accountId: X, region: null, cluster: null };
const XA: AuditUnit = { accountId: X, region: 'eu-west-1', cluster: 'prod' };
/** Deleted after the second night: never audited again, its open findings stay. */
const XB: AuditUnit = { accountId: X, region: 'eu-west-1', cluster: 'stage' };
const YL: AuditUnit = { accountId: Y, region: null, cluster: null };
const YC: AuditUnit = { accountId: Y, region: 'us-east-1', cluster: 'batch' };

const sa = (unit: AuditUnit, name: string, overrides: Partial<Finding> = {}) =>
  auditFinding(unit, {
    serviceAccount: name,
    roleName: name,
    workload: { kind: 'Deployment', name },
    ...overrides,
  });
const provider = (unit: AuditUnit, id: string): Finding =>
  auditFinding(unit, {
    checkId: 'IRSA-050',
    severity: 'low',
    region: null,
    cluster: null,
    namespace: null,
    serviceAccount: null,
    roleName: null,
    workload: null,
    resource: `oidc.eks.eu-west-1.amazonaws.com/id/${id}`,
  });
const unreachable = (unit: AuditUnit): Finding =>
  auditFinding(unit, {
    checkId: 'AUDIT-001',
    severity: 'high',
    region: null,
    cluster: null,
    namespace: null,
    serviceAccount: null,
    roleName: null,
    workload: null,
    message: `sts:AssumeRole into ${unit.accountId} was denied`,
  });

const night = (n: number) => `2026-04-${String(n).padStart(2, '0')}T02:00:00.000Z`;
const runIdOf = (runAt: string) => `${runAt.slice(0, 16)}Z`;
const entry = (unit: AuditUnit, results: Finding[], partial = false): UnitResults => ({
  unit,
  results,
  partial,
  errors: partial ? ['AUDIT-00x: not everything could be read'] : [],
  unread: [],
});

interface Night {
  readonly units: UnitResults[];
  /** Units whose findings are written but whose delivery crashes before completing them (DLQ). */
  readonly crashed?: AuditUnit[];
  /** Accounts whose audit failed (AUDIT-001), recorded as failed in the run. */
  readonly failed?: string[];
}

/** One night as the auditor records it (shared/pipeline/audit-account.ts without SNS). */
async function audit(store: FindingStore, n: number, plan: Night): Promise<string> {
  const runAt = night(n);
  const runId = runIdOf(runAt);
  const accounts = [...new Set(plan.units.map((u) => u.unit.accountId))];
  await store.startRun(runId, runAt, accounts.length);
  for (const accountId of accounts) {
    let crashed = false;
    for (const unitResults of plan.units.filter((u) => u.unit.accountId === accountId)) {
      const r = await recordUnit({ store, runId, runAt, now: () => new Date(runAt) }, unitResults);
      if (plan.crashed?.some((u) => u.cluster === unitResults.unit.cluster && u.accountId === accountId)) {
        crashed = true;
        break;
      }
      await complete(store, runId, r);
    }
    // A crashed delivery never counts its account (the message ends on the DLQ).
    if (crashed) continue;
    const failure = plan.failed?.includes(accountId) ? 'sts:AssumeRole denied' : null;
    await store.completeAccount(
      runId,
      accountId,
      runAt,
      {
        clustersAudited: 0,
        clustersPartial: 0,
        clustersBaselined: 0,
        newFindings: 0,
        resolvedFindings: 0,
        regressions: 0,
      },
      failure,
    );
  }
  return runId;
}

async function complete(store: FindingStore, runId: string, r: RecordedUnit): Promise<void> {
  const { outcome } = r;
  await store.completeUnit({
    runId,
    unit: outcome.unit,
    status: 'complete',
    auditedAt: outcome.auditedAt,
    baseline: outcome.baseline,
    partial: outcome.partial,
    opened: 0,
    resolved: 0,
    regressions: 0,
    maxSeverity: null,
    openBySeverity: outcome.openBySeverity,
    durationMs: outcome.durationMs,
    errors: [...r.errors],
    alertMessageId: null,
  });
}

/** Open findings counted one by one from the account partitions (every finding state). */
async function countFromFindings(store: FindingStore): Promise<Record<Severity, number>> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const accountId of [X, Y])
    for (const f of await store.findingsOfAccount(accountId)) if (f.state === 'open') counts[f.severity]++;
  return counts;
}

let local: LocalDynamo;
let store: FindingStore;

beforeAll(async () => {
  local = await startDynalite('digest-open-counts');
  store = new FindingStore({ tableName: local.tableName, client: local.client });
});
afterAll(async () => {
  await local?.stop();
});

describe("the digest's open counts, from the unit states", () => {
  const a1 = sa(XA, 'cart');
  const a2 = sa(XA, 'billing', { severity: 'critical' });
  const a3 = sa(XA, 'search', { severity: 'medium' });
  const a4 = sa(XA, 'ledger', { severity: 'low' });
  const a5 = sa(XA, 'mailer', { severity: 'critical' });
  const b1 = sa(XB, 'etl');
  const b2 = sa(XB, 'cron', { severity: 'low' });
  const b3 = sa(XB, 'ingest', { severity: 'critical' });
  const c1 = sa(YC, 'spark', { severity: 'medium' });
  const c2 = sa(YC, 'flink');
  const c3 = sa(YC, 'kafka');

  const nights: Night[] = [
    // 1: the baseline of both accounts.
    {
      units: [
        entry(XL, [provider(XL, '1')]),
        entry(XA, [a1, a2, a3]),
        entry(XB, [b1, b2]),
        entry(YL, []),
        entry(YC, [c1, c2]),
      ],
    },
    // 2: a1 resolved, a2 lowered, a4 opened; b3 opened; YC partial: c1 absent but still open, c3 opened.
    {
      units: [
        entry(XL, [provider(XL, '1')]),
        entry(XA, [{ ...a2, severity: 'high' }, a3, a4]),
        entry(XB, [b1, b2, b3]),
        entry(YL, []),
        entry(YC, [c2, c3], true),
      ],
    },
    // 3: XB is deleted (no longer listed); a3 exempted; the delivery of X crashes after writing XA's
    // findings (a5 opened) and ends on the DLQ. Y cannot be assumed (AUDIT-001): only its account
    // level is recorded, partial; YC keeps its open findings.
    {
      units: [
        entry(XL, [provider(XL, '1'), provider(XL, '2')]),
        entry(XA, [{ ...a2, severity: 'high' }, { ...a3, status: 'exempted' }, a4, a5]),
        entry(YL, [unreachable(YL)], true),
      ],
      crashed: [XA],
      failed: [Y],
    },
    // 4: X cannot be assumed: XA is not audited, its counts are still those before night 3's
    // writes. Y is back: c1 resolved, AUDIT-001 resolved.
    {
      units: [
        entry(XL, [provider(XL, '1'), provider(XL, '2'), unreachable(XL)], true),
        entry(YL, []),
        entry(YC, [c2, c3]),
      ],
      failed: [X],
    },
    // 5: everything audited again (XB still deleted).
    {
      units: [
        entry(XL, [provider(XL, '2')]),
        entry(XA, [{ ...a2, severity: 'high' }, { ...a3, status: 'exempted' }, a5]),
        entry(YL, []),
        entry(YC, [c3]),
      ],
    },
  ];

  it('equal a full count of the open findings after every night, counting only marked units again', async () => {
    const recountedByNight: string[][] = [];
    for (const [i, plan] of nights.entries()) {
      const runId = await audit(store, i + 1, plan);
      const run = await store.getRun(runId);
      if (!run) throw new Error(`no run ${runId}`);
      const digest = await buildDigest(run, store, night(i + 1));
      const full = await store.countOpenBySeverity();
      expect(digest.openBySeverity, `night ${i + 1}`).toEqual(full);
      expect(digest.openBySeverity, `night ${i + 1}`).toEqual(await countFromFindings(store));
      const { recounted, units } = await store.openCountsFromUnits();
      expect(units, `night ${i + 1}`).toBe(5);
      recountedByNight.push(recounted.map((u) => `${u.accountId}/${u.cluster}`));
    }
    // Only the unit whose findings were written without completing is counted from its findings,
    // from the crash (night 3) until its next complete audit (night 5).
    expect(recountedByNight).toEqual([[], [], [`${X}/prod`], [`${X}/prod`], []]);
    // After night 5: XA a2 high + a5 critical; XB (deleted) b1 high, b2 low, b3 critical; XL one
    // provider; YC c3 high.
    expect(await store.openCountsFromUnits()).toMatchObject({
      openBySeverity: { critical: 2, high: 3, medium: 0, low: 2 },
    });
  });

  it('read one small item per unit (the benchmark shows the growth at 1,000 clusters)', async () => {
    const before = store.consumed['open counts from unit states'] ?? 0;
    await store.openCountsFromUnits();
    // One Query page of five projected unit states: half a unit (eventually consistent, under 4 KB).
    expect((store.consumed['open counts from unit states'] ?? 0) - before).toBe(0.5);
  });
});
