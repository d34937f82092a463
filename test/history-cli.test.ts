/**
 * `irsa-audit history` end to end: the real CLI in a child process, pointed by the usual AWS
 * environment (AWS_ENDPOINT_URL_DYNAMODB) at dynalite, which three nights recorded through
 * FindingStore/recordUnit populated. Then the failures people hit: a bad query, a missing table,
 * no credentials, throttling.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Finding, findingKey } from '#shared/engine/run-audit.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import { recordUnit } from '#shared/history/record-audit.ts';
import { findingIdOf } from '#shared/history/table.ts';
import type { AuditUnit } from '#shared/history/types.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { auditFinding } from '#shared/testing/history-fixtures.ts';
import {
  attr,
  byClass,
  elements,
  externalReferences,
  type HtmlElement,
  parseHtml,
  textOf,
} from './support/html-dom.ts';
import { runCliAsync } from './support/run-cli.ts';

const A: AuditUnit = { accountId: '111122223333', region: 'eu-west-1', cluster: 'prod' };
const B: AuditUnit = { accountId: '444455556666', region: 'us-east-1', cluster: 'batch' };
const CLUSTER_A = '111122223333/eu-west-1/prod';

const finding = auditFinding;

const cart = finding(A);
const billing = finding(A, {
  checkId: 'IRSA-013',
  workload: null,
  serviceAccount: 'billing',
  roleName: 'billing',
});
const webhook = finding(A, {
  checkId: 'IRSA-004',
  severity: 'critical',
  namespace: null,
  serviceAccount: null,
  roleName: null,
  workload: null,
});
const batch = finding(B, {
  severity: 'medium',
  checkId: 'IRSA-032',
  serviceAccount: 'etl',
  workload: { kind: 'CronJob', name: 'etl' },
});
const idOf = (unit: AuditUnit, f: Finding) => findingIdOf(unit, findingKey(f));
/** The days of the three nights: the last three days before today (UTC), so `--since` stays in the retention. */
const day = (n: number) => {
  const today = new Date();
  return new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - 4 + n))
    .toISOString()
    .slice(0, 10);
};
const night = (n: number) => `${day(n)}T02:00:00.000Z`;
const shown = (n: number) => `${day(n)} 02:00`;

let local: LocalDynamo;
let env: Record<string, string>;
let throttling: Server;
let throttlingEndpoint: string;
let work: string;

async function record(store: FindingStore, runAt: string, units: [AuditUnit, Finding[]][]): Promise<void> {
  const runId = `${runAt.slice(0, 16)}Z`;
  await store.startRun(runId, runAt, 2);
  for (const [unit, results] of units) {
    const { outcome, errors } = await recordUnit(
      { store, runId, runAt, now: () => new Date(runAt) },
      { unit, results, partial: false, errors: [], unread: [] },
    );
    await store.completeUnit({
      runId,
      unit,
      status: 'complete',
      auditedAt: outcome.auditedAt,
      baseline: outcome.baseline,
      partial: false,
      opened: outcome.changes.filter((c) => c.type === 'opened' || c.type === 'reopened').length,
      resolved: outcome.changes.filter((c) => c.type === 'resolved').length,
      regressions: outcome.changes.filter((c) => c.regression).length,
      maxSeverity: null,
      openBySeverity: outcome.openBySeverity,
      durationMs: 5,
      errors,
      alertMessageId: null,
    });
  }
  const counters = {
    clustersAudited: 1,
    clustersPartial: 0,
    clustersBaselined: 0,
    newFindings: 0,
    resolvedFindings: 0,
    regressions: 0,
  };
  for (const accountId of new Set(units.map(([u]) => u.accountId)))
    await store.completeAccount(runId, accountId, runAt, counters, null);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'irsa-history-cli-'));
  local = await startDynalite('irsa-audit-history-cli');
  const store = new FindingStore({ tableName: local.tableName, client: local.client });
  await record(store, night(1), [
    [A, [cart, billing]],
    [B, [batch]],
  ]);
  await record(store, night(2), [
    [A, [{ ...cart, status: 'pass' }, billing, webhook]],
    [B, [batch]],
  ]);
  await record(store, night(3), [
    [A, [cart, billing, webhook]],
    [B, [batch]],
  ]);
  env = {
    AWS_ENDPOINT_URL_DYNAMODB: local.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDHISTORYCLI',
    AWS_SECRET_ACCESS_KEY: 'history-cli-test',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    IRSA_AUDIT_TABLE: local.tableName,
    // The SDK's notice that its 2027 releases need Node 22 (stderr is asserted empty below).
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  // Answers every DynamoDB call as a throttled one (the JSON 1.0 error shape DynamoDB sends).
  throttling = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(400, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-errortype': 'ThrottlingException',
      });
      res.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
          message: 'Rate of requests exceeds the allowed throughput.',
        }),
      );
    });
  });
  await new Promise<void>((resolve) => throttling.listen(0, '127.0.0.1', () => resolve()));
  throttlingEndpoint = `http://127.0.0.1:${(throttling.address() as AddressInfo).port}`;
});
afterAll(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await local?.stop();
  await new Promise<void>((resolve) => (throttling ? throttling.close(() => resolve()) : resolve()));
});

const history = (args: string[], extra: Record<string, string> = {}) =>
  runCliAsync(['history', ...args], { env: { ...env, ...extra } });

async function json(args: string[]) {
  const run = await history([...args, '--format', 'json']);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout);
}

describe('irsa-audit history', () => {
  it('lists the open findings of a cluster, most severe first, readable and as JSON', async () => {
    const run = await history(['--cluster', CLUSTER_A]);
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^Open findings of 111122223333\/eu-west-1\/prod .*table irsa-audit-history-cli/,
    );
    expect(run.stdout).toMatch(/^111122223333 \/ eu-west-1 \/ prod {2}\(3\)$/m);
    const rows = lines.filter((l) => /^ {2}[A-Z]+ +IRSA-/.test(l));
    expect(rows.map((l) => l.trim().split(/\s+/).slice(0, 2))).toEqual([
      ['CRITICAL', 'IRSA-004'],
      ['HIGH', 'IRSA-013'],
      ['HIGH', 'IRSA-030'],
    ]);
    // The reopened one: open since night 3, first seen night 1; each with its id.
    expect(rows[2]).toMatch(
      new RegExp(
        `shop/cart {2}Deployment/cart +open since ${shown(3)}, first seen ${shown(1)} +id ${idOf(A, cart)}$`,
      ),
    );
    expect(rows[2]).toContain(idOf(A, cart));
    expect(run.stdout).toMatch(/3 open findings \(1 critical, 2 high\) in 1 place\./);

    const data = await json(['--cluster', CLUSTER_A]);
    expect(data.kind).toBe('findings');
    expect(data.table).toBe('irsa-audit-history-cli');
    expect(data.query).toEqual({ cluster: CLUSTER_A, state: 'open' });
    expect(data.items.map((f: { findingId: string }) => f.findingId).sort()).toEqual(
      [idOf(A, cart), idOf(A, billing), idOf(A, webhook)].sort(),
    );
  });

  it('takes a cluster name with --account and --region, and --state all adds resolved findings', async () => {
    const data = await json([
      '--cluster',
      'batch',
      '--account',
      B.accountId,
      '--region',
      'us-east-1',
      '--state',
      'all',
    ]);
    expect(data.query.cluster).toBe('444455556666/us-east-1/batch');
    expect(data.items.map((f: { checkId: string; state: string }) => [f.checkId, f.state])).toEqual([
      ['IRSA-032', 'open'],
    ]);
    const all = await history(['--account', A.accountId, '--state', 'all']);
    expect(all.status).toBe(0);
    expect(all.stdout).toMatch(/3 open findings .*in 1 place\./);
  });

  it('lists open findings fleet-wide by severity and by check', async () => {
    const high = await json(['--severity', 'HIGH']);
    expect(
      high.items.map((f: { checkId: string; severity: string }) => `${f.checkId}:${f.severity}`).sort(),
    ).toEqual(['IRSA-013:high', 'IRSA-030:high']);
    const check = await json(['--check', 'irsa-032']);
    expect(check.query).toMatchObject({ check: 'IRSA-032', state: 'open' });
    expect(check.items.map((f: { cluster: string }) => f.cluster)).toEqual(['batch']);
  });

  it('shows the changes since a date, grouped by cluster, with regressions marked', async () => {
    const run = await history(['--since', day(2)]);
    expect(run.status).toBe(0);
    const events = run.stdout.split('\n').filter((l) => /^ {2}\d{4}-/.test(l));
    expect(events.map((l) => l.trim().split(/\s+/).slice(0, 5))).toEqual([
      [day(2), '02:00', 'opened', 'CRITICAL', 'IRSA-004'],
      [day(2), '02:00', 'resolved', 'HIGH', 'IRSA-030'],
      [day(3), '02:00', 'reopened', 'HIGH', 'IRSA-030'],
    ]);
    expect(events[0]).toMatch(/regression/);
    expect(events[1]).not.toMatch(/regression/);
    expect(run.stdout).toMatch(
      /3 changes in 1 place: 1 opened, 1 reopened, 1 resolved, 0 severity changed, 0 exempted; 2 regressions\./,
    );
    const data = await json(['--since', `${day(3)}T00:00:00Z`, '--account', A.accountId]);
    expect(data.kind).toBe('events');
    expect(data.items.map((e: { type: string }) => e.type)).toEqual(['reopened']);
  });

  it('shows what was open on a cluster at a date', async () => {
    const at = async (date: string) =>
      (await json(['--cluster', CLUSTER_A, '--at', date])).items
        .map((f: { checkId: string }) => f.checkId)
        .sort();
    const [first, second, beforeSecond] = await Promise.all([
      at(day(1)),
      at(day(2)),
      at(`${day(2)}T01:00:00Z`),
    ]);
    expect(first).toEqual(['IRSA-013', 'IRSA-030']);
    expect(second).toEqual(['IRSA-004', 'IRSA-013']);
    expect(beforeSecond).toEqual(['IRSA-013', 'IRSA-030']);
    const run = await history(['--cluster', CLUSTER_A, '--at', day(0)]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Open on 111122223333/eu-west-1/prod at ${day(0)} 23:59`));
    expect(run.stdout).toMatch(/No open findings\./);
  });

  it("shows one finding's history, oldest first", async () => {
    const run = await history(['--finding', idOf(A, cart)]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`History of finding ${idOf(A, cart)}`);
    const lines = run.stdout.split('\n').filter((l) => /^ {2}\d{4}-/.test(l));
    expect(lines.map((l) => l.trim().split(/\s+/)[2])).toEqual(['opened', 'resolved', 'reopened']);
    expect(run.stdout).toContain(`Now open since ${shown(3)}`);
    const unknown = await history(['--finding', 'AAAAAAAAAAAAAAAAAAAAAA']);
    expect(unknown.status).toBe(0);
    expect(unknown.stdout).toMatch(/No history for finding AAAAAAAAAAAAAAAAAAAAAA/);
  });

  it('lists the last runs, newest first', async () => {
    const run = await history(['--runs', '2']);
    expect(run.status).toBe(0);
    const rows = run.stdout.split('\n').filter((l) => /^\d{4}-/.test(l));
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual([`${day(3)}T02:00Z`, `${day(2)}T02:00Z`]);
    expect(rows[0]).toMatch(/ 2\/2 /);
  });
});

describe('irsa-audit history --report html', () => {
  /** The report's per-night table: night -> [critical, high, medium, low, total]. */
  const nightsOf = (doc: ReturnType<typeof parseHtml>) =>
    byClass(doc, 'trend-table')
      .flatMap((t) => elements(t).filter((e) => e.tagName === 'tr' && attr(e, 'data-night')))
      .map((row) => [
        textOf(elements(row).find((e) => e.tagName === 'th') as HtmlElement).slice(0, 10),
        elements(row)
          .filter((e) => e.tagName === 'td')
          .slice(0, 5)
          .map((td) => Number(textOf(td))),
      ]);

  it('charts the open findings by severity over the nights, and lists those open now with their fix', async () => {
    const file = join(work, 'history.html');
    const run = await history(['--report', 'html', '-o', file]);
    expect(run.stderr).toMatch(/wrote .*history\.html/);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    const doc = parseHtml(readFileSync(file, 'utf8'));
    // Newest first in the table; critical, high, medium, low, total.
    expect(nightsOf(doc)).toEqual([
      [day(3), [1, 2, 1, 0, 4]],
      [day(2), [1, 1, 1, 0, 3]],
      [day(1), [0, 2, 1, 0, 3]],
    ]);
    // The chart: an SVG image with a title and a description, one group of bars a night, axes.
    const svg = elements(doc).find((e) => e.tagName === 'svg' && attr(e, 'class') === 'trend') as HtmlElement;
    expect(attr(svg, 'role')).toBe('img');
    expect(textOf(elements(svg).find((e) => e.tagName === 'desc') as HtmlElement)).toMatch(
      new RegExp(`from ${day(1)} \\(3 open\\) to ${day(3)} \\(4 open\\)`),
    );
    expect(byClass(svg, 'night')).toHaveLength(3);
    expect(byClass(svg, 'axis')).toHaveLength(2);
    const lastNight = byClass(svg, 'night')[2] as HtmlElement;
    expect(
      elements(lastNight)
        .filter((e) => e.tagName === 'rect')
        .map((r) => attr(r, 'class')),
    ).toEqual(['bar-critical', 'bar-high', 'bar-medium']);
    // The findings open now, as check's HTML shows them: check id, message, fix.
    const open = byClass(doc, 'finding');
    expect(open.map((f) => attr(f, 'data-check')).sort()).toEqual([
      'IRSA-004',
      'IRSA-013',
      'IRSA-030',
      'IRSA-032',
    ]);
    const cartItem = open.find((f) => attr(f, 'data-check') === 'IRSA-030') as HtmlElement;
    expect(textOf(elements(cartItem).find((e) => e.tagName === 'code') as HtmlElement)).toBe(
      cart.remediation,
    );
    expect(textOf(cartItem)).toContain(cart.message);
    expect(externalReferences(doc)).toEqual([]);
  });

  it('takes a cluster and the number of nights, writes to stdout without -o, and refuses what it does not take', {
    timeout: 120_000,
  }, async () => {
    const run = await history(['--report', 'html', '--cluster', CLUSTER_A, '--runs', '2']);
    expect(run.status, run.stderr).toBe(0);
    const doc = parseHtml(run.stdout);
    expect(nightsOf(doc)).toEqual([
      [day(3), [1, 2, 0, 0, 3]],
      [day(2), [1, 1, 0, 0, 2]],
    ]);
    expect(
      byClass(doc, 'finding')
        .map((f) => attr(f, 'data-check'))
        .sort(),
    ).toEqual(['IRSA-004', 'IRSA-013', 'IRSA-030']);
    const [since, json, output, cluster] = await Promise.all([
      history(['--report', 'html', '--since', day(1)]),
      history(['--report', 'html', '--format', 'json']),
      history(['--runs', '2', '-o', join(work, 'x.html')]),
      history(['--report', 'html', '--cluster', 'prod']),
    ]);
    expect(since.status).toBe(2);
    expect(since.stderr).toMatch(/--report html .* does not take --since/);
    expect(json.stderr).toMatch(/does not take --format json/);
    expect(output.stderr).toMatch(/-o\/--output writes a report: give --report html/);
    expect(cluster.stderr).toMatch(/--cluster prod needs --account and --region/);
    expect([json.status, output.status, cluster.status]).toEqual([2, 2, 2]);
  });
});

describe('irsa-audit history errors (exit 2, naming what is wrong)', () => {
  it('rejects contradictory or insufficient queries', { timeout: 90_000 }, async () => {
    const cases: [string[], RegExp][] = [
      [['--at', '2026-03-01'], /--at needs --cluster/],
      [['--severity', 'severe'], /--severity: expected one of critical, high, medium, low/],
      [['--cluster', 'prod'], /--cluster prod needs --account and --region/],
      [['--since', '2026-03-01', '--at', '2026-03-02', '--cluster', CLUSTER_A], /either --since .* or --at/],
      [['--finding', idOf(A, cart), '--cluster', CLUSTER_A], /--finding .* does not combine with --cluster/],
      [['--runs', '0'], /--runs: expected at least 1/],
      [[], /say what to show: --cluster/],
      [['--state', 'all'], /--state all needs --cluster or --account/],
      [['--since', 'yesterday'], /--since: expected a date/],
    ];
    const runs = await Promise.all(cases.map(([args]) => history(args)));
    runs.forEach((run, i) => {
      expect(run.status, cases[i]?.[0].join(' ')).toBe(2);
      expect(run.stderr).toMatch(cases[i]?.[1] ?? /never/);
      expect(run.stdout).toBe('');
    });
  });

  it('names the table when it does not exist', async () => {
    const run = await history(['--cluster', CLUSTER_A, '--table', 'no-such-table']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /DynamoDB table no-such-table \(us-east-1, http:\/\/127\.0\.0\.1:\d+\) not found: pass --table/,
    );
  });

  it('says so when there are no credentials', async () => {
    const run = await history(['--runs', '1'], {
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_CONFIG_FILE: '/nonexistent/irsa-audit/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/irsa-audit/credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
      AWS_WEB_IDENTITY_TOKEN_FILE: '',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/no AWS credentials to read DynamoDB table irsa-audit-history-cli/);
  });

  it('says so when DynamoDB throttles the reads', async () => {
    const run = await history(['--runs', '1'], {
      AWS_ENDPOINT_URL_DYNAMODB: throttlingEndpoint,
      AWS_MAX_ATTEMPTS: '1',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /DynamoDB table irsa-audit-history-cli .* is throttling the reads \(ThrottlingException\)/,
    );
  });

  it('explains itself in --help', async () => {
    const run = await history(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/--at <date>/);
    expect(run.stdout).toMatch(/AWS_ENDPOINT_URL_DYNAMODB/);
  });
});
