/**
 * The finding store against a real DynamoDB-protocol server (dynalite) through the real SDK:
 * what a night records, re-delivery (no duplicate event, claims once, an account counted once),
 * TTL on history items only, and every access pattern people use.
 */
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEVERITIES, type Severity } from '#shared/checks/types.ts';
import { type Finding, findingKey } from '#shared/engine/run-audit.ts';
import { FindingStore, type RunCounters } from '#shared/history/finding-store.ts';
import { reconcile } from '#shared/history/reconcile.ts';
import { type RecordedUnit, recordUnit, type UnitResults } from '#shared/history/record-audit.ts';
import { expiresAt, findingIdOf, keys, unitKey } from '#shared/history/table.ts';
import type { AuditUnit, StoredFinding } from '#shared/history/types.ts';
import { createLocalTable, type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { auditFinding } from '#shared/testing/history-fixtures.ts';

const RETENTION_DAYS = 30;
const A: AuditUnit = { accountId: '111122223333', region: 'eu-west-1', cluster: 'prod' };
/** A cluster whose name starts with A's: its findings must never leak into A's. */
const B: AuditUnit = { accountId: '111122223333', region: 'eu-west-1', cluster: 'prod-2' };
const C: AuditUnit = { accountId: '444455556666', region: 'us-east-1', cluster: 'batch' };
const L: AuditUnit = { accountId: '111122223333', region: null, cluster: null };

const finding = auditFinding;

const idOf = (unit: AuditUnit, f: Finding) => findingIdOf(unit, findingKey(f));
const night = (n: number) => `2026-03-${String(n).padStart(2, '0')}T02:00:00.000Z`;
const runIdOf = (runAt: string) => `${runAt.slice(0, 16)}Z`;
const entry = (unit: AuditUnit, results: Finding[], partial = false): UnitResults => ({
  unit,
  results,
  partial,
  errors: partial ? ['AUDIT-002: cluster unreachable'] : [],
  unread: partial ? ['k8s unreachable'] : [],
});

/** One night as the auditor records it (shared/pipeline/audit-account.ts, without SNS). */
async function audit(store: FindingStore, runAt: string, units: UnitResults[]) {
  const runId = runIdOf(runAt);
  const accounts = [...new Set(units.map((u) => u.unit.accountId))];
  await store.startRun(runId, runAt, accounts.length);
  const recorded: RecordedUnit[] = [];
  const counted: boolean[] = [];
  for (const accountId of accounts) {
    const counters = {
      clustersAudited: 0,
      clustersPartial: 0,
      clustersBaselined: 0,
      newFindings: 0,
      resolvedFindings: 0,
      regressions: 0,
    };
    for (const unitResults of units.filter((u) => u.unit.accountId === accountId)) {
      const r = await recordUnit({ store, runId, runAt, now: () => new Date(runAt) }, unitResults);
      recorded.push(r);
      if (r.alreadyComplete) continue;
      await complete(store, runId, r);
      count(counters, r);
    }
    counted.push((await store.completeAccount(runId, accountId, runAt, counters, null)).counted);
  }
  return { runId, recorded, counted };
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
    opened: outcome.changes.filter((c) => c.type === 'opened' || c.type === 'reopened').length,
    resolved: outcome.changes.filter((c) => c.type === 'resolved').length,
    regressions: outcome.changes.filter((c) => c.regression).length,
    maxSeverity: null,
    openBySeverity: outcome.openBySeverity,
    durationMs: outcome.durationMs,
    errors: [...r.errors],
    alertMessageId: null,
  });
}

function count(counters: { -readonly [K in keyof RunCounters]: number }, r: RecordedUnit): void {
  const { outcome } = r;
  if (outcome.unit.cluster) {
    counters.clustersAudited++;
    if (outcome.partial) counters.clustersPartial++;
    if (outcome.baseline) counters.clustersBaselined++;
  }
  counters.newFindings += outcome.changes.filter((c) => c.type === 'opened' || c.type === 'reopened').length;
  counters.resolvedFindings += outcome.changes.filter((c) => c.type === 'resolved').length;
  counters.regressions += outcome.changes.filter((c) => c.regression).length;
}

let local: LocalDynamo;
let doc: DynamoDBDocumentClient;
let tables = 0;

/** A store on a fresh table of the shared dynalite server. */
async function freshStore(): Promise<FindingStore> {
  const tableName = `history-${++tables}`;
  await createLocalTable(local.client, tableName);
  return new FindingStore({ tableName, client: local.client, retentionDays: RETENTION_DAYS });
}

beforeAll(async () => {
  local = await startDynalite();
  doc = DynamoDBDocumentClient.from(local.client);
});
afterAll(async () => {
  await local?.stop();
});

const byId = (items: readonly { findingId: string }[]) => items.map((f) => f.findingId).sort();
const ids = (...pairs: [AuditUnit, Finding][]) => pairs.map(([u, f]) => idOf(u, f)).sort();

// ---- the fleet of the access-pattern tests, over four nights -------------------------------------
const a1 = finding(A);
const a2 = finding(A, {
  checkId: 'IRSA-013',
  name: 'trust-sub-mismatch',
  workload: null,
  serviceAccount: 'billing',
  roleName: 'billing',
});
const a3 = finding(A, {
  checkId: 'IRSA-018',
  severity: 'low',
  workload: null,
  serviceAccount: 'reports',
  roleName: 'reports',
});
const a4 = finding(A, {
  checkId: 'IRSA-032',
  severity: 'medium',
  serviceAccount: 'api',
  workload: { kind: 'Deployment', name: 'api' },
});
const b1 = finding(B);
const c1 = finding(C, {
  checkId: 'IRSA-004',
  severity: 'critical',
  namespace: null,
  serviceAccount: null,
  roleName: null,
  workload: null,
});
const c2 = finding(C, {
  checkId: 'IRSA-016',
  severity: 'medium',
  workload: null,
  serviceAccount: null,
  namespace: null,
  roleName: 'ci',
});
const l1 = finding(L, {
  checkId: 'IRSA-050',
  severity: 'low',
  region: null,
  cluster: null,
  namespace: null,
  serviceAccount: null,
  roleName: null,
  workload: null,
  resource: 'oidc.eks.eu-west-1.amazonaws.com/id/OLD',
});

describe('access patterns', () => {
  let store: FindingStore;
  const nights: Awaited<ReturnType<typeof audit>>[] = [];

  beforeAll(async () => {
    store = await freshStore();
    // 1: baseline of every unit.
    nights.push(
      await audit(store, night(1), [
        entry(A, [a1, a2, a3]),
        entry(B, [b1]),
        entry(C, [c1, c2]),
        entry(L, [l1]),
      ]),
    );
    // 2: a1 raised to critical, a2 passes, a4 new, c1 gone.
    nights.push(
      await audit(store, night(2), [
        entry(A, [{ ...a1, severity: 'critical' }, { ...a2, status: 'pass' }, a3, a4]),
        entry(B, [b1]),
        entry(C, [c2]),
        entry(L, [l1]),
      ]),
    );
    // 3: a2 fails again, a3 exempted; B could not be read (partial, nothing seen).
    nights.push(
      await audit(store, night(3), [
        entry(A, [{ ...a1, severity: 'critical' }, a2, { ...a3, status: 'exempted' }, a4]),
        entry(B, [], true),
        entry(C, [c2]),
        entry(L, [l1]),
      ]),
    );
    // 4: quiet.
    nights.push(
      await audit(store, night(4), [
        entry(A, [{ ...a1, severity: 'critical' }, a2, { ...a3, status: 'exempted' }, a4]),
        entry(B, [b1]),
        entry(C, [c2]),
        entry(L, [l1]),
      ]),
    );
  });

  it('records the first night as a baseline: changes stored, no regression', () => {
    const first = nights[0]?.recorded ?? [];
    expect(first.every((r) => r.outcome.baseline)).toBe(true);
    expect(first.flatMap((r) => r.outcome.changes)).toHaveLength(7);
    expect(first.flatMap((r) => r.outcome.changes).some((c) => c.regression)).toBe(false);
    expect(nights[1]?.recorded.every((r) => !r.outcome.baseline)).toBe(true);
  });

  it('open findings of a cluster: only that cluster, open ones, most severe first', async () => {
    const open = await store.openFindingsOfUnit(A);
    expect(open.map((f) => [f.checkId, f.severity])).toEqual([
      ['IRSA-030', 'critical'],
      ['IRSA-013', 'high'],
      ['IRSA-032', 'medium'],
    ]);
    expect(open.every((f) => f.state === 'open')).toBe(true);
    expect(byId(await store.openFindingsOfUnit(B))).toEqual(ids([B, b1]));
    expect(byId(await store.openFindingsOfUnit(L))).toEqual(ids([L, l1]));
    expect(await store.openFindingsOfUnit({ ...A, cluster: 'nope' })).toEqual([]);
  });

  it('open findings fleet-wide by severity, and by severity and check', async () => {
    expect(byId(await store.openFindings('high'))).toEqual(ids([A, a2], [B, b1]));
    expect(byId(await store.openFindings('high', 'IRSA-030'))).toEqual(ids([B, b1]));
    expect(byId(await store.openFindings('critical', 'IRSA-030'))).toEqual(ids([A, a1]));
    expect(byId(await store.openFindings('medium'))).toEqual(ids([A, a4], [C, c2]));
    expect(await store.openFindings('critical', 'IRSA-004')).toEqual([]);
    expect(await store.countOpenBySeverity()).toEqual({ critical: 1, high: 2, medium: 2, low: 1 });
  });

  it('findings of an account (every state), or of one cluster of it', async () => {
    const account = await store.findingsOfAccount(A.accountId);
    expect(byId(account)).toEqual(ids([A, a1], [A, a2], [A, a3], [A, a4], [B, b1], [L, l1]));
    const states = Object.fromEntries(account.map((f) => [f.findingId, f.state]));
    expect(states[idOf(A, a3)]).toBe('exempted');
    expect(byId(await store.findingsOfAccount(A.accountId, A.region, A.cluster))).toEqual(
      ids([A, a1], [A, a2], [A, a3], [A, a4]),
    );
    const other = await store.findingsOfAccount(C.accountId);
    expect(other.map((f) => [f.checkId, f.state]).sort()).toEqual([
      ['IRSA-004', 'resolved'],
      ['IRSA-016', 'open'],
    ]);
    expect(other.find((f) => f.checkId === 'IRSA-004')?.message).toMatch(/no longer present/);
  });

  it('the history of one finding, oldest first', async () => {
    const history = await store.findingHistory(idOf(A, a2));
    expect(history.map((e) => [e.at, e.type, e.regression])).toEqual([
      [night(1), 'opened', false],
      [night(2), 'resolved', false],
      [night(3), 'reopened', true],
    ]);
    expect(history.every((e) => unitKey(e.unit) === unitKey(A))).toBe(true);
    const raised = await store.findingHistory(idOf(A, a1));
    expect(raised.map((e) => [e.type, e.previousSeverity, e.finding.severity, e.regression])).toEqual([
      ['opened', null, 'high', false],
      ['severity-changed', 'high', 'critical', true],
    ]);
    expect(await store.findingHistory('AAAAAAAAAAAAAAAAAAAAAA')).toEqual([]);
  });

  it('what was open on a cluster at a date, across opening, resolution and reopening', async () => {
    const openAt = async (at: string) =>
      (await store.openAt(A, at)).map((f) => `${f.checkId}:${f.severity}`).sort();
    expect(await openAt('2026-02-28T23:59:59.999Z')).toEqual([]);
    expect(await openAt('2026-03-01T23:59:59.999Z')).toEqual([
      'IRSA-013:high',
      'IRSA-018:low',
      'IRSA-030:high',
    ]);
    expect(await openAt('2026-03-02T23:59:59.999Z')).toEqual([
      'IRSA-018:low',
      'IRSA-030:critical',
      'IRSA-032:medium',
    ]);
    expect(await openAt('2026-03-03T23:59:59.999Z')).toEqual([
      'IRSA-013:high',
      'IRSA-030:critical',
      'IRSA-032:medium',
    ]);
    // Exactly at a run's time, its changes count; just before, they do not.
    expect(await openAt(night(2))).toEqual(await openAt('2026-03-02T23:59:59.999Z'));
    expect(await openAt('2026-03-02T01:59:59.999Z')).toEqual(await openAt('2026-03-01T23:59:59.999Z'));
    // Now: what the open index says.
    expect(await openAt('2026-03-30T00:00:00.000Z')).toEqual(
      (await store.openFindingsOfUnit(A)).map((f) => `${f.checkId}:${f.severity}`).sort(),
    );
  });

  it('the runs of the last N nights, newest first, with their counters', async () => {
    const runs = await store.recentRuns(2);
    expect(runs.map((r) => r.runId)).toEqual([runIdOf(night(4)), runIdOf(night(3))]);
    const all = await store.recentRuns(10);
    expect(all.map((r) => r.runId)).toEqual([4, 3, 2, 1].map((n) => runIdOf(night(n))));
    const [fourth, third, second, first] = all;
    expect(first).toMatchObject({
      accountsDone: 2,
      clustersAudited: 3,
      clustersBaselined: 3,
      newFindings: 7,
      regressions: 0,
    });
    expect(second).toMatchObject({
      clustersBaselined: 0,
      newFindings: 1,
      resolvedFindings: 2,
      regressions: 2,
    });
    expect(third).toMatchObject({ clustersPartial: 1, newFindings: 1, regressions: 1 });
    expect(fourth).toMatchObject({ newFindings: 0, resolvedFindings: 0, regressions: 0, clustersAudited: 3 });
    const units = await store.unitRuns(runIdOf(night(3)));
    expect(units.map((u) => [unitKey(u.unit), u.partial]).sort()).toEqual(
      [A, B, C, L].map((u) => [unitKey(u), u === B]).sort(),
    );
  });

  it('the changes since a date, fleet-wide', async () => {
    const changes = await store.eventsBetween('2026-03-02T00:00:00.000Z', '2026-03-31T00:00:00.000Z');
    expect(changes.map((e) => `${e.at.slice(0, 10)} ${e.finding.checkId} ${e.type}`).sort()).toEqual([
      '2026-03-02 IRSA-004 resolved',
      '2026-03-02 IRSA-013 resolved',
      '2026-03-02 IRSA-030 severity-changed',
      '2026-03-02 IRSA-032 opened',
      '2026-03-03 IRSA-013 reopened',
      '2026-03-03 IRSA-018 exempted',
    ]);
    expect(await store.eventsBetween('2026-03-04T00:00:00.000Z', '2026-03-31T00:00:00.000Z')).toEqual([]);
    const one = await store.eventsBetween('2026-03-01T00:00:00.000Z', '2026-03-01T23:59:59.999Z');
    expect(one).toHaveLength(7);
  });

  it('a partial audit leaves what it did not see as it was', async () => {
    const partial = nights[2]?.recorded.find((r) => r.outcome.unit === B);
    expect(partial?.outcome.partial).toBe(true);
    expect(partial?.outcome.changes).toEqual([]);
    expect(partial?.outcome.openBySeverity.high).toBe(1);
    expect((await store.findingHistory(idOf(B, b1))).map((e) => e.type)).toEqual(['opened']);
  });

  it('a quiet night records no change and writes no finding', () => {
    expect(nights[3]?.recorded.flatMap((r) => r.outcome.changes)).toEqual([]);
  });
});

describe('re-delivery', () => {
  const before = [a1, a2, a3];
  const after = [{ ...a1, severity: 'critical' as Severity }, a3, a4, { ...a2, status: 'pass' as const }];

  it.each([
    ['some events written, no state', 2, 0],
    ['every event written, one state', 4, 1],
  ])('after a crash (%s) yields the same changes and no duplicate event', async (_, events, states) => {
    const store = await freshStore();
    await audit(store, night(1), [entry(A, before)]);
    const runAt = night(2);
    const runId = runIdOf(runAt);
    await store.startRun(runId, runAt, 1);
    const clean = reconcile({
      runId,
      runAt,
      unit: A,
      baseline: false,
      partial: false,
      results: after,
      stored: await store.loadFindings(A),
    });
    expect(clean.changes.map((c) => c.type).sort()).toEqual(['opened', 'resolved', 'severity-changed']);
    // The first delivery crashed half-way through writing.
    await store.writeChanges(A, runId, runAt, {
      ...clean,
      changes: clean.changes.slice(0, events),
      writes: clean.writes.slice(0, states),
    });
    const carried = (await store.loadFindings(A)).filter((s) => s.lastChangeRunId === runId);
    expect(carried).toHaveLength(states);

    const again = await recordUnit({ store, runId, runAt }, entry(A, after));
    expect(again.alreadyComplete).toBe(false);
    expect(again.outcome.changes).toEqual(clean.changes);
    await complete(store, runId, again);
    // A third delivery finds the unit complete: nothing to write, nothing to alert.
    const third = await recordUnit({ store, runId, runAt }, entry(A, after));
    expect(third.alreadyComplete).toBe(true);
    expect(third.outcome.changes).toEqual([]);

    for (const change of clean.changes) {
      const events = (await store.findingHistory(change.finding.findingId)).filter((e) => e.runId === runId);
      expect(events.map((e) => e.type)).toEqual([change.type]);
    }
    expect(await store.unitEvents(A, runAt)).toHaveLength(3 + clean.changes.length);
    expect(await store.eventsBetween(runAt, runAt)).toHaveLength(clean.changes.length);
    const stored = new Map((await store.loadFindings(A)).map((s) => [s.findingId, s]));
    for (const write of clean.writes) expect(stored.get(write.findingId)).toEqual(write);
  });

  it('a whole account delivered twice counts once and records each change once', async () => {
    const store = await freshStore();
    await audit(store, night(1), [entry(A, before), entry(B, [b1])]);
    const first = await audit(store, night(2), [entry(A, after), entry(B, [])]);
    const second = await audit(store, night(2), [entry(A, after), entry(B, [])]);
    expect(first.counted).toEqual([true]);
    expect(second.counted).toEqual([false]);
    expect(second.recorded.every((r) => r.alreadyComplete && r.outcome.changes.length === 0)).toBe(true);
    const [run] = await store.recentRuns(1);
    expect(run).toMatchObject({
      accountsDone: 1,
      accountsPlanned: 1,
      newFindings: 1,
      resolvedFindings: 2,
      regressions: 2,
    });
    expect(await store.eventsBetween(night(2), night(2))).toHaveLength(4);
  });

  it('completeAccount counts an account once, failures included', async () => {
    const store = await freshStore();
    const runId = 'manual-run';
    await store.startRun(runId, night(5), 2);
    const counters = {
      clustersAudited: 3,
      clustersPartial: 1,
      clustersBaselined: 0,
      newFindings: 2,
      resolvedFindings: 1,
      regressions: 1,
    };
    const once = await store.completeAccount(runId, A.accountId, night(5), counters, null);
    const twice = await store.completeAccount(runId, A.accountId, night(5), counters, null);
    expect([once.counted, twice.counted]).toEqual([true, false]);
    expect(twice.run).toMatchObject({ accountsDone: 1, clustersAudited: 3, newFindings: 2, regressions: 1 });
    const zero = {
      clustersAudited: 0,
      clustersPartial: 0,
      clustersBaselined: 0,
      newFindings: 0,
      resolvedFindings: 0,
      regressions: 0,
    };
    const failed = await store.completeAccount(runId, C.accountId, night(5), zero, 'AssumeRole denied');
    await store.completeAccount(runId, C.accountId, night(5), zero, 'AssumeRole denied');
    expect(failed.run).toMatchObject({
      accountsDone: 2,
      accountsFailed: { [C.accountId]: 'AssumeRole denied' },
    });
    expect(await store.getRun(runId)).toMatchObject({ accountsDone: 2, clustersAudited: 3 });
    // A second start of the same run keeps its counters.
    expect(await store.startRun(runId, night(6), 9)).toMatchObject({ accountsDone: 2, accountsPlanned: 2 });
  });

  it('claims an alert and the digest only once, and again after a release', async () => {
    const store = await freshStore();
    const runId = 'claims';
    await store.startRun(runId, night(1), 1);
    expect(await store.claimAlert(runId, A, night(1))).toBe(true);
    expect(await store.claimAlert(runId, A, night(1))).toBe(false);
    expect(await store.claimAlert(runId, B, night(1))).toBe(true);
    await store.releaseAlert(runId, A);
    expect(await store.claimAlert(runId, A, night(1))).toBe(true);
    expect((await store.getUnitRun(runId, A))?.alertClaimed).toBe(true);

    expect(await store.claimDigest(runId, night(1))).toBe(true);
    expect(await store.claimDigest(runId, night(1))).toBe(false);
    expect((await store.getRun(runId))?.digestClaimedAt).toBe(night(1));
    await store.releaseDigest(runId);
    expect(await store.claimDigest(runId, night(2))).toBe(true);
  });
});

describe('retention (TTL)', () => {
  it('puts expiresAt on events, runs and resolved findings, never on open or exempted findings', async () => {
    const store = await freshStore();
    const exempt = { ...a4, status: 'exempted' as const };
    await audit(store, night(1), [entry(A, [a1, a2, exempt])]);
    await audit(store, night(2), [entry(A, [a1, { ...a2, status: 'pass' }, exempt])]);
    const item = async (key: { pk: string; sk: string }) =>
      (await doc.send(new GetCommand({ TableName: store.tableName, Key: key }))).Item;
    const ttl = (at: string) => expiresAt(at, RETENTION_DAYS);

    const open = await item(keys.findingState(A, idOf(A, a1)));
    expect(open?.state).toBe('open');
    expect(open).not.toHaveProperty('expiresAt');
    const exempted = await item(keys.findingState(A, idOf(A, exempt)));
    expect(exempted?.state).toBe('exempted');
    expect(exempted).not.toHaveProperty('expiresAt');
    const resolved = await item(keys.findingState(A, idOf(A, a2)));
    expect(resolved?.state).toBe('resolved');
    expect(resolved?.expiresAt).toBe(ttl(night(2)));
    // A resolved finding leaves the open indexes.
    expect(resolved).not.toHaveProperty('gsi2pk');
    expect(resolved).not.toHaveProperty('gsi3pk');

    const events = await doc.send(
      new QueryCommand({
        TableName: store.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.event(A, '', '').pk },
      }),
    );
    expect(events.Items).toHaveLength(4);
    for (const event of events.Items ?? []) expect(event.expiresAt).toBe(ttl(String(event.at)));

    const runId = runIdOf(night(2));
    expect((await item(keys.run(runId)))?.expiresAt).toBe(ttl(night(2)));
    expect((await item(keys.unitRun(runId, A)))?.expiresAt).toBe(ttl(night(2)));
    expect((await item(keys.accountRun(runId, A.accountId)))?.expiresAt).toBe(ttl(night(2)));
    // The unit state is not history: it stays.
    expect(await item(keys.unitState(A))).not.toHaveProperty('expiresAt');

    // Reopened: open again, so it stays.
    await audit(store, night(3), [entry(A, [a1, a2, exempt])]);
    expect(await item(keys.findingState(A, idOf(A, a2)))).not.toHaveProperty('expiresAt');
  });

  it('never reads bookkeeping attributes back into what callers see', async () => {
    const store = await freshStore();
    await audit(store, night(1), [entry(A, [a1])]);
    const [open] = await store.openFindingsOfUnit(A);
    const expected: (keyof StoredFinding)[] = ['findingId', 'checkId', 'state', 'severity', 'openedAt'];
    for (const k of expected) expect(open).toHaveProperty(k);
    for (const k of ['pk', 'sk', 'gsi2pk', 'gsi3sk', 'expiresAt', 'lastChangeRunId', 'previous'])
      expect(open).not.toHaveProperty(k);
    expect(SEVERITIES).toContain(open?.severity);
  });
});
