/**
 * History for people: one query, validated, answered with the right access pattern of the finding
 * store (a Query or GetItem, never a Scan), as JSON-ready data. `irsa-audit history` and the query
 * API (functions/query) both call {@link queryHistory}; they only differ in how they name the
 * parameters in error messages (`--at` on the command line, `'at'` in the API).
 *
 * | query                                   | answer                                      | access pattern |
 * |-----------------------------------------|---------------------------------------------|----------------|
 * | finding                                 | history: the finding's changes, oldest first | gsi1 |
 * | runs                                    | runs: the last N runs, newest first          | RUNS partition |
 * | cluster + at                            | findings open on the cluster at that date    | the cluster's events (+ gsi3) |
 * | since [+ cluster / account / filters]   | events: the changes since that date          | the cluster's events, or gsi4 by day |
 * | cluster [+ state all]                   | findings of the cluster                      | gsi3 (open), or the account partition (all) |
 * | account [+ region, state all]           | findings of the account                      | the account partition |
 * | severity and/or check (fleet-wide)      | open findings fleet-wide                     | gsi2, one Query per severity |
 *
 * Answers come in pages of `limit` items (default {@link DEFAULT_LIMIT}, at most
 * {@link MAX_LIMIT}) with a `nextCursor` while more remain: give it back as `cursor` with the same
 * query for the next page. The cursor is opaque: base64url of the DynamoDB key where the page
 * ended (or, for `at`, the position in the replayed answer), which Query of the plan it belongs to,
 * the query's identity and a checksum; a cursor of another query, or altered, is refused. Pages
 * follow the store's key order (each page sorted as the whole answer used to be); the runs are
 * not paged (`runs` is their number already).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SEVERITIES, type Severity, severityRank } from '../checks/types.ts';
import type { FindingStore, HistoryEvent, PageKey, PageSpec, RunRecord } from './finding-store.ts';
import { unitKey } from './table.ts';
import type { AuditUnit, StoredFinding } from './types.ts';

/** The most runs one query returns. */
export const MAX_RUNS = 400;
/** Items in a page unless `limit` says otherwise, and the most it may say. */
export const DEFAULT_LIMIT = 500;
export const MAX_LIMIT = 1_000;
/** A cursor longer than this was not issued here (a key of the table is under 1 KB). */
const MAX_CURSOR_LENGTH = 4_096;

/** The parameters of a history query, as the CLI options and the API's query string name them. */
export const PARAMETERS = [
  'cluster',
  'account',
  'region',
  'check',
  'severity',
  'state',
  'since',
  'at',
  'finding',
  'runs',
  'limit',
  'cursor',
] as const;
type Parameter = (typeof PARAMETERS)[number];

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const DATE_MESSAGE = 'expected a date (2026-03-01) or a time with its zone (2026-03-01T02:00:00Z)';

const dateParameter = z
  .string()
  .trim()
  .refine(
    (value) => (DATE.test(value) || DATE_TIME.test(value)) && !Number.isNaN(Date.parse(value)),
    DATE_MESSAGE,
  );

export const historyQuerySchema = z.strictObject({
  /** `ACCOUNT/REGION/CLUSTER`, or a cluster name with `account` and `region`. */
  cluster: z.string().trim().min(1, 'expected ACCOUNT/REGION/CLUSTER or a cluster name').optional(),
  account: z.string().trim().regex(ACCOUNT, 'an AWS account id is 12 digits').optional(),
  region: z.string().trim().toLowerCase().regex(REGION, 'expected an AWS region, e.g. eu-west-1').optional(),
  check: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^(IRSA|PODID|AUDIT)-\d{3}$/, 'expected a check id, e.g. IRSA-030')
    .optional(),
  severity: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(SEVERITIES, { error: `expected one of ${SEVERITIES.join(', ')}` }))
    .optional(),
  /** `open` (default): open findings; `all`: also resolved and exempted ones. */
  state: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['open', 'all'], { error: 'expected open or all' }))
    .optional(),
  /** The changes since this date (a date alone: from its start, UTC). */
  since: dateParameter.optional(),
  /** What was open at this date (a date alone: at its end, UTC, after that night's run). */
  at: dateParameter.optional(),
  /** A finding id (as every finding, event and alert carries it). */
  finding: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{22}$/, 'expected a finding id (22 characters, as listed in findings)')
    .optional(),
  /** The last N runs. */
  runs: z.coerce
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(1, 'expected at least 1')
    .max(MAX_RUNS, `expected at most ${MAX_RUNS}`)
    .optional(),
  /** Items in a page. */
  limit: z.coerce
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(1, 'expected at least 1')
    .max(MAX_LIMIT, `expected at most ${MAX_LIMIT}`)
    .optional(),
  /** The nextCursor of the previous page of the same query. */
  cursor: z
    .string()
    .trim()
    .min(1, 'expected the nextCursor of a previous answer')
    .max(MAX_CURSOR_LENGTH, 'not a cursor of this API (too long)')
    .optional(),
});

/** The query as callers give it (strings from a command line or a query string are fine). */
export type HistoryQueryInput = z.input<typeof historyQuerySchema>;

/** The query as answered: normalised (a cluster as ACCOUNT/REGION/CLUSTER, dates as ISO instants). */
export interface NormalisedQuery {
  readonly cluster?: string;
  readonly account?: string;
  readonly region?: string;
  readonly check?: string;
  readonly severity?: Severity;
  readonly state?: 'open' | 'all';
  readonly since?: string;
  readonly at?: string;
  readonly finding?: string;
  readonly runs?: number;
}

interface Paged {
  readonly query: NormalisedQuery;
  /** Give it back as `cursor` (same query) for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export type HistoryResult =
  | ({ readonly kind: 'findings'; readonly items: StoredFinding[] } & Paged)
  | ({ readonly kind: 'events'; readonly items: HistoryEvent[] } & Paged)
  | ({ readonly kind: 'history'; readonly items: HistoryEvent[] } & Paged)
  | ({ readonly kind: 'runs'; readonly items: RunRecord[] } & Paged);

export interface QueryHistoryOptions {
  /** How errors name parameters: `--at` (cli) or `'at'` (api, the default). */
  readonly style?: 'cli' | 'api';
  /** The present (the end of `since` ranges); default now. */
  readonly now?: () => Date;
}

/** A query that is invalid, contradictory or insufficient; the message names the parameter(s). */
export class HistoryQueryError extends Error {
  override readonly name = 'HistoryQueryError';
  constructor(
    message: string,
    readonly parameter: string,
  ) {
    super(message);
  }
}

type Plan =
  | { readonly kind: 'history'; readonly finding: string }
  | { readonly kind: 'runs'; readonly runs: number }
  | { readonly kind: 'open-at'; readonly unit: AuditUnit; readonly at: string }
  | { readonly kind: 'events'; readonly since: string; readonly unit: AuditUnit | null }
  | { readonly kind: 'unit'; readonly unit: AuditUnit; readonly state: 'open' | 'all' }
  | { readonly kind: 'account'; readonly account: string; readonly state: 'open' | 'all' }
  | { readonly kind: 'fleet' };

interface Parsed {
  readonly plan: Plan;
  readonly query: NormalisedQuery;
  readonly limit: number;
  readonly cursor: string | null;
  readonly filters: {
    readonly account?: string;
    readonly region?: string;
    readonly check?: string;
    readonly severity?: Severity;
  };
}

/** Validates a query and decides how to answer it; throws {@link HistoryQueryError}. */
export function parseHistoryQuery(input: unknown, options: QueryHistoryOptions = {}): Parsed {
  const name = (p: Parameter) => (options.style === 'cli' ? `--${p}` : `'${p}'`);
  const fail = (parameter: Parameter, message: string): never => {
    throw new HistoryQueryError(message, parameter);
  };
  const parsed = historyQuerySchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      const unknown = issue.keys.join(', ');
      throw new HistoryQueryError(
        `unknown parameter ${unknown}; known: ${PARAMETERS.map(name).join(', ')}`,
        issue.keys[0] ?? '',
      );
    }
    const parameter = String(issue?.path[0] ?? '');
    throw new HistoryQueryError(
      `${PARAMETERS.includes(parameter as Parameter) ? name(parameter as Parameter) : parameter || 'query'}: ${issue?.message ?? 'invalid'}`,
      parameter,
    );
  }
  const q = parsed.data;
  // The page parameters combine with every paged query: only the runs refuse them.
  const given = PARAMETERS.filter((p) => q[p] !== undefined && p !== 'limit' && p !== 'cursor');
  const page = { limit: q.limit ?? DEFAULT_LIMIT, cursor: q.cursor ?? null };

  // The cluster, as a unit.
  let unit: AuditUnit | null = null;
  if (q.cluster !== undefined) {
    const parts = q.cluster.split('/');
    if (parts.length === 3) {
      const [account = '', region = '', cluster = ''] = parts;
      if (!ACCOUNT.test(account))
        fail(
          'cluster',
          `${name('cluster')}: "${account}" is not a 12-digit account id (expected ACCOUNT/REGION/CLUSTER)`,
        );
      if (!REGION.test(region.toLowerCase()))
        fail(
          'cluster',
          `${name('cluster')}: "${region}" is not an AWS region (expected ACCOUNT/REGION/CLUSTER)`,
        );
      if (!CLUSTER_NAME.test(cluster))
        fail('cluster', `${name('cluster')}: "${cluster}" is not an EKS cluster name`);
      if (q.account !== undefined && q.account !== account)
        fail(
          'account',
          `${name('cluster')} names account ${account} but ${name('account')} says ${q.account}`,
        );
      if (q.region !== undefined && q.region !== region.toLowerCase())
        fail('region', `${name('cluster')} names region ${region} but ${name('region')} says ${q.region}`);
      unit = { accountId: account, region: region.toLowerCase(), cluster };
    } else if (parts.length === 1) {
      if (!CLUSTER_NAME.test(q.cluster))
        fail('cluster', `${name('cluster')}: "${q.cluster}" is not an EKS cluster name`);
      if (q.account === undefined || q.region === undefined)
        fail(
          'cluster',
          `${name('cluster')} ${q.cluster} needs ${name('account')} and ${name('region')} (cluster names are unique per account and region), or give ${name('cluster')} ACCOUNT/REGION/CLUSTER`,
        );
      unit = { accountId: q.account as string, region: q.region as string, cluster: q.cluster };
    } else {
      fail(
        'cluster',
        `${name('cluster')}: expected ACCOUNT/REGION/CLUSTER or a cluster name, got "${q.cluster}"`,
      );
    }
  }

  const only = (parameter: Parameter, what: string) => {
    const others = given.filter((p) => p !== parameter);
    if (others.length > 0)
      fail(parameter, `${name(parameter)} ${what}; it does not combine with ${others.map(name).join(', ')}`);
  };
  const query: NormalisedQuery = {
    ...(unit ? { cluster: `${unit.accountId}/${unit.region}/${unit.cluster}` } : {}),
    ...(q.account !== undefined && !unit ? { account: q.account } : {}),
    ...(q.region !== undefined && !unit ? { region: q.region } : {}),
    ...(q.check !== undefined ? { check: q.check } : {}),
    ...(q.severity !== undefined ? { severity: q.severity } : {}),
  };
  const filters = {
    ...(q.account !== undefined && !unit ? { account: q.account } : {}),
    ...(q.region !== undefined && !unit ? { region: q.region } : {}),
    ...(q.check !== undefined ? { check: q.check } : {}),
    ...(q.severity !== undefined ? { severity: q.severity } : {}),
  };

  if (q.finding !== undefined) {
    only('finding', "shows one finding's whole history");
    return {
      plan: { kind: 'history', finding: q.finding },
      query: { finding: q.finding },
      filters: {},
      ...page,
    };
  }
  if (q.runs !== undefined) {
    only('runs', 'lists the last runs of the whole fleet');
    if (q.limit !== undefined || q.cursor !== undefined)
      fail(
        q.limit !== undefined ? 'limit' : 'cursor',
        `${name('runs')} is not paged: it is the number of runs already (at most ${MAX_RUNS})`,
      );
    return { plan: { kind: 'runs', runs: q.runs }, query: { runs: q.runs }, filters: {}, ...page };
  }
  if (q.since !== undefined && q.at !== undefined)
    fail(
      'at',
      `give either ${name('since')} (the changes since a date) or ${name('at')} (what was open at a date), not both`,
    );
  if (q.at !== undefined) {
    if (!unit)
      fail(
        'at',
        `${name('at')} needs ${name('cluster')}: it replays one cluster's history to show what was open on it then`,
      );
    if (q.state === 'all')
      fail(
        'state',
        `${name('state')} all does not apply to ${name('at')}, which lists what was open at that date`,
      );
    const at = instant(q.at, 'end');
    return {
      plan: { kind: 'open-at', unit: unit as AuditUnit, at },
      query: { ...query, state: 'open', at },
      filters,
      ...page,
    };
  }
  if (q.since !== undefined) {
    if (q.state !== undefined)
      fail(
        'state',
        `${name('state')} does not apply to ${name('since')}, which lists changes (opened, resolved, ...), not findings`,
      );
    const since = instant(q.since, 'start');
    return { plan: { kind: 'events', since, unit }, query: { ...query, since }, filters, ...page };
  }
  const state = q.state ?? 'open';
  if (unit) return { plan: { kind: 'unit', unit, state }, query: { ...query, state }, filters, ...page };
  if (q.account !== undefined)
    return {
      plan: { kind: 'account', account: q.account, state },
      query: { ...query, state },
      filters,
      ...page,
    };
  if (state === 'all')
    fail(
      'state',
      `${name('state')} all needs ${name('cluster')} or ${name('account')} (resolved findings are kept per account; fleet-wide only open findings are indexed)`,
    );
  if (q.severity === undefined && q.check === undefined)
    fail(
      'severity',
      `say what to show: ${name('cluster')}, ${name('account')}, ${name('severity')} or ${name('check')} for findings, ` +
        `${name('since')} for changes, ${name('at')} with ${name('cluster')} for a past date, ${name('finding')} for one finding's history, or ${name('runs')} for the last runs`,
    );
  return { plan: { kind: 'fleet' }, query: { ...query, state: 'open' }, filters, ...page };
}

/** A date alone is the start (since) or the end (at) of that UTC day; a time is taken as given. */
function instant(value: string, edge: 'start' | 'end'): string {
  if (DATE.test(value)) return `${value}T${edge === 'start' ? '00:00:00.000' : '23:59:59.999'}Z`;
  return new Date(value).toISOString();
}

/** Answers a history query (see the table at the top); throws {@link HistoryQueryError} for a bad query. */
export async function queryHistory(
  store: FindingStore,
  input: unknown,
  options: QueryHistoryOptions = {},
): Promise<HistoryResult> {
  const { plan, query, filters, limit, cursor } = parseHistoryQuery(input, options);
  const now = (options.now ?? (() => new Date()))();
  const name = (p: Parameter) => (options.style === 'cli' ? `--${p}` : `'${p}'`);
  const start = cursor === null ? null : readCursor(cursor, query, name('cursor'));
  // The account is the partition (account plan) or part of the unit: no finding filter needed for it.
  const keep = (f: StoredFinding) =>
    (filters.region === undefined || f.region === filters.region) &&
    (filters.check === undefined || f.checkId === filters.check) &&
    (filters.severity === undefined || f.severity === filters.severity);
  const paged = async <T>(segments: readonly Segment<T>[], keepItem?: (value: T) => boolean) => {
    const page = await pageThrough(store, segments, limit, start, keepItem, name('cursor'));
    return { items: page.items, nextCursor: page.next ? writeCursor(query, page.next) : null };
  };

  switch (plan.kind) {
    case 'history': {
      const page = await paged([{ id: 'history', spec: store.historyPages(plan.finding) }]);
      return { kind: 'history', ...page, query };
    }
    case 'runs':
      return { kind: 'runs', items: await store.recentRuns(plan.runs), query, nextCursor: null };
    case 'open-at': {
      // Replayed from the cluster's events: the answer is built whole, the cursor is a position in it.
      const items = sortFindings((await store.openAt(plan.unit, plan.at)).filter(keep));
      if (start && start.segment !== 'open-at')
        throw new HistoryQueryError(`${name('cursor')}: not a cursor of this query`, 'cursor');
      const offset = start ? Number(start.key.offset ?? Number.NaN) : 0;
      if (!Number.isInteger(offset) || offset < 0)
        throw new HistoryQueryError(`${name('cursor')}: not a cursor of this API`, 'cursor');
      const end = offset + limit;
      return {
        kind: 'findings',
        items: items.slice(offset, end),
        query,
        nextCursor:
          end < items.length
            ? writeCursor(query, { segment: 'open-at', key: { offset: String(end) } })
            : null,
      };
    }
    case 'events': {
      const until = now.toISOString();
      if (plan.since > until)
        throw new HistoryQueryError(`${name('since')} ${plan.since} is in the future`, 'since');
      const keepEvent = (e: HistoryEvent) =>
        (filters.account === undefined || e.unit.accountId === filters.account) &&
        (filters.region === undefined || e.unit.region === filters.region) &&
        (filters.check === undefined || e.finding.checkId === filters.check) &&
        (filters.severity === undefined || e.finding.severity === filters.severity);
      let segments: Segment<HistoryEvent>[];
      if (plan.unit) {
        segments = [{ id: 'events', spec: store.unitEventPages(plan.unit, plan.since, until) }];
      } else {
        // Nothing older than the retention remains (TTL deletes it within about two days).
        const oldest = new Date(now.getTime() - (store.retentionDays + 2) * 86_400_000).toISOString();
        const since = plan.since < oldest ? oldest : plan.since;
        segments = daysBetween(since, until).map((day) => ({
          id: day,
          spec: store.dayEventPages(day, since, until),
        }));
      }
      const page = await paged(segments, keepEvent);
      return { kind: 'events', items: sortEvents(page.items), nextCursor: page.nextCursor, query };
    }
    case 'unit': {
      const spec =
        plan.state === 'open'
          ? store.openOfUnitPages(plan.unit)
          : store.accountPages(plan.unit.accountId, plan.unit.region, plan.unit.cluster);
      const page = await paged([{ id: plan.state, spec }], keep);
      return { kind: 'findings', items: sortFindings(page.items), nextCursor: page.nextCursor, query };
    }
    case 'account': {
      const page = await paged(
        [{ id: 'account', spec: store.accountPages(plan.account) }],
        (f) => (plan.state === 'all' || f.state === 'open') && keep(f),
      );
      return { kind: 'findings', items: sortFindings(page.items), nextCursor: page.nextCursor, query };
    }
    case 'fleet': {
      const severities = filters.severity ? [filters.severity] : SEVERITIES;
      const segments = severities.map((severity) => ({
        id: severity,
        spec: store.openPages(severity, filters.check),
      }));
      const page = await paged(segments, keep);
      return { kind: 'findings', items: sortFindings(page.items), nextCursor: page.nextCursor, query };
    }
  }
}

/** The days (`yyyy-mm-dd`, UTC) from `since` to `until`, both included. */
function daysBetween(since: string, until: string): string[] {
  const days: string[] = [];
  const day = new Date(`${since.slice(0, 10)}T00:00:00Z`);
  const last = until.slice(0, 10);
  for (let guard = 0; day.toISOString().slice(0, 10) <= last && guard < 3_660; guard++) {
    days.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return days;
}

// ---- pages and cursors ------------------------------------------------------------------------------

/** One Query of a plan; a plan of several (a severity each, a day each) reads them in order. */
interface Segment<T> {
  readonly id: string;
  readonly spec: PageSpec<T>;
}

/** Where a page ended: the Query (segment) and the key to resume from (empty: its start). */
interface Position {
  readonly segment: string;
  readonly key: PageKey;
}

async function pageThrough<T>(
  store: FindingStore,
  segments: readonly Segment<T>[],
  limit: number,
  start: Position | null,
  keep: ((value: T) => boolean) | undefined,
  cursorName: string,
): Promise<{ items: T[]; next: Position | null }> {
  let index = start ? segments.findIndex((s) => s.id === start.segment) : 0;
  if (index < 0)
    throw new HistoryQueryError(
      `${cursorName}: its page is no longer part of this query's answer (older than the retention); start again without it`,
      'cursor',
    );
  let key: PageKey | null = start?.key ?? null;
  const items: T[] = [];
  for (; index < segments.length; index++) {
    const segment = segments[index] as Segment<T>;
    if (key && Object.keys(key).length > 0) checkStartKey(segment.spec, key, cursorName);
    const page = await store.queryPage(segment.spec, { limit: limit - items.length, start: key, keep });
    items.push(...page.items);
    if (page.next) return { items, next: { segment: segment.id, key: page.next } };
    key = null;
    const following = segments[index + 1];
    if (items.length >= limit) return { items, next: following ? { segment: following.id, key: {} } : null };
  }
  return { items, next: null };
}

/** A start key must be a key of the Query's own partition (DynamoDB would answer 400 or read elsewhere). */
function checkStartKey(spec: PageSpec<unknown>, key: PageKey, cursorName: string): void {
  const names = Object.keys(key).sort();
  const expected = [...spec.keyNames].sort();
  if (
    names.length !== expected.length ||
    names.some((n, i) => n !== expected[i]) ||
    key[spec.partition.name] !== spec.partition.value
  )
    throw new HistoryQueryError(`${cursorName}: not a cursor of this query`, 'cursor');
}

const digest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);

/** The query's identity: what the answer depends on (not the page size). */
function queryId(query: NormalisedQuery): string {
  return digest(JSON.stringify(Object.entries(query).sort(([a], [b]) => a.localeCompare(b))));
}

const cursorSchema = z.strictObject({
  v: z.literal(1),
  q: z.string().length(22),
  s: z.string().max(40),
  k: z.record(z.string().max(100), z.string().max(1_024)),
  c: z.string().length(22),
});

function writeCursor(query: NormalisedQuery, position: Position): string {
  const q = queryId(query);
  const body = { v: 1, q, s: position.segment, k: position.key };
  return Buffer.from(JSON.stringify({ ...body, c: digest(JSON.stringify(body)) })).toString('base64url');
}

/**
 * Reads a cursor given back: untrusted input. Not base64url JSON of the expected shape: not a
 * cursor of this API. Another query's identity: refused, never answered with another query's
 * page. A checksum that does not match: altered. (The checksum catches accidents and edits, not a
 * forger with the source: a forged cursor can only start the same query elsewhere in its own
 * partition, which the caller may read anyway.)
 */
function readCursor(cursor: string, query: NormalisedQuery, cursorName: string): Position {
  const invalid = (why: string) =>
    new HistoryQueryError(
      `${cursorName}: ${why} (give back the nextCursor of the previous page as it was)`,
      'cursor',
    );
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid('not a cursor of this API (not base64url)');
  let parsed: z.infer<typeof cursorSchema>;
  try {
    const result = cursorSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (!result.success) throw invalid('not a cursor of this API');
    parsed = result.data;
  } catch (error) {
    if (error instanceof HistoryQueryError) throw error;
    throw invalid('not a cursor of this API');
  }
  const { c, ...body } = parsed;
  if (digest(JSON.stringify(body)) !== c) throw invalid('the cursor was altered');
  if (parsed.q !== queryId(query))
    throw new HistoryQueryError(
      `${cursorName} belongs to another query: repeat the query that returned it, with the same parameters (only the limit may change)`,
      'cursor',
    );
  return { segment: parsed.s, key: parsed.k };
}

function sortFindings(items: StoredFinding[]): StoredFinding[] {
  return items.sort(
    (a, b) =>
      (a.accountId ?? '').localeCompare(b.accountId ?? '') ||
      (a.region ?? '').localeCompare(b.region ?? '') ||
      (a.cluster ?? '').localeCompare(b.cluster ?? '') ||
      severityRank(a.severity) - severityRank(b.severity) ||
      a.checkId.localeCompare(b.checkId) ||
      a.findingKey.localeCompare(b.findingKey),
  );
}

function sortEvents(items: HistoryEvent[]): HistoryEvent[] {
  return items.sort(
    (a, b) =>
      a.at.localeCompare(b.at) ||
      unitKey(a.unit).localeCompare(unitKey(b.unit)) ||
      severityRank(a.finding.severity) - severityRank(b.finding.severity) ||
      a.finding.checkId.localeCompare(b.finding.checkId) ||
      a.finding.findingKey.localeCompare(b.finding.findingKey),
  );
}
