/**
 * CloudFormation custom resource: puts the configured SNS filter policy on the subscription that
 * AWS Chatbot (Amazon Q Developer in chat applications) creates on the alerts topic when a Slack
 * channel configuration names the topic. Chatbot creates that subscription itself, so CloudFormation
 * cannot give it a filter policy; this resource does, and re-applies it when the filter or the
 * channel configuration changes. On Delete it does nothing: the subscription is Chatbot's.
 *
 * Properties: TopicArn, FilterPolicy (JSON text), Endpoint (default Chatbot's global endpoint),
 * ChannelConfigurationArn (only so that a replaced channel configuration re-applies the filter).
 * Permissions: sns:ListSubscriptionsByTopic and sns:SetSubscriptionAttributes on the topic.
 */
import {
  paginateListSubscriptionsByTopic,
  SetSubscriptionAttributesCommand,
  SNSClient,
} from '@aws-sdk/client-sns';

export const CHATBOT_ENDPOINT = 'https://global.sns-api.chatbot.amazonaws.com';

export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: {
    readonly TopicArn?: string;
    readonly FilterPolicy?: string;
    readonly Endpoint?: string;
  };
}

export interface ChatFilterOptions {
  readonly sns?: SNSClient;
  /** How long to wait for Chatbot's subscription to appear (default 4 minutes). */
  readonly waitMs?: number;
  readonly pollMs?: number;
  readonly fetch?: typeof fetch;
  /** Where the one log line goes (default: the function's log, as JSON). */
  readonly log?: (entry: Record<string, unknown>) => void;
}

/** Finds the confirmed subscription of `endpoint` on the topic, waiting for it up to `waitMs`. */
export async function findSubscription(
  sns: SNSClient,
  topicArn: string,
  endpoint: string,
  waitMs: number,
  pollMs: number,
): Promise<string> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    for await (const page of paginateListSubscriptionsByTopic({ client: sns }, { TopicArn: topicArn })) {
      for (const s of page.Subscriptions ?? []) {
        const confirmed = s.SubscriptionArn?.startsWith('arn:');
        if (s.Protocol === 'https' && s.Endpoint === endpoint && confirmed && s.SubscriptionArn) {
          return s.SubscriptionArn;
        }
      }
    }
    if (Date.now() + pollMs > deadline) {
      throw new Error(
        `no confirmed https subscription of ${endpoint} on ${topicArn}: is the topic listed in the Slack channel configuration, and the Slack workspace authorized in the AWS Chatbot console?`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Applies the filter policy; returns the subscription ARN (the physical id). */
export async function applyFilter(
  event: CustomResourceEvent,
  options: ChatFilterOptions = {},
): Promise<string> {
  const { TopicArn, FilterPolicy, Endpoint = CHATBOT_ENDPOINT } = event.ResourceProperties;
  if (!TopicArn) throw new Error('property TopicArn is required');
  if (!FilterPolicy) throw new Error('property FilterPolicy is required');
  try {
    JSON.parse(FilterPolicy);
  } catch (error) {
    throw new Error(`property FilterPolicy is not JSON: ${(error as Error).message}`);
  }
  const sns = options.sns ?? new SNSClient({});
  const subscriptionArn = await findSubscription(
    sns,
    TopicArn,
    Endpoint,
    options.waitMs ?? 240_000,
    options.pollMs ?? 10_000,
  );
  // The scope stays the default, MessageAttributes (what the pipeline's messages carry).
  await sns.send(
    new SetSubscriptionAttributesCommand({
      SubscriptionArn: subscriptionArn,
      AttributeName: 'FilterPolicy',
      AttributeValue: FilterPolicy,
    }),
  );
  return subscriptionArn;
}

/** Sends the custom resource's answer to CloudFormation's pre-signed URL. */
async function respond(
  event: CustomResourceEvent,
  result: { status: 'SUCCESS' | 'FAILED'; physicalId: string; reason?: string },
  put: typeof fetch,
): Promise<void> {
  const body = JSON.stringify({
    Status: result.status,
    Reason: (result.reason ?? 'see the function log').slice(0, 1000),
    PhysicalResourceId: result.physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  const response = await put(event.ResponseURL, {
    method: 'PUT',
    body,
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
  });
  if (!response.ok) throw new Error(`CloudFormation refused the response: HTTP ${response.status}`);
}

export async function handleEvent(
  event: CustomResourceEvent,
  options: ChatFilterOptions = {},
): Promise<void> {
  const put = options.fetch ?? fetch;
  const log = options.log ?? ((entry: Record<string, unknown>) => console.log(JSON.stringify(entry)));
  const fallbackId = event.PhysicalResourceId ?? `chat-filter-${event.LogicalResourceId}`;
  try {
    if (event.RequestType === 'Delete') {
      await respond(event, { status: 'SUCCESS', physicalId: fallbackId }, put);
      return;
    }
    const subscriptionArn = await applyFilter(event, options);
    log({ level: 'INFO', message: 'filter policy applied', subscriptionArn });
    await respond(event, { status: 'SUCCESS', physicalId: subscriptionArn }, put);
  } catch (error) {
    const reason = (error as Error).message ?? String(error);
    log({ level: 'ERROR', message: 'chat filter failed', reason });
    await respond(event, { status: 'FAILED', physicalId: fallbackId, reason }, put);
  }
}

export const handler = (event: CustomResourceEvent): Promise<void> => handleEvent(event);
