/** Publishes the pipeline's messages (regression alerts, the digest) to one SNS topic. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { SnsMessage } from '../notify/messages.ts';

export interface Notifier {
  /** Publishes and returns SNS's message id. */
  publish(message: SnsMessage): Promise<string>;
}

export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(message: SnsMessage): Promise<string> {
    const result = await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: message.subject,
        Message: message.message,
        MessageStructure: message.messageStructure,
        MessageAttributes: message.attributes,
      }),
    );
    return result.MessageId ?? '';
  }
}
