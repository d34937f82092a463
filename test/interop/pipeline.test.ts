/**
 * Interop: two nights of the pipeline (the real planner and auditor handlers) with every AWS
 * service on moto: IAM, STS, EKS, DynamoDB (the finding table), SQS (the work queue) and SNS (the
 * alerts topic, delivered by moto to SQS queues subscribed with the deployment's filter policies).
 * The IAM changes between the nights: one trust policy is fixed, another broken, a third role
 * deleted. moto's cluster endpoints do not resolve, so the cluster is audited partially (AUDIT-002).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteRoleCommand } from '@aws-sdk/client-iam';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FindingStore } from '#shared/history/finding-store.ts';
import { queryHistory } from '#shared/history/query-history.ts';
import type { StoredFinding } from '#shared/history/types.ts';
import { BATCH_SIZE } from '#shared/pipeline/limits.ts';
import { createLocalTable } from '#shared/testing/dynalite.ts';
import { lambdaContext } from '../../demo/local-pipeline.ts';
import { MOTO_DEFAULT_ACCOUNT, MOTO_SKIP_REASON, type Moto, startMoto } from './moto.ts';
import { callerAccount, irsaTrust, issuerOf, type MotoAccount } from './seed.ts';

const TABLE = 'irsa-audit-findings';
const REGION = 'us-east-1';
const CLUSTER = 'prod';
const UNIT = `${MOTO_DEFAULT_ACCOUNT}/${REGION}/${CLUSTER}`;
const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`;

type Handler<E, R> = (event: E, context: Context) => Promise<R>;
const CONTEXT = { accountId: MOTO_DEFAULT_ACCOUNT, region: REGION, stream: 'interop' };

interface Night {
  runId: string;
  accounts: number;
  invocations: number;
  failedRecords: number;
  alerts: Envelope[];
  digests: Envelope[];
}

/** An SNS notification as SNS delivers it to an SQS queue (not raw). */
interface Envelope {
  Type: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
}

let moto: Moto;
let sqs: SQSClient;
let sns: SNSClient;
let dynamo: DynamoDBClient;
let store: FindingStore;
let account: MotoAccount;
let provider = '';
let workQueue = { url: '', arn: '' };
let alertQueue = '';
let digestQueue = '';
let planner: Handler<{ time: string }, { runId: string; accounts: number }>;
let auditor: Handler<SQSEvent, { batchItemFailures: { itemIdentifier: string }[] }>;
const nights: Night[] = [];

async function createQueue(name: string): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl ?? '', arn: Attributes?.QueueArn ?? '' };
}

async function receiveAll(queueUrl: string, max = 10): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: max,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
    if (queueUrl !== workQueue.url) {
      for (const m of Messages)
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
    if (queueUrl === workQueue.url) return all;
  }
}

/** One night: EventBridge's part (the planner at `time`), then the event source mapping's (drain the queue through the auditor). */
async function runNight(time: string): Promise<Night> {
  const planned = await planner({ time }, lambdaContext('irsa-audit-planner', CONTEXT));
  let invocations = 0;
  let failedRecords = 0;
  for (;;) {
    const messages = await receiveAll(workQueue.url, BATCH_SIZE);
    if (messages.length === 0) break;
    const records: SQSRecord[] = messages.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: m.Attributes as unknown as SQSRecord['attributes'],
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: workQueue.arn,
      awsRegion: REGION,
    }));
    invocations++;
    const response = await auditor({ Records: records }, lambdaContext('irsa-audit-auditor', CONTEXT));
    failedRecords += response.batchItemFailures.length;
    // A failed record would come back after its visibility timeout: here it is left alone (and counted).
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    for (const record of records) {
      if (!failed.has(record.messageId))
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: workQueue.url, ReceiptHandle: record.receiptHandle }),
        );
    }
    if (failed.size > 0) break;
  }
  const envelopes = async (url: string) =>
    (await receiveAll(url)).map((m) => JSON.parse(m.Body ?? '{}') as Envelope);
  return {
    runId: planned.runId,
    accounts: planned.accounts,
    invocations,
    failedRecords,
    alerts: await envelopes(alertQueue),
    digests: await envelopes(digestQueue),
  };
}

/** The text an email subscriber reads: the `email` key of the JSON structure, else `default`. */
function textOf(envelope: Envelope | undefined): string {
  const message = envelope?.Message ?? '';
  try {
    const structure = JSON.parse(message) as Record<string, string>;
    return structure.email ?? structure.default ?? message;
  } catch {
    return message;
  }
}

const open = async (): Promise<StoredFinding[]> => {
  const result = await queryHistory(store, { cluster: UNIT });
  if (result.kind !== 'findings') throw new Error(`expected findings, got ${result.kind}`);
  return result.items;
};
const keyOf = (f: StoredFinding) => `${f.checkId} ${f.roleName ?? '-'}`;

describe.skipIf(MOTO_SKIP_REASON !== null)(
  `two pipeline nights with IAM, EKS, DynamoDB, SNS and SQS on moto${MOTO_SKIP_REASON ? ` (skipped: ${MOTO_SKIP_REASON})` : ''}`,
  () => {
    let night1Open: StoredFinding[] = [];

    beforeAll(async () => {
      const started = Date.now();
      moto = await startMoto();
      Object.assign(process.env, moto.env);
      sqs = new SQSClient({});
      sns = new SNSClient({});
      dynamo = new DynamoDBClient({});
      await createLocalTable(dynamo, TABLE);
      store = new FindingStore({ tableName: TABLE, client: dynamo });

      const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'irsa-audit-alerts' }));
      workQueue = await createQueue('irsa-audit-work');
      const alerts = await createQueue('alerts-inbox');
      const digests = await createQueue('digest-inbox');
      alertQueue = alerts.url;
      digestQueue = digests.url;
      // The deployment's filter policies: Slack gets regressions, email the digest.
      for (const [queue, eventType] of [
        [alerts.arn, 'regression'],
        [digests.arn, 'digest'],
      ] as const) {
        await sns.send(
          new SubscribeCommand({
            TopicArn,
            Protocol: 'sqs',
            Endpoint: queue,
            Attributes: { FilterPolicy: JSON.stringify({ eventType: [eventType] }) },
          }),
        );
      }

      account = callerAccount(moto, MOTO_DEFAULT_ACCOUNT);
      const cluster = await account.createCluster(REGION, CLUSTER);
      provider = await account.createProvider(issuerOf(cluster));
      const sub = (sa: string) => ({ sub: `system:serviceaccount:apps:${sa}`, aud: 'sts.amazonaws.com' });
      await account.createRole('svc-fixed', irsaTrust(provider, { aud: 'sts.amazonaws.com' })); // unrestricted
      await account.createRole('svc-broken', irsaTrust(provider, sub('broken'))); // correct
      await account.createRole(
        'svc-deleted',
        irsaTrust(provider, { sub: 'system:serviceaccount:apps:*', subOperator: 'StringLike' }), // wildcard
      );

      Object.assign(process.env, {
        TABLE_NAME: TABLE,
        TOPIC_ARN: TopicArn,
        QUEUE_URL: workQueue.url,
        AUDIT_ACCOUNTS: MOTO_DEFAULT_ACCOUNT,
        AUDIT_REGIONS: REGION, // account:ListRegions is not in moto
        AUDIT_ROLE_NAME: 'irsa-auditor',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
        POWERTOOLS_TRACE_ENABLED: 'false',
        POWERTOOLS_METRICS_NAMESPACE: 'IrsaAuditor',
      });
      // The handlers build their Powertools instances at import: import them after the environment.
      planner = (await import('../../functions/planner/handler.ts')).handler as unknown as typeof planner;
      auditor = (await import('../../functions/auditor/handler.ts')).handler as unknown as typeof auditor;

      nights.push(await runNight(at(1)));
      night1Open = await open();

      // Between the nights: fix one trust policy, break another, delete the third role.
      await account.setTrust('svc-fixed', irsaTrust(provider, sub('fixed')));
      await account.setTrust('svc-broken', irsaTrust(provider, { aud: 'sts.amazonaws.com' }));
      await account.iam.send(new DeleteRoleCommand({ RoleName: 'svc-deleted' }));

      nights.push(await runNight(at(2)));
      console.info(`[interop] two pipeline nights on moto: ${Date.now() - started} ms`);
    }, 120_000);

    afterAll(async () => {
      account?.destroy();
      sqs?.destroy();
      sns?.destroy();
      dynamo?.destroy();
      await moto?.stop();
    });

    it('both nights plan the account and audit it without a failed record', () => {
      for (const night of nights)
        expect(night).toMatchObject({ accounts: 1, invocations: 1, failedRecords: 0 });
      expect(nights.map((n) => n.runId)).toEqual(['2026-11-01T02:00Z', '2026-11-02T02:00Z']);
    });

    it('night 1 is a baseline: the AWS-side findings, AUDIT-002 and AUDIT-003 are stored, one digest, no alert', async () => {
      expect(night1Open.map(keyOf).sort()).toEqual([
        'AUDIT-002 -',
        // moto has no Pod Identity API: eks:ListPodIdentityAssociations is a failed read in the cluster.
        'AUDIT-003 -',
        'IRSA-015 svc-fixed',
        'IRSA-016 svc-deleted',
      ]);
      expect(nights[0]?.alerts).toHaveLength(0);
      expect(nights[0]?.digests).toHaveLength(1);
      const runs = await queryHistory(store, { runs: 2 });
      expect(runs.kind).toBe('runs');
      if (runs.kind === 'runs') {
        const first = runs.items.find((r) => r.runId === nights[0]?.runId);
        expect(first).toMatchObject({
          accountsPlanned: 1,
          accountsDone: 1,
          clustersAudited: 1,
          clustersBaselined: 1,
        });
        expect(first?.completedAt).not.toBeNull();
      }
    });

    it('night 2 sends exactly one regression alert, for the broken trust policy, delivered through SNS to SQS', () => {
      const alerts = nights[1]?.alerts ?? [];
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.Type).toBe('Notification');
      const text = textOf(alerts[0]);
      expect(text).toContain('IRSA-015');
      expect(text).toContain('svc-broken');
      expect(text).toContain(CLUSTER);
      expect(text).toContain('1 regression (1 critical)');
      expect(text).toContain('This audit was partial');
      expect(nights[1]?.digests).toHaveLength(1);
    });

    it('night 2 resolves the fixed trust policy (looked at and passed) and keeps what it could not look at', async () => {
      const now = await open();
      expect(now.map(keyOf).sort()).toEqual([
        'AUDIT-002 -',
        'AUDIT-003 -',
        'IRSA-015 svc-broken', // newly broken
        // svc-deleted's wildcard is absent from a partial audit (AUDIT-002): not resolved by absence.
        'IRSA-016 svc-deleted',
      ]);
      const all = await queryHistory(store, { cluster: UNIT, state: 'all' });
      expect(all.kind).toBe('findings');
      const fixed =
        all.kind === 'findings' ? all.items.find((f) => keyOf(f) === 'IRSA-015 svc-fixed') : undefined;
      expect(fixed?.state).toBe('resolved');
      const history = await queryHistory(store, { finding: fixed?.findingId ?? '' });
      expect(history.kind === 'history' ? history.items.map((e) => e.type) : []).toEqual([
        'opened',
        'resolved',
      ]);
      const broken = now.find((f) => keyOf(f) === 'IRSA-015 svc-broken');
      const brokenHistory = await queryHistory(store, { finding: broken?.findingId ?? '' });
      expect(
        brokenHistory.kind === 'history' ? brokenHistory.items.map((e) => [e.type, e.regression]) : [],
      ).toEqual([['opened', true]]);
      // The unit's run on night 2: partial (the cluster's API was not reached), one resolved, one regression.
      const [unit] = (await store.unitRuns(nights[1]?.runId ?? '')).filter((u) => u.unit.cluster === CLUSTER);
      expect(unit).toMatchObject({ partial: true, resolved: 1, regressions: 1, opened: 1 });
    });

    // The contract another engineer is implementing (issue 21): expected to fail until that branch lands.
    describe('contract pending: collection failures classified (issue 21)', () => {
      it('the account is not failed (no AUDIT-001) when only ListPodIdentityAssociations is missing', async () => {
        const account = await queryHistory(store, { account: MOTO_DEFAULT_ACCOUNT });
        const ids = account.kind === 'findings' ? account.items.map((f) => f.checkId) : ['?'];
        expect(ids).not.toContain('AUDIT-001');
        const runs = await store.recentRuns(2);
        for (const run of runs) expect(run.accountsFailed).toEqual({});
      });
    });
  },
);
