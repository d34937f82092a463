/** The comparison rules of reconcile.ts, night after night over an in-memory copy of the store. */
import { describe, expect, it } from 'vitest';
import type { Severity } from '../checks/types.ts';
import { type Finding, findingKey } from '../engine/run-audit.ts';
import { type ReconcileOutput, reconcile, type StoredFindingRecord } from './reconcile.ts';
import { findingIdOf } from './table.ts';
import type { AuditUnit, ChangeType } from './types.ts';

const UNIT: AuditUnit = { accountId: '111122223333', region: 'eu-west-1', cluster: 'prod' };

function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    checkId: 'IRSA-030',
    name: 'pod-not-mutated',
    title: 'Pods run without the IRSA injection',
    severity: 'high',
    status: 'fail',
    accountId: UNIT.accountId,
    region: UNIT.region,
    cluster: UNIT.cluster,
    namespace: 'shop',
    serviceAccount: 'cart',
    roleName: 'prod-cart',
    workload: { kind: 'Deployment', name: 'cart' },
    resource: null,
    message: '2 of 2 pod(s) of Deployment shop/cart run without the IRSA injection.',
    evidence: { pods: ['cart-1', 'cart-2'] },
    remediation: 'kubectl --context prod rollout restart deployment/cart -n shop',
    ...overrides,
  };
}

/** Another subject: a ServiceAccount finding of another check. */
const other = (overrides: Partial<Finding> = {}) =>
  finding({
    checkId: 'IRSA-013',
    name: 'trust-sub-mismatch',
    title: 'The trust policy does not admit the service account',
    workload: null,
    serviceAccount: 'billing',
    roleName: 'prod-billing',
    message: 'role prod-billing does not admit shop/billing',
    ...overrides,
  });

/** The store's finding states of the unit, as reconcile sees them, and the nights that wrote them. */
class Nights {
  readonly stored = new Map<string, StoredFindingRecord>();
  private n = 0;

  night(
    results: Finding[],
    options: { partial?: boolean; baseline?: boolean; runId?: string; runAt?: string } = {},
  ): ReconcileOutput & { runId: string; runAt: string } {
    this.n++;
    const runAt = options.runAt ?? `2026-03-${String(this.n).padStart(2, '0')}T02:00:00.000Z`;
    const runId = options.runId ?? runAt.slice(0, 16);
    const output = reconcile({
      runId,
      runAt,
      unit: UNIT,
      baseline: options.baseline ?? false,
      partial: options.partial ?? false,
      results,
      stored: [...this.stored.values()],
    });
    this.apply(output.writes);
    return { ...output, runId, runAt };
  }

  apply(writes: readonly StoredFindingRecord[]): void {
    for (const w of writes) this.stored.set(w.findingKey, w);
  }

  state(f: Finding): StoredFindingRecord | undefined {
    return this.stored.get(findingKey(f));
  }
}

const types = (output: ReconcileOutput) => output.changes.map((c) => c.type);
const one = (output: ReconcileOutput, type: ChangeType) => {
  expect(types(output)).toEqual([type]);
  const change = output.changes[0];
  if (!change) throw new Error('no change');
  return change;
};

describe('fail', () => {
  it('opens a new finding as a regression, with its id, first-seen and opened times', () => {
    const nights = new Nights();
    const out = nights.night([finding()]);
    const change = one(out, 'opened');
    expect(change.regression).toBe(true);
    expect(change.previousSeverity).toBeNull();
    expect(change.finding).toMatchObject({
      state: 'open',
      severity: 'high',
      checkId: 'IRSA-030',
      findingId: findingIdOf(UNIT, findingKey(finding())),
      firstSeenAt: out.runAt,
      openedAt: out.runAt,
      resolvedAt: null,
    });
    expect(change.finding).not.toHaveProperty('lastChangeRunId');
    expect(out.writes).toHaveLength(1);
    expect(out.writes[0]).toMatchObject({ lastChangeRunId: out.runId, previous: null });
  });

  it('changes nothing while a finding stays open at the same severity (no write on a quiet night)', () => {
    const nights = new Nights();
    nights.night([finding(), other()]);
    const quiet = nights.night([finding({ message: 'now 3 pods' }), other()]);
    expect(quiet.changes).toEqual([]);
    expect(quiet.writes).toEqual([]);
    expect(quiet.openBySeverity).toEqual({ critical: 0, high: 2, medium: 0, low: 0 });
  });

  it('reopens a resolved finding as a regression: new episode, first-seen kept', () => {
    const nights = new Nights();
    const first = nights.night([finding()]);
    nights.night([finding({ status: 'pass' })]);
    const again = nights.night([finding({ severity: 'critical' })]);
    const change = one(again, 'reopened');
    expect(change.regression).toBe(true);
    expect(change.previousSeverity).toBe('high');
    expect(change.finding).toMatchObject({
      state: 'open',
      severity: 'critical',
      firstSeenAt: first.runAt,
      openedAt: again.runAt,
      resolvedAt: null,
    });
  });

  it('reopens an exempted finding when the exemption no longer applies', () => {
    const nights = new Nights();
    nights.night([finding()]);
    nights.night([finding({ status: 'exempted' })]);
    const change = one(nights.night([finding()]), 'reopened');
    expect(change.regression).toBe(true);
  });

  it.each<[Severity, Severity, boolean]>([
    ['high', 'critical', true],
    ['medium', 'high', true],
    ['high', 'low', false],
    ['critical', 'medium', false],
  ])('records %s -> %s as severity-changed, a regression only when raised (%s)', (from, to, regression) => {
    const nights = new Nights();
    const first = nights.night([finding({ severity: from })]);
    const change = one(nights.night([finding({ severity: to })]), 'severity-changed');
    expect(change.regression).toBe(regression);
    expect(change.previousSeverity).toBe(from);
    expect(change.finding).toMatchObject({ state: 'open', severity: to, openedAt: first.runAt });
  });
});

describe('exempted', () => {
  it('moves an open finding to exempted, not a regression, keeping when it opened', () => {
    const nights = new Nights();
    const first = nights.night([finding()]);
    const out = nights.night([finding({ status: 'exempted' })]);
    const change = one(out, 'exempted');
    expect(change.regression).toBe(false);
    expect(change.finding).toMatchObject({ state: 'exempted', openedAt: first.runAt });
    expect(out.openBySeverity.high).toBe(0);
  });

  it('stores a new exempted finding as exempted (not open, not a regression), then leaves it alone', () => {
    const nights = new Nights();
    const out = nights.night([finding({ status: 'exempted' })]);
    const change = one(out, 'exempted');
    expect(change.regression).toBe(false);
    expect(change.finding.state).toBe('exempted');
    expect(change.finding.openedAt).toBeNull();
    expect(nights.night([finding({ status: 'exempted' })]).changes).toEqual([]);
  });

  it('resolves an exempted finding that passes', () => {
    const nights = new Nights();
    nights.night([finding({ status: 'exempted' })]);
    expect(types(nights.night([finding({ status: 'pass' })]))).toEqual(['resolved']);
  });
});

describe('pass', () => {
  it('resolves an open finding, keeping its severity, with the time it was resolved', () => {
    const nights = new Nights();
    nights.night([finding({ severity: 'critical' })]);
    const out = nights.night([finding({ status: 'pass', severity: 'high', message: 'all pods mutated' })]);
    const change = one(out, 'resolved');
    expect(change.regression).toBe(false);
    expect(change.finding).toMatchObject({ state: 'resolved', severity: 'critical', resolvedAt: out.runAt });
    expect(out.writes[0]?.lastSeenAt).toBe(out.runAt);
  });

  it('records nothing for a pass that was never failing, or is already resolved', () => {
    const nights = new Nights();
    expect(nights.night([finding({ status: 'pass' })]).writes).toEqual([]);
    expect(nights.stored.size).toBe(0);
    nights.night([finding()]);
    nights.night([finding({ status: 'pass' })]);
    const again = nights.night([finding({ status: 'pass' })]);
    expect(again.changes).toEqual([]);
    expect(again.writes).toEqual([]);
  });
});

describe('not evaluated', () => {
  it('changes nothing: an open finding stays open, a resolved one resolved, a new one is not stored', () => {
    const nights = new Nights();
    nights.night([finding(), other()]);
    nights.night([finding(), other({ status: 'pass' })]);
    const out = nights.night([
      finding({ status: 'not-evaluated' }),
      other({ status: 'not-evaluated' }),
      finding({ serviceAccount: 'new', status: 'not-evaluated' }),
    ]);
    expect(out.changes).toEqual([]);
    expect(out.writes).toEqual([]);
    expect(nights.state(finding())?.state).toBe('open');
    expect(nights.state(other())?.state).toBe('resolved');
    expect(nights.state(finding({ serviceAccount: 'new' }))).toBeUndefined();
  });

  it('still counts a finding left open by a result that was not evaluated among the open findings', () => {
    const nights = new Nights();
    nights.night([finding(), other({ severity: 'critical' })]);
    const out = nights.night([finding({ status: 'not-evaluated' }), other({ severity: 'critical' })]);
    expect(out.openBySeverity).toEqual({ critical: 1, high: 1, medium: 0, low: 0 });
  });
});

describe('absent from the audit', () => {
  it('resolves a finding no longer present after a complete audit, saying so once', () => {
    const nights = new Nights();
    nights.night([finding(), other()]);
    const out = nights.night([other()]);
    const change = one(out, 'resolved');
    expect(change.finding.findingKey).toBe(findingKey(finding()));
    expect(change.finding.message).toMatch(/\(no longer present: the resource is gone\)$/);
    // An absent finding that is already resolved stays as it is.
    expect(nights.night([other()]).changes).toEqual([]);
    // It opens again when it comes back, and a second disappearance does not repeat the note.
    expect(types(nights.night([finding(), other()]))).toEqual(['reopened']);
    const gone = nights.night([other()]);
    expect(gone.changes[0]?.finding.message.match(/no longer present/g)).toHaveLength(1);
  });

  it('leaves absent findings as they were after a partial audit, and still counts them as open', () => {
    const nights = new Nights();
    nights.night([finding(), other({ status: 'exempted' })]);
    const out = nights.night([], { partial: true });
    expect(out.changes).toEqual([]);
    expect(out.writes).toEqual([]);
    expect(nights.state(finding())?.state).toBe('open');
    expect(out.openBySeverity.high).toBe(1);
  });

  it('still records what a partial audit did see', () => {
    const nights = new Nights();
    nights.night([finding()]);
    const out = nights.night([other()], { partial: true });
    expect(types(out)).toEqual(['opened']);
    expect(nights.state(finding())?.state).toBe('open');
  });
});

describe('baseline', () => {
  it('records the changes of a first audit, none of them a regression', () => {
    const nights = new Nights();
    const out = nights.night(
      [finding(), other({ severity: 'critical' }), finding({ serviceAccount: 'x', status: 'exempted' })],
      {
        baseline: true,
      },
    );
    expect(types(out).sort()).toEqual(['exempted', 'opened', 'opened']);
    expect(out.changes.every((c) => !c.regression)).toBe(true);
    expect(out.writes).toHaveLength(3);
    expect(out.openBySeverity).toEqual({ critical: 1, high: 1, medium: 0, low: 0 });
  });
});

describe('re-delivery of a run', () => {
  const twoNights = () => {
    const nights = new Nights();
    nights.night([
      finding(),
      other(),
      finding({ serviceAccount: 'gone' }),
      finding({ serviceAccount: 'quiet' }),
    ]);
    nights.night([
      finding(),
      other({ status: 'exempted' }),
      finding({ serviceAccount: 'gone' }),
      finding({ serviceAccount: 'quiet' }),
    ]);
    return nights;
  };
  // Every kind of change in one run: severity raised, exempted -> reopened, absent -> resolved,
  // new -> opened, open -> exempted; one finding unchanged.
  const results = [
    finding({ severity: 'critical' }),
    other(),
    finding({ serviceAccount: 'quiet' }),
    finding({ serviceAccount: 'new' }),
  ];
  const run = { runId: 'run-3', runAt: '2026-03-10T02:00:00.000Z' };

  it('computes the same changes and writes again after a complete first attempt', () => {
    const nights = twoNights();
    const first = nights.night(results, run);
    expect(types(first).sort()).toEqual(['opened', 'reopened', 'resolved', 'severity-changed']);
    const second = nights.night(results, run);
    expect(second.changes).toEqual(first.changes);
    expect(second.writes).toEqual(first.writes);
    expect(second.openBySeverity).toEqual(first.openBySeverity);
  });

  it('computes the same changes after a partial write (some states already carry the run)', () => {
    for (let written = 0; written <= 4; written++) {
      const nights = twoNights();
      const snapshot = new Map(nights.stored);
      const first = nights.night(results, run);
      // Crash: only `written` of the state writes reached the table.
      nights.stored.clear();
      for (const [k, v] of snapshot) nights.stored.set(k, v);
      nights.apply(first.writes.slice(0, written));
      expect([...nights.stored.values()].filter((s) => s.lastChangeRunId === run.runId)).toHaveLength(
        written,
      );
      const second = nights.night(results, run);
      expect(second.changes).toEqual(first.changes);
      expect(second.writes).toEqual(first.writes);
    }
  });

  it('compares a finding changed by this run from its state before the run, not its new state', () => {
    const nights = twoNights();
    const first = nights.night(results, run);
    const raised = first.writes.find((w) => w.findingKey === findingKey(finding()));
    expect(raised?.previous).toEqual({ state: 'open', severity: 'high' });
    // A later run sees the new state as its baseline.
    expect(nights.night(results).changes).toEqual([]);
  });
});

describe('identity', () => {
  it('gives a finding the same id every night and another id on another cluster', () => {
    const a = findingIdOf(UNIT, findingKey(finding()));
    expect(findingIdOf({ ...UNIT }, findingKey(finding({ message: 'other text' })))).toBe(a);
    expect(findingIdOf({ ...UNIT, cluster: 'staging' }, findingKey(finding()))).not.toBe(a);
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe('repeated results', () => {
  it('decides once per finding key when a result is reported twice (a batch write would reject duplicates)', () => {
    const nights = new Nights();
    const output = nights.night([finding(), finding({ message: 'the same finding, reported again' })]);
    expect(types(output)).toEqual(['opened']);
    expect(output.writes).toHaveLength(1);
    expect(new Set(output.writes.map((w) => w.findingId)).size).toBe(output.writes.length);
  });
});
