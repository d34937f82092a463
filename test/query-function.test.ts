/**
 * The query function as Lambda runs it: the real exported handler (middy + Powertools), API
 * Gateway proxy events and a Lambda context, TABLE_NAME and AWS_ENDPOINT_URL_DYNAMODB pointing at
 * dynalite, populated by three nights recorded through FindingStore/recordUnit.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Finding, findingKey } from '#shared/engine/run-audit.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import { recordUnit } from '#shared/history/record-audit.ts';
import { findingIdOf } from '#shared/history/table.ts';
import type { AuditUnit } from '#shared/history/types.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { auditFinding } from '#shared/testing/history-fixtures.ts';

const A: AuditUnit = { accountId: '111122223333', region: 'eu-west-1', cluster: 'prod' };
const B: AuditUnit = { accountId: '444455556666', region: 'us-east-1', cluster: 'batch' };

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
  checkId: 'IRSA-032',
  severity: 'medium',
  serviceAccount: 'etl',
  workload: { kind: 'CronJob', name: 'etl' },
});
const idOf = (unit: AuditUnit, f: Finding) => findingIdOf(unit, findingKey(f));
/** The days of the three nights: the last three days before today (UTC), so `since` stays in the retention. */
const day = (n: number) => {
  const today = new Date();
  return new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - 4 + n))
    .toISOString()
    .slice(0, 10);
};
const night = (n: number) => `${day(n)}T02:00:00.000Z`;

async function record(store: FindingStore, runAt: string, units: [AuditUnit, Finding[]][]): Promise<void> {
  const runId = `${runAt.slice(0, 16)}Z`;
  await store.startRun(runId, runAt, 2);
  for (const [unit, results] of units) {
    const { outcome } = await recordUnit(
      { store, runId, runAt },
      { unit, results, partial: false, errors: [], unread: [] },
    );
    await store.completeUnit({
      runId,
      unit,
      status: 'complete',
      auditedAt: runAt,
      baseline: outcome.baseline,
      partial: false,
      opened: outcome.changes.filter((c) => c.type === 'opened' || c.type === 'reopened').length,
      resolved: outcome.changes.filter((c) => c.type === 'resolved').length,
      regressions: outcome.changes.filter((c) => c.regression).length,
      maxSeverity: null,
      openBySeverity: outcome.openBySeverity,
      durationMs: 1,
      errors: [],
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

function apiEvent(
  method: string,
  path: string,
  query: Record<string, string> = {},
  multi: Record<string, string[]> = {},
): APIGatewayProxyEvent {
  const multiValue = { ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])), ...multi };
  const single = Object.fromEntries(Object.entries(multiValue).map(([k, v]) => [k, v.at(-1) ?? '']));
  const hasQuery = Object.keys(single).length > 0;
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com' },
    multiValueHeaders: { host: ['abc123.execute-api.eu-west-1.amazonaws.com'] },
    queryStringParameters: hasQuery ? single : null,
    multiValueQueryStringParameters: hasQuery ? multiValue : null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '999988887777',
      apiId: 'abc123',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: '999988887777',
        apiKey: null,
        apiKeyId: null,
        caller: 'AROAEXAMPLE:alice',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '198.51.100.7',
        user: 'AROAEXAMPLE:alice',
        userAgent: 'vitest',
        userArn: 'arn:aws:sts::999988887777:assumed-role/reader/alice',
      },
      path: `/prod${path}`,
      stage: 'prod',
      requestId: 'req-1',
      requestTimeEpoch: Date.now(),
      resourceId: 'res1',
      resourcePath: '/{proxy+}',
    },
  };
}

let requests = 0;
function lambdaContext(): Context {
  requests++;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'irsa-audit-query',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:999988887777:function:irsa-audit-query',
    memoryLimitInMB: '512',
    awsRequestId: `11111111-2222-3333-4444-${String(requests).padStart(12, '0')}`,
    logGroupName: '/aws/lambda/irsa-audit-query',
    logStreamName: '2026/03/05/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

let local: LocalDynamo;
let handler: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
const savedEnv = { ...process.env };

beforeAll(async () => {
  local = await startDynalite('irsa-audit-query-fn');
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
  Object.assign(process.env, local.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDQUERYFUNCTION',
    AWS_SECRET_ACCESS_KEY: 'query-function-test',
    // Powertools 2.35 outside Lambda: no log lines, no EMF output, no X-Ray segments.
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  // Imported after the environment is set: the handler builds its logger, metrics and tracer at load.
  ({ handler } = (await import('../functions/query/handler.ts')) as unknown as { handler: typeof handler });
});
afterAll(async () => {
  await local?.stop();
  process.env = savedEnv;
});

async function call(
  method: string,
  path: string,
  query: Record<string, string> = {},
  multi: Record<string, string[]> = {},
) {
  const response = await handler(apiEvent(method, path, query, multi), lambdaContext());
  return { status: response.statusCode, headers: response.headers ?? {}, body: JSON.parse(response.body) };
}

const findingIds = (body: { items: { findingId: string }[] }) => body.items.map((f) => f.findingId).sort();

describe('GET routes', () => {
  it('GET /findings answers the query string as the history query', async () => {
    const open = await call('GET', '/findings', { cluster: '111122223333/eu-west-1/prod' });
    expect(open.status).toBe(200);
    expect(open.headers['content-type']).toMatch(/^application\/json/);
    expect(open.body.kind).toBe('findings');
    expect(open.body.query).toEqual({ cluster: '111122223333/eu-west-1/prod', state: 'open' });
    expect(findingIds(open.body)).toEqual([idOf(A, cart), idOf(A, billing), idOf(A, webhook)].sort());
    expect(open.body.items[0]).toMatchObject({ checkId: 'IRSA-004', severity: 'critical', state: 'open' });

    const high = await call('GET', '/findings', { severity: 'high' });
    expect(findingIds(high.body)).toEqual([idOf(A, cart), idOf(A, billing)].sort());
    const account = await call('GET', '/findings', { account: B.accountId, state: 'all' });
    expect(findingIds(account.body)).toEqual([idOf(B, batch)]);
  });

  it("GET /findings/{findingId}/history answers the finding's history, oldest first", async () => {
    const { status, body } = await call('GET', `/findings/${idOf(A, cart)}/history`);
    expect(status).toBe(200);
    expect(body.kind).toBe('history');
    expect(body.items.map((e: { type: string; at: string }) => [e.at, e.type])).toEqual([
      [night(1), 'opened'],
      [night(2), 'resolved'],
      [night(3), 'reopened'],
    ]);
  });

  it('GET /clusters/{account}/{region}/{cluster}/open answers what is open now, or at a date', async () => {
    const now = await call('GET', '/clusters/111122223333/eu-west-1/prod/open');
    expect(now.status).toBe(200);
    expect(findingIds(now.body)).toEqual([idOf(A, cart), idOf(A, billing), idOf(A, webhook)].sort());
    const then = await call('GET', '/clusters/111122223333/eu-west-1/prod/open', { at: day(2) });
    expect(then.body.query).toMatchObject({
      at: `${day(2)}T23:59:59.999Z`,
      cluster: '111122223333/eu-west-1/prod',
    });
    expect(findingIds(then.body)).toEqual([idOf(A, billing), idOf(A, webhook)].sort());
    const critical = await call('GET', '/clusters/111122223333/eu-west-1/prod/open', {
      severity: 'critical',
    });
    expect(findingIds(critical.body)).toEqual([idOf(A, webhook)]);
  });

  it('GET /runs answers the last runs, newest first', async () => {
    const two = await call('GET', '/runs', { limit: '2' });
    expect(two.status).toBe(200);
    expect(two.body.items.map((r: { runId: string }) => r.runId)).toEqual([
      `${day(3)}T02:00Z`,
      `${day(2)}T02:00Z`,
    ]);
    expect(two.body.items[0]).toMatchObject({ accountsPlanned: 2, accountsDone: 2 });
    expect((await call('GET', '/runs')).body.items).toHaveLength(3);
  });

  it('GET /events answers the changes since a date, filtered', async () => {
    const { status, body } = await call('GET', '/events', { since: day(2) });
    expect(status).toBe(200);
    expect(body.kind).toBe('events');
    expect(
      body.items.map((e: { type: string; finding: { checkId: string } }) => `${e.type} ${e.finding.checkId}`),
    ).toEqual(['opened IRSA-004', 'resolved IRSA-030', 'reopened IRSA-030']);
    const regressions = body.items.filter((e: { regression: boolean }) => e.regression);
    expect(regressions).toHaveLength(2);
    const filtered = await call('GET', '/events', { since: day(1), check: 'IRSA-032' });
    expect(filtered.body.items.map((e: { unit: AuditUnit }) => e.unit)).toEqual([B]);
  });
});

describe('errors', () => {
  it.each<[string, string, Record<string, string>, string, RegExp]>([
    ['GET', '/findings', { at: '2026-03-01' }, 'at', /'at' needs 'cluster'/],
    [
      'GET',
      '/findings',
      { severity: 'severe' },
      'severity',
      /'severity': expected one of critical, high, medium, low/,
    ],
    ['GET', '/findings', { clustr: 'prod' }, 'clustr', /unknown parameter clustr; known: 'cluster'/],
    ['GET', '/findings', {}, 'severity', /say what to show/],
    ['GET', '/events', {}, 'since', /'since' is required/],
    ['GET', '/events', { since: '2999-01-01' }, 'since', /'since' 2999-01-01T00:00:00.000Z is in the future/],
    ['GET', '/runs', { limit: 'ten' }, 'limit', /'limit': expected a whole number from 1 to 400/],
    [
      'GET',
      '/clusters/111122223333/eu-west-1/prod/open',
      { state: 'all' },
      'state',
      /unknown parameter state/,
    ],
    ['GET', '/clusters/1111/eu-west-1/prod/open', {}, 'cluster', /"1111" is not a 12-digit account id/],
    ['GET', '/findings/not-an-id/history', {}, 'finding', /'finding': expected a finding id/],
  ])('%s %s %j: 400 naming %s', async (method, path, query, parameter, message) => {
    const { status, body } = await call(method, path, query);
    expect(status).toBe(400);
    expect(body.error).toMatch(message);
    expect(body.parameter).toBe(parameter);
  });

  it('rejects a parameter given twice with different values', async () => {
    const { status, body } = await call('GET', '/findings', {}, { severity: ['high', 'low'] });
    expect(status).toBe(400);
    expect(body.error).toMatch(/'severity' is given 2 different values/);
  });

  it('answers 404 for an unknown route and 405 for another method', async () => {
    const missing = await call('GET', '/finding');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('no route GET /finding');
    const post = await call('POST', '/findings', { severity: 'high' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
  });

  it('answers 500 without internals when the table cannot be read', async () => {
    process.env.TABLE_NAME = 'irsa-audit-no-such-table';
    try {
      const { status, body } = await call('GET', '/findings', { severity: 'high' });
      expect(status).toBe(500);
      expect(Object.keys(body).sort()).toEqual(['error', 'requestId']);
      expect(body.error).toBe('internal error');
      expect(body.requestId).toMatch(/^11111111-2222-3333-4444-/);
      expect(JSON.stringify(body)).not.toMatch(/no-such-table|ResourceNotFound|127\.0\.0\.1/);
    } finally {
      process.env.TABLE_NAME = local.tableName;
    }
    expect((await call('GET', '/runs', { limit: '1' })).status).toBe(200);
  });
});

describe('pages', () => {
  it('answers limit items and a nextCursor to follow, until the last page', async () => {
    const whole = await call('GET', '/findings', { account: '111122223333' });
    expect(whole.body.nextCursor).toBeNull();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call('GET', '/findings', {
        account: '111122223333',
        limit: '1',
        ...(cursor ? { cursor } : {}),
      });
      expect(page.status).toBe(200);
      expect(page.body.items).toHaveLength(1);
      seen.push(...page.body.items.map((f: { findingId: string }) => f.findingId));
      cursor = page.body.nextCursor;
    } while (cursor && seen.length < 10);
    expect(seen.sort()).toEqual(findingIds(whole.body));
    const open = await call('GET', '/clusters/111122223333/eu-west-1/prod/open', { limit: '2' });
    expect(open.body.items).toHaveLength(2);
    expect(open.body.nextCursor).toEqual(expect.any(String));
  });

  it("answers 400 naming 'cursor' for a malformed or altered cursor, or another query's", async () => {
    const first = await call('GET', '/findings', { account: '111122223333', limit: '1' });
    const cursor = String(first.body.nextCursor);
    const other = await call('GET', '/findings', { severity: 'high', cursor });
    expect(other).toMatchObject({ status: 400, body: { parameter: 'cursor' } });
    expect(other.body.error).toMatch(/^'cursor' belongs to another query/);
    const malformed = await call('GET', '/events', { since: day(1), cursor: '{"pk":"RUNS"}' });
    expect(malformed).toMatchObject({ status: 400, body: { parameter: 'cursor' } });
    const altered = `${cursor.slice(0, 10)}${cursor[10] === 'A' ? 'B' : 'A'}${cursor.slice(11)}`;
    expect(await call('GET', '/findings', { account: '111122223333', cursor: altered })).toMatchObject({
      status: 400,
      body: { parameter: 'cursor' },
    });
    expect(await call('GET', '/findings', { account: '111122223333', limit: '5000' })).toMatchObject({
      status: 400,
      body: { parameter: 'limit', error: "'limit': expected at most 1000" },
    });
  });
});
