/**
 * `irsa-audit history`: what the nightly pipeline recorded in its DynamoDB table. Open findings
 * of a cluster, an account or the fleet; the changes since a date; what was open on a cluster at
 * a date; one finding's history; the last runs. The query is the one the query API answers
 * (shared/history/query-history.ts); this file only builds the client and prints.
 *
 * Region, credentials and endpoint come from the usual AWS environment (AWS_REGION, AWS_PROFILE,
 * AWS_ENDPOINT_URL_DYNAMODB, ...).
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Command, Option } from 'commander';
import { createColors } from 'picocolors';
import { SEVERITIES, type Severity } from '#shared/checks/types.ts';
import type { HistoryEvent, RunRecord } from '#shared/history/finding-store.ts';
import { type OpenTrend, openTrend, type TrendScope } from '#shared/history/open-trend.ts';
import {
  HistoryQueryError,
  type HistoryResult,
  PARAMETERS,
  parseHistoryQuery,
  queryHistory,
} from '#shared/history/query-history.ts';
import type { StoredFinding } from '#shared/history/types.ts';
import { terminalSafe } from '#shared/sinks/terminal.ts';
import { renderHistoryHtml } from '../render/html-history.ts';
import { emitReport, OutputError } from './output.ts';

export const DEFAULT_TABLE = 'irsa-audit-findings';
const EXIT_ERROR = 2;

export interface HistoryCommandOptions {
  readonly cluster?: string;
  readonly account?: string;
  readonly region?: string;
  readonly check?: string;
  readonly severity?: string;
  readonly state?: string;
  readonly since?: string;
  readonly at?: string;
  readonly finding?: string;
  readonly runs?: string | number;
  /** Items in a page (default 500, at most 1,000). */
  readonly limit?: string | number;
  /** The cursor the previous page printed. */
  readonly cursor?: string;
  /** Follow the cursors: every page, one answer. */
  readonly all?: boolean;
  readonly format?: 'table' | 'json';
  /** A report instead of an answer: `html`, the open findings over the nights and now (--runs: the nights). */
  readonly report?: 'html';
  /** Where the report goes (default stdout). */
  readonly output?: string;
  readonly table?: string;
  /** Colour the table (default: no colour). */
  readonly color?: boolean;
}

export interface HistoryIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Where IRSA_AUDIT_TABLE and the AWS settings named in errors are read (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** The DynamoDB client (default: one configured from the environment). */
  readonly client?: DynamoDBClient;
  readonly now?: () => Date;
  /** Where a relative `--output` is (default: process.cwd()). */
  readonly cwd?: string;
}

/** Runs the command; returns the exit code (0, or 2 for a bad query or a table that cannot be read). */
/** Loaded when a command reads the store, not with the CLI: the AWS SDK is for history only (a fast start). */
async function storeModules() {
  const [{ DynamoDBClient }, { FindingStore }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('#shared/history/finding-store.ts'),
  ]);
  return { DynamoDBClient, FindingStore };
}

export async function runHistoryCommand(options: HistoryCommandOptions, io: HistoryIo): Promise<number> {
  const env = io.env ?? process.env;
  const tableName = options.table || env.IRSA_AUDIT_TABLE || DEFAULT_TABLE;
  const query = Object.fromEntries(
    PARAMETERS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]),
  );
  if (options.report !== undefined) return runHistoryReport(options, io, tableName, env);
  if (options.output !== undefined) {
    io.stderr('irsa-audit history: -o/--output writes a report: give --report html\n');
    return EXIT_ERROR;
  }
  const { DynamoDBClient, FindingStore } = await storeModules();
  const client = io.client ?? new DynamoDBClient({});
  const store = new FindingStore({ tableName, client });
  let result: HistoryResult;
  try {
    if (options.all && options.cursor !== undefined) {
      io.stderr('irsa-audit history: --all reads every page from the first: it does not take --cursor\n');
      return EXIT_ERROR;
    }
    result = await queryHistory(store, query, { style: 'cli', now: io.now });
    // --all: the following pages, appended (each page is sorted; the pages follow the store's order).
    while (options.all && result.nextCursor !== null) {
      const next = await queryHistory(
        store,
        { ...query, cursor: result.nextCursor },
        { style: 'cli', now: io.now },
      );
      result = {
        ...result,
        items: [...result.items, ...next.items],
        nextCursor: next.nextCursor,
      } as HistoryResult;
    }
  } catch (error) {
    if (error instanceof HistoryQueryError) {
      io.stderr(`irsa-audit history: ${error.message}\n`);
      return EXIT_ERROR;
    }
    const message = storeErrorMessage(error, tableName, env);
    if (message === null) throw error;
    io.stderr(`irsa-audit history: ${message}\n`);
    return EXIT_ERROR;
  } finally {
    if (!io.client) client.destroy();
  }
  if (options.format === 'json') io.stdout(`${JSON.stringify({ table: tableName, ...result }, null, 2)}\n`);
  else {
    io.stdout(`${renderHistory(result, { color: options.color ?? false, tableName })}\n`);
    if (result.nextCursor !== null)
      io.stdout(
        `\nMore: this is one page of ${result.items.length}. The next: the same command with --cursor ${result.nextCursor}` +
          ' (or --all for every page).\n',
      );
  }
  return 0;
}

/** What `--report html` shows by default: the last 30 nights. */
export const DEFAULT_REPORT_NIGHTS = 30;

/** The options a report does not take: it is the open findings of its scope, over `--runs` nights. */
const NOT_WITH_REPORT = ['check', 'severity', 'state', 'since', 'at', 'finding', 'limit', 'cursor'] as const;

/** `--report html [-o FILE]`: the chart of the open findings over the nights, and those open now. */
async function runHistoryReport(
  options: HistoryCommandOptions,
  io: HistoryIo,
  tableName: string,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const fail = (message: string) => {
    io.stderr(`irsa-audit history: ${message}\n`);
    return EXIT_ERROR;
  };
  if (options.report !== 'html') return fail(`--report: expected html, not ${options.report}`);
  const extra = NOT_WITH_REPORT.filter((k) => options[k] !== undefined);
  if (extra.length > 0 || options.all)
    return fail(
      `--report html shows the open findings of the fleet, an account or a cluster (--cluster, --account, --region) over the last --runs nights; it does not take ${[...extra.map((k) => `--${k}`), ...(options.all ? ['--all'] : [])].join(', ')}`,
    );
  if (options.format === 'json')
    return fail('--report html is a report of its own: it does not take --format json');
  let scope: TrendScope;
  let nights: number;
  try {
    // The scope and --runs, validated as every history query is (the same messages).
    const parsed = parseHistoryQuery(
      {
        ...(options.cluster !== undefined ? { cluster: options.cluster } : {}),
        ...(options.account !== undefined ? { account: options.account } : {}),
        ...(options.region !== undefined ? { region: options.region } : {}),
        ...(options.cluster === undefined && options.account === undefined ? { severity: 'critical' } : {}),
      },
      { style: 'cli' },
    );
    const runs = parseHistoryQuery({ runs: options.runs ?? DEFAULT_REPORT_NIGHTS }, { style: 'cli' });
    nights = runs.query.runs ?? DEFAULT_REPORT_NIGHTS;
    scope = {
      unit: parsed.plan.kind === 'unit' ? parsed.plan.unit : null,
      account: parsed.plan.kind === 'account' ? parsed.plan.account : null,
      region: parsed.plan.kind === 'unit' ? null : (parsed.query.region ?? null),
    };
  } catch (error) {
    if (error instanceof HistoryQueryError) return fail(error.message);
    throw error;
  }
  const { DynamoDBClient, FindingStore } = await storeModules();
  const client = io.client ?? new DynamoDBClient({});
  const store = new FindingStore({ tableName, client });
  let trend: OpenTrend;
  try {
    trend = await openTrend(store, scope, nights);
  } catch (error) {
    const message = storeErrorMessage(error, tableName, env);
    if (message === null) throw error;
    return fail(message);
  } finally {
    if (!io.client) client.destroy();
  }
  const where = scope.unit
    ? `cluster ${scope.unit.accountId}/${scope.unit.region}/${scope.unit.cluster}`
    : scope.account !== null
      ? `account ${scope.account}${scope.region ? ` (${scope.region})` : ''}`
      : `the fleet${scope.region ? ` (${scope.region})` : ''}`;
  const page = renderHistoryHtml({
    scope: where,
    tableName,
    nightsAsked: nights,
    nights: trend.nights,
    open: trend.open,
    now: (io.now ?? (() => new Date()))(),
  });
  try {
    await emitReport(page, options.output, {
      stdout: (t) => io.stdout(t),
      stderr: (t) => io.stderr(t),
      cwd: io.cwd ?? process.cwd(),
      width: 80,
    });
  } catch (error) {
    if (error instanceof OutputError) return fail(error.message);
    throw error;
  }
  return 0;
}

/** A clear message for a failure to read the table (naming it), or null for an error that is a bug. */
export function storeErrorMessage(error: unknown, tableName: string, env: NodeJS.ProcessEnv): string | null {
  if (!(error instanceof Error)) return null;
  const name = error.name;
  const code = (error as { code?: string }).code;
  const where = [
    env.AWS_REGION || env.AWS_DEFAULT_REGION,
    env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL,
  ]
    .filter(Boolean)
    .join(', ');
  const table = `DynamoDB table ${tableName}${where ? ` (${where})` : ''}`;
  if (name === 'ResourceNotFoundException')
    return `${table} not found: pass --table NAME or set IRSA_AUDIT_TABLE (the table the pipeline's stack created), and check AWS_REGION`;
  if (/Region is missing/i.test(error.message))
    return `no AWS region to find DynamoDB table ${tableName}: set AWS_REGION (or a region in your AWS profile)`;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(error.message))
    return `no AWS credentials to read ${table}: set AWS_PROFILE, run aws sso login, or export credentials`;
  if (
    [
      'UnrecognizedClientException',
      'InvalidSignatureException',
      'ExpiredTokenException',
      'ExpiredToken',
    ].includes(name)
  )
    return `AWS rejected the credentials reading ${table} (${name}): refresh them (aws sso login) and retry`;
  if (name === 'AccessDeniedException')
    return `not allowed to read ${table}: ${error.message} (the caller needs dynamodb:Query and dynamodb:GetItem on the table and its indexes)`;
  if (
    ['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded'].includes(name)
  )
    return `${table} is throttling the reads (${name}): retry in a moment, or narrow the query`;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || name === 'TimeoutError')
    return `cannot reach DynamoDB for ${table}: ${code ?? name} (check AWS_ENDPOINT_URL_DYNAMODB and the network)`;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (metadata?.httpStatusCode !== undefined)
    return `reading ${table} failed: ${name} (HTTP ${metadata.httpStatusCode}): ${error.message}`;
  return null;
}

// ---- rendering ------------------------------------------------------------------------------------

interface RenderOptions {
  readonly color: boolean;
  readonly tableName: string;
}

const time = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-');

function resourceOf(f: StoredFinding): string {
  if (f.workload) return `${f.namespace}/${f.serviceAccount}  ${f.workload.kind}/${f.workload.name}`;
  if (f.serviceAccount) return `${f.namespace}/${f.serviceAccount}`;
  if (f.roleName) return `role ${f.roleName}`;
  if (f.resource) return f.resource;
  return f.cluster ? 'cluster' : 'account';
}

function placeOf(where: { accountId: string | null; region: string | null; cluster: string | null }): string {
  if (where.cluster) return `${where.accountId} / ${where.region} / ${where.cluster}`;
  return `${where.accountId ?? 'unknown account'} (account)`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The human-readable form of a history result: grouped, one line per finding, event or run. */
export function renderHistory(stored: HistoryResult, options: RenderOptions): string {
  // What the store holds was read from clusters and accounts: every string of it goes through the
  // terminal sink before any is printed (shared/sinks/terminal.ts).
  const result = terminalSafe(stored);
  const c = createColors(options.color);
  const severityColor: Record<Severity, (s: string) => string> = {
    critical: (s) => c.bold(c.red(s)),
    high: c.red,
    medium: c.yellow,
    low: c.cyan,
  };
  const sev = (s: Severity) => severityColor[s](s.toUpperCase().padEnd(8));
  const q = result.query;
  const out: string[] = [];
  const scope = q.cluster ?? (q.account ? `account ${q.account}` : 'the fleet');
  const filters = [q.region && `region ${q.region}`, q.check, q.severity].filter(Boolean).join(', ');
  const suffix = `${filters ? ` (${filters})` : ''}  ${c.dim(`· table ${options.tableName} · times UTC`)}`;

  switch (result.kind) {
    case 'findings': {
      const what = q.at
        ? `Open on ${scope} at ${time(q.at)}`
        : `${q.state === 'all' ? 'Findings' : 'Open findings'} of ${scope}`;
      out.push(c.bold(what) + suffix, '');
      if (result.items.length === 0) {
        out.push(c.green(q.state === 'all' ? 'No findings.' : 'No open findings.'));
        break;
      }
      const groups = groupBy(result.items, placeOf);
      for (const [place, items] of groups) {
        out.push(c.bold(place) + c.dim(`  (${items.length})`));
        const width = Math.min(48, Math.max(...items.map((f) => resourceOf(f).length)));
        for (const f of items) {
          out.push(
            `  ${f.state === 'open' ? sev(f.severity) : c.dim(f.severity.toUpperCase().padEnd(8))}  ${c.bold(f.checkId)}  ` +
              `${resourceOf(f).padEnd(width)}  ${stateText(f)}  ${c.dim(`id ${f.findingId}`)}`,
          );
        }
        out.push('');
      }
      const open = result.items.filter((f) => f.state === 'open');
      const bySeverity = SEVERITIES.map((s) => [s, open.filter((f) => f.severity === s).length] as const)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => severityColor[s](`${n} ${s}`))
        .join(', ');
      out.push(
        `${plural(open.length, 'open finding')}${bySeverity ? ` (${bySeverity})` : ''}` +
          `${result.items.length > open.length ? `, ${result.items.length - open.length} resolved or exempted` : ''}` +
          ` in ${plural(groups.size, 'place')}.`,
      );
      break;
    }
    case 'events': {
      out.push(c.bold(`Changes of ${scope} since ${time(q.since ?? null)}`) + suffix, '');
      if (result.items.length === 0) {
        out.push(c.green('No change.'));
        break;
      }
      const groups = groupBy(result.items, (e) => placeOf(e.unit));
      for (const [place, events] of groups) {
        out.push(c.bold(place) + c.dim(`  (${plural(events.length, 'change')})`));
        const width = Math.min(48, Math.max(...events.map((e) => resourceOf(e.finding).length)));
        for (const e of events) {
          const { head, tail } = eventText(e, sev, c);
          out.push(
            `  ${time(e.at)}  ${head}  ${resourceOf(e.finding).padEnd(width)}${tail}  ${c.dim(`id ${e.finding.findingId}`)}`,
          );
        }
        out.push('');
      }
      const regressions = result.items.filter((e) => e.regression).length;
      const count = (type: string) => result.items.filter((e) => e.type === type).length;
      out.push(
        `${plural(result.items.length, 'change')} in ${plural(groups.size, 'place')}: ${count('opened')} opened, ` +
          `${count('reopened')} reopened, ${count('resolved')} resolved, ${count('severity-changed')} severity changed, ` +
          `${count('exempted')} exempted; ${regressions === 0 ? '0 regressions' : c.red(plural(regressions, 'regression'))}.`,
      );
      break;
    }
    case 'history': {
      const last = result.items.at(-1);
      if (!last) {
        out.push(
          `No history for finding ${q.finding} in table ${options.tableName} (unknown id, or older than the retention).`,
        );
        break;
      }
      const f = last.finding;
      out.push(
        c.bold(`History of finding ${f.findingId}`) +
          `  ${c.dim(`· table ${options.tableName} · times UTC`)}`,
      );
      out.push(`  ${c.bold(f.checkId)}  ${f.title}`);
      out.push(`  ${placeOf(last.unit)}  ·  ${resourceOf(f)}`, '');
      for (const e of result.items) {
        const { head, tail } = eventText(e, sev, c);
        out.push(`  ${time(e.at)}  ${head}${tail}  ${c.dim(`run ${e.runId}`)}`);
      }
      out.push('', `Now ${stateText({ ...f, state: stateAfter(last) })}.`, `  ${f.message}`);
      if (f.remediation && stateAfter(last) === 'open')
        out.push(c.dim(`  fix: ${f.remediation.split('\n')[0]}`));
      break;
    }
    case 'runs': {
      out.push(
        c.bold(`The last ${plural(result.items.length, 'run')}`) +
          `  ${c.dim(`· table ${options.tableName} · times UTC`)}`,
        '',
      );
      if (result.items.length === 0) {
        out.push('No run recorded yet.');
        break;
      }
      const header = [
        'RUN',
        'STARTED',
        'COMPLETED',
        'ACCOUNTS',
        'CLUSTERS',
        'PARTIAL',
        'BASELINE',
        'NEW',
        'RESOLVED',
        'REGRESSIONS',
      ];
      const rows = result.items.map(runRow);
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
      const line = (cells: string[]) =>
        cells
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd();
      out.push(c.dim(line(header)));
      result.items.forEach((run, i) => {
        out.push(line(rows[i] ?? []));
        for (const [account, reason] of Object.entries(run.accountsFailed))
          out.push(c.yellow(`  account ${account} not audited: ${reason}`));
      });
      break;
    }
  }
  return out.join('\n').trimEnd();
}

function runRow(run: RunRecord): string[] {
  return [
    run.runId,
    time(run.startedAt),
    run.completedAt ? time(run.completedAt) : '-',
    `${run.accountsDone}/${run.accountsPlanned}`,
    String(run.clustersAudited),
    String(run.clustersPartial),
    String(run.clustersBaselined),
    String(run.newFindings),
    String(run.resolvedFindings),
    String(run.regressions),
  ];
}

function stateText(f: StoredFinding): string {
  if (f.state === 'open') {
    const first = f.firstSeenAt !== f.openedAt ? `, first seen ${time(f.firstSeenAt)}` : '';
    return `open since ${time(f.openedAt)}${first}`;
  }
  if (f.state === 'resolved') return `resolved ${time(f.resolvedAt)}`;
  return 'exempted';
}

function stateAfter(e: HistoryEvent): StoredFinding['state'] {
  if (e.type === 'resolved') return 'resolved';
  if (e.type === 'exempted') return 'exempted';
  return 'open';
}

/** The change, severity and check (`head`), and what to add after the resource (`tail`). */
function eventText(
  e: HistoryEvent,
  sev: (s: Severity) => string,
  c: ReturnType<typeof createColors>,
): { head: string; tail: string } {
  const f = e.finding;
  const was = e.previousSeverity && e.previousSeverity !== f.severity ? `  (was ${e.previousSeverity})` : '';
  const regression = e.regression ? `  ${c.red('regression')}` : '';
  return {
    head: `${e.type.padEnd(16)}  ${sev(f.severity)}  ${c.bold(f.checkId)}`,
    tail: `${was}${regression}`,
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Registers `irsa-audit history` on the program. */
export function addHistoryCommand(program: Command): void {
  program
    .command('history')
    .description(
      "Read the findings' history that the nightly pipeline keeps in DynamoDB: open findings, changes since a date, " +
        'what was open on a cluster at a date, one finding, the last runs.',
    )
    .option('--cluster <cluster>', 'ACCOUNT/REGION/CLUSTER, or a cluster name with --account and --region')
    .option('--account <id>', 'an AWS account id')
    .option('--region <region>', 'an AWS region (with --cluster NAME, or to filter)')
    .option('--check <id>', 'only this check, e.g. IRSA-030')
    .option('--severity <severity>', `only this severity: ${SEVERITIES.join(', ')}`)
    .option(
      '--state <state>',
      'open (default) or all (also resolved and exempted; needs --cluster or --account)',
    )
    .option('--since <date>', 'the changes since this date (2026-03-01, or a time with its zone)')
    .option('--at <date>', 'what was open on --cluster at this date (a date alone: at its end)')
    .option('--finding <id>', "one finding's history (its id is listed with every finding)")
    .option(
      '--runs <n>',
      'the last N runs, newest first (with --report html: the nights of its chart, default 30)',
    )
    .option('--limit <n>', 'items in a page (default 500, at most 1,000)')
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed (same query)')
    .option('--all', 'every page (follows the cursors)')
    .addOption(
      new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .addOption(
      new Option(
        '--report <report>',
        `a report instead of an answer: html, the open findings by severity over the last --runs nights (default ${DEFAULT_REPORT_NIGHTS}) and those open now, of the fleet, --account or --cluster`,
      ).choices(['html']),
    )
    .option('-o, --output <file>', 'write the --report to this file instead of stdout')
    .option('--table <name>', `the DynamoDB table (default: IRSA_AUDIT_TABLE, else ${DEFAULT_TABLE})`)
    .addHelpText(
      'after',
      `
Region, credentials and endpoint: the usual AWS environment (AWS_REGION, AWS_PROFILE,
AWS_ENDPOINT_URL_DYNAMODB). Exit codes: 0 answered (even when nothing matches), 2 a bad query or
a table that cannot be read (missing, no credentials, access denied, throttled).

Answers come in pages (--limit, default 500): a page that is not the last ends with the
--cursor to give for the next one (in JSON: nextCursor); --all reads them all.

Examples:
  irsa-audit history --cluster 111122223333/eu-west-1/prod            # its open findings
  irsa-audit history --cluster prod --account 111122223333 --region eu-west-1 --state all
  irsa-audit history --severity critical                             # open critical findings, fleet-wide
  irsa-audit history --check IRSA-030 --format json
  irsa-audit history --since 2026-03-01 --account 111122223333        # what changed since
  irsa-audit history --cluster 111122223333/eu-west-1/prod --at 2026-02-14
  irsa-audit history --finding 3kT9xQ0b2mWc8yZ1aP4vRg
  irsa-audit history --runs 7
  irsa-audit history --severity high --limit 100 --cursor eyJ2IjoxLC...   # the next page
  irsa-audit history --account 111122223333 --state all --all
  irsa-audit history --report html -o history.html                   # open findings over 30 nights, and now
  irsa-audit history --report html --runs 90 --account 111122223333 -o account.html`,
    )
    .action(async (opts: HistoryCommandOptions) => {
      process.exitCode = await runHistoryCommand(
        { ...opts, color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR },
        { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) },
      );
    });
}
