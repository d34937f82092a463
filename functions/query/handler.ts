/**
 * Query API (API Gateway REST, proxy integration, IAM auth in the stack): the findings' history
 * as JSON, answered by the same queryHistory the CLI calls.
 *
 *   GET /findings?cluster=&account=&region=&check=&severity=&state=&since=&at=&finding=&runs=&limit=&cursor=
 *   GET /findings/{findingId}/history[?limit=&cursor=]
 *   GET /clusters/{account}/{region}/{cluster}/open[?at=DATE&check=&severity=&limit=&cursor=]
 *   GET /runs[?limit=N]                      (default 10; the number of runs, not paged)
 *   GET /events?since=DATE[&cluster=&account=&region=&check=&severity=&limit=&cursor=]
 *
 * Paged: `limit` items (default 500, at most 1,000), and `nextCursor` while more remain, to give
 * back as `cursor` with the same query (shared/history/query-history.ts).
 *
 * 200 `{ kind, items, query, nextCursor }`; 400 `{ error, parameter }` naming the parameter (a
 * malformed cursor, or one of another query, too); 404 unknown route;
 * 405 not GET; 500 anything else (a missing table, throttling, ...), without internals: the
 * details are logged, the answer carries the request id to find them.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { FindingStore } from '#shared/history/finding-store.ts';
import { HistoryQueryError, MAX_RUNS, queryHistory } from '#shared/history/query-history.ts';
import { trimTrailingSlashes } from '#shared/model/text.ts';
import { findingStore } from '../runtime/clients.ts';
import { readEnvironment } from '../runtime/environment.ts';
import { observability } from '../runtime/observability.ts';

const { logger, metrics, tracer } = observability('irsa-audit-query');

/**
 * Lambda's response limit is 6 MB. A page of the largest limit is far below it (an event is about
 * 2 KB); should one not be, the answer asks for a smaller limit rather than failing in Lambda.
 */
const MAX_BODY_BYTES = 5_500_000;
const DEFAULT_RUNS = 10;

let cached: { tableName: string; store: FindingStore } | undefined;

function store(): FindingStore {
  const env = readEnvironment();
  if (cached?.tableName !== env.TABLE_NAME) cached = { tableName: env.TABLE_NAME, store: findingStore(env) };
  return cached.store;
}

class RouteError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The query string as one value per parameter; a parameter repeated with different values is an error. */
function queryString(event: APIGatewayProxyEvent): Record<string, string> {
  const single = event.queryStringParameters ?? {};
  const multi = event.multiValueQueryStringParameters ?? {};
  const out: Record<string, string> = {};
  for (const key of new Set([...Object.keys(single), ...Object.keys(multi)])) {
    const values = [...new Set(multi[key] ?? [single[key]])].filter((v): v is string => v !== undefined);
    if (values.length > 1)
      throw new HistoryQueryError(`'${key}' is given ${values.length} different values`, key);
    if (values[0] !== undefined) out[key] = values[0];
  }
  return out;
}

function segment(value: string, name: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new HistoryQueryError(`'${name}' in the path is not valid URL encoding`, name);
  }
}

/** Maps a route to the history query it stands for. */
export function routeQuery(event: APIGatewayProxyEvent): Record<string, string> {
  const path = trimTrailingSlashes(event.path) || '/';
  const history = path.match(/^\/findings\/([^/]+)\/history$/);
  const open = path.match(/^\/clusters\/([^/]+)\/([^/]+)\/([^/]+)\/open$/);
  const known = path === '/findings' || path === '/runs' || path === '/events' || history || open;
  if (!known) throw new RouteError(404, `no route ${event.httpMethod} ${event.path}`);
  if (event.httpMethod !== 'GET')
    throw new RouteError(405, `${event.httpMethod} is not allowed on ${event.path}: only GET`);

  const query = queryString(event);
  const only = (allowed: string[], route: string) => {
    const extra = Object.keys(query).filter((k) => !allowed.includes(k));
    if (extra.length > 0)
      throw new HistoryQueryError(
        `unknown parameter ${extra.join(', ')} for ${route}; known: ${allowed.join(', ') || 'none'}`,
        extra[0] ?? '',
      );
  };
  if (history) {
    only(['limit', 'cursor'], 'GET /findings/{findingId}/history');
    return { ...query, finding: segment(history[1] ?? '', 'findingId') };
  }
  if (open) {
    only(['at', 'check', 'severity', 'limit', 'cursor'], 'GET /clusters/{account}/{region}/{cluster}/open');
    const account = segment(open[1] ?? '', 'account');
    const region = segment(open[2] ?? '', 'region');
    const cluster = segment(open[3] ?? '', 'cluster');
    return { ...query, cluster: `${account}/${region}/${cluster}` };
  }
  if (path === '/runs') {
    only(['limit'], 'GET /runs');
    const limit = query.limit ?? String(DEFAULT_RUNS);
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_RUNS)
      throw new HistoryQueryError(`'limit': expected a whole number from 1 to ${MAX_RUNS}`, 'limit');
    return { runs: limit };
  }
  if (path === '/events' && query.since === undefined)
    throw new HistoryQueryError("'since' is required: GET /events?since=2026-03-01", 'since');
  return query;
}

function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

async function answer(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
  try {
    const result = await queryHistory(store(), routeQuery(event), { style: 'api' });
    const body = JSON.stringify(result);
    metrics.addMetric('HistoryQueries', MetricUnit.Count, 1);
    metrics.addMetric('HistoryItems', MetricUnit.Count, result.items.length);
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
      logger.warn('history answer too large', {
        kind: result.kind,
        items: result.items.length,
        query: result.query,
      });
      return json(400, {
        error: `${result.items.length} items are too large for one answer: ask for a smaller 'limit' (pages follow with 'cursor')`,
        parameter: 'limit',
      });
    }
    logger.info('history query', {
      kind: result.kind,
      items: result.items.length,
      query: result.query,
      more: result.nextCursor !== null,
    });
    return { ...json(200, null), body };
  } catch (error) {
    metrics.addMetric('HistoryQueryErrors', MetricUnit.Count, 1);
    if (error instanceof HistoryQueryError)
      return json(400, { error: error.message, parameter: error.parameter });
    if (error instanceof RouteError)
      return json(
        error.statusCode,
        { error: error.message },
        error.statusCode === 405 ? { allow: 'GET' } : {},
      );
    logger.error('history query failed', error as Error);
    return json(500, { error: 'internal error', requestId: context.awsRequestId });
  }
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>(answer)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
