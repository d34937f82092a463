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
 */
import { z } from 'zod';
import { SEVERITIES, type Severity, severityRank } from '../checks/types.ts';
import type { FindingStore, HistoryEvent, RunRecord } from './finding-store.ts';
import { unitKey } from './table.ts';
import type { AuditUnit, StoredFinding } from './types.ts';

/** The most runs one query returns. */
export const MAX_RUNS = 400;

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
    .regex(/^(IRSA|AUDIT)-\d{3}$/, 'expected a check id, e.g. IRSA-030')
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

export type HistoryResult =
  | { readonly kind: 'findings'; readonly items: StoredFinding[]; readonly query: NormalisedQuery }
  | { readonly kind: 'events'; readonly items: HistoryEvent[]; readonly query: NormalisedQuery }
  | { readonly kind: 'history'; readonly items: HistoryEvent[]; readonly query: NormalisedQuery }
  | { readonly kind: 'runs'; readonly items: RunRecord[]; readonly query: NormalisedQuery };

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
  const given = PARAMETERS.filter((p) => q[p] !== undefined);

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
    return { plan: { kind: 'history', finding: q.finding }, query: { finding: q.finding }, filters: {} };
  }
  if (q.runs !== undefined) {
    only('runs', 'lists the last runs of the whole fleet');
    return { plan: { kind: 'runs', runs: q.runs }, query: { runs: q.runs }, filters: {} };
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
    };
  }
  if (q.since !== undefined) {
    if (q.state !== undefined)
      fail(
        'state',
        `${name('state')} does not apply to ${name('since')}, which lists changes (opened, resolved, ...), not findings`,
      );
    const since = instant(q.since, 'start');
    return { plan: { kind: 'events', since, unit }, query: { ...query, since }, filters };
  }
  const state = q.state ?? 'open';
  if (unit) return { plan: { kind: 'unit', unit, state }, query: { ...query, state }, filters };
  if (q.account !== undefined)
    return { plan: { kind: 'account', account: q.account, state }, query: { ...query, state }, filters };
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
  return { plan: { kind: 'fleet' }, query: { ...query, state: 'open' }, filters };
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
  const { plan, query, filters } = parseHistoryQuery(input, options);
  const now = (options.now ?? (() => new Date()))();
  // The account is the partition (account plan) or part of the unit: no finding filter needed for it.
  const keep = (f: StoredFinding) =>
    (filters.region === undefined || f.region === filters.region) &&
    (filters.check === undefined || f.checkId === filters.check) &&
    (filters.severity === undefined || f.severity === filters.severity);

  switch (plan.kind) {
    case 'history':
      return { kind: 'history', items: await store.findingHistory(plan.finding), query };
    case 'runs':
      return { kind: 'runs', items: await store.recentRuns(plan.runs), query };
    case 'open-at': {
      const items = (await store.openAt(plan.unit, plan.at)).filter(keep);
      return { kind: 'findings', items: sortFindings(items), query };
    }
    case 'events': {
      const until = now.toISOString();
      if (plan.since > until) {
        const name = options.style === 'cli' ? '--since' : "'since'";
        throw new HistoryQueryError(`${name} ${plan.since} is in the future`, 'since');
      }
      let events: HistoryEvent[];
      if (plan.unit) {
        events = (await store.unitEvents(plan.unit, until)).filter((e) => e.at >= plan.since);
      } else {
        // Nothing older than the retention remains (TTL deletes it within about two days).
        const oldest = new Date(now.getTime() - (store.retentionDays + 2) * 86_400_000).toISOString();
        events = await store.eventsBetween(plan.since < oldest ? oldest : plan.since, until);
      }
      const items = events.filter(
        (e) =>
          (filters.account === undefined || e.unit.accountId === filters.account) &&
          (filters.region === undefined || e.unit.region === filters.region) &&
          (filters.check === undefined || e.finding.checkId === filters.check) &&
          (filters.severity === undefined || e.finding.severity === filters.severity),
      );
      return { kind: 'events', items: sortEvents(items), query };
    }
    case 'unit': {
      const found =
        plan.state === 'open'
          ? await store.openFindingsOfUnit(plan.unit)
          : await store.findingsOfAccount(plan.unit.accountId, plan.unit.region, plan.unit.cluster);
      return { kind: 'findings', items: sortFindings(found.filter(keep)), query };
    }
    case 'account': {
      const found = await store.findingsOfAccount(plan.account);
      const items = found.filter((f) => (plan.state === 'all' || f.state === 'open') && keep(f));
      return { kind: 'findings', items: sortFindings(items), query };
    }
    case 'fleet': {
      const severities = filters.severity ? [filters.severity] : SEVERITIES;
      const found: StoredFinding[] = [];
      for (const severity of severities) found.push(...(await store.openFindings(severity, filters.check)));
      return { kind: 'findings', items: sortFindings(found.filter(keep)), query };
    }
  }
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
