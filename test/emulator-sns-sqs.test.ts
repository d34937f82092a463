/**
 * SNS and SQS in the emulator, driven by the REAL @aws-sdk/client-sns and @aws-sdk/client-sqs over
 * real HTTP: topics, filtered subscriptions, MessageStructure=json, raw and enveloped delivery to
 * queues, size limits, SQS round trips with the SDK's MD5 validation left on, visibility timeouts,
 * long polling, dead-letter redrive, batch partial failures, throttling and unknown queues.
 */
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  type MessageAttributeValue,
  PublishBatchCommand,
  PublishCommand,
  SetSubscriptionAttributesCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { failure, managementCredentials } from '../emulator/testing.ts';

const FLEET = 'examples/fleet';
const REGION = 'eu-west-1';

let emulator: Emulator;
let sns: SNSClient;
let sqs: SQSClient;
let account: string;
let serial = 0;
/** A name no other test uses. */
const unique = (base: string) => `${base}-${++serial}`;

function clients(maxAttempts: number) {
  const config = {
    endpoint: emulator.endpoint,
    region: REGION,
    credentials: managementCredentials(emulator),
    maxAttempts,
  };
  return { sns: new SNSClient(config), sqs: new SQSClient(config) };
}

beforeAll(async () => {
  emulator = await startEmulator({ fleetDir: FLEET });
  ({ sns, sqs } = clients(1));
  account = emulator.managementAccountId;
});
afterAll(() => emulator?.stop());
beforeEach(() => {
  emulator.setFaults({});
  emulator.resetCounts();
});

async function createQueue(name: string, attributes: Record<string, string> = {}) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl ?? '', arn: Attributes?.QueueArn ?? '' };
}

async function createTopic(name: string): Promise<string> {
  return (await sns.send(new CreateTopicCommand({ Name: name }))).TopicArn ?? '';
}

async function subscribe(
  topicArn: string,
  protocol: string,
  endpoint: string,
  attributes: Record<string, string> = {},
): Promise<string> {
  const response = await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: protocol,
      Endpoint: endpoint,
      Attributes: attributes,
    }),
  );
  return response.SubscriptionArn ?? '';
}

/** Everything visible in the queue now (received with a long visibility timeout, all attributes). */
async function drain(url: string) {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 600,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

async function queueCounts(url: string) {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return [
    Number(Attributes?.ApproximateNumberOfMessages),
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
  ];
}

const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

describe('SNS and SQS in the emulator, through the SDK v3 clients', () => {
  it('exports the SNS and SQS endpoints, which an SDK client picks up from the environment', async () => {
    expect(emulator.env.AWS_ENDPOINT_URL_SNS).toBe(emulator.endpoint);
    expect(emulator.env.AWS_ENDPOINT_URL_SQS).toBe(emulator.endpoint);
    const saved = { ...process.env };
    try {
      Object.assign(process.env, emulator.env);
      const name = unique('from-env');
      const fromEnv = new SQSClient({ region: REGION });
      const { QueueUrl } = await fromEnv.send(new CreateQueueCommand({ QueueName: name }));
      expect(QueueUrl).toBe(`${emulator.endpoint}/${account}/${name}`);
      const topic = await new SNSClient({ region: REGION }).send(new CreateTopicCommand({ Name: name }));
      expect(topic.TopicArn).toBe(`arn:aws:sns:${REGION}:${account}:${name}`);
    } finally {
      process.env = saved;
    }
  });

  it('creates topics and queues idempotently, lists and deletes them', async () => {
    const name = unique('nightly');
    const arn = await createTopic(name);
    expect(arn).toBe(`arn:aws:sns:${REGION}:${account}:${name}`);
    expect(await createTopic(name)).toBe(arn);
    expect((await sns.send(new ListTopicsCommand({}))).Topics).toContainEqual({ TopicArn: arn });

    const first = await sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '45' } }),
    );
    expect(first.QueueUrl).toBe(`${emulator.endpoint}/${account}/${name}`);
    const again = await sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '45' } }),
    );
    expect(again.QueueUrl).toBe(first.QueueUrl);
    const clash = await failure(
      sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '46' } })),
    );
    expect(clash.name).toBe('QueueNameExists');
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl).toBe(first.QueueUrl);
    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: name }));
    expect(listed.QueueUrls).toEqual([first.QueueUrl]);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: first.QueueUrl, AttributeNames: ['All'] }),
    );
    expect(Attributes).toMatchObject({
      QueueArn: `arn:aws:sqs:${REGION}:${account}:${name}`,
      VisibilityTimeout: '45',
      MessageRetentionPeriod: '345600',
      ApproximateNumberOfMessages: '0',
    });

    await sqs.send(new DeleteQueueCommand({ QueueUrl: first.QueueUrl }));
    expect((await failure(sqs.send(new GetQueueUrlCommand({ QueueName: name })))).name).toBe(
      'QueueDoesNotExist',
    );
    await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
    expect((await sns.send(new ListTopicsCommand({}))).Topics ?? []).not.toContainEqual({ TopicArn: arn });
  });

  it('delivers only to matching subscriptions, picking each protocol’s message, raw or enveloped', async () => {
    const topicArn = await createTopic(unique('audit-alerts'));
    const regressions = await createQueue(unique('regressions'));
    const digests = await createQueue(unique('digests'));
    const everything = await createQueue(unique('everything'));
    const regressionFilter = JSON.stringify({
      eventType: ['regression'],
      maxSeverity: [{ 'anything-but': ['low', 'info'] }],
      cluster: [{ prefix: 'prod-' }],
    });
    const regressionSub = await subscribe(topicArn, 'sqs', regressions.arn, {
      RawMessageDelivery: 'true',
      FilterPolicy: regressionFilter,
    });
    await subscribe(topicArn, 'sqs', digests.arn, {
      FilterPolicy: JSON.stringify({ eventType: ['digest'] }),
    });
    await subscribe(topicArn, 'sqs', everything.arn);
    await subscribe(topicArn, 'email', 'oncall@example.com');
    const chatbot = await subscribe(topicArn, 'https', 'https://global.sns-api.chatbot.amazonaws.com');
    // Subscribing again with the same attributes returns the same subscription.
    expect(
      await subscribe(topicArn, 'sqs', regressions.arn, {
        RawMessageDelivery: 'true',
        FilterPolicy: regressionFilter,
      }),
    ).toBe(regressionSub);
    const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
    expect(listed.Subscriptions?.map((s) => s.Protocol).sort()).toEqual([
      'email',
      'https',
      'sqs',
      'sqs',
      'sqs',
    ]);
    const attributes = await sns.send(
      new GetSubscriptionAttributesCommand({ SubscriptionArn: regressionSub }),
    );
    expect(attributes.Attributes).toMatchObject({
      RawMessageDelivery: 'true',
      FilterPolicy: regressionFilter,
    });

    const chatbotJson = JSON.stringify({
      version: '1.0',
      source: 'custom',
      content: { title: 'IRSA regression' },
    });
    const structured = {
      default: 'IRSA regression in prod-eu (default)',
      email: 'IRSA regression in prod-eu: 2 new high findings',
      sqs: JSON.stringify({ kind: 'regression', findings: 2 }),
      https: chatbotJson,
    };
    const messageAttributes = {
      eventType: text('regression'),
      maxSeverity: text('high'),
      accountId: text(account),
      cluster: text('prod-eu'),
      findings: { DataType: 'Number', StringValue: '2' },
      checks: { DataType: 'String.Array', StringValue: '["IRSA-001","IRSA-007"]' },
    };
    const published = await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: 'IRSA regression',
        MessageStructure: 'json',
        Message: JSON.stringify(structured),
        MessageAttributes: messageAttributes,
      }),
    );

    const [raw, ...rawRest] = await drain(regressions.url);
    expect(rawRest).toEqual([]);
    expect(raw?.Body).toBe(structured.sqs);
    expect(raw?.MessageAttributes?.eventType).toEqual({ DataType: 'String', StringValue: 'regression' });
    expect(raw?.MessageAttributes?.findings).toEqual({ DataType: 'Number', StringValue: '2' });
    expect(raw?.MessageAttributes?.checks?.StringValue).toBe('["IRSA-001","IRSA-007"]');
    expect(await drain(digests.url)).toEqual([]);
    const [enveloped] = await drain(everything.url);
    const envelope = JSON.parse(enveloped?.Body ?? '{}');
    expect(envelope).toMatchObject({
      Type: 'Notification',
      MessageId: published.MessageId,
      TopicArn: topicArn,
      Subject: 'IRSA regression',
      Message: structured.sqs,
      MessageAttributes: {
        eventType: { Type: 'String', Value: 'regression' },
        findings: { Type: 'Number', Value: '2' },
        checks: { Type: 'String.Array', Value: '["IRSA-001","IRSA-007"]' },
      },
    });
    expect(enveloped?.MessageAttributes).toBeUndefined();

    const email = emulator.sns.deliveries({ topicArn, protocol: 'email' });
    expect(email.map((d) => [d.status, d.payload])).toEqual([['delivered', structured.email]]);
    const [toChatbot] = emulator.sns.deliveries({ subscriptionArn: chatbot });
    expect(JSON.parse(toChatbot?.payload ?? '{}').Message).toBe(chatbotJson);
    expect(emulator.sns.published(topicArn)).toEqual([
      expect.objectContaining({
        messageId: published.MessageId,
        subject: 'IRSA regression',
        structure: 'json',
        message: JSON.stringify(structured),
        attributes: expect.objectContaining({ eventType: { DataType: 'String', StringValue: 'regression' } }),
      }),
    ]);

    // A digest (plain message): only the digest and catch-all queues get it; a low-severity
    // regression in prod does not pass the regression filter either.
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: 'IRSA nightly digest',
        Message: 'digest text',
        MessageAttributes: { eventType: text('digest'), accountId: text(account) },
      }),
    );
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: 'minor',
        MessageAttributes: {
          eventType: text('regression'),
          maxSeverity: text('low'),
          cluster: text('prod-eu'),
        },
      }),
    );
    expect(await drain(regressions.url)).toEqual([]);
    const digest = await drain(digests.url);
    expect(digest.map((m) => JSON.parse(m.Body ?? '{}').Message)).toEqual(['digest text']);
    expect(JSON.parse(digest[0]?.Body ?? '{}').Subject).toBe('IRSA nightly digest');
    expect((await drain(everything.url)).map((m) => JSON.parse(m.Body ?? '{}').Message)).toEqual([
      'digest text',
      'minor',
    ]);
    const statuses = emulator.sns.deliveries({ subscriptionArn: regressionSub }).map((d) => d.status);
    expect(statuses).toEqual(['delivered', 'filtered', 'filtered']);
  });

  it('applies the documented filter policy operators to message attributes and bodies', async () => {
    const topicArn = await createTopic(unique('filters'));
    const cases: [policy: object, scope: string, delivered: boolean][] = [
      [{ cluster: ['prod-eu', 'prod-us'] }, 'MessageAttributes', true],
      [{ cluster: ['staging'] }, 'MessageAttributes', false],
      [{ cluster: [{ prefix: 'prod-' }] }, 'MessageAttributes', true],
      [{ cluster: [{ suffix: '-us' }] }, 'MessageAttributes', false],
      [{ maxSeverity: [{ 'anything-but': 'low' }] }, 'MessageAttributes', true],
      [{ maxSeverity: [{ 'anything-but': { prefix: 'hi' } }] }, 'MessageAttributes', false],
      [{ missing: [{ 'anything-but': 'x' }] }, 'MessageAttributes', false],
      [{ accountId: [{ exists: true }], missing: [{ exists: false }] }, 'MessageAttributes', true],
      [{ missing: [{ exists: true }] }, 'MessageAttributes', false],
      [{ findings: [{ numeric: ['>', 1, '<=', 5] }] }, 'MessageAttributes', true],
      [{ findings: [{ numeric: ['>=', 3] }] }, 'MessageAttributes', false],
      [{ findings: [2] }, 'MessageAttributes', true],
      [{ checks: ['IRSA-007'] }, 'MessageAttributes', true],
      [{ checks: ['IRSA-002'] }, 'MessageAttributes', false],
      [{ cluster: ['staging'], $or: [{ a: ['b'] }, { c: ['d'] }] }, 'MessageAttributes', false],
      [{ $or: [{ cluster: ['staging'] }, { findings: [{ numeric: ['=', 2] }] }] }, 'MessageAttributes', true],
      [{ detail: { severity: ['high'] } }, 'MessageBody', true],
      [{ detail: { severity: [{ 'anything-but': ['high'] }] } }, 'MessageBody', false],
    ];
    const subscriptions: string[] = [];
    for (const [index, [policy, scope]] of cases.entries()) {
      subscriptions.push(
        await subscribe(topicArn, 'https', `https://hooks.example.com/${index}`, {
          FilterPolicy: JSON.stringify(policy),
          FilterPolicyScope: scope,
        }),
      );
    }
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify({ detail: { severity: 'high' } }),
        MessageAttributes: {
          cluster: text('prod-eu'),
          maxSeverity: text('high'),
          accountId: text(account),
          findings: { DataType: 'Number', StringValue: '2' },
          checks: { DataType: 'String.Array', StringValue: '["IRSA-001","IRSA-007"]' },
        },
      }),
    );
    const outcome = subscriptions.map((arn) => emulator.sns.deliveries({ subscriptionArn: arn })[0]?.status);
    expect(outcome).toEqual(cases.map(([, , delivered]) => (delivered ? 'delivered' : 'filtered')));

    // Changing a subscription's policy takes effect; an invalid policy is refused.
    const first = subscriptions[0] ?? '';
    await sns.send(
      new SetSubscriptionAttributesCommand({
        SubscriptionArn: first,
        AttributeName: 'FilterPolicy',
        AttributeValue: JSON.stringify({ cluster: ['staging'] }),
      }),
    );
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: 'm',
        MessageAttributes: { cluster: text('prod-eu') },
      }),
    );
    expect(emulator.sns.deliveries({ subscriptionArn: first }).map((d) => d.status)).toEqual([
      'delivered',
      'filtered',
    ]);
    const bad = await failure(
      sns.send(
        new SetSubscriptionAttributesCommand({
          SubscriptionArn: first,
          AttributeName: 'FilterPolicy',
          AttributeValue: JSON.stringify({ cluster: [{ regex: '.*' }] }),
        }),
      ),
    );
    expect(bad.name).toBe('InvalidParameterException');
  });

  it('rejects what SNS rejects: oversize messages, bad structures, unknown topics, raw email', async () => {
    const topicArn = await createTopic(unique('limits'));
    await sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'x'.repeat(262_144) }));
    const oversize = await failure(
      sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: 'x'.repeat(262_144 - 20),
          MessageAttributes: { eventType: text('regression-regression') },
        }),
      ),
    );
    expect([oversize.name, oversize.message, oversize.$metadata?.httpStatusCode]).toEqual([
      'InvalidParameterException',
      'Invalid parameter: Message too long',
      400,
    ]);
    const noDefault = await failure(
      sns.send(
        new PublishCommand({ TopicArn: topicArn, MessageStructure: 'json', Message: '{"email":"x"}' }),
      ),
    );
    expect(noDefault.name).toBe('InvalidParameterException');
    expect(noDefault.message).toMatch(/No default entry/);
    const unknown = await failure(
      sns.send(
        new PublishCommand({ TopicArn: `arn:aws:sns:${REGION}:${account}:no-such-topic`, Message: 'x' }),
      ),
    );
    expect([unknown.name, unknown.$metadata?.httpStatusCode]).toEqual(['NotFoundException', 404]);
    const rawEmail = await failure(
      sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'email',
          Endpoint: 'a@example.com',
          Attributes: { RawMessageDelivery: 'true' },
        }),
      ),
    );
    expect(rawEmail.name).toBe('InvalidParameterException');
    expect(emulator.sns.published(topicArn)).toHaveLength(1);
  });

  it('publishes batches with per-entry failures', async () => {
    const topicArn = await createTopic(unique('batch'));
    const queue = await createQueue(unique('batch-sink'));
    await subscribe(topicArn, 'sqs', queue.arn, { RawMessageDelivery: 'true' });
    const result = await sns.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: [
          { Id: 'ok-1', Message: 'first', MessageAttributes: { eventType: text('regression') } },
          { Id: 'bad', Message: '{"email":"no default"}', MessageStructure: 'json' },
          { Id: 'ok-2', Message: 'second' },
        ],
      }),
    );
    expect(result.Successful?.map((entry) => entry.Id)).toEqual(['ok-1', 'ok-2']);
    expect(result.Failed).toEqual([
      expect.objectContaining({ Id: 'bad', Code: 'InvalidParameter', SenderFault: true }),
    ]);
    const bodies = (await drain(queue.url)).map((m) => m.Body);
    expect(bodies.sort()).toEqual(['first', 'second']);
    const tooMany = await failure(
      sns.send(
        new PublishBatchCommand({
          TopicArn: topicArn,
          PublishBatchRequestEntries: Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, Message: 'x' })),
        }),
      ),
    );
    expect(tooMany.name).toBe('TooManyEntriesInBatchRequestException');
  });

  it('sends, receives and deletes with message attributes and the digests SQS computes', async () => {
    const queue = await createQueue(unique('work'));
    // MD5OfMessageAttributes of published examples (the SQS developer guide and other implementations).
    const vectors: [Record<string, MessageAttributeValue>, string][] = [
      [
        { SellerName: { DataType: 'String', StringValue: 'Example Store' } },
        'cd28f3b68aeee4b2eac9c66f2f694b58',
      ],
      [
        { timestamp: { DataType: 'Number', StringValue: '1493147359900' } },
        '235c5c510d26fb653d073faed50ae77c',
      ],
      [
        {
          ordinal: { DataType: 'Number', StringValue: '1' },
          category: { DataType: 'String', StringValue: 'test' },
        },
        'd21ae90c49061e927f57df5f5d72be1f',
      ],
    ];
    for (const [attributes, md5] of vectors) {
      const sent = await sqs.send(
        new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'vector', MessageAttributes: attributes }),
      );
      expect(sent.MD5OfMessageAttributes).toBe(md5);
    }
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
    expect(await queueCounts(queue.url)).toEqual([0, 0]);

    const body = JSON.stringify({ account, cluster: 'prod-eu', note: 'ünïcödé ✓' });
    const attributes = {
      accountId: { DataType: 'String', StringValue: account },
      attempt: { DataType: 'Number', StringValue: '1' },
      blob: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 254, 255]) },
    };
    const before = Date.now();
    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body, MessageAttributes: attributes }),
    );
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      }),
    );
    const [message] = Messages ?? [];
    expect(message?.MessageId).toBe(sent.MessageId);
    expect(message?.Body).toBe(body);
    expect(message?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(message?.MessageAttributes?.attempt).toEqual(attributes.attempt);
    expect(Array.from(message?.MessageAttributes?.blob?.BinaryValue ?? [])).toEqual([0, 1, 2, 254, 255]);
    expect(message?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(Number(message?.Attributes?.SentTimestamp)).toBeGreaterThanOrEqual(before - 1000);
    expect(message?.Attributes?.SenderId).toBeUndefined();
    expect(await queueCounts(queue.url)).toEqual([0, 1]);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message?.ReceiptHandle }));
    expect(await queueCounts(queue.url)).toEqual([0, 0]);

    // Only the requested attributes come back, with the digest of those alone.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: 'subset',
        MessageAttributes: vectors[2]?.[0],
      }),
    );
    const subset = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.url, MessageAttributeNames: ['category'] }),
    );
    expect(Object.keys(subset.Messages?.[0]?.MessageAttributes ?? {})).toEqual(['category']);
    const alone = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: 'x',
        MessageAttributes: { category: text('test') },
      }),
    );
    expect(subset.Messages?.[0]?.MD5OfMessageAttributes).toBe(alone.MD5OfMessageAttributes);
  });

  it('hides received messages for the visibility timeout and counts receives', async () => {
    const queue = await createQueue(unique('visibility'), { VisibilityTimeout: '30' });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'job' }));
    const first = await drainOnce(queue.url);
    expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(await drainOnce(queue.url)).toBeUndefined();
    expect(await queueCounts(queue.url)).toEqual([0, 1]);

    emulator.sqs.advanceClock(29);
    expect(await drainOnce(queue.url)).toBeUndefined();
    emulator.sqs.advanceClock(2);
    const second = await drainOnce(queue.url);
    expect(second?.MessageId).toBe(first?.MessageId);
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(second?.ReceiptHandle).not.toBe(first?.ReceiptHandle);

    // ChangeMessageVisibility 0 releases it at once; the message is then no longer in flight.
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue.url,
        ReceiptHandle: second?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const notInFlight = await failure(
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queue.url,
          ReceiptHandle: second?.ReceiptHandle,
          VisibilityTimeout: 5,
        }),
      ),
    );
    expect(notInFlight.name).toBe('MessageNotInflight');
    const third = await drainOnce(queue.url);
    expect(third?.Attributes?.ApproximateReceiveCount).toBe('3');
    expect(emulator.sqs.messages(queue.arn)).toEqual([
      expect.objectContaining({ messageId: first?.MessageId, receiveCount: 3, visible: false }),
    ]);
  });

  it('long-polls: waits for a message when the queue is empty, up to WaitTimeSeconds', async () => {
    const queue = await createQueue(unique('long-poll'));
    const started = Date.now();
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 1 }));
    expect(empty.Messages).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    const waiting = sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    const sentAt = Date.now();
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'late' }));
    const { Messages } = await waiting;
    expect(Messages?.map((m) => m.Body)).toEqual(['late']);
    expect(Date.now() - sentAt).toBeLessThan(2000);
  });

  it('moves a message to the dead-letter queue once receives exceed maxReceiveCount', async () => {
    const dlq = await createQueue(unique('work-dlq'));
    const missing = await failure(
      sqs.send(
        new CreateQueueCommand({
          QueueName: unique('orphan'),
          Attributes: {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: `arn:aws:sqs:${REGION}:${account}:nope`,
              maxReceiveCount: 2,
            }),
          },
        }),
      ),
    );
    expect(missing.name).toBe('InvalidParameterValue');
    const work = await createQueue(unique('work-main'), {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: '2' }),
    });
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: work.url, AttributeNames: ['RedrivePolicy'] }),
    );
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlq.arn,
      maxReceiveCount: 2,
    });

    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: work.url,
        MessageBody: 'poison',
        MessageAttributes: { kind: text('plan') },
      }),
    );
    const receive = () =>
      sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: work.url,
          VisibilityTimeout: 0,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
    expect((await receive()).Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect((await receive()).Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect((await receive()).Messages).toBeUndefined();
    expect(await queueCounts(work.url)).toEqual([0, 0]);
    const [dead] = await drain(dlq.url);
    expect([dead?.MessageId, dead?.Body]).toEqual([sent.MessageId, 'poison']);
    expect(dead?.MessageAttributes?.kind?.StringValue).toBe('plan');
    expect(dead?.Attributes?.DeadLetterQueueSourceArn).toBe(work.arn);

    // Removing the redrive policy keeps later messages on the queue however often they are received.
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: work.url, Attributes: { RedrivePolicy: '' } }));
    await sqs.send(new SendMessageCommand({ QueueUrl: work.url, MessageBody: 'again' }));
    for (let i = 0; i < 4; i += 1) expect((await receive()).Messages?.[0]?.Body).toBe('again');
  });

  it('reports per-entry failures of SendMessageBatch and DeleteMessageBatch', async () => {
    const queue = await createQueue(unique('batches'));
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: [
          {
            Id: 'good',
            MessageBody: 'fine',
            MessageAttributes: { n: { DataType: 'Number', StringValue: '7' } },
          },
          { Id: 'control-char', MessageBody: 'bad\u0000body' },
          {
            Id: 'nan',
            MessageBody: 'x',
            MessageAttributes: { n: { DataType: 'Number', StringValue: 'seven' } },
          },
        ],
      }),
    );
    expect(sent.Successful?.map((entry) => entry.Id)).toEqual(['good']);
    expect(sent.Failed?.map((entry) => [entry.Id, entry.Code, entry.SenderFault])).toEqual([
      ['control-char', 'InvalidMessageContents', true],
      ['nan', 'InvalidParameterValue', true],
    ]);
    const [message] = await drain(queue.url);
    expect(message?.Body).toBe('fine');
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: [
          { Id: 'real', ReceiptHandle: message?.ReceiptHandle },
          { Id: 'forged', ReceiptHandle: 'not-a-receipt-handle' },
        ],
      }),
    );
    expect(deleted.Successful?.map((entry) => entry.Id)).toEqual(['real']);
    expect(deleted.Failed?.map((entry) => [entry.Id, entry.Code])).toEqual([
      ['forged', 'ReceiptHandleIsInvalid'],
    ]);
    expect(await queueCounts(queue.url)).toEqual([0, 0]);

    const tooMany = await failure(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' })),
        }),
      ),
    );
    expect(tooMany.name).toBe('TooManyEntriesInBatchRequest');
    const twice = await failure(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: [
            { Id: 'same', MessageBody: 'a' },
            { Id: 'same', MessageBody: 'b' },
          ],
        }),
      ),
    );
    expect(twice.name).toBe('BatchEntryIdsNotDistinct');
  });

  it('throttles and fails SNS and SQS calls on request, and the SDK retries them', async () => {
    const topicArn = await createTopic(unique('faulty'));
    const queue = await createQueue(unique('faulty'));
    await subscribe(topicArn, 'sqs', queue.arn, { RawMessageDelivery: 'true' });
    const retrying = clients(4);
    emulator.setFaults({
      throttle: { 'sqs:SendMessageBatch': 2, 'sns:Publish': 1 },
      serverErrors: { 'sqs:ReceiveMessage': 1 },
    });
    emulator.resetCounts();
    await retrying.sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: [{ Id: 'a', MessageBody: 'from batch' }] }),
    );
    await retrying.sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'from sns' }));
    const { Messages } = await retrying.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10 }),
    );
    expect(Messages?.map((m) => m.Body).sort()).toEqual(['from batch', 'from sns']);
    expect(emulator.requestCounts()).toMatchObject({
      'sqs:SendMessageBatch': 3,
      'sns:Publish': 2,
      'sqs:ReceiveMessage': 2,
    });

    emulator.setFaults({ throttle: { 'sqs:SendMessage': 1, 'sns:Publish': 1 } });
    const sqsThrottled = await failure(
      sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'x' })),
    );
    expect(sqsThrottled.name).toBe('RequestThrottled');
    const snsThrottled = await failure(sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'x' })));
    expect(snsThrottled.name).toBe('Throttling');
  });

  it('names an unknown queue QueueDoesNotExist, as the SDK surfaces it', async () => {
    const url = `${emulator.endpoint}/${account}/${unique('never-created')}`;
    const error = await failure(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })));
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect([error.name, error.$metadata?.httpStatusCode]).toEqual(['QueueDoesNotExist', 400]);
    const receive = await failure(sqs.send(new ReceiveMessageCommand({ QueueUrl: url })));
    expect(receive.name).toBe('QueueDoesNotExist');
  });
});

/** One receive with all system attributes and the queue's own visibility timeout. */
async function drainOnce(url: string) {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['All'] }),
  );
  return Messages?.[0];
}
