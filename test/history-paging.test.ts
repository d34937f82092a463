/**
 * Paged history answers on dynalite: every query that pages (a cluster's findings, an account's,
 * the fleet's by severity and check, changes since a date, a finding's history, what was open at a
 * date) gives, page by page, exactly the answer it gives in one page; a cursor of another query, an
 * altered one or a malformed one is refused naming the parameter. Then `irsa-audit history` with
 * --limit, --cursor and --all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Severity } from '#shared/checks/types.ts';
import type { Finding } from '#shared/engine/run-audit.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import { HistoryQueryError, type HistoryResult, queryHistory } from '#shared/history/query-history.ts';
import { recordUnit } from '#shared/history/record-audit.ts';
import type { AuditUnit } from '#shared/history/types.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { auditFinding } from '#shared/testing/history-fixtures.ts';
import { runHistoryCommand } from '../cli/commands/history.ts';

const P: AuditUnit = { accountId: '111122223333', region: 'eu-west-1', cluster: 'prod' };
const S: AuditUnit = { accountId: '111122223333', region: 'eu-west-1', cluster: 'stage' };
const Q: AuditUnit = { accountId: '444455556666', region: 'us-east-1', cluster: 'batch' };
const ORDER: Severity[] = ['critical', 'high', 'medium', 'low'];
const CHECKS = ['IRSA-030', 'IRSA-013', 'IRSA-032'];

/** `n` findings on `unit`, of every severity and three checks. */
const many = (unit: AuditUnit, n: number, prefix: string): Finding[] =>
  Array.from({ length: n }, (_, i) =>
    auditFinding(unit, {
      checkId: CHECKS[i % CHECKS.length] as string,
      severity: ORDER[i % ORDER.length] as Severity,
      serviceAccount: `${prefix}-${i}`,
      roleName: `${prefix}-${i}`,
      workload: { kind: 'Deployment', name: `${prefix}-${i}` },
    }),
  );

const today = new Date();
const night = (n: number) =>
  new Date(
    Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - 4 + n, 2),
  ).toISOString();

async function record(store: FindingStore, runAt: string, units: [AuditUnit, Finding[]][]): Promise<void> {
  const runId = `${runAt.slice(0, 16)}Z`;
  for (const [unit, results] of units) {
    const { outcome } = await recordUnit(
      { store, runId, runAt, now: () => new Date(runAt) },
      { unit, results, partial: false, errors: [], unread: [] },
    );
    await store.completeUnit({
      runId,
      unit,
      status: 'complete',
      auditedAt: runAt,
      baseline: outcome.baseline,
      partial: false,
      opened: 0,
      resolved: 0,
      regressions: 0,
      maxSeverity: null,
      openBySeverity: outcome.openBySeverity,
      durationMs: 1,
      errors: [],
      alertMessageId: null,
    });
  }
}

let local: LocalDynamo;
let store: FindingStore;
const p = many(P, 70, 'p');
const s = many(S, 12, 's');
const q = many(Q, 30, 'q');

beforeAll(async () => {
  local = await startDynalite('irsa-audit-paging');
  store = new FindingStore({ tableName: local.tableName, client: local.client });
  await record(store, night(1), [
    [P, p],
    [S, s],
    [Q, q],
  ]);
  // Night 2: a third of P's findings resolved (so its account holds resolved ones), a few new on Q.
  await record(store, night(2), [
    [P, p.filter((_, i) => i % 3 !== 0)],
    [S, s],
    [Q, [...q, ...many(Q, 5, 'q2')]],
  ]);
  await record(store, night(3), [
    [P, p.filter((_, i) => i % 3 !== 0)],
    [S, s],
    [Q, [...q, ...many(Q, 5, 'q2')]],
  ]);
});
afterAll(async () => {
  await local?.stop();
});

const idOf = (item: unknown): string => {
  const i = item as { findingId?: string; at?: string; finding?: { findingId: string } };
  return i.findingId ?? `${i.at}#${i.finding?.findingId}`;
};

/** Every page of a query at `limit`, following nextCursor. */
async function allPages(query: Record<string, string | number>, limit: number): Promise<HistoryResult[]> {
  const pages: HistoryResult[] = [];
  let cursor: string | null = null;
  do {
    const page: HistoryResult = await queryHistory(store, { ...query, limit, ...(cursor ? { cursor } : {}) });
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor && pages.length < 100);
  return pages;
}

async function refusal(query: Record<string, unknown>): Promise<HistoryQueryError> {
  const error = await queryHistory(store, query).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HistoryQueryError);
  return error as HistoryQueryError;
}

describe('paged history queries', () => {
  const queries: [string, Record<string, string | number>][] = [
    ['open findings of a cluster', { cluster: '111122223333/eu-west-1/prod' }],
    ['every finding of a cluster', { cluster: '111122223333/eu-west-1/prod', state: 'all' }],
    ['open findings of an account (resolved ones skipped)', { account: '111122223333' }],
    ['every finding of an account, one check', { account: '111122223333', state: 'all', check: 'IRSA-030' }],
    ['open findings fleet-wide of a check (one Query per severity)', { check: 'IRSA-013' }],
    ['open findings fleet-wide of a severity', { severity: 'high' }],
    ['changes fleet-wide since a date (one Query per day)', { since: night(1).slice(0, 10) }],
    [
      'changes of a cluster since a date',
      { since: night(1).slice(0, 10), cluster: '444455556666/us-east-1/batch' },
    ],
    [
      'what was open on a cluster at a date',
      { cluster: '111122223333/eu-west-1/prod', at: night(1).slice(0, 10) },
    ],
  ];

  it.each(queries)('%s: the pages together are the one-page answer, nothing twice', async (_, query) => {
    const whole = await queryHistory(store, { ...query, limit: 1_000 });
    expect(whole.nextCursor).toBeNull();
    expect(whole.items.length).toBeGreaterThan(7);
    const pages = await allPages(query, 7);
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(whole.items.length / 7));
    const paged = pages.flatMap((page) => page.items.map(idOf));
    expect(new Set(paged).size).toBe(paged.length);
    expect([...paged].sort()).toEqual(whole.items.map(idOf).sort());
    for (const page of pages.slice(0, -1)) expect(page.items).toHaveLength(7);
    expect(pages.at(-1)?.nextCursor).toBeNull();
  });

  it("a finding's history pages too", async () => {
    const [event] = (await queryHistory(store, { since: night(1).slice(0, 10), limit: 1 })).items as {
      finding: { findingId: string };
    }[];
    const query = { finding: event?.finding.findingId ?? '' };
    const pages = await allPages(query, 1);
    const whole = await queryHistory(store, query);
    expect(pages.flatMap((page) => page.items.map(idOf))).toEqual(whole.items.map(idOf));
  });

  it('has a default and a maximum page size', async () => {
    const page = await queryHistory(store, { account: '111122223333' });
    expect(page.items.length).toBeLessThanOrEqual(500);
    const error = await refusal({ account: '111122223333', limit: '1001' });
    expect(error.parameter).toBe('limit');
    expect(error.message).toBe("'limit': expected at most 1000");
    expect((await refusal({ account: '111122223333', limit: 'ten' })).parameter).toBe('limit');
    expect((await refusal({ runs: 3, limit: 2 })).message).toMatch(/'runs' is not paged/);
  });

  it('refuses a cursor of another query, and one altered or malformed, naming the parameter', async () => {
    const first = await queryHistory(store, { severity: 'high', limit: 5 });
    const cursor = first.nextCursor ?? '';
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    // Another query (another severity, a check added): refused, never another query's page.
    for (const other of [
      { severity: 'low' },
      { severity: 'high', check: 'IRSA-030' },
      { account: '111122223333' },
    ]) {
      const error = await refusal({ ...other, cursor });
      expect(error.parameter).toBe('cursor');
      expect(error.message).toMatch(/^'cursor' belongs to another query/);
    }
    // The same query with another limit is the same query.
    expect((await queryHistory(store, { severity: 'high', limit: 9, cursor })).items).toHaveLength(9);
    // Altered: the key edited (a page elsewhere in the partition), re-encoded.
    const body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    body.k.sk = body.k.sk.replace(/.$/, (c: string) => (c === 'A' ? 'B' : 'A'));
    const altered = Buffer.from(JSON.stringify(body)).toString('base64url');
    expect((await refusal({ severity: 'high', cursor: altered })).message).toMatch(/the cursor was altered/);
    // Malformed: not base64url, not JSON, not the shape.
    for (const bad of [
      '%%%',
      'abc',
      Buffer.from('{"v":2}').toString('base64url'),
      `${cursor.slice(0, -4)}`,
    ]) {
      const error = await refusal({ severity: 'high', cursor: bad });
      expect(error.parameter).toBe('cursor');
      expect(error.message).toMatch(/^'cursor': /);
    }
  });
});

describe('irsa-audit history, paged', () => {
  const run = async (options: Record<string, unknown>) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runHistoryCommand(options, {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      client: local.client,
      env: { IRSA_AUDIT_TABLE: local.tableName },
    });
    return { code, stdout: out.join(''), stderr: err.join('') };
  };

  it('prints a page and how to get the next; --cursor gives it; --all gives every page', async () => {
    const first = await run({ cluster: '111122223333/eu-west-1/prod', limit: '20' });
    expect(first.code).toBe(0);
    const next = first.stdout.match(/the same command with --cursor (\S+) \(or --all for every page\)/)?.[1];
    expect(first.stdout).toMatch(/^More: this is one page of 20\./m);
    expect(next).toBeDefined();
    const second = await run({
      cluster: '111122223333/eu-west-1/prod',
      limit: '20',
      cursor: next,
      format: 'json',
    });
    expect(second.code).toBe(0);
    const page = JSON.parse(second.stdout);
    expect(page.items).toHaveLength(20);
    expect(page.nextCursor).toEqual(expect.any(String));
    const all = JSON.parse(
      (await run({ cluster: '111122223333/eu-west-1/prod', limit: '20', all: true, format: 'json' })).stdout,
    );
    expect(all.items).toHaveLength(p.filter((_, i) => i % 3 !== 0).length);
    expect(all.nextCursor).toBeNull();
    const table = await run({ cluster: '111122223333/eu-west-1/prod', all: true, limit: '20' });
    expect(table.stdout).not.toMatch(/^More:/m);
  });

  it('a bad --cursor or --limit is exit 2 naming the option', async () => {
    const bad = await run({ severity: 'high', cursor: 'not-a-cursor' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^irsa-audit history: --cursor: not a cursor of this API/);
    const limit = await run({ severity: 'high', limit: '0' });
    expect(limit.code).toBe(2);
    expect(limit.stderr).toBe('irsa-audit history: --limit: expected at least 1\n');
    const both = await run({ severity: 'high', all: true, cursor: 'x' });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--all reads every page from the first/);
  });
});
