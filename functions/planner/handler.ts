/**
 * Planner (EventBridge schedule): starts the night's run and sends one SQS message per account.
 * The run id is the scheduled time, so a re-delivered event plans the same run.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { AwsClients } from '#shared/collectors/aws-clients.ts';
import { planRun, runIdFor } from '#shared/pipeline/plan-run.ts';
import { sendWorkMessages } from '#shared/pipeline/queue.ts';
import { accountViewStore, findingStore, sqsClient } from '../runtime/clients.ts';
import { accountSelection, readEnvironment, requireSetting } from '../runtime/environment.ts';
import { observability } from '../runtime/observability.ts';

const { logger, metrics, tracer } = observability('irsa-audit-planner');

/** The EventBridge scheduled event (only `time` is read), or a manual `{ runId }`. */
export interface PlannerEvent {
  readonly time?: string;
  readonly runId?: string;
}

async function plan(event: PlannerEvent, _context: Context) {
  const env = readEnvironment();
  const time = event.time ? new Date(event.time) : new Date();
  if (Number.isNaN(time.getTime())) throw new Error(`planner: event.time "${event.time}" is not a date`);
  const runId = event.runId ?? runIdFor(time);
  const queueUrl = requireSetting(env, 'QUEUE_URL');
  const sqs = sqsClient();
  const planned = await planRun(
    { runId, runAt: time.toISOString() },
    {
      store: findingStore(env),
      views: accountViewStore(env),
      caller: new AwsClients(),
      accounts: accountSelection(env.AUDIT_ACCOUNTS),
      regions: env.AUDIT_REGIONS,
      enqueue: (messages) => sendWorkMessages(sqs, queueUrl, messages),
    },
  );
  metrics.addMetric('AccountsPlanned', MetricUnit.Count, planned.accounts.length);
  logger.info('run planned', { runId: planned.runId, accounts: planned.accounts.length });
  return { runId: planned.runId, accounts: planned.accounts.length };
}

export const handler = middy(plan)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
