/**
 * Compares one unit's audit with what the store holds and decides what changed. Pure: the store
 * loads and writes, this decides.
 *
 * Rules (docs/finding-store.md):
 * - fail: new -> opened; resolved or exempted before -> reopened; open with another severity ->
 *   severity-changed. Opened, reopened and a raised severity are regressions.
 * - exempted: open before -> exempted (not a regression); new -> stored as exempted.
 * - pass: open or exempted before -> resolved. Only a result that was evaluated and passed resolves.
 * - not-evaluated: nothing changes (the coverage gap is its own AUDIT-* finding).
 * - absent from the audit: resolved ("no longer present") only when the audit of the unit was
 *   complete; after a partial audit (AUDIT-* failing) it is left as it was.
 * - The first audit of a unit is a baseline: changes are recorded, none is a regression.
 *
 * Re-delivery: a finding already changed by this run (`lastChangeRunId === runId`) is compared
 * from its state before the run (`previous`), so a second attempt computes the same changes and
 * the store's idempotent keys absorb the repeated writes.
 */
import { SEVERITIES, type Severity, severityRank } from '../checks/types.ts';
import { type Finding, findingKey } from '../engine/run-audit.ts';
import { findingIdOf } from './table.ts';
import type { AuditUnit, ChangeType, FindingChange, FindingState, StoredFinding } from './types.ts';

/** A finding state as stored, with what the last run that changed it needs for re-delivery. */
export interface StoredFindingRecord extends StoredFinding {
  /** The run that last changed this state. */
  readonly lastChangeRunId: string;
  /** The state before that run (null: the run created it). */
  readonly previous: { readonly state: FindingState; readonly severity: Severity } | null;
  /** When a finding stopped being open (resolved or exempted); for an open one, the unit's last audit. */
  readonly lastSeenAt: string | null;
}

export interface ReconcileInput {
  readonly runId: string;
  /** The run's time: the time of every change it records (deterministic across re-delivery). */
  readonly runAt: string;
  readonly unit: AuditUnit;
  readonly baseline: boolean;
  readonly partial: boolean;
  /** Every result of this audit that belongs to the unit (pass, fail, exempted, not-evaluated). */
  readonly results: readonly Finding[];
  /** Every finding state the store holds for the unit. */
  readonly stored: readonly StoredFindingRecord[];
}

export interface ReconcileOutput {
  readonly changes: readonly FindingChange[];
  /** The new states of the findings that changed, to write. */
  readonly writes: readonly StoredFindingRecord[];
  /** Open findings of the unit after this audit, by severity. */
  readonly openBySeverity: Record<Severity, number>;
}

const GONE = ' (no longer present: the resource is gone)';

type Baseline = { readonly state: FindingState; readonly severity: Severity } | null;

function baselineOf(record: StoredFindingRecord | undefined, runId: string): Baseline {
  if (!record) return null;
  if (record.lastChangeRunId === runId) return record.previous;
  return { state: record.state, severity: record.severity };
}

function fromResult(
  unit: AuditUnit,
  result: Finding,
  key: string,
): Omit<StoredFinding, 'state' | 'firstSeenAt' | 'openedAt' | 'resolvedAt'> {
  return {
    findingId: findingIdOf(unit, key),
    findingKey: key,
    checkId: result.checkId,
    title: result.title,
    severity: result.severity,
    accountId: result.accountId,
    region: result.region,
    cluster: result.cluster,
    namespace: result.namespace,
    serviceAccount: result.serviceAccount,
    roleName: result.roleName,
    workload: result.workload,
    resource: result.resource,
    message: result.message,
    remediation: result.remediation,
  };
}

export function reconcile(input: ReconcileInput): ReconcileOutput {
  const { runId, runAt, unit } = input;
  const stored = new Map(input.stored.map((record) => [record.findingKey, record]));
  const seen = new Set<string>();
  const changes: FindingChange[] = [];
  const writes: StoredFindingRecord[] = [];
  const openBySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;

  function record(
    type: ChangeType,
    record: StoredFindingRecord,
    baseline: Baseline,
    regression: boolean,
  ): void {
    writes.push(record);
    changes.push({
      type,
      finding: stripRecord(record),
      previousSeverity:
        type === 'severity-changed' || type === 'reopened' ? (baseline?.severity ?? null) : null,
      regression: regression && !input.baseline,
    });
  }

  for (const result of input.results) {
    const key = findingKey(result);
    // One decision per finding: a repeated key (a check reporting a resource twice) would make
    // the batch write of states fail on every delivery.
    if (seen.has(key)) continue;
    seen.add(key);
    const existing = stored.get(key);
    const before = baselineOf(existing, runId);
    if (result.status === 'fail') openBySeverity[result.severity]++;
    if (result.status === 'not-evaluated') {
      // Left as it was: a finding open before is still open after this audit.
      if (before?.state === 'open') openBySeverity[before.severity]++;
      continue;
    }
    if (result.status === 'pass') {
      if (before && before.state !== 'resolved' && existing) {
        record('resolved', resolve(existing, before, runId, runAt, result.message), before, false);
      }
      continue;
    }
    const fields = fromResult(unit, result, key);
    const base = {
      ...fields,
      firstSeenAt: existing?.firstSeenAt ?? runAt,
      lastChangeRunId: runId,
      previous: before,
    };
    if (result.status === 'fail') {
      if (before === null) {
        record(
          'opened',
          { ...base, state: 'open', openedAt: runAt, resolvedAt: null, lastSeenAt: null },
          before,
          true,
        );
      } else if (before.state !== 'open') {
        record(
          'reopened',
          { ...base, state: 'open', openedAt: runAt, resolvedAt: null, lastSeenAt: null },
          before,
          true,
        );
      } else if (before.severity !== result.severity) {
        record(
          'severity-changed',
          {
            ...base,
            state: 'open',
            openedAt: existing?.openedAt ?? runAt,
            resolvedAt: null,
            lastSeenAt: null,
          },
          before,
          severityRank(result.severity) < severityRank(before.severity),
        );
      }
      continue;
    }
    // exempted
    if (before === null || before.state !== 'exempted') {
      record(
        'exempted',
        {
          ...base,
          state: 'exempted',
          openedAt: existing?.openedAt ?? null,
          resolvedAt: null,
          lastSeenAt: runAt,
        },
        before,
        false,
      );
    }
  }

  if (!input.partial) {
    for (const existing of input.stored) {
      if (seen.has(existing.findingKey)) continue;
      const before = baselineOf(existing, runId);
      if (before && before.state !== 'resolved') {
        record(
          'resolved',
          resolve(
            existing,
            before,
            runId,
            runAt,
            existing.message.endsWith(GONE) ? existing.message : `${existing.message}${GONE}`,
          ),
          before,
          false,
        );
      }
    }
  } else {
    // Absent from a partial audit: left as it was, so a finding open before is still open.
    for (const existing of input.stored) {
      const before = baselineOf(existing, runId);
      if (!seen.has(existing.findingKey) && before?.state === 'open') openBySeverity[before.severity]++;
    }
  }
  return { changes, writes, openBySeverity };
}

function resolve(
  existing: StoredFindingRecord,
  before: NonNullable<Baseline>,
  runId: string,
  runAt: string,
  message: string,
): StoredFindingRecord {
  return {
    ...existing,
    state: 'resolved',
    severity: before.severity,
    message,
    resolvedAt: runAt,
    lastSeenAt: runAt,
    lastChangeRunId: runId,
    previous: before,
  };
}

/** The public part of a stored record. */
export function stripRecord(record: StoredFindingRecord): StoredFinding {
  const { lastChangeRunId: _run, previous: _previous, lastSeenAt: _seen, ...finding } = record;
  return finding;
}
