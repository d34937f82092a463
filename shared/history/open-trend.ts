/**
 * What `irsa-audit history --report html` reads: the open findings by severity after each of the
 * last nights, and the open findings now, of the fleet, an account or a cluster.
 *
 * A night's count is the sum, over the units (clusters, account levels) in scope, of the open
 * counts each unit had after its last complete audit up to that night (its unit-run record): a
 * unit not audited that night (its account failed) counts what it had before, as the digest does
 * (FindingStore.openCountsFromUnits). A unit first audited inside the window counts from then; one
 * not audited in the window at all is not counted. Reads: one Query for the runs, one per night
 * for its units, and the open findings (one Query per severity, or the unit's or account's).
 */
import { SEVERITIES, type Severity } from '../checks/types.ts';
import type { FindingStore } from './finding-store.ts';
import { unitKey } from './table.ts';
import type { AuditUnit, StoredFinding } from './types.ts';

export interface TrendScope {
  /** One cluster (ACCOUNT/REGION/CLUSTER), or null. */
  readonly unit: AuditUnit | null;
  readonly account: string | null;
  readonly region: string | null;
}

export interface TrendNight {
  readonly runId: string;
  readonly startedAt: string;
  readonly completedAt: string | null;
  /** Open findings of the scope after the night, by severity. */
  readonly openBySeverity: Record<Severity, number>;
  /** Units in scope audited that night, and those counted from an earlier night. */
  readonly audited: number;
  readonly carried: number;
  /** Units in scope whose audit that night could not read everything (AUDIT-00x). */
  readonly partial: number;
  /** Accounts in scope the night could not audit, with the reason. */
  readonly accountsFailed: Readonly<Record<string, string>>;
}

export interface OpenTrend {
  /** Oldest first. */
  readonly nights: readonly TrendNight[];
  readonly open: readonly StoredFinding[];
}

export function inScope(scope: TrendScope, unit: AuditUnit): boolean {
  if (scope.unit) return unitKey(scope.unit) === unitKey(unit);
  if (scope.account !== null && unit.accountId !== scope.account) return false;
  // The account level (region null) of an account stays in a region's scope: its findings are the
  // region's providers and roles as much as any.
  if (scope.region !== null && unit.region !== null && unit.region !== scope.region) return false;
  return true;
}

const zero = () => Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;

export async function openTrend(store: FindingStore, scope: TrendScope, runs: number): Promise<OpenTrend> {
  const recent = (await store.recentRuns(runs)).reverse();
  const last = new Map<string, Record<Severity, number>>();
  const nights: TrendNight[] = [];
  for (const run of recent) {
    const units = (await store.unitRuns(run.runId)).filter((u) => inScope(scope, u.unit));
    for (const u of units) last.set(unitKey(u.unit), { ...zero(), ...u.openBySeverity });
    const openBySeverity = zero();
    for (const counts of last.values())
      for (const s of SEVERITIES) openBySeverity[s] += Number(counts[s] ?? 0);
    const accountsFailed = Object.fromEntries(
      Object.entries(run.accountsFailed).filter(
        ([account]) =>
          (scope.unit === null || scope.unit.accountId === account) &&
          (scope.account === null || scope.account === account),
      ),
    );
    nights.push({
      runId: run.runId,
      startedAt: run.startedAt,
      completedAt: run.completedAt,
      openBySeverity,
      audited: units.length,
      carried: last.size - units.length,
      partial: units.filter((u) => u.partial).length,
      accountsFailed,
    });
  }
  return { nights, open: await openFindingsOf(store, scope) };
}

async function openFindingsOf(store: FindingStore, scope: TrendScope): Promise<StoredFinding[]> {
  let found: StoredFinding[];
  if (scope.unit) found = await store.openFindingsOfUnit(scope.unit);
  else if (scope.account !== null)
    found = (await store.findingsOfAccount(scope.account)).filter((f) => f.state === 'open');
  else found = (await Promise.all(SEVERITIES.map((s) => store.openFindings(s)))).flat();
  // A finding without a region (a role's) belongs to its account level, in every region's scope.
  return found.filter(
    (f) => scope.region === null || scope.unit !== null || f.region === null || f.region === scope.region,
  );
}
