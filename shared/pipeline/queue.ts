/** Sends work messages to the SQS queue, ten per batch, retrying the entries SQS did not take. */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { WorkMessage } from './work-message.ts';

export async function sendWorkMessages(
  client: SQSClient,
  queueUrl: string,
  messages: readonly WorkMessage[],
  maxAttempts = 5,
): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    let entries = messages.slice(i, i + 10).map((message, n) => ({
      Id: `m${i + n}`,
      MessageBody: JSON.stringify(message),
      MessageAttributes: {
        accountId: { DataType: 'String', StringValue: message.accountId },
        runId: { DataType: 'String', StringValue: message.runId },
      },
    }));
    for (let attempt = 1; entries.length > 0; attempt++) {
      const result = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      const failed = new Set((result.Failed ?? []).map((f) => f.Id));
      if (failed.size === 0) break;
      if (attempt >= maxAttempts) {
        const first = result.Failed?.[0];
        throw new Error(
          `SQS refused ${failed.size} work message(s) for ${queueUrl} after ${attempt} attempts: ${first?.Code}: ${first?.Message}`,
        );
      }
      entries = entries.filter((e) => failed.has(e.Id));
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}
