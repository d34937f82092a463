/**
 * SNS in the emulator: standard topics and subscriptions held in memory, on the awsQuery protocol
 * (form POST, XML in the 2010-03-31 namespace) that the SDK v3 client speaks.
 *
 * Publish keeps every message (`SnsState.published()`) and delivers it at once to each subscription
 * whose filter policy matches: `sqs` subscriptions enqueue into the emulator's SQS queue with that
 * ARN (raw, or in the standard SNS JSON envelope), the other protocols (email, email-json, http,
 * https, lambda, sms, application, firehose) are recorded with the payload they would get
 * (`SnsState.deliveries()`). MessageStructure=json picks each protocol's key, else `default`.
 *
 * Filter policies (FilterPolicyScope MessageAttributes, the default, or MessageBody): exact strings,
 * numbers, booleans and null; `prefix`, `suffix`, `equals-ignore-case`, `wildcard`; `anything-but`
 * (a value, a list, or {prefix}/{suffix}); `numeric` (=, <, <=, >, >=, and ranges); `exists`; `$or`.
 * Keys AND, values within a key OR, a String.Array attribute matches when any element does.
 * Not enforced: the 5-key and 150-combination limits; `cidr` is refused.
 *
 * Not emulated: FIFO topics, subscription confirmation (every subscription is confirmed at once),
 * delivery retries and redrive, message signatures (Signature is a placeholder), topic policies.
 */
import { createHash, randomUUID } from 'node:crypto';
import { trimTrailingSlashes } from '#shared/model/text.ts';
import type { ServiceReply, SqsAttributes, SqsState } from './sqs.ts';

const NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';
/** SNS's limit for a message and its attributes (and for a whole PublishBatch). */
export const SNS_MAX_MESSAGE_BYTES = 262_144;
/** The SenderId of the SQS messages that SNS delivers. */
const SNS_SENDER_ID = 'AIDAEMULATORSNSSENDER';

/** A message attribute as SNS takes it (BinaryValue base64). */
export interface SnsAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

export type SnsAttributes = Readonly<Record<string, SnsAttributeValue>>;

/** One Publish (or PublishBatch entry), as `SnsState.published()` reports it. */
export interface PublishedSnsMessage {
  readonly messageId: string;
  readonly topicArn: string;
  readonly topicName: string;
  readonly subject: string | undefined;
  /** As published: for MessageStructure=json, the JSON object text. */
  readonly message: string;
  readonly structure: 'json' | undefined;
  readonly attributes: SnsAttributes;
  /** ISO 8601. */
  readonly time: string;
}

/** What one subscription got (or why not) for one published message. */
export interface SnsDelivery {
  readonly messageId: string;
  readonly topicArn: string;
  readonly subscriptionArn: string;
  readonly protocol: string;
  readonly endpoint: string;
  /** `filtered`: the filter policy did not match; `failed`: e.g. no SQS queue with that ARN. */
  readonly status: 'delivered' | 'filtered' | 'failed';
  /** The body the endpoint receives (absent when filtered). */
  readonly payload?: string;
  readonly raw: boolean;
  readonly time: string;
}

export interface InspectedSubscription {
  readonly subscriptionArn: string;
  readonly topicArn: string;
  readonly protocol: string;
  readonly endpoint: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** One SNS call, as the AWS handler hands it over (the caller already authenticated). */
export interface SnsCall {
  readonly operation: string;
  /** The form parameters of the awsQuery request. */
  readonly params: URLSearchParams;
  readonly region: string;
  /** The caller's account (CreateTopic and ListTopics act in it). */
  readonly accountId: string;
  /** The URL the caller reached the emulator on (for UnsubscribeURL and SigningCertURL). */
  readonly endpoint: string;
  readonly requestId: string;
}

// ---- errors and XML ----------------------------------------------------------------------------

const ERROR_STATUS: Record<string, number> = {
  NotFound: 404,
  InvalidParameter: 400,
  ParameterValueInvalid: 400,
  AuthorizationError: 403,
  EmptyBatchRequest: 400,
  TooManyEntriesInBatchRequest: 400,
  BatchEntryIdsNotDistinct: 400,
  InvalidBatchEntryId: 400,
  BatchRequestTooLong: 400,
  InvalidAction: 400,
  Throttling: 400,
  InternalError: 500,
};

export class SnsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new SnsError('InvalidParameter', `Invalid parameter: ${message}`);
const topicNotFound = () => new SnsError('NotFound', 'Topic does not exist');

function escapeXml(value: string): string {
  return value.replace(/[&<>"'\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const element = (name: string, inner: string) => `<${name}>${inner}</${name}>`;
const textElement = (name: string, value: string | undefined) =>
  value === undefined ? '' : element(name, escapeXml(value));
const memberList = (name: string, items: readonly string[]) =>
  element(name, items.map((item) => element('member', item)).join(''));
const entryMap = (name: string, map: Readonly<Record<string, string>>) =>
  element(
    name,
    Object.entries(map)
      .map(([key, value]) => element('entry', textElement('key', key) + textElement('value', value)))
      .join(''),
  );

function resultReply(action: string, inner: string | undefined, requestId: string): ServiceReply {
  const result = inner === undefined ? '' : element(`${action}Result`, inner);
  return {
    status: 200,
    contentType: 'text/xml',
    body:
      `<${action}Response xmlns="${NAMESPACE}">${result}` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

/** An SNS error on the wire (`status` overrides the code's usual status). */
export function snsErrorReply(
  code: string,
  message: string,
  requestId: string,
  status?: number,
): ServiceReply {
  const httpStatus = status ?? ERROR_STATUS[code] ?? 400;
  return {
    status: httpStatus,
    contentType: 'text/xml',
    body:
      `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${httpStatus >= 500 ? 'Receiver' : 'Sender'}</Type>` +
      `<Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

// ---- awsQuery parameters -----------------------------------------------------------------------

/** The sorted indexes N of `<prefix>.N.` parameters. */
function indexes(params: URLSearchParams, prefix: string): string[] {
  const found = new Set<number>();
  const start = `${prefix}.`;
  for (const key of params.keys()) {
    if (!key.startsWith(start)) continue;
    const index = Number(key.slice(start.length).split('.')[0]);
    if (Number.isInteger(index) && index > 0) found.add(index);
  }
  return [...found].sort((a, b) => a - b).map((index) => `${prefix}.${index}`);
}

/** A string map serialised as `<prefix>.entry.N.key` / `.value`. */
function stringMap(params: URLSearchParams, prefix: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of indexes(params, `${prefix}.entry`)) {
    const key = params.get(`${entry}.key`);
    if (key !== null) map[key] = params.get(`${entry}.value`) ?? '';
  }
  return map;
}

const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\..{1,250})?$/;

/** MessageAttributes (`<prefix>.entry.N.Name`, `.Value.DataType`, ...), validated as SNS does. */
function messageAttributes(params: URLSearchParams, prefix: string): Record<string, SnsAttributeValue> {
  const result: Record<string, SnsAttributeValue> = {};
  for (const entry of indexes(params, `${prefix}.entry`)) {
    const name = params.get(`${entry}.Name`) ?? '';
    if (!ATTRIBUTE_NAME.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
      throw invalid(`Message attribute name '${name}' is invalid.`);
    }
    const dataType = params.get(`${entry}.Value.DataType`) ?? '';
    if (!DATA_TYPE.test(dataType)) {
      throw invalid(
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    if (dataType === 'Binary' || dataType.startsWith('Binary.')) {
      const binary = params.get(`${entry}.Value.BinaryValue`);
      if (!binary) {
        throw invalid(
          `The message attribute '${name}' must contain non-empty message attribute value for message attribute type 'Binary'.`,
        );
      }
      result[name] = { DataType: dataType, BinaryValue: binary };
      continue;
    }
    const text = params.get(`${entry}.Value.StringValue`);
    const kind = dataType.startsWith('Number') ? 'Number' : 'String';
    if (!text) {
      throw invalid(
        `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${kind}'.`,
      );
    }
    if (kind === 'Number' && (text.trim() === '' || !Number.isFinite(Number(text)))) {
      throw invalid(`Could not cast message attribute '${name}' value to number.`);
    }
    if (dataType === 'String.Array') {
      const parsed = safeJson(text);
      if (!Array.isArray(parsed) || parsed.some((item) => item !== null && typeof item === 'object')) {
        throw invalid(
          `The message attribute '${name}' with type 'String.Array' must be a JSON array of strings, numbers, booleans or null.`,
        );
      }
    }
    result[name] = { DataType: dataType, StringValue: text };
  }
  return result;
}

function attributeBytes(attributes: SnsAttributes): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value.DataType, 'utf8');
    size +=
      value.BinaryValue !== undefined
        ? Buffer.from(value.BinaryValue, 'base64').length
        : Buffer.byteLength(value.StringValue ?? '', 'utf8');
  }
  return size;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// ---- filter policies ---------------------------------------------------------------------------

type Scalar = string | number | boolean | null;
type NumericOp = '=' | '<' | '<=' | '>' | '>=';

type Rule =
  | { readonly kind: 'equals'; readonly value: Scalar }
  | { readonly kind: 'prefix' | 'suffix' | 'equals-ignore-case'; readonly value: string }
  | { readonly kind: 'wildcard'; readonly pattern: RegExp }
  | {
      readonly kind: 'anything-but';
      readonly values: readonly (string | number)[];
      readonly prefix?: string;
      readonly suffix?: string;
    }
  | { readonly kind: 'numeric'; readonly conditions: readonly (readonly [NumericOp, number])[] }
  | { readonly kind: 'exists'; readonly value: boolean };

interface FilterPolicy {
  /** Key -> rules (OR), or a nested policy (MessageBody scope). */
  readonly fields: ReadonlyMap<string, readonly Rule[] | FilterPolicy>;
  /** `$or`: at least one alternative must match as well. */
  readonly alternatives: readonly FilterPolicy[];
}

const NUMERIC_OPS = new Set<string>(['=', '<', '<=', '>', '>=']);

function parseRule(raw: unknown, key: string): Rule {
  const bad = (why: string) => invalid(`Filter policy: ${why} (key "${key}")`);
  if (raw === null || typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') {
    return { kind: 'equals', value: raw };
  }
  if (!isObject(raw)) throw bad('Match value must be String, number, true, false, or null');
  const operators = Object.keys(raw);
  if (operators.length !== 1) throw bad('Only one match type is allowed per rule');
  const operator = operators[0] ?? '';
  const operand = raw[operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (typeof operand !== 'string') throw bad(`${operator} match pattern must be a string`);
      return { kind: operator, value: operand };
    case 'wildcard': {
      if (typeof operand !== 'string') throw bad('wildcard match pattern must be a string');
      const source = operand
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      return { kind: 'wildcard', pattern: new RegExp(`^${source}$`, 's') };
    }
    case 'exists':
      if (typeof operand !== 'boolean') throw bad('exists match pattern must be either true or false');
      return { kind: 'exists', value: operand };
    case 'anything-but': {
      if (typeof operand === 'string' || typeof operand === 'number') {
        return { kind: 'anything-but', values: [operand] };
      }
      if (Array.isArray(operand)) {
        if (
          operand.length === 0 ||
          operand.some((item) => typeof item !== 'string' && typeof item !== 'number')
        ) {
          throw bad('Inside anything but list, only strings and numbers are allowed');
        }
        return { kind: 'anything-but', values: operand as (string | number)[] };
      }
      if (isObject(operand)) {
        const entries = Object.entries(operand);
        const [inner, value] = entries[0] ?? [];
        if (entries.length !== 1 || (inner !== 'prefix' && inner !== 'suffix') || typeof value !== 'string') {
          throw bad('anything-but accepts a value, a list, or {"prefix": ...} / {"suffix": ...}');
        }
        return inner === 'prefix'
          ? { kind: 'anything-but', values: [], prefix: value }
          : { kind: 'anything-but', values: [], suffix: value };
      }
      throw bad('Value of anything-but must be a value, a list or an object');
    }
    case 'numeric': {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0 || operand.length > 4) {
        throw bad('Value of numeric must be an array like [">", 0] or [">", 0, "<=", 5]');
      }
      const conditions: [NumericOp, number][] = [];
      for (let index = 0; index < operand.length; index += 2) {
        const op = operand[index];
        const value = operand[index + 1];
        if (typeof op !== 'string' || !NUMERIC_OPS.has(op) || typeof value !== 'number') {
          throw bad(`Unrecognized numeric range operator or value: ${JSON.stringify([op, value])}`);
        }
        conditions.push([op as NumericOp, value]);
      }
      return { kind: 'numeric', conditions };
    }
    default:
      throw bad(`Unrecognized match type ${operator}`);
  }
}

function parsePolicyObject(
  raw: Record<string, unknown>,
  scope: 'MessageAttributes' | 'MessageBody',
): FilterPolicy {
  const fields = new Map<string, readonly Rule[] | FilterPolicy>();
  const alternatives: FilterPolicy[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every(isObject)) {
        throw invalid('Filter policy: $or must be an array of at least two policy objects');
      }
      alternatives.push(...value.map((item) => parsePolicyObject(item as Record<string, unknown>, scope)));
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw invalid(`Filter policy: Empty arrays are not allowed (key "${key}")`);
      fields.set(
        key,
        value.map((rule) => parseRule(rule, key)),
      );
    } else if (isObject(value) && scope === 'MessageBody') {
      fields.set(key, parsePolicyObject(value, scope));
    } else {
      throw invalid(`Filter policy: "${key}" must be an array of match rules`);
    }
  }
  return { fields, alternatives };
}

/** Parses a FilterPolicy attribute; undefined for '' or `{}` (no filtering). */
function parseFilterPolicy(text: string, scope: string): FilterPolicy | undefined {
  if (text.trim() === '') return undefined;
  const raw = safeJson(text);
  if (!isObject(raw)) throw invalid('Filter policy: the policy must be a JSON object');
  if (scope !== 'MessageAttributes' && scope !== 'MessageBody') {
    throw invalid('FilterPolicyScope must be MessageAttributes or MessageBody');
  }
  if (Object.keys(raw).length === 0) return undefined;
  return parsePolicyObject(raw, scope);
}

function numericHolds(value: number, conditions: readonly (readonly [NumericOp, number])[]): boolean {
  return conditions.every(([op, bound]) => {
    switch (op) {
      case '=':
        return value === bound;
      case '<':
        return value < bound;
      case '<=':
        return value <= bound;
      case '>':
        return value > bound;
      case '>=':
        return value >= bound;
    }
    return false;
  });
}

function ruleMatches(rule: Rule, value: Scalar): boolean {
  switch (rule.kind) {
    case 'equals':
      return value === rule.value;
    case 'prefix':
      return typeof value === 'string' && value.startsWith(rule.value);
    case 'suffix':
      return typeof value === 'string' && value.endsWith(rule.value);
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === rule.value.toLowerCase();
    case 'wildcard':
      return typeof value === 'string' && rule.pattern.test(value);
    case 'anything-but':
      if (typeof value !== 'string' && typeof value !== 'number') return false;
      if (rule.values.includes(value)) return false;
      if (rule.prefix !== undefined && (typeof value !== 'string' || value.startsWith(rule.prefix)))
        return false;
      if (rule.suffix !== undefined && (typeof value !== 'string' || value.endsWith(rule.suffix)))
        return false;
      return true;
    case 'numeric':
      return typeof value === 'number' && numericHolds(value, rule.conditions);
    case 'exists':
      return false;
  }
}

/** Whether `rules` (OR) accept a field whose values are `values` (undefined: the field is absent). */
function fieldMatches(rules: readonly Rule[], values: readonly Scalar[] | undefined): boolean {
  return rules.some((rule) => {
    if (rule.kind === 'exists') return rule.value === (values !== undefined);
    return values?.some((value) => ruleMatches(rule, value)) ?? false;
  });
}

/** The values a message attribute offers to a filter: String.Array elements, Number as a number. */
function attributeValues(attribute: SnsAttributeValue | undefined): Scalar[] | undefined {
  if (!attribute) return undefined;
  if (attribute.DataType === 'String.Array') {
    const parsed = safeJson(attribute.StringValue ?? '[]');
    return Array.isArray(parsed) ? (parsed as Scalar[]) : [];
  }
  if (attribute.DataType.startsWith('Number')) return [Number(attribute.StringValue)];
  if (attribute.DataType.startsWith('String')) return [attribute.StringValue ?? ''];
  return [];
}

function matchesAttributes(policy: FilterPolicy, attributes: SnsAttributes): boolean {
  for (const [key, rules] of policy.fields) {
    if (!Array.isArray(rules)) return false;
    if (!fieldMatches(rules as readonly Rule[], attributeValues(attributes[key]))) return false;
  }
  return (
    policy.alternatives.length === 0 || policy.alternatives.some((alt) => matchesAttributes(alt, attributes))
  );
}

function bodyValues(value: unknown): Scalar[] | undefined {
  if (value === undefined) return undefined;
  const items = Array.isArray(value) ? value : [value];
  return items.filter((item): item is Scalar => item === null || typeof item !== 'object');
}

function matchesBody(policy: FilterPolicy, body: Record<string, unknown>): boolean {
  for (const [key, rules] of policy.fields) {
    const value = body[key];
    if (Array.isArray(rules)) {
      if (!fieldMatches(rules as readonly Rule[], bodyValues(value))) return false;
    } else {
      const nested = rules as FilterPolicy;
      if (!isObject(value) || !matchesBody(nested, value)) return false;
    }
  }
  return policy.alternatives.length === 0 || policy.alternatives.some((alt) => matchesBody(alt, body));
}

// ---- topics and subscriptions ------------------------------------------------------------------

const PROTOCOLS = new Set([
  'http',
  'https',
  'email',
  'email-json',
  'sms',
  'sqs',
  'application',
  'lambda',
  'firehose',
]);
const RAW_PROTOCOLS = new Set(['http', 'https', 'sqs', 'firehose']);
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$/;
const QUEUE_ARN = /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(?:\.fifo)?$/;
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(?::[A-Za-z0-9_$-]+)?$/;
const TOPIC_ATTRIBUTES = new Set([
  'DisplayName',
  'Policy',
  'DeliveryPolicy',
  'KmsMasterKeyId',
  'TracingConfig',
  'SignatureVersion',
  'ArchivePolicy',
  'DataProtectionPolicy',
]);
const SUBSCRIPTION_ATTRIBUTES = new Set([
  'DeliveryPolicy',
  'FilterPolicy',
  'FilterPolicyScope',
  'RawMessageDelivery',
  'RedrivePolicy',
  'SubscriptionRoleArn',
  'ReplayPolicy',
]);
const PAGE_SIZE = 100;

interface Topic {
  readonly arn: string;
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
  readonly attributes: Map<string, string>;
  readonly subscriptions: Subscription[];
}

interface Subscription {
  readonly arn: string;
  readonly topicArn: string;
  readonly protocol: string;
  readonly endpoint: string;
  readonly owner: string;
  readonly attributes: Map<string, string>;
  filter: FilterPolicy | undefined;
}

interface PublishInput {
  readonly message: string;
  readonly subject: string | undefined;
  readonly structure: 'json' | undefined;
  /** For MessageStructure=json: protocol -> message. */
  readonly perProtocol: Readonly<Record<string, string>> | undefined;
  readonly attributes: SnsAttributes;
}

export interface SnsStateOptions {
  /** Where `sqs` subscriptions deliver. */
  readonly sqs: SqsState;
  /** Clock in milliseconds (default: the SQS state's clock). */
  readonly now?: () => number;
}

/** The topics and subscriptions of every account and region, the SNS API, and what was published. */
export class SnsState {
  private readonly topics = new Map<string, Topic>();
  private readonly log: PublishedSnsMessage[] = [];
  private readonly deliveryLog: SnsDelivery[] = [];
  private readonly sqs: SqsState;
  private readonly now: () => number;

  constructor(options: SnsStateOptions) {
    this.sqs = options.sqs;
    this.now = options.now ?? (() => options.sqs.now());
  }

  /** Every message published so far (to `topicArn` only, when given), oldest first. */
  published(topicArn?: string): PublishedSnsMessage[] {
    return this.log.filter((entry) => topicArn === undefined || entry.topicArn === topicArn);
  }

  /** Every delivery attempt so far, oldest first, optionally narrowed. */
  deliveries(filter: { topicArn?: string; subscriptionArn?: string; protocol?: string } = {}): SnsDelivery[] {
    return this.deliveryLog.filter(
      (entry) =>
        (filter.topicArn === undefined || entry.topicArn === filter.topicArn) &&
        (filter.subscriptionArn === undefined || entry.subscriptionArn === filter.subscriptionArn) &&
        (filter.protocol === undefined || entry.protocol === filter.protocol),
    );
  }

  topicArns(): string[] {
    return [...this.topics.keys()];
  }

  subscriptions(topicArn?: string): InspectedSubscription[] {
    return [...this.topics.values()]
      .filter((topic) => topicArn === undefined || topic.arn === topicArn)
      .flatMap((topic) => topic.subscriptions)
      .map((subscription) => ({
        subscriptionArn: subscription.arn,
        topicArn: subscription.topicArn,
        protocol: subscription.protocol,
        endpoint: subscription.endpoint,
        attributes: Object.fromEntries(subscription.attributes),
      }));
  }

  /** Forgets what was published and delivered (topics and subscriptions stay). */
  clearPublished(): void {
    this.log.length = 0;
    this.deliveryLog.length = 0;
  }

  /** Serves one call; errors are rendered as SNS sends them. */
  handle(call: SnsCall): ServiceReply {
    try {
      return this.dispatch(call);
    } catch (error) {
      if (error instanceof SnsError) return snsErrorReply(error.code, error.message, call.requestId);
      throw error;
    }
  }

  // ---- operations ----

  private dispatch(call: SnsCall): ServiceReply {
    const { params, operation, requestId } = call;
    const reply = (inner: string | undefined) => resultReply(operation, inner, requestId);
    switch (operation) {
      case 'CreateTopic':
        return reply(textElement('TopicArn', this.createTopic(call).arn));
      case 'DeleteTopic':
        this.topics.delete(params.get('TopicArn') ?? '');
        return reply(undefined);
      case 'ListTopics': {
        const arns = [...this.topics.values()]
          .filter((topic) => topic.accountId === call.accountId && topic.region === call.region)
          .map((topic) => topic.arn)
          .sort();
        const page = paginate(arns, params.get('NextToken'));
        return reply(
          memberList(
            'Topics',
            page.items.map((arn) => textElement('TopicArn', arn)),
          ) + textElement('NextToken', page.next),
        );
      }
      case 'GetTopicAttributes': {
        const topic = this.topic(params.get('TopicArn'));
        return reply(entryMap('Attributes', this.topicAttributes(topic)));
      }
      case 'SetTopicAttributes': {
        const topic = this.topic(params.get('TopicArn'));
        const name = params.get('AttributeName') ?? '';
        if (!TOPIC_ATTRIBUTES.has(name)) throw invalid('AttributeName');
        topic.attributes.set(name, params.get('AttributeValue') ?? '');
        return reply(undefined);
      }
      case 'Subscribe':
        return reply(textElement('SubscriptionArn', this.subscribe(call).arn));
      case 'Unsubscribe': {
        const arn = params.get('SubscriptionArn') ?? '';
        const found = this.findSubscription(arn);
        if (!found) throw new SnsError('NotFound', 'Subscription does not exist');
        found.topic.subscriptions.splice(found.topic.subscriptions.indexOf(found.subscription), 1);
        return reply(undefined);
      }
      case 'ListSubscriptionsByTopic': {
        const topic = this.topic(params.get('TopicArn'));
        return reply(this.subscriptionPage(topic.subscriptions, params.get('NextToken')));
      }
      case 'ListSubscriptions': {
        const all = [...this.topics.values()]
          .filter((topic) => topic.accountId === call.accountId && topic.region === call.region)
          .flatMap((topic) => topic.subscriptions);
        return reply(this.subscriptionPage(all, params.get('NextToken')));
      }
      case 'GetSubscriptionAttributes': {
        const found = this.findSubscription(params.get('SubscriptionArn') ?? '');
        if (!found) throw new SnsError('NotFound', 'Subscription does not exist');
        return reply(entryMap('Attributes', subscriptionAttributes(found.subscription)));
      }
      case 'SetSubscriptionAttributes': {
        const found = this.findSubscription(params.get('SubscriptionArn') ?? '');
        if (!found) throw new SnsError('NotFound', 'Subscription does not exist');
        const name = params.get('AttributeName') ?? '';
        const next = new Map(found.subscription.attributes);
        next.set(name, params.get('AttributeValue') ?? '');
        const validated = validateSubscriptionAttributes(
          found.subscription.protocol,
          Object.fromEntries(next),
        );
        found.subscription.attributes.clear();
        for (const [key, value] of validated.attributes) found.subscription.attributes.set(key, value);
        found.subscription.filter = validated.filter;
        return reply(undefined);
      }
      case 'Publish': {
        const topic = this.publishTarget(params);
        const input = publishInput(params, '');
        return reply(textElement('MessageId', this.publish(topic, input, call)));
      }
      case 'PublishBatch':
        return reply(this.publishBatch(call));
      default:
        throw new SnsError('InvalidAction', `Could not find operation ${operation} for version 2010-03-31`);
    }
  }

  private createTopic(call: SnsCall): Topic {
    const name = call.params.get('Name') ?? '';
    if (name.endsWith('.fifo'))
      throw invalid('The emulator serves standard topics only; FIFO topics are not emulated.');
    if (!TOPIC_NAME.test(name)) {
      throw invalid('Topic Name: must be 1 to 256 alphanumeric characters, hyphens or underscores.');
    }
    const attributes = stringMap(call.params, 'Attributes');
    for (const [key, value] of Object.entries(attributes)) {
      if (key === 'FifoTopic' && value === 'true') {
        throw invalid('The emulator serves standard topics only; FIFO topics are not emulated.');
      }
      if (key !== 'FifoTopic' && !TOPIC_ATTRIBUTES.has(key))
        throw invalid(`Attributes Reason: Unknown attribute ${key}`);
    }
    const arn = `arn:aws:sns:${call.region}:${call.accountId}:${name}`;
    const existing = this.topics.get(arn);
    if (existing) {
      for (const [key, value] of Object.entries(attributes)) {
        if (key !== 'FifoTopic' && (existing.attributes.get(key) ?? '') !== value) {
          throw invalid('Attributes Reason: Topic already exists with different attributes');
        }
      }
      return existing;
    }
    const topic: Topic = {
      arn,
      name,
      accountId: call.accountId,
      region: call.region,
      attributes: new Map(Object.entries(attributes).filter(([key]) => key !== 'FifoTopic')),
      subscriptions: [],
    };
    this.topics.set(arn, topic);
    return topic;
  }

  private topic(arn: string | null): Topic {
    if (!arn) throw invalid('TopicArn');
    if (!TOPIC_ARN.test(arn)) throw invalid('TopicArn');
    const topic = this.topics.get(arn);
    if (!topic) throw topicNotFound();
    return topic;
  }

  private topicAttributes(topic: Topic): Record<string, string> {
    const confirmed = topic.subscriptions.length;
    return {
      TopicArn: topic.arn,
      Owner: topic.accountId,
      DisplayName: topic.attributes.get('DisplayName') ?? '',
      SubscriptionsConfirmed: String(confirmed),
      SubscriptionsPending: '0',
      SubscriptionsDeleted: '0',
      Policy:
        topic.attributes.get('Policy') ??
        JSON.stringify({
          Version: '2008-10-17',
          Id: '__default_policy_ID',
          Statement: [
            {
              Sid: '__default_statement_ID',
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Action: ['SNS:Publish', 'SNS:Subscribe', 'SNS:Receive', 'SNS:GetTopicAttributes'],
              Resource: topic.arn,
              Condition: { StringEquals: { 'AWS:SourceOwner': topic.accountId } },
            },
          ],
        }),
      ...Object.fromEntries(
        [...topic.attributes].filter(([key]) => key !== 'Policy' && key !== 'DisplayName'),
      ),
    };
  }

  private subscribe(call: SnsCall): Subscription {
    const { params } = call;
    const topic = this.topic(params.get('TopicArn'));
    const protocol = params.get('Protocol') ?? '';
    if (!PROTOCOLS.has(protocol))
      throw invalid(`Amazon SNS does not support this protocol string: ${protocol}`);
    const endpoint = params.get('Endpoint') ?? '';
    validateEndpoint(protocol, endpoint);
    const requested = stringMap(params, 'Attributes');
    const validated = validateSubscriptionAttributes(protocol, requested);
    const existing = topic.subscriptions.find(
      (candidate) => candidate.protocol === protocol && candidate.endpoint === endpoint,
    );
    if (existing) {
      for (const [key, value] of validated.attributes) {
        if (existing.attributes.get(key) !== value) {
          throw invalid('Attributes Reason: Subscription already exists with different attributes');
        }
      }
      return existing;
    }
    const subscription: Subscription = {
      arn: `${topic.arn}:${randomUUID()}`,
      topicArn: topic.arn,
      protocol,
      endpoint,
      owner: call.accountId,
      attributes: new Map(validated.attributes),
      filter: validated.filter,
    };
    topic.subscriptions.push(subscription);
    return subscription;
  }

  private findSubscription(arn: string): { topic: Topic; subscription: Subscription } | undefined {
    for (const topic of this.topics.values()) {
      const subscription = topic.subscriptions.find((candidate) => candidate.arn === arn);
      if (subscription) return { topic, subscription };
    }
    return undefined;
  }

  private subscriptionPage(subscriptions: readonly Subscription[], token: string | null): string {
    const page = paginate(subscriptions, token);
    return (
      memberList(
        'Subscriptions',
        page.items.map(
          (subscription) =>
            textElement('SubscriptionArn', subscription.arn) +
            textElement('Owner', subscription.owner) +
            textElement('Protocol', subscription.protocol) +
            textElement('Endpoint', subscription.endpoint) +
            textElement('TopicArn', subscription.topicArn),
        ),
      ) + textElement('NextToken', page.next)
    );
  }

  private publishTarget(params: URLSearchParams): Topic {
    if (params.get('PhoneNumber')) throw invalid('PhoneNumber: the emulator does not send SMS');
    const arn = params.get('TopicArn') ?? params.get('TargetArn');
    if (!arn) throw invalid('TopicArn or TargetArn Reason: no value for required parameter');
    if (!TOPIC_ARN.test(arn)) throw invalid('TopicArn');
    const topic = this.topics.get(arn);
    if (!topic) {
      // Validate the message first, as SNS does, then report the missing topic.
      publishInput(params, '');
      throw topicNotFound();
    }
    return topic;
  }

  private publishBatch(call: SnsCall): string {
    const { params } = call;
    const topic = this.topic(params.get('TopicArn'));
    const entries = indexes(params, 'PublishBatchRequestEntries.member');
    if (entries.length === 0)
      throw new SnsError('EmptyBatchRequest', 'The batch request does not contain any entries.');
    if (entries.length > 10) {
      throw new SnsError(
        'TooManyEntriesInBatchRequest',
        'The batch request contains more entries than permissible.',
      );
    }
    const ids = new Set<string>();
    let total = 0;
    for (const entry of entries) {
      const id = params.get(`${entry}.Id`) ?? '';
      if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
        throw new SnsError(
          'InvalidBatchEntryId',
          'The Id of a batch entry in a batch request does not abide by the specification.',
        );
      }
      if (ids.has(id))
        throw new SnsError(
          'BatchEntryIdsNotDistinct',
          'Two or more batch entries in the request have the same Id.',
        );
      ids.add(id);
      total += Buffer.byteLength(params.get(`${entry}.Message`) ?? '', 'utf8');
      for (const key of params.keys()) {
        if (key.startsWith(`${entry}.MessageAttributes.`))
          total += Buffer.byteLength(params.get(key) ?? '', 'utf8');
      }
    }
    if (total > SNS_MAX_MESSAGE_BYTES) {
      throw new SnsError(
        'BatchRequestTooLong',
        'The length of all the messages put together is more than the limit.',
      );
    }
    const successful: string[] = [];
    const failed: string[] = [];
    for (const entry of entries) {
      const id = params.get(`${entry}.Id`) ?? '';
      try {
        const messageId = this.publish(topic, publishInput(params, `${entry}.`), call);
        successful.push(textElement('Id', id) + textElement('MessageId', messageId));
      } catch (error) {
        if (!(error instanceof SnsError)) throw error;
        failed.push(
          textElement('Id', id) +
            textElement('Code', error.code) +
            textElement('Message', error.message) +
            textElement('SenderFault', 'true'),
        );
      }
    }
    return memberList('Successful', successful) + memberList('Failed', failed);
  }

  private publish(topic: Topic, input: PublishInput, call: SnsCall): string {
    const messageId = randomUUID();
    const time = new Date(this.now()).toISOString();
    this.log.push({
      messageId,
      topicArn: topic.arn,
      topicName: topic.name,
      subject: input.subject,
      message: input.message,
      structure: input.structure,
      attributes: input.attributes,
      time,
    });
    for (const subscription of topic.subscriptions) {
      this.deliver(topic, subscription, input, messageId, time, call.endpoint);
    }
    return messageId;
  }

  private deliver(
    topic: Topic,
    subscription: Subscription,
    input: PublishInput,
    messageId: string,
    time: string,
    endpoint: string,
  ): void {
    const protocol = subscription.protocol;
    const message = input.perProtocol?.[protocol] ?? input.perProtocol?.default ?? input.message;
    const raw = subscription.attributes.get('RawMessageDelivery') === 'true';
    const record = (status: SnsDelivery['status'], payload?: string) =>
      this.deliveryLog.push({
        messageId,
        topicArn: topic.arn,
        subscriptionArn: subscription.arn,
        protocol,
        endpoint: subscription.endpoint,
        status,
        ...(payload === undefined ? {} : { payload }),
        raw,
        time,
      });
    if (subscription.filter) {
      const scope = subscription.attributes.get('FilterPolicyScope') ?? 'MessageAttributes';
      const body = scope === 'MessageBody' ? safeJson(message) : undefined;
      const matches =
        scope === 'MessageBody'
          ? isObject(body) && matchesBody(subscription.filter, body)
          : matchesAttributes(subscription.filter, input.attributes);
      if (!matches) {
        record('filtered');
        return;
      }
    }
    const envelope = () =>
      notification(topic, subscription, input, message, messageId, time, endpoint, protocol === 'lambda');
    switch (protocol) {
      case 'sqs': {
        const payload = raw ? message : envelope();
        const attributes = raw ? sqsAttributes(input.attributes) : {};
        const delivered = this.sqs.deliver(subscription.endpoint, payload, attributes, SNS_SENDER_ID);
        record(delivered ? 'delivered' : 'failed', payload);
        return;
      }
      case 'email':
      case 'sms':
        record('delivered', message);
        return;
      case 'lambda':
        record(
          'delivered',
          JSON.stringify({
            Records: [
              {
                EventSource: 'aws:sns',
                EventVersion: '1.0',
                EventSubscriptionArn: subscription.arn,
                Sns: JSON.parse(envelope()),
              },
            ],
          }),
        );
        return;
      default:
        record('delivered', raw ? message : envelope());
    }
  }
}

// ---- publishing helpers ------------------------------------------------------------------------

/** Reads and validates a Publish (or a PublishBatch entry under `prefix`). */
function publishInput(params: URLSearchParams, prefix: string): PublishInput {
  const message = params.get(`${prefix}Message`);
  if (message === null || message === '') throw invalid('Empty message');
  const subject = params.get(`${prefix}Subject`) ?? undefined;
  if (
    subject !== undefined &&
    (subject.length === 0 || subject.length > 100 || !/^[\x20-\x7e]+$/.test(subject))
  ) {
    throw invalid('Subject');
  }
  const structureParam = params.get(`${prefix}MessageStructure`);
  if (structureParam !== null && structureParam !== 'json') throw invalid('MessageStructure');
  const structure = structureParam === 'json' ? 'json' : undefined;
  let perProtocol: Record<string, string> | undefined;
  if (structure) {
    const parsed = safeJson(message);
    if (!isObject(parsed)) throw invalid('Message Structure - JSON message body failed to parse');
    if (typeof parsed.default !== 'string')
      throw invalid('Message Structure - No default entry in JSON message body');
    perProtocol = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'string')
        throw invalid(`Message Structure - the value of "${key}" must be a string`);
      perProtocol[key] = value;
    }
  }
  const attributes = messageAttributes(params, `${prefix}MessageAttributes`);
  if (Buffer.byteLength(message, 'utf8') + attributeBytes(attributes) > SNS_MAX_MESSAGE_BYTES) {
    throw invalid('Message too long');
  }
  return { message, subject, structure, perProtocol, attributes };
}

/** The attributes SNS hands to SQS with raw message delivery. */
function sqsAttributes(attributes: SnsAttributes): SqsAttributes {
  const result: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }> = {};
  for (const [name, value] of Object.entries(attributes).slice(0, 10)) {
    result[name] =
      value.BinaryValue !== undefined
        ? { DataType: value.DataType, BinaryValue: value.BinaryValue }
        : { DataType: value.DataType, StringValue: value.StringValue ?? '' };
  }
  return result;
}

/** The standard SNS JSON notification (Lambda's event spells SigningCertUrl/UnsubscribeUrl). */
function notification(
  topic: Topic,
  subscription: Subscription,
  input: PublishInput,
  message: string,
  messageId: string,
  time: string,
  endpoint: string,
  lambda: boolean,
): string {
  const base = trimTrailingSlashes(endpoint);
  const attributes = Object.fromEntries(
    Object.entries(input.attributes).map(([name, value]) => [
      name,
      { Type: value.DataType, Value: value.BinaryValue ?? value.StringValue ?? '' },
    ]),
  );
  const signingCertUrl = `${base}/SimpleNotificationService-emulator.pem`;
  const unsubscribeUrl = `${base}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subscription.arn)}`;
  const signature = createHash('sha256').update(`${messageId}\n${message}`).digest('base64');
  return JSON.stringify({
    Type: 'Notification',
    MessageId: messageId,
    TopicArn: topic.arn,
    ...(lambda
      ? { Subject: input.subject ?? null }
      : input.subject !== undefined
        ? { Subject: input.subject }
        : {}),
    Message: message,
    Timestamp: time,
    SignatureVersion: topic.attributes.get('SignatureVersion') ?? '1',
    Signature: signature,
    ...(lambda
      ? { SigningCertUrl: signingCertUrl, UnsubscribeUrl: unsubscribeUrl }
      : { SigningCertURL: signingCertUrl, UnsubscribeURL: unsubscribeUrl }),
    ...(Object.keys(attributes).length || lambda ? { MessageAttributes: attributes } : {}),
  });
}

function validateEndpoint(protocol: string, endpoint: string): void {
  const ok =
    protocol === 'sqs'
      ? QUEUE_ARN.test(endpoint)
      : protocol === 'lambda'
        ? LAMBDA_ARN.test(endpoint)
        : protocol === 'email' || protocol === 'email-json'
          ? /^[^@\s]+@[^@\s]+$/.test(endpoint)
          : protocol === 'http' || protocol === 'https'
            ? endpoint.startsWith(`${protocol}://`)
            : endpoint !== '';
  if (!ok) {
    const what: Record<string, string> = {
      sqs: 'SQS endpoint ARN',
      lambda: 'Lambda endpoint ARN',
      email: 'Email address',
    };
    throw invalid(what[protocol] ?? 'Endpoint');
  }
}

function validateSubscriptionAttributes(
  protocol: string,
  attributes: Readonly<Record<string, string>>,
): { attributes: Map<string, string>; filter: FilterPolicy | undefined } {
  const result = new Map<string, string>();
  for (const [name, value] of Object.entries(attributes)) {
    if (!SUBSCRIPTION_ATTRIBUTES.has(name)) throw invalid(`Attributes Reason: Unknown attribute ${name}`);
    if (name === 'RawMessageDelivery') {
      if (value !== 'true' && value !== 'false')
        throw invalid('Attributes Reason: RawMessageDelivery: Invalid value');
      if (value === 'true' && !RAW_PROTOCOLS.has(protocol)) {
        throw invalid(
          `Attributes Reason: Delivery protocol [${protocol}] does not support raw message delivery.`,
        );
      }
    }
    if (name === 'FilterPolicyScope' && value !== 'MessageAttributes' && value !== 'MessageBody') {
      throw invalid('Attributes Reason: FilterPolicyScope: Invalid value');
    }
    result.set(name, value);
  }
  const policy = result.get('FilterPolicy');
  const filter =
    policy === undefined
      ? undefined
      : parseFilterPolicy(policy, result.get('FilterPolicyScope') ?? 'MessageAttributes');
  if (policy !== undefined && filter === undefined) result.delete('FilterPolicy');
  if (filter && !result.has('FilterPolicyScope')) result.set('FilterPolicyScope', 'MessageAttributes');
  return { attributes: result, filter };
}

function subscriptionAttributes(subscription: Subscription): Record<string, string> {
  return {
    SubscriptionArn: subscription.arn,
    TopicArn: subscription.topicArn,
    Protocol: subscription.protocol,
    Endpoint: subscription.endpoint,
    Owner: subscription.owner,
    ConfirmationWasAuthenticated: 'true',
    PendingConfirmation: 'false',
    RawMessageDelivery: 'false',
    ...Object.fromEntries(subscription.attributes),
  };
}

const TOKEN_PREFIX = 'emu1.';

function paginate<T>(items: readonly T[], token: string | null): { items: T[]; next: string | undefined } {
  let offset = 0;
  if (token) {
    offset = token.startsWith(TOKEN_PREFIX)
      ? Number(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'))
      : Number.NaN;
    if (!Number.isInteger(offset) || offset < 0) throw invalid('NextToken');
  }
  const page = items.slice(offset, offset + PAGE_SIZE);
  const end = offset + page.length;
  return {
    items: page,
    next:
      end < items.length ? TOKEN_PREFIX + Buffer.from(String(end), 'utf8').toString('base64url') : undefined,
  };
}
