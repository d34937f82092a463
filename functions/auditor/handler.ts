/**
 * Auditor (SQS, one account per message): collects the account, runs the checks, records the
 * findings' history, alerts on regressions, and sends the digest after the run's last account.
 * Partial batch failures: a failed message alone goes back to the queue (and to the DLQ after
 * the queue's maxReceiveCount); the others of the batch are done.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { SEVERITIES } from '#shared/checks/types.ts';
import { collectFleet } from '#shared/collectors/collect-fleet.ts';
import { auditConfigSchema } from '#shared/config/audit-config.ts';
import { accountGivenUp, auditAccount } from '#shared/pipeline/audit-account.ts';
import { MAX_RECEIVE_COUNT } from '#shared/pipeline/limits.ts';
import { SnsNotifier } from '#shared/pipeline/notifier.ts';
import { parseWorkMessage } from '#shared/pipeline/work-message.ts';
import { accountViewStore, findingStore, snsClient } from '../runtime/clients.ts';
import { readEnvironment, requireSetting } from '../runtime/environment.ts';
import { observability } from '../runtime/observability.ts';

const { logger, metrics, tracer } = observability('irsa-audit-auditor');

/**
 * Time the auditor keeps for itself after collecting: reconciling with the store, writing the
 * changes and publishing (a few seconds for a large account; a wide margin against DynamoDB
 * throttling). The collection must be over by then, whatever the clusters do.
 */
const RECORD_MARGIN_MS = 120_000;

async function auditRecord(record: SQSRecord, stopAt?: number): Promise<void> {
  const env = readEnvironment();
  const message = parseWorkMessage(record.body);
  const config = env.AUDIT_CONFIG ? auditConfigSchema.parse(JSON.parse(env.AUDIT_CONFIG)) : undefined;
  const started = Date.now();
  logger.appendKeys({ runId: message.runId, accountId: message.accountId });
  try {
    const result = await auditAccount(message, {
      store: findingStore(env),
      views: {
        views: accountViewStore(env),
        ...(env.AUDIT_VIEW_WAIT_SECONDS === undefined ? {} : { waitMs: env.AUDIT_VIEW_WAIT_SECONDS * 1000 }),
        ...(stopAt === undefined ? {} : { stopAt }),
      },
      notifier: new SnsNotifier(snsClient(), requireSetting(env, 'TOPIC_ARN')),
      config,
      logger: {
        info: (text, extra) => logger.info(text, extra ?? {}),
        warn: (text, extra) => logger.warn(text, extra ?? {}),
      },
      collect: async (m) =>
        (
          await collectFleet({
            accounts: { kind: 'list', accountIds: [m.accountId] },
            ...(env.AUDIT_ROLE_NAME
              ? { auditRole: { roleName: env.AUDIT_ROLE_NAME, externalId: env.AUDIT_EXTERNAL_ID } }
              : {}),
            ...(m.regions ? { regions: m.regions } : {}),
            ...(env.AUDIT_CLUSTER_DEADLINE_SECONDS === undefined
              ? {}
              : { kubernetes: { deadlineMs: Math.round(env.AUDIT_CLUSTER_DEADLINE_SECONDS * 1000) } }),
            privateEndpoints: env.AUDIT_PRIVATE_ENDPOINTS,
            ...(env.AUDIT_EGRESS_IPS ? { egressAddresses: env.AUDIT_EGRESS_IPS } : {}),
            // Another account's unit may need the policies of this account's IRSA roles.
            rolePolicies: 'web-identity',
            ...(stopAt === undefined ? {} : { stopAt }),
            onProgress: (p) => {
              if (p.phase === 'cluster' || p.phase === 'account') logger.debug(p.message, { ...p });
            },
          })
        ).files,
    });
    const clusters = result.outcomes.filter((o) => o.unit.cluster !== null);
    metrics.addMetric('ClustersAudited', MetricUnit.Count, clusters.length);
    metrics.addMetric('ClustersPartial', MetricUnit.Count, clusters.filter((o) => o.partial).length);
    metrics.addMetric(
      'NewFindings',
      MetricUnit.Count,
      result.outcomes.reduce(
        (n, o) => n + o.changes.filter((c) => c.type === 'opened' || c.type === 'reopened').length,
        0,
      ),
    );
    metrics.addMetric(
      'Regressions',
      MetricUnit.Count,
      result.outcomes.reduce((n, o) => n + o.changes.filter((c) => c.regression).length, 0),
    );
    if (result.failure) metrics.addMetric('AccountFailures', MetricUnit.Count, 1);
    // Open findings of the account by severity (the dashboard sums a night's accounts).
    for (const severity of SEVERITIES) {
      const open = result.outcomes.reduce((n, o) => n + o.openBySeverity[severity], 0);
      const single = metrics.singleMetric();
      single.addDimension('severity', severity);
      single.addMetric('OpenFindings', MetricUnit.Count, open);
    }
    if (result.digestPublished) metrics.addMetric('AuditCompleted', MetricUnit.Count, 1);
    logger.info('account audited', {
      clusters: clusters.length,
      alerts: result.alertsPublished,
      digest: result.digestPublished,
      failure: result.failure,
      durationMs: Date.now() - started,
    });
  } catch (error) {
    // The record goes back to the queue (and to the DLQ after maxReceiveCount): say why.
    const receives = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    if (receives >= MAX_RECEIVE_COUNT) {
      logger.error(
        'account audit failed on its last delivery; the message goes to the dead-letter queue',
        error as Error,
      );
      // Counted as failed so that the run completes and its digest names the account.
      await accountGivenUp(message, (error as Error).message ?? String(error), {
        store: findingStore(env),
        notifier: new SnsNotifier(snsClient(), requireSetting(env, 'TOPIC_ARN')),
      }).catch((giveUpError: unknown) =>
        logger.error('could not count the failed account in its run', giveUpError as Error),
      );
    } else {
      logger.error('account audit failed; the message will be retried', error as Error);
    }
    throw error;
  } finally {
    logger.removeKeys(['runId', 'accountId']);
  }
}

const processor = new BatchProcessor(EventType.SQS);

async function audit(event: SQSEvent, context: Context) {
  // The accounts of a batch are audited side by side: each may collect until the invocation's end less the margin.
  const stopAt = Date.now() + context.getRemainingTimeInMillis() - RECORD_MARGIN_MS;
  return processPartialResponse(event, (record: SQSRecord) => auditRecord(record, stopAt), processor, {
    context,
    throwOnFullBatchFailure: false,
  });
}

export const handler = middy(audit)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
