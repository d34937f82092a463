/**
 * Records one audit (a report over a fleet, usually one account's) in the finding store, unit by
 * unit: compare with the store, write the changes, and hand back what changed so the caller can
 * alert. A unit already complete in this run (a re-delivered message) is skipped: no second
 * event, no second alert.
 */

import { failureLabel } from '../checks/coverage-advice.ts';
import type { Finding } from '../engine/run-audit.ts';
import type { CollectionError, Fleet } from '../model/fleet.ts';
import type { FindingStore, UnitRunRecord } from './finding-store.ts';
import { reconcile } from './reconcile.ts';
import { unitKey } from './table.ts';
import type { AuditUnit, UnitAuditOutcome } from './types.ts';

const COVERAGE = /^AUDIT-/;

export interface UnitResults {
  readonly unit: AuditUnit;
  readonly results: Finding[];
  /** The audit of the unit could not see everything (an AUDIT-* check fails for it). */
  partial: boolean;
  readonly errors: string[];
  /** The unit's failed reads, from the collection errors (`eks:ListPodIdentityAssociations denied`). */
  readonly unread: string[];
}

/**
 * Splits results into units: a result naming a cluster belongs to that cluster (in the account
 * that owns it, even for a cross-account role); any other to its account's level.
 */
export function resultsByUnit(fleet: Fleet, results: readonly Finding[]): UnitResults[] {
  const owner = new Map<string, string>();
  const clusterOwners = new Set<string>();
  const units = new Map<string, UnitResults>();
  const add = (unit: AuditUnit) => {
    const key = unitKey(unit);
    let entry = units.get(key);
    if (!entry) {
      entry = { unit, results: [], partial: false, errors: [], unread: [] };
      units.set(key, entry);
    }
    return entry;
  };
  for (const account of fleet.accounts) {
    const accountUnit = add({ accountId: account.accountId, region: null, cluster: null });
    accountUnit.unread.push(...labels(account.collectionErrors));
    for (const cluster of account.clusters) {
      owner.set(`${cluster.region}/${cluster.name}`, account.accountId);
      clusterOwners.add(`${account.accountId}/${cluster.region}/${cluster.name}`);
      add({ accountId: account.accountId, region: cluster.region, cluster: cluster.name }).unread.push(
        ...labels(cluster.collectionErrors),
      );
    }
  }
  for (const result of results) {
    // The cluster's own account: the result's account when it has a cluster of that name there;
    // else (a role of another account trusting the cluster) the account that owns the cluster.
    // A role-scope finding about another account's cluster names that cluster in its resource.
    const named = result.cluster && result.region ? `${result.region}/${result.cluster}` : null;
    const qualified = result.resource && clusterOwners.has(result.resource) ? result.resource : null;
    const clusterAccount =
      named === null
        ? undefined
        : qualified !== null
          ? qualified.split('/')[0]
          : result.accountId !== null && clusterOwners.has(`${result.accountId}/${named}`)
            ? result.accountId
            : owner.get(named);
    const unit: AuditUnit = clusterAccount
      ? { accountId: clusterAccount, region: result.region, cluster: result.cluster }
      : { accountId: result.accountId ?? 'unknown', region: null, cluster: null };
    const entry = add(unit);
    entry.results.push(result);
    if (COVERAGE.test(result.checkId) && (result.status === 'fail' || result.status === 'exempted')) {
      entry.partial = true;
      entry.errors.push(`${result.checkId}: ${result.message}`);
    }
  }
  // An unreachable account (AUDIT-001) or an invalid input (AUDIT-004) leaves every unit of the
  // account incomplete: nothing there may be resolved by absence.
  const accountWide = new Set(
    results
      .filter((r) => (r.checkId === 'AUDIT-001' || r.checkId === 'AUDIT-004') && r.status === 'fail')
      .map((r) => r.accountId),
  );
  for (const entry of units.values()) {
    if (accountWide.has(entry.unit.accountId)) entry.partial = true;
  }
  return [...units.values()];
}

/** One label per distinct failed read, in a stable order. */
function labels(errors: readonly CollectionError[]): string[] {
  return [...new Set(errors.map(failureLabel))].sort();
}

export interface RecordAuditOptions {
  readonly store: FindingStore;
  readonly runId: string;
  /** The run's time; every change of the run is recorded at this time. */
  readonly runAt: string;
  /** Wall clock for `auditedAt` and durations. */
  readonly now?: () => Date;
}

export interface RecordedUnit {
  readonly outcome: UnitAuditOutcome;
  /** Already complete in this run (re-delivery): nothing was written, nothing is to be sent. */
  readonly alreadyComplete: boolean;
  /** The unit's record in this run when it was already complete (its counts), else null. */
  readonly completed: UnitRunRecord | null;
  readonly errors: readonly string[];
  readonly unread: readonly string[];
}

/** Reconciles and writes one unit; the caller alerts and then calls `store.completeUnit`. */
export async function recordUnit(options: RecordAuditOptions, entry: UnitResults): Promise<RecordedUnit> {
  const { store, runId, runAt } = options;
  const now = options.now ?? (() => new Date());
  const started = now().getTime();
  const done = await store.getUnitRun(runId, entry.unit);
  if (done?.status === 'complete') {
    return {
      alreadyComplete: true,
      completed: done,
      errors: entry.errors,
      unread: entry.unread,
      outcome: {
        runId,
        unit: entry.unit,
        auditedAt: done.auditedAt,
        baseline: done.baseline,
        partial: done.partial,
        changes: [],
        openBySeverity: done.openBySeverity,
        durationMs: done.durationMs,
      },
    };
  }
  const state = await store.getUnitState(entry.unit);
  // First complete audit of the unit: a baseline. A delivery that died before completing the unit
  // left lastCompleteRunId as it was, or (between the unit state and the run's record of the unit)
  // set to this run with baselineRunId saying what it decided: a re-delivery decides the same.
  const baseline =
    !state?.lastCompleteRunId || (state.lastCompleteRunId === runId && state.baselineRunId === runId);
  const stored = await store.loadFindings(entry.unit);
  const output = reconcile({
    runId,
    runAt,
    unit: entry.unit,
    baseline,
    partial: entry.partial,
    results: entry.results,
    stored,
  });
  await store.writeChanges(entry.unit, runId, runAt, output);
  return {
    alreadyComplete: false,
    completed: null,
    errors: entry.errors,
    unread: entry.unread,
    outcome: {
      runId,
      unit: entry.unit,
      auditedAt: now().toISOString(),
      baseline,
      partial: entry.partial,
      changes: output.changes,
      openBySeverity: output.openBySeverity,
      durationMs: now().getTime() - started,
    },
  };
}
