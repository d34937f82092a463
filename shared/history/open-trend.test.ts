import { describe, expect, it } from 'vitest';
import type { FindingStore, RunRecord, UnitRunRecord } from './finding-store.ts';
import { inScope, openTrend } from './open-trend.ts';
import type { AuditUnit, StoredFinding } from './types.ts';

const A: AuditUnit = { accountId: '111122223333', region: 'eu-west-1', cluster: 'prod' };
const A0: AuditUnit = { accountId: '111122223333', region: null, cluster: null };
const B: AuditUnit = { accountId: '444455556666', region: 'us-east-1', cluster: 'batch' };

const run = (runId: string, accountsFailed: Record<string, string> = {}): RunRecord =>
  ({
    runId,
    startedAt: `${runId}T02:00:00.000Z`,
    completedAt: `${runId}T02:10:00.000Z`,
    accountsFailed,
  }) as RunRecord;
const unitRun = (unit: AuditUnit, critical: number, high: number, partial = false): UnitRunRecord =>
  ({ unit, partial, openBySeverity: { critical, high, medium: 0, low: 0 } }) as UnitRunRecord;

/** The three reads openTrend makes, over fixed nights (newest first, as the store answers). */
function store(open: StoredFinding[] = []): FindingStore {
  const nights: [RunRecord, UnitRunRecord[]][] = [
    [run('2026-11-03'), [unitRun(A, 0, 1), unitRun(A0, 0, 1), unitRun(B, 2, 0)]],
    [run('2026-11-02', { '444455556666': 'AssumeRole denied' }), [unitRun(A, 1, 1, true), unitRun(A0, 0, 1)]],
    [run('2026-11-01'), [unitRun(A, 0, 2), unitRun(A0, 0, 1), unitRun(B, 1, 0)]],
  ];
  return {
    recentRuns: async (limit: number) => nights.slice(0, limit).map(([r]) => r),
    unitRuns: async (runId: string) => nights.find(([r]) => r.runId === runId)?.[1] ?? [],
    openFindings: async (severity: string) => open.filter((f) => f.severity === severity),
    openFindingsOfUnit: async () => open.filter((f) => f.cluster === 'prod'),
    findingsOfAccount: async (account: string) => open.filter((f) => f.accountId === account),
  } as unknown as FindingStore;
}

const fleet = { unit: null, account: null, region: null };

describe('openTrend', () => {
  it('counts each unit with its last audit up to the night: a unit not audited counts what it had', async () => {
    const trend = await openTrend(store(), fleet, 30);
    expect(trend.nights.map((n) => [n.runId, n.openBySeverity.critical, n.openBySeverity.high])).toEqual([
      ['2026-11-01', 1, 3],
      ['2026-11-02', 2, 2],
      ['2026-11-03', 2, 2],
    ]);
    const second = trend.nights[1];
    expect(second).toMatchObject({ audited: 2, carried: 1, partial: 1 });
    expect(second?.accountsFailed).toEqual({ '444455556666': 'AssumeRole denied' });
  });

  it('keeps to its scope: a cluster, an account (and its account level), a region', async () => {
    const cluster = await openTrend(store(), { unit: A, account: null, region: null }, 2);
    expect(cluster.nights.map((n) => n.openBySeverity.high)).toEqual([1, 1]);
    expect(cluster.nights[0]?.accountsFailed).toEqual({});
    const account = await openTrend(store(), { unit: null, account: '111122223333', region: null }, 30);
    expect(account.nights.map((n) => n.openBySeverity.high)).toEqual([3, 2, 2]);
    expect(inScope({ unit: null, account: null, region: 'eu-west-1' }, A0)).toBe(true);
    expect(inScope({ unit: null, account: null, region: 'eu-west-1' }, B)).toBe(false);
  });
});
