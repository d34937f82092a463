/**
 * Auditor (SQS, one account per message, or one part of an account that its lead forwarded:
 * shared/pipeline/routing.ts): collects, runs the checks, records the findings' history, alerts on
 * regressions, and sends the digest after the run's last account and part.
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
import { collectFleet, type RoutableCluster } from '#shared/collectors/collect-fleet.ts';
import { auditConfigSchema } from '#shared/config/audit-config.ts';
import { accountGivenUp, auditAccount } from '#shared/pipeline/audit-account.ts';
import { MAX_RECEIVE_COUNT } from '#shared/pipeline/limits.ts';
import { SnsNotifier } from '#shared/pipeline/notifier.ts';
import { sendWorkMessages } from '#shared/pipeline/queue.ts';
import { DEFAULT_CLUSTERS_PER_UNIT, type PartPlan, routeClusters } from '#shared/pipeline/routing.ts';
import { parseWorkMessage, type WorkMessage } from '#shared/pipeline/work-message.ts';
import {
  accountViewStore,
  findingStore,
  securityHubImport,
  snsClient,
  sqsClient,
} from '../runtime/clients.ts';
import { type Environment, readEnvironment, requireSetting } from '../runtime/environment.ts';
import { observability } from '../runtime/observability.ts';

const { logger, metrics, tracer } = observability('irsa-audit-auditor');

/**
 * Time the auditor keeps for itself after collecting: reconciling with the store, writing the
 * changes and publishing (a few seconds for a large account; a wide margin against DynamoDB
 * throttling). The collection must be over by then, whatever the clusters do.
 */
const RECORD_MARGIN_MS = 120_000;

async function auditRecord(
  record: SQSRecord,
  stopAt: number | undefined,
  overrides: Readonly<Record<string, string>>,
): Promise<void> {
  const env = readEnvironment({ ...process.env, ...overrides });
  const message = parseWorkMessage(record.body);
  const config = env.AUDIT_CONFIG ? auditConfigSchema.parse(JSON.parse(env.AUDIT_CONFIG)) : undefined;
  const started = Date.now();
  // A child per record: the records of a batch are audited side by side, and each log line must
  // name its own account (keys appended to the shared logger would be the last record's).
  const log = logger.createChild({
    persistentKeys: {
      runId: message.runId,
      accountId: message.accountId,
      ...(message.part ? { part: message.part.id } : {}),
    },
  });
  try {
    const securityHub = securityHubImport(env);
    const result = await auditAccount(message, {
      store: findingStore(env),
      ...(securityHub ? { securityHub } : {}),
      views: {
        views: accountViewStore(env),
        ...(env.AUDIT_VIEW_WAIT_SECONDS === undefined ? {} : { waitMs: env.AUDIT_VIEW_WAIT_SECONDS * 1000 }),
        ...(stopAt === undefined ? {} : { stopAt }),
      },
      notifier: new SnsNotifier(snsClient(), requireSetting(env, 'TOPIC_ARN')),
      config,
      logger: {
        info: (text, extra) => log.info(text, extra ?? {}),
        warn: (text, extra) => log.warn(text, extra ?? {}),
        error: (text, extra) => log.error(text, extra ?? {}),
      },
      forward: (messages) => forwardParts(env, messages),
      collect: async (m) => {
        let parts: readonly PartPlan[] = [];
        const { files } = await collectFleet({
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
          // A part reads its clusters with the IAM its lead shared; a lead routes the account's clusters.
          ...(m.part
            ? { only: { region: m.part.region, clusters: m.part.clusters }, iam: 'skip' as const }
            : {
                route: (_accountId: string, clusters: readonly RoutableCluster[]) => {
                  const decision = routeClusters(clusters, {
                    networks: env.AUDIT_NETWORKS,
                    clustersPerUnit: env.AUDIT_CLUSTERS_PER_UNIT ?? DEFAULT_CLUSTERS_PER_UNIT,
                    ...(env.AUDIT_EGRESS_IPS ? { egressAddresses: env.AUDIT_EGRESS_IPS } : {}),
                  });
                  parts = decision.parts;
                  return decision.here;
                },
              }),
          ...(stopAt === undefined ? {} : { stopAt }),
          onProgress: (p) => {
            if (p.phase === 'cluster' || p.phase === 'account') log.debug(p.message, { ...p });
          },
        });
        return { files, parts };
      },
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
    if (result.securityHub) {
      metrics.addMetric('SecurityHubImported', MetricUnit.Count, result.securityHub.imported);
      metrics.addMetric('SecurityHubImportFailures', MetricUnit.Count, result.securityHub.failedIds.length);
    }
    log.info(message.part ? 'part of an account audited' : 'account audited', {
      clusters: clusters.length,
      partsForwarded: result.partsForwarded,
      alerts: result.alertsPublished,
      digest: result.digestPublished,
      failure: result.failure,
      durationMs: Date.now() - started,
    });
  } catch (error) {
    // The record goes back to the queue (and to the DLQ after maxReceiveCount): say why.
    const receives = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    if (receives >= MAX_RECEIVE_COUNT) {
      log.error(
        'account audit failed on its last delivery; the message goes to the dead-letter queue',
        error as Error,
      );
      // Counted as failed so that the run completes and its digest names the account.
      await accountGivenUp(message, (error as Error).message ?? String(error), {
        store: findingStore(env),
        notifier: new SnsNotifier(snsClient(), requireSetting(env, 'TOPIC_ARN')),
      }).catch((giveUpError: unknown) =>
        log.error('could not count the failed account in its run', giveUpError as Error),
      );
    } else {
      log.error('account audit failed; the message will be retried', error as Error);
    }
    throw error;
  }
}

/**
 * Sends a lead's parts: a network's to that network auditor's queue (AUDIT_NETWORKS), the others
 * to this function's own queue (QUEUE_URL).
 */
async function forwardParts(env: Environment, messages: readonly WorkMessage[]): Promise<void> {
  const byQueue = new Map<string, WorkMessage[]>();
  for (const message of messages) {
    const network = message.part?.network;
    const queueUrl = network
      ? env.AUDIT_NETWORKS.find((n) => n.name === network)?.queueUrl
      : requireSetting(env, 'QUEUE_URL');
    if (!queueUrl) throw new Error(`no queue for network "${network}" in AUDIT_NETWORKS`);
    byQueue.set(queueUrl, [...(byQueue.get(queueUrl) ?? []), message]);
  }
  const sqs = sqsClient();
  try {
    for (const [queueUrl, batch] of byQueue) await sendWorkMessages(sqs, queueUrl, batch);
  } finally {
    sqs.destroy();
  }
}

/**
 * The handler, with environment variables over the process's: the local pipeline
 * (demo/local-pipeline.ts) runs a network auditor beside the default one in one process.
 */
export function auditorHandler(overrides: Readonly<Record<string, string>> = {}) {
  async function audit(event: SQSEvent, context: Context) {
    // The accounts of a batch are audited side by side: each may collect until the invocation's end less the margin.
    const stopAt = Date.now() + context.getRemainingTimeInMillis() - RECORD_MARGIN_MS;
    // A processor per invocation: it holds the batch's state, and invocations may overlap in one process.
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(
      event,
      (record: SQSRecord) => auditRecord(record, stopAt, overrides),
      processor,
      { context, throwOnFullBatchFailure: false },
    );
  }
  return middy(audit)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

export const handler = auditorHandler();
