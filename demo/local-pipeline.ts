/**
 * The nightly pipeline on one machine, with nothing mocked: the real planner and auditor
 * handlers (functions/), dynalite as DynamoDB, and the emulator as STS/IAM/EKS/Organizations,
 * SNS, SQS, Security Hub (when asked) and each cluster's Kubernetes API. It plays the parts AWS plays around the handlers:
 * EventBridge (invokes the planner with a scheduled time) and the SQS event source mapping
 * (receives batches, invokes the auditor, deletes what succeeded, lets failures come back and
 * go to the DLQ after `maxReceiveCount`).
 *
 * Used by `npm run demo` (demo/run-demo.ts) and the pipeline's end-to-end tests.
 */

import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { BATCH_SIZE, MAX_RECEIVE_COUNT } from '#shared/pipeline/limits.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { readFleetFiles } from '../emulator/fleet-files.ts';
import {
  type Emulator,
  type FaultOptions,
  type PublishedSnsMessage,
  type SecurityHubImport,
  type SecurityHubState,
  startEmulator,
} from '../emulator/index.ts';

export const QUEUE_NAME = 'irsa-audit-work';
export const DLQ_NAME = 'irsa-audit-work-dlq';
export const TOPIC_NAME = 'irsa-audit-alerts';
// Deliveries before the DLQ and records per auditor invocation: the CDK stack's values.
export { BATCH_SIZE, MAX_RECEIVE_COUNT } from '#shared/pipeline/limits.ts';

export interface LocalPipelineOptions {
  readonly fleetDir: string;
  readonly faults?: FaultOptions;
  /** AUDIT_ACCOUNTS for the planner: `organization` (default) or a comma-separated list. */
  readonly accounts?: string;
  /** An existing store (keeps history across fleets); default: a new dynalite. */
  readonly dynamo?: LocalDynamo;
  /** AUDIT_CONFIG (severities, exemptions) as an object. */
  readonly auditConfig?: unknown;
  /** Powertools log level (default SILENT: the demo prints its own story). */
  readonly logLevel?: string;
  /** AUDIT_VIEW_WAIT_SECONDS: how long a unit waits for the other accounts' views (default 20). */
  readonly viewWaitSeconds?: number;
  /**
   * The network auditors deployed (the hub config's `networks`, shared/pipeline/routing.ts), each
   * with its queue, run as the default auditor is, told it runs where private endpoints answer.
   * Default: one network, `private`, that reaches the VPC of every cluster whose snapshot says its
   * public endpoint is off (as a deployment configured for them would); `[]`: none, so those
   * clusters are AUDIT-002. The emulator reports every such cluster as private either way.
   */
  readonly networks?: readonly LocalNetwork[];
  /** AUDIT_CLUSTERS_PER_UNIT: clusters one unit carries before its account is fanned out. */
  readonly clustersPerUnit?: number;
  /**
   * Import each night's changes into the emulator's Security Hub, as the hub config's
   * `securityHub` does: SECURITY_HUB_PRODUCT_ARN is the default product of the account the handlers
   * run as (the emulator's management account), in its region. Give a SecurityHubState to keep
   * Security Hub's findings from one pipeline (night) to the next.
   */
  readonly securityHub?: boolean | SecurityHubState;
}

export interface LocalNetwork {
  readonly name: string;
  /** The VPCs whose clusters' private endpoints it reaches. */
  readonly vpcIds: readonly string[];
}

export interface NightResult {
  readonly runId: string;
  readonly accountsPlanned: number;
  /** Auditor invocations made (batches). */
  readonly invocations: number;
  /** Records reported as failed by the auditor (each comes back, up to the DLQ). */
  readonly failedRecords: number;
  /** Messages on the DLQ after the night. */
  readonly deadLetters: number;
  /** Messages published to the topic during this night. */
  readonly published: readonly PublishedSnsMessage[];
  /**
   * The wall time of the night's longest auditor invocation (from the handler's call to its
   * answer; not the queue's bookkeeping around it), and the bodies of the work messages of its
   * batch (bench/fan-out.bench.ts divides by the clusters they carried). 0 and [] without one.
   * Invocations that run side by side here share this process's CPU, which Lambda's would not.
   */
  readonly longestInvocationMs: number;
  readonly longestInvocationBodies: readonly string[];
  /** The BatchImportFindings calls of this night (none without `securityHub`). */
  readonly securityHubImports: readonly SecurityHubImport[];
}

export interface LocalPipeline {
  readonly emulator: Emulator;
  readonly dynamo: LocalDynamo;
  readonly topicArn: string;
  readonly queueUrl: string;
  /** The network auditors, as configured (see LocalPipelineOptions.networks). */
  readonly networks: readonly LocalNetwork[];
  /** The Security Hub product the findings are imported into, or null (LocalPipelineOptions.securityHub). */
  readonly securityHubProductArn: string | null;
  /** Runs one night: the planner at `time`, then the queue drained through the auditor. */
  runNight(time: string, options?: { redeliver?: boolean }): Promise<NightResult>;
  /** Every message published to the topic so far. */
  published(): PublishedSnsMessage[];
  /** Stops the emulator (and dynalite, unless it was given). */
  stop(): Promise<void>;
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** A Lambda context as the runtime gives it: 15 minutes to run, in the given account and region. */
export function lambdaContext(
  functionName: string,
  where: { accountId?: string; region?: string; stream?: string } = {},
): Context {
  const deadline = Date.now() + 900_000;
  const stream = where.stream ?? 'local';
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${where.region ?? 'us-east-1'}:${where.accountId ?? '000000000000'}:function:${functionName}`,
    memoryLimitInMB: '1769',
    awsRequestId: `${stream}-${Math.random().toString(36).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: stream,
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done() {},
    fail() {},
    succeed() {},
  };
}

/** The VPCs of the snapshot's clusters whose public endpoint is off (cluster.json's resourcesVpcConfig). */
export async function privateClusterVpcs(fleetDir: string): Promise<string[]> {
  const fleet = await readFleetFiles(fleetDir);
  const vpcs = new Set<string>();
  for (const cluster of fleet.clusters) {
    const vpc = cluster.cluster.resourcesVpcConfig as
      | { vpcId?: unknown; endpointPublicAccess?: unknown }
      | undefined;
    if (vpc?.endpointPublicAccess === false && typeof vpc.vpcId === 'string') vpcs.add(vpc.vpcId);
  }
  return [...vpcs].sort();
}

interface LocalQueue {
  readonly url: string;
  readonly arn: string;
  readonly dlqName: string;
}

export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const dynamo = options.dynamo ?? (await startDynalite());
  const emulator = await startEmulator({
    fleetDir: options.fleetDir,
    faults: options.faults,
    privateAsInSnapshot: true,
    ...(typeof options.securityHub === 'object' ? { securityHub: options.securityHub } : {}),
  });
  const networks: readonly LocalNetwork[] =
    options.networks ??
    (await privateClusterVpcs(options.fleetDir).then((vpcIds) =>
      vpcIds.length > 0 ? [{ name: 'private', vpcIds }] : [],
    ));
  const region = emulator.env.AWS_REGION ?? 'us-east-1';
  const sns = new SNSClient({ region });
  const sqs = new SQSClient({ region });
  Object.assign(process.env, emulator.env);
  const topic = await sns.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
  /** A work queue and its dead-letter queue, as the stateless stack makes them. */
  async function workQueue(name: string, dlqName: string): Promise<LocalQueue> {
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: dlqName }));
    const dlqArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: '960',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }),
        },
      }),
    );
    const arn = (
      await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn;
    return { url: queue.QueueUrl ?? '', arn: arn ?? '', dlqName };
  }
  const main = await workQueue(QUEUE_NAME, DLQ_NAME);
  const networkQueues = await Promise.all(
    networks.map(async (network) => ({
      network,
      queue: await workQueue(`${QUEUE_NAME}-${network.name}`, `${QUEUE_NAME}-${network.name}-dlq`),
    })),
  );
  const topicArn = topic.TopicArn ?? '';
  const queueUrl = main.url;
  const securityHubProductArn = options.securityHub
    ? `arn:aws:securityhub:${region}:${emulator.managementAccountId}:product/${emulator.managementAccountId}/default`
    : null;
  // One process may run pipelines with and without it (the tests): never inherit it.
  delete process.env.SECURITY_HUB_PRODUCT_ARN;
  // What email subscribers would get (recorded by the emulator, not sent).
  await sns.send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'email', Endpoint: 'security@example.com' }),
  );

  Object.assign(process.env, {
    ...dynamo.env,
    TOPIC_ARN: topicArn,
    QUEUE_URL: queueUrl,
    AUDIT_ACCOUNTS: options.accounts ?? 'organization',
    AUDIT_ROLE_NAME: 'irsa-auditor',
    POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'SILENT',
    AUDIT_VIEW_WAIT_SECONDS: String(options.viewWaitSeconds ?? 20),
    AUDIT_NETWORKS: JSON.stringify(
      networkQueues.map(({ network, queue: q }) => ({
        name: network.name,
        queueUrl: q.url,
        vpcIds: network.vpcIds,
      })),
    ),
    ...(options.clustersPerUnit ? { AUDIT_CLUSTERS_PER_UNIT: String(options.clustersPerUnit) } : {}),
    ...(securityHubProductArn ? { SECURITY_HUB_PRODUCT_ARN: securityHubProductArn } : {}),
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: 'IrsaAuditor',
    ...(options.auditConfig ? { AUDIT_CONFIG: JSON.stringify(options.auditConfig) } : {}),
  });
  // The handlers build their Powertools instances at import: import them after the environment.
  const planner = (await import('../functions/planner/handler.ts')).handler as unknown as Handler<
    { time: string },
    { runId: string; accounts: number }
  >;
  type Auditor = Handler<SQSEvent, { batchItemFailures: { itemIdentifier: string }[] }>;
  const { auditorHandler } = await import('../functions/auditor/handler.ts');
  /** Each queue and the function its event source mapping invokes: the default auditor, then each network's. */
  const consumers: Consumer[] = [
    { queue: main, auditor: auditorHandler() as unknown as Auditor, name: 'irsa-audit-auditor' },
    ...networkQueues.map(({ network, queue: q }) => ({
      queue: q,
      auditor: auditorHandler({
        AUDIT_NETWORK: network.name,
        AUDIT_PRIVATE_ENDPOINTS: 'dial',
      }) as unknown as Auditor,
      name: `irsa-audit-auditor-${network.name}`,
    })),
  ];
  interface Consumer {
    readonly queue: LocalQueue;
    readonly auditor: Auditor;
    readonly name: string;
  }

  /** The night's longest invocation so far (NightResult.longestInvocationMs); runNight resets it. */
  let longest: { ms: number; bodies: string[] } = { ms: 0, bodies: [] };

  /** One auditor invocation over a batch, then as the event source mapping does with its answer. */
  async function invoke(consumer: Consumer, records: SQSRecord[]): Promise<number> {
    const started = performance.now();
    const response = await consumer.auditor({ Records: records }, lambdaContext(consumer.name));
    const ms = performance.now() - started;
    if (ms > longest.ms) longest = { ms, bodies: records.map((r) => r.body) };
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    for (const record of records) {
      // Delete what succeeded; a failure becomes visible again (here at once, instead of after the
      // visibility timeout).
      if (failed.has(record.messageId)) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: consumer.queue.url,
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      } else {
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: consumer.queue.url, ReceiptHandle: record.receiptHandle }),
        );
      }
    }
    return failed.size;
  }

  /**
   * Drains the queues as Lambda scales out on them: every batch visible at once, on any queue, is
   * handed to its own invocation of that queue's function, all running side by side (the account
   * units of a run share their views while they run, see shared/pipeline/cross-account.ts; a lead's
   * parts arrive on the queues while it runs); then what came back or arrived, likewise.
   */
  async function drain(): Promise<{ invocations: number; failedRecords: number }> {
    let invocations = 0;
    let failedRecords = 0;
    for (;;) {
      const batches: { consumer: Consumer; records: SQSRecord[] }[] = [];
      for (const consumer of consumers) {
        for (;;) {
          const received = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: consumer.queue.url,
              MaxNumberOfMessages: BATCH_SIZE,
              MessageSystemAttributeNames: ['All'],
              MessageAttributeNames: ['All'],
            }),
          );
          const messages = received.Messages ?? [];
          if (messages.length === 0) break;
          batches.push({
            consumer,
            records: messages.map((m) => ({
              messageId: m.MessageId ?? '',
              receiptHandle: m.ReceiptHandle ?? '',
              body: m.Body ?? '',
              attributes: m.Attributes as unknown as SQSRecord['attributes'],
              messageAttributes: {},
              md5OfBody: m.MD5OfBody ?? '',
              eventSource: 'aws:sqs',
              eventSourceARN: consumer.queue.arn,
              awsRegion: region,
            })),
          });
        }
      }
      if (batches.length === 0) return { invocations, failedRecords };
      invocations += batches.length;
      const failed = await Promise.all(batches.map((b) => invoke(b.consumer, b.records)));
      failedRecords += failed.reduce((sum, n) => sum + n, 0);
    }
  }

  return {
    emulator,
    dynamo,
    topicArn,
    queueUrl,
    networks,
    securityHubProductArn,
    async runNight(time, nightOptions = {}) {
      const before = emulator.sns.published(topicArn).length;
      const importsBefore = emulator.securityHub.imports().length;
      longest = { ms: 0, bodies: [] };
      const planned = await planner({ time }, lambdaContext('irsa-audit-planner'));
      if (nightOptions.redeliver) await planner({ time }, lambdaContext('irsa-audit-planner'));
      const { invocations, failedRecords } = await drain();
      const deadLetters = consumers.reduce((n, c) => n + emulator.sqs.messages(c.queue.dlqName).length, 0);
      return {
        runId: planned.runId,
        accountsPlanned: planned.accounts,
        invocations,
        failedRecords,
        deadLetters,
        published: emulator.sns.published(topicArn).slice(before),
        longestInvocationMs: longest.ms,
        longestInvocationBodies: longest.bodies,
        securityHubImports: emulator.securityHub.imports().slice(importsBefore),
      };
    },
    published: () => emulator.sns.published(topicArn),
    async stop() {
      sns.destroy();
      sqs.destroy();
      await emulator.stop();
      if (!options.dynamo) await dynamo.stop();
    },
  };
}
