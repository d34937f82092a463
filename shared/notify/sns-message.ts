/**
 * The shape of what the pipeline publishes to its SNS topic and the SNS rules it must obey.
 *
 * One topic, several kinds of subscriber, one Publish per message with MessageStructure=json: SNS
 * gives each subscription the value of the key named after its protocol, or `default` when there
 * is none ("You can define other top-level keys that define the message you want to send to a
 * specific transport protocol", PublishRequest.MessageStructure in the SNS API reference). So:
 *
 * - `default`: the readable plain text (email-json, sqs, lambda, sms and any other protocol);
 * - `email`: the same text, for email subscriptions;
 * - `https`: the AWS Chatbot (Amazon Q Developer in chat applications) custom notification JSON.
 *   Chatbot subscribes to a topic with protocol `https`, endpoint
 *   https://global.sns-api.chatbot.amazonaws.com, and renders only the AWS service events it
 *   knows and messages in its custom notification schema (`{"version":"1.0","source":"custom",
 *   "content":{...}}`, docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html); plain
 *   text in `default` would not be shown. Consequence: any other https subscriber of the topic
 *   gets the Chatbot JSON too (subscribe webhooks with `http`, or with raw delivery from SQS).
 *
 * Limits (PublishRequest in the SNS API reference): a message is UTF-8 and at most 256 KiB
 * (262,144 bytes) with its message attributes counted in; a Subject is UTF-8 without line breaks
 * or control characters and "less than 100 characters long" (older documentation: ASCII starting
 * with a letter, number or punctuation mark). Subjects here are printable ASCII, at most 99.
 * Message attributes are what subscription filter policies match; SNS does not deliver them to
 * endpoints when MessageStructure is json (SNS developer guide, "Amazon SNS message attributes"),
 * so everything they say is in the text too.
 */
import { asciiLine } from './text.ts';

/** Message attribute value as PublishCommand takes it. */
export interface SnsAttributeValue {
  readonly DataType: 'String' | 'Number';
  readonly StringValue: string;
}

/**
 * A message ready for `new PublishCommand({ TopicArn, Subject: m.subject, Message: m.message,
 * MessageStructure: m.messageStructure, MessageAttributes: m.attributes })`.
 */
export interface SnsMessage {
  /** Printable ASCII, 1 to 99 characters, no line break (SNS's Subject rules). */
  readonly subject: string;
  /** The JSON object text for MessageStructure=json: keys `default`, `email`, `https`. */
  readonly message: string;
  readonly messageStructure: 'json';
  /** What subscription filter policies match: eventType, maxSeverity, regressions, ... */
  readonly attributes: Readonly<Record<string, SnsAttributeValue>>;
}

/** The keys of the JSON message, one per kind of subscriber (see the module comment). */
export interface SnsMessageStructure {
  readonly default: string;
  readonly email: string;
  readonly https: string;
}

/** SNS's limit for one published message, attributes included. */
export const SNS_MAX_PUBLISH_BYTES = 262_144;
/** The default budget of a message: 240 KiB, leaving SNS's 256 KiB some headroom. */
export const DEFAULT_BUDGET_BYTES = 240 * 1024;
/** Below this the fixed parts (headings, footers, the chat notification) may not fit. */
export const MIN_BUDGET_BYTES = 16 * 1024;
/** SNS: "less than 100 characters long". */
export const SNS_SUBJECT_MAX_CHARS = 99;
/** SQS subscriptions with raw message delivery drop a message with more than 10 attributes. */
export const SNS_MAX_ATTRIBUTES = 10;

/** The budget in bytes, validated: between MIN_BUDGET_BYTES and SNS_MAX_PUBLISH_BYTES. */
export function budgetOf(budgetBytes: number | undefined): number {
  const budget = budgetBytes ?? DEFAULT_BUDGET_BYTES;
  if (!Number.isInteger(budget) || budget < MIN_BUDGET_BYTES || budget > SNS_MAX_PUBLISH_BYTES) {
    throw new RangeError(
      `notification budgetBytes must be an integer from ${MIN_BUDGET_BYTES} to ${SNS_MAX_PUBLISH_BYTES}, got ${budgetBytes}`,
    );
  }
  return budget;
}

export function stringAttribute(value: string): SnsAttributeValue {
  // SNS refuses an empty attribute value.
  return { DataType: 'String', StringValue: value === '' ? '-' : value };
}

export function numberAttribute(value: number): SnsAttributeValue {
  return { DataType: 'Number', StringValue: String(Number.isFinite(value) ? value : 0) };
}

/** What the attributes count towards the 256 KiB: name, data type and value, in UTF-8 bytes. */
export function attributeBytes(attributes: Readonly<Record<string, SnsAttributeValue>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes)) {
    bytes +=
      Buffer.byteLength(name) + Buffer.byteLength(value.DataType) + Buffer.byteLength(value.StringValue);
  }
  return bytes;
}

/** What a whole publish weighs against the budget: the message, its attributes and the subject. */
export function publishBytes(message: SnsMessage): number {
  return (
    Buffer.byteLength(message.message) +
    attributeBytes(message.attributes) +
    Buffer.byteLength(message.subject)
  );
}

/**
 * The first candidate that is a valid subject once made printable ASCII, else the last one cut
 * to fit (with `...`). Candidates go from the most to the least detailed.
 */
export function fitSubject(candidates: readonly string[]): string {
  const ascii = candidates.map(subjectText).filter((text) => text.length > 0);
  const fitting = ascii.find((text) => text.length <= SNS_SUBJECT_MAX_CHARS);
  if (fitting) return fitting;
  const last = ascii.at(-1) ?? 'irsa-audit notification';
  return `${last.slice(0, SNS_SUBJECT_MAX_CHARS - 3).trimEnd()}...`;
}

function subjectText(text: string): string {
  // Trimmed printable ASCII never starts with a space, so it begins with a letter, a number or a
  // punctuation mark as the older SNS rule wants.
  return asciiLine(text);
}

/** The JSON text of the message structure; `default`, `email` and `https` in that order. */
export function structureText(structure: SnsMessageStructure): string {
  return JSON.stringify({ default: structure.default, email: structure.email, https: structure.https });
}
