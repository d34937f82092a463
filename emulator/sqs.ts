/**
 * SQS in the emulator: standard queues held in memory, served on the JSON 1.0 protocol that the
 * SDK v3 client speaks (`X-Amz-Target: AmazonSQS.<Op>`, awsQueryCompatible errors: a JSON
 * `__type` plus the `x-amzn-query-error: <code>;Sender` header from which the SDK names the error).
 *
 * Semantics kept: visibility timeouts (on a clock tests can advance), delays, retention, receive
 * counts, redrive to the dead-letter queue once a receive would exceed `maxReceiveCount`, long
 * polling (returns at once when messages are visible, else waits up to WaitTimeSeconds), batch
 * partial failures, and the MD5 digests of body and message attributes exactly as SQS computes
 * them. Not emulated: FIFO queues, the 60-second PurgeQueue and DeleteQueue cool-downs, queue
 * policies (any caller may use any queue), tags, KMS.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { trimTrailingSlashes } from '#shared/model/text.ts';

/** A message attribute as the JSON protocol carries it (BinaryValue base64). */
export interface SqsAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

export type SqsAttributes = Readonly<Record<string, SqsAttributeValue>>;

/** A message as `SqsState.messages()` reports it. */
export interface InspectedSqsMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: SqsAttributes;
  readonly receiveCount: number;
  readonly sentTimestamp: number;
  /** False while delayed or in flight (received and not yet visible again). */
  readonly visible: boolean;
  readonly deadLetterSourceArn?: string;
}

export interface InspectedQueue {
  readonly name: string;
  readonly arn: string;
  readonly accountId: string;
  readonly region: string;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

/** One SQS call, as the AWS handler hands it over (the caller already authenticated). */
export interface SqsCall {
  readonly operation: string;
  readonly body: string;
  readonly region: string;
  /** The caller's account (ListQueues, CreateQueue and GetQueueUrl act in it). */
  readonly accountId: string;
  /** The caller's principal id (the SenderId of the messages it sends). */
  readonly senderId: string;
  /** The URL the caller reached the emulator on (`http://127.0.0.1:PORT`): queue URLs start with it. */
  readonly endpoint: string;
}

export interface ServiceReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

// ---- errors ------------------------------------------------------------------------------------

/** SQS errors: the JSON `__type`, the awsQuery code of `x-amzn-query-error`, the HTTP status. */
const ERRORS: Record<string, { type: string; queryCode: string; status: number }> = {
  QueueDoesNotExist: {
    type: 'com.amazonaws.sqs#QueueDoesNotExist',
    queryCode: 'AWS.SimpleQueueService.NonExistentQueue',
    status: 400,
  },
  QueueNameExists: {
    type: 'com.amazonaws.sqs#QueueNameExists',
    queryCode: 'QueueAlreadyExists',
    status: 400,
  },
  ReceiptHandleIsInvalid: {
    type: 'com.amazonaws.sqs#ReceiptHandleIsInvalid',
    queryCode: 'ReceiptHandleIsInvalid',
    status: 404,
  },
  MessageNotInflight: {
    type: 'com.amazonaws.sqs#MessageNotInflight',
    queryCode: 'AWS.SimpleQueueService.MessageNotInflight',
    status: 400,
  },
  EmptyBatchRequest: {
    type: 'com.amazonaws.sqs#EmptyBatchRequest',
    queryCode: 'AWS.SimpleQueueService.EmptyBatchRequest',
    status: 400,
  },
  TooManyEntriesInBatchRequest: {
    type: 'com.amazonaws.sqs#TooManyEntriesInBatchRequest',
    queryCode: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    status: 400,
  },
  BatchEntryIdsNotDistinct: {
    type: 'com.amazonaws.sqs#BatchEntryIdsNotDistinct',
    queryCode: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
    status: 400,
  },
  InvalidBatchEntryId: {
    type: 'com.amazonaws.sqs#InvalidBatchEntryId',
    queryCode: 'AWS.SimpleQueueService.InvalidBatchEntryId',
    status: 400,
  },
  BatchRequestTooLong: {
    type: 'com.amazonaws.sqs#BatchRequestTooLong',
    queryCode: 'AWS.SimpleQueueService.BatchRequestTooLong',
    status: 400,
  },
  InvalidAttributeName: {
    type: 'com.amazonaws.sqs#InvalidAttributeName',
    queryCode: 'InvalidAttributeName',
    status: 400,
  },
  InvalidAttributeValue: {
    type: 'com.amazonaws.sqs#InvalidAttributeValue',
    queryCode: 'InvalidAttributeValue',
    status: 400,
  },
  InvalidMessageContents: {
    type: 'com.amazonaws.sqs#InvalidMessageContents',
    queryCode: 'InvalidMessageContents',
    status: 400,
  },
  InvalidParameterValue: {
    type: 'com.amazon.coral.validate#ValidationException',
    queryCode: 'InvalidParameterValue',
    status: 400,
  },
  MissingParameter: {
    type: 'com.amazon.coral.validate#ValidationException',
    queryCode: 'MissingParameter',
    status: 400,
  },
  InvalidAction: {
    type: 'com.amazon.coral.service#UnknownOperationException',
    queryCode: 'InvalidAction',
    status: 400,
  },
  RequestThrottled: {
    type: 'com.amazonaws.sqs#RequestThrottled',
    queryCode: 'RequestThrottled',
    status: 400,
  },
  InternalError: { type: 'com.amazonaws.sqs#InternalError', queryCode: 'InternalError', status: 500 },
};

export class SqsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An SQS error on the wire. `code` is a key of the table above (or any other code, sent as is);
 * `status` overrides the table's status.
 */
export function sqsErrorReply(code: string, message: string, status?: number): ServiceReply {
  const known = ERRORS[code];
  const httpStatus = status ?? known?.status ?? 400;
  const queryCode = known?.queryCode ?? code;
  return {
    status: httpStatus,
    contentType: 'application/x-amz-json-1.0',
    headers: { 'x-amzn-query-error': `${queryCode};${httpStatus >= 500 ? 'Receiver' : 'Sender'}` },
    body: JSON.stringify({ __type: known?.type ?? code, message }),
  };
}

const invalidValue = (message: string) => new SqsError('InvalidParameterValue', message);

// ---- digests and sizes -------------------------------------------------------------------------

const md5Hex = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

const isBinaryType = (dataType: string) => dataType === 'Binary' || dataType.startsWith('Binary.');

/**
 * MD5OfMessageAttributes as SQS computes it: for each attribute in name order, the length-prefixed
 * (4-byte big-endian) UTF-8 name and data type, a transport byte (1 string/number, 2 binary) and
 * the length-prefixed value bytes; undefined when there are no attributes.
 */
export function md5OfMessageAttributes(attributes: SqsAttributes): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const name of names) {
    const value = attributes[name];
    if (!value) continue;
    parts.push(
      lengthPrefixed(Buffer.from(name, 'utf8')),
      lengthPrefixed(Buffer.from(value.DataType, 'utf8')),
    );
    if (isBinaryType(value.DataType)) {
      parts.push(Buffer.from([2]), lengthPrefixed(Buffer.from(value.BinaryValue ?? '', 'base64')));
    } else {
      parts.push(Buffer.from([1]), lengthPrefixed(Buffer.from(value.StringValue ?? '', 'utf8')));
    }
  }
  return md5Hex(Buffer.concat(parts));
}

/** Bytes a message counts against MaximumMessageSize: body plus attribute names, types and values. */
function messageSize(body: string, attributes: SqsAttributes): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value.DataType, 'utf8');
    size += isBinaryType(value.DataType)
      ? Buffer.from(value.BinaryValue ?? '', 'base64').length
      : Buffer.byteLength(value.StringValue ?? '', 'utf8');
  }
  return size;
}

/** Characters SQS accepts in bodies and string values: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF. */
const INVALID_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

// ---- input validation --------------------------------------------------------------------------

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function requireString(input: Json, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value === '') {
    throw new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
  }
  return value;
}

function optionalInteger(input: Json, name: string, min: number, max: number): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw invalidValue(
      `Value ${String(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}.`,
    );
  }
  return number;
}

function stringList(input: Json, name: string): string[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw invalidValue(`${name} must be a list of strings.`);
  }
  return value as string[];
}

const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\..{1,250})?$/;

/** Validates SendMessage's MessageAttributes (at most 10, SQS's naming and typing rules). */
function messageAttributes(raw: unknown): Record<string, SqsAttributeValue> {
  if (raw === undefined || raw === null) return {};
  const object = asObject(raw);
  if (!object) throw invalidValue('MessageAttributes must be a map of attribute name to value.');
  const names = Object.keys(object);
  if (names.length > 10) {
    throw invalidValue(`Number of message attributes [${names.length}] exceeds the allowed maximum [10].`);
  }
  const result: Record<string, SqsAttributeValue> = {};
  for (const name of names) {
    if (
      !ATTRIBUTE_NAME.test(name) ||
      name.startsWith('.') ||
      name.endsWith('.') ||
      name.includes('..') ||
      /^(aws|amazon)\./i.test(name)
    ) {
      throw invalidValue(`Message (user) attribute name '${name}' is invalid.`);
    }
    const value = asObject(object[name]) ?? {};
    const dataType = value.DataType;
    if (typeof dataType !== 'string' || !DATA_TYPE.test(dataType)) {
      throw invalidValue(
        `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
      );
    }
    if (isBinaryType(dataType)) {
      const binary = value.BinaryValue;
      if (typeof binary !== 'string' || binary === '') {
        throw invalidValue(
          `Message (user) attribute '${name}' must contain a non-empty value of type 'Binary'.`,
        );
      }
      result[name] = { DataType: dataType, BinaryValue: binary };
      continue;
    }
    const text = value.StringValue;
    const kind = dataType.startsWith('Number') ? 'Number' : 'String';
    if (typeof text !== 'string' || text === '') {
      throw invalidValue(
        `Message (user) attribute '${name}' must contain a non-empty value of type '${kind}'.`,
      );
    }
    if (INVALID_CHARACTER.test(text)) {
      throw new SqsError(
        'InvalidMessageContents',
        `Message (user) attribute '${name}' contains invalid characters.`,
      );
    }
    if (kind === 'Number' && (text.trim() === '' || !Number.isFinite(Number(text)))) {
      throw invalidValue(`Can't cast the value of message (user) attribute '${name}' to a number.`);
    }
    result[name] = { DataType: dataType, StringValue: text };
  }
  return result;
}

// ---- queues ------------------------------------------------------------------------------------

/** Queue attributes that callers set, with SQS's defaults and valid ranges. */
const NUMERIC_ATTRIBUTES: Record<string, { default?: number; min: number; max: number }> = {
  DelaySeconds: { default: 0, min: 0, max: 900 },
  MaximumMessageSize: { default: 1_048_576, min: 1024, max: 1_048_576 },
  MessageRetentionPeriod: { default: 345_600, min: 60, max: 1_209_600 },
  ReceiveMessageWaitTimeSeconds: { default: 0, min: 0, max: 20 },
  VisibilityTimeout: { default: 30, min: 0, max: 43_200 },
  KmsDataKeyReusePeriodSeconds: { min: 60, max: 86_400 },
};
const TEXT_ATTRIBUTES = new Set([
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'Policy',
  'KmsMasterKeyId',
  'SqsManagedSseEnabled',
]);
const COMPUTED_ATTRIBUTES = [
  'QueueArn',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
];
const SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'DeadLetterQueueSourceArn',
  'AWSTraceHeader',
];

interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly attributes: SqsAttributes;
  readonly senderId: string;
  readonly sentTimestamp: number;
  readonly traceHeader: string | undefined;
  visibleAt: number;
  receiveCount: number;
  firstReceiveTimestamp: number | undefined;
  deadLetterSourceArn: string | undefined;
}

interface RedrivePolicy {
  readonly deadLetterTargetArn: string;
  readonly maxReceiveCount: number;
}

interface Queue {
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
  readonly arn: string;
  readonly createdTimestamp: number;
  lastModifiedTimestamp: number;
  /** Caller-set attributes (validated, normalised strings). */
  readonly attributes: Map<string, string>;
  redrive: RedrivePolicy | undefined;
  /** In send order. */
  messages: StoredMessage[];
  readonly waiters: Set<() => void>;
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const QUEUE_ARN = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/;
const RECEIPT_PREFIX = 'emu1';

export interface SqsStateOptions {
  /** Wall clock in milliseconds (default Date.now); `advanceClock` adds to it. */
  readonly now?: () => number;
}

/** The queues of every account and region, and the SQS API over them. */
export class SqsState {
  private readonly queues = new Map<string, Queue>();
  private readonly baseNow: () => number;
  private offsetMs = 0;
  private closed = false;

  constructor(options: SqsStateOptions = {}) {
    this.baseNow = options.now ?? Date.now;
  }

  /** The emulator's clock (ms): visibility timeouts, delays and retention run on it. */
  now(): number {
    return this.baseNow() + this.offsetMs;
  }

  /** Moves the clock forward (e.g. past a visibility timeout) and wakes long polls. */
  advanceClock(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0)
      throw new Error(`advanceClock: expected seconds >= 0, got ${seconds}`);
    this.offsetMs += seconds * 1000;
    for (const queue of this.queues.values()) this.wake(queue);
  }

  /** Ends pending long polls (they answer with no messages). */
  close(): void {
    this.closed = true;
    for (const queue of this.queues.values()) this.wake(queue);
  }

  queueList(): InspectedQueue[] {
    return [...this.queues.values()].map((queue) => {
      const counts = this.counts(queue);
      return {
        name: queue.name,
        arn: queue.arn,
        accountId: queue.accountId,
        region: queue.region,
        ...counts,
      };
    });
  }

  /** The messages in the queue named by ARN (or by name, when only one queue has it). */
  messages(queueArnOrName: string): InspectedSqsMessage[] {
    const queue = this.byArn(queueArnOrName) ?? this.byUniqueName(queueArnOrName);
    if (!queue) throw new Error(`SQS: no queue ${queueArnOrName}`);
    this.expire(queue);
    const now = this.now();
    return queue.messages.map((message) => ({
      messageId: message.messageId,
      body: message.body,
      attributes: message.attributes,
      receiveCount: message.receiveCount,
      sentTimestamp: message.sentTimestamp,
      visible: message.visibleAt <= now,
      ...(message.deadLetterSourceArn ? { deadLetterSourceArn: message.deadLetterSourceArn } : {}),
    }));
  }

  /**
   * Enqueues a message on behalf of another service (SNS delivery); false when no queue has that
   * ARN or the message does not fit the queue.
   */
  deliver(queueArn: string, body: string, attributes: SqsAttributes, senderId: string): boolean {
    const queue = this.byArn(queueArn);
    if (!queue) return false;
    try {
      this.enqueue(queue, body, attributes, senderId, undefined, undefined);
      return true;
    } catch {
      return false;
    }
  }

  /** Serves one call; errors are rendered as SQS sends them. */
  async handle(call: SqsCall): Promise<ServiceReply> {
    try {
      let input: Json = {};
      if (call.body.trim() !== '') {
        const parsed = asObject(safeJson(call.body));
        if (!parsed) throw new SqsError('InvalidParameterValue', 'The request body is not a JSON object.');
        input = parsed;
      }
      const output = await this.dispatch(call, input);
      return { status: 200, contentType: 'application/x-amz-json-1.0', body: JSON.stringify(output) };
    } catch (error) {
      if (error instanceof SqsError) return sqsErrorReply(error.code, error.message);
      throw error;
    }
  }

  // ---- operations ----

  private async dispatch(call: SqsCall, input: Json): Promise<Json> {
    switch (call.operation) {
      case 'CreateQueue':
        return this.createQueue(call, input);
      case 'GetQueueUrl': {
        const name = requireString(input, 'QueueName');
        const owner =
          typeof input.QueueOwnerAWSAccountId === 'string' ? input.QueueOwnerAWSAccountId : call.accountId;
        const queue = this.queues.get(queueKey(call.region, owner, name));
        if (!queue) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
        return { QueueUrl: queueUrl(call.endpoint, queue) };
      }
      case 'ListQueues':
        return this.listQueues(call, input);
      case 'DeleteQueue': {
        const queue = this.queueOf(call, input);
        this.queues.delete(queueKey(queue.region, queue.accountId, queue.name));
        this.wake(queue);
        return {};
      }
      case 'GetQueueAttributes':
        return this.getQueueAttributes(this.queueOf(call, input), input);
      case 'SetQueueAttributes': {
        const queue = this.queueOf(call, input);
        const attributes = asObject(input.Attributes) ?? {};
        const validated = this.validateQueueAttributes(attributes);
        this.applyAttributes(queue, validated);
        queue.lastModifiedTimestamp = Math.floor(this.now() / 1000);
        return {};
      }
      case 'PurgeQueue': {
        const queue = this.queueOf(call, input);
        queue.messages = [];
        return {};
      }
      case 'SendMessage': {
        const queue = this.queueOf(call, input);
        return this.sendOne(queue, input, call.senderId);
      }
      case 'SendMessageBatch':
        return this.sendBatch(call, input);
      case 'ReceiveMessage':
        return this.receive(call, input);
      case 'DeleteMessage': {
        const queue = this.queueOf(call, input);
        this.deleteByHandle(queue, requireString(input, 'ReceiptHandle'));
        return {};
      }
      case 'DeleteMessageBatch': {
        const queue = this.queueOf(call, input);
        return this.batch(batchEntries(input), (entry) => {
          this.deleteByHandle(queue, requireString(entry, 'ReceiptHandle'));
          return {};
        });
      }
      case 'ChangeMessageVisibility': {
        const queue = this.queueOf(call, input);
        this.changeVisibility(queue, input);
        return {};
      }
      case 'ChangeMessageVisibilityBatch': {
        const queue = this.queueOf(call, input);
        return this.batch(batchEntries(input), (entry) => {
          this.changeVisibility(queue, entry);
          return {};
        });
      }
      default:
        throw new SqsError('InvalidAction', `The action ${call.operation} is not valid for this endpoint.`);
    }
  }

  private createQueue(call: SqsCall, input: Json): Json {
    const name = requireString(input, 'QueueName');
    if (name.endsWith('.fifo')) {
      throw invalidValue('The emulator serves standard queues only; FIFO queues (.fifo) are not emulated.');
    }
    if (!QUEUE_NAME.test(name)) {
      throw invalidValue(
        `Value ${name} for parameter QueueName is invalid. Reason: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.`,
      );
    }
    const requested = this.validateQueueAttributes(asObject(input.Attributes) ?? {});
    const key = queueKey(call.region, call.accountId, name);
    const existing = this.queues.get(key);
    if (existing) {
      for (const [attribute, value] of requested) {
        const current = existing.attributes.get(attribute) ?? defaultAttribute(attribute);
        if (current !== value) {
          throw new SqsError(
            'QueueNameExists',
            `A queue already exists with the same name and a different value for attribute ${attribute}`,
          );
        }
      }
      return { QueueUrl: queueUrl(call.endpoint, existing) };
    }
    const now = Math.floor(this.now() / 1000);
    const queue: Queue = {
      name,
      accountId: call.accountId,
      region: call.region,
      arn: `arn:aws:sqs:${call.region}:${call.accountId}:${name}`,
      createdTimestamp: now,
      lastModifiedTimestamp: now,
      attributes: new Map(),
      redrive: undefined,
      messages: [],
      waiters: new Set(),
    };
    this.applyAttributes(queue, requested);
    this.queues.set(key, queue);
    return { QueueUrl: queueUrl(call.endpoint, queue) };
  }

  private listQueues(call: SqsCall, input: Json): Json {
    const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
    const max = optionalInteger(input, 'MaxResults', 1, 1000);
    const urls = [...this.queues.values()]
      .filter((queue) => queue.accountId === call.accountId && queue.region === call.region)
      .filter((queue) => queue.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((queue) => queueUrl(call.endpoint, queue));
    if (max === undefined) return urls.length ? { QueueUrls: urls.slice(0, 1000) } : {};
    let offset = 0;
    if (typeof input.NextToken === 'string' && input.NextToken !== '') {
      offset = Number(Buffer.from(input.NextToken, 'base64url').toString('utf8'));
      if (!Number.isInteger(offset) || offset < 0) throw invalidValue('Invalid NextToken value.');
    }
    const page = urls.slice(offset, offset + max);
    const end = offset + page.length;
    return {
      ...(page.length ? { QueueUrls: page } : {}),
      ...(end < urls.length ? { NextToken: Buffer.from(String(end), 'utf8').toString('base64url') } : {}),
    };
  }

  private getQueueAttributes(queue: Queue, input: Json): Json {
    const names = stringList(input, 'AttributeNames');
    const all = names.includes('All');
    for (const name of names) {
      if (
        name !== 'All' &&
        !(name in NUMERIC_ATTRIBUTES) &&
        !TEXT_ATTRIBUTES.has(name) &&
        !COMPUTED_ATTRIBUTES.includes(name)
      ) {
        throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
      }
    }
    const counts = this.counts(queue);
    const values: Record<string, string | undefined> = {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(queue.createdTimestamp),
      LastModifiedTimestamp: String(queue.lastModifiedTimestamp),
    };
    for (const [name, spec] of Object.entries(NUMERIC_ATTRIBUTES)) {
      values[name] =
        queue.attributes.get(name) ?? (spec.default === undefined ? undefined : String(spec.default));
    }
    for (const name of TEXT_ATTRIBUTES) values[name] = queue.attributes.get(name);
    values.SqsManagedSseEnabled ??= queue.attributes.has('KmsMasterKeyId') ? 'false' : 'true';
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(values)) {
      if (value !== undefined && (all || names.includes(name))) attributes[name] = value;
    }
    return Object.keys(attributes).length ? { Attributes: attributes } : {};
  }

  private sendOne(queue: Queue, input: Json, senderId: string): Json {
    const body = input.MessageBody;
    if (typeof body !== 'string' || body === '') {
      throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    }
    const attributes = messageAttributes(input.MessageAttributes);
    const delay = optionalInteger(input, 'DelaySeconds', 0, 900);
    const system = asObject(input.MessageSystemAttributes);
    const trace = asObject(system?.AWSTraceHeader)?.StringValue;
    const message = this.enqueue(
      queue,
      body,
      attributes,
      senderId,
      delay,
      typeof trace === 'string' ? trace : undefined,
    );
    const md5Attributes = md5OfMessageAttributes(attributes);
    const md5System =
      typeof trace === 'string'
        ? md5OfMessageAttributes({ AWSTraceHeader: { DataType: 'String', StringValue: trace } })
        : undefined;
    return {
      MessageId: message.messageId,
      MD5OfMessageBody: message.md5OfBody,
      ...(md5Attributes ? { MD5OfMessageAttributes: md5Attributes } : {}),
      ...(md5System ? { MD5OfMessageSystemAttributes: md5System } : {}),
    };
  }

  private sendBatch(call: SqsCall, input: Json): Json {
    const queue = this.queueOf(call, input);
    const entries = batchEntries(input);
    const max = Number(queue.attributes.get('MaximumMessageSize') ?? defaultAttribute('MaximumMessageSize'));
    const total = entries.reduce((sum, entry) => {
      const body = typeof entry.MessageBody === 'string' ? entry.MessageBody : '';
      let attributes: SqsAttributes = {};
      try {
        attributes = messageAttributes(entry.MessageAttributes);
      } catch {
        // an invalid entry fails on its own below
      }
      return sum + messageSize(body, attributes);
    }, 0);
    if (total > max) {
      throw new SqsError(
        'BatchRequestTooLong',
        `Batch requests cannot be longer than ${max} bytes. You have sent ${total} bytes.`,
      );
    }
    return this.batch(entries, (entry) => this.sendOne(queue, entry, call.senderId));
  }

  /** Runs `each` per batch entry: successes get their Id, failures an SQS error entry. */
  private batch(entries: readonly Json[], each: (entry: Json) => Json): Json {
    const successful: Json[] = [];
    const failed: Json[] = [];
    for (const entry of entries) {
      const id = entry.Id as string;
      try {
        successful.push({ Id: id, ...each(entry) });
      } catch (error) {
        if (!(error instanceof SqsError)) throw error;
        const code = ERRORS[error.code]?.queryCode ?? error.code;
        failed.push({ Id: id, SenderFault: true, Code: code, Message: error.message });
      }
    }
    return { Successful: successful, Failed: failed };
  }

  private async receive(call: SqsCall, input: Json): Promise<Json> {
    const queue = this.queueOf(call, input);
    const max = optionalInteger(input, 'MaxNumberOfMessages', 1, 10) ?? 1;
    const visibility = optionalInteger(input, 'VisibilityTimeout', 0, 43_200);
    const waitSeconds =
      optionalInteger(input, 'WaitTimeSeconds', 0, 20) ??
      Number(queue.attributes.get('ReceiveMessageWaitTimeSeconds') ?? 0);
    const systemNames = [
      ...stringList(input, 'AttributeNames'),
      ...stringList(input, 'MessageSystemAttributeNames'),
    ];
    const attributeNames = stringList(input, 'MessageAttributeNames');
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const taken = this.take(queue, max, visibility);
      const remaining = deadline - Date.now();
      if (taken.length > 0 || remaining <= 0 || this.closed || !this.isLive(queue)) {
        const messages = taken.map((entry) =>
          renderReceived(entry.message, entry.handle, systemNames, attributeNames),
        );
        return messages.length ? { Messages: messages } : {};
      }
      await this.waitForChange(queue, remaining);
    }
  }

  // ---- queue mechanics ----

  private enqueue(
    queue: Queue,
    body: string,
    attributes: SqsAttributes,
    senderId: string,
    delaySeconds: number | undefined,
    traceHeader: string | undefined,
  ): StoredMessage {
    if (INVALID_CHARACTER.test(body)) {
      throw new SqsError(
        'InvalidMessageContents',
        'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
      );
    }
    const max = Number(queue.attributes.get('MaximumMessageSize') ?? defaultAttribute('MaximumMessageSize'));
    if (messageSize(body, attributes) > max) {
      throw invalidValue(
        `One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes.`,
      );
    }
    const now = this.now();
    const delay = delaySeconds ?? Number(queue.attributes.get('DelaySeconds') ?? 0);
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5Hex(Buffer.from(body, 'utf8')),
      attributes,
      senderId,
      sentTimestamp: now,
      traceHeader,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
      firstReceiveTimestamp: undefined,
      deadLetterSourceArn: undefined,
    };
    queue.messages.push(message);
    this.wake(queue);
    return message;
  }

  /** Receives up to `max` visible messages, redriving those past maxReceiveCount to the DLQ. */
  private take(
    queue: Queue,
    max: number,
    visibility: number | undefined,
  ): { message: StoredMessage; handle: string }[] {
    this.expire(queue);
    const now = this.now();
    const timeout = visibility ?? Number(queue.attributes.get('VisibilityTimeout') ?? 30);
    const taken: { message: StoredMessage; handle: string }[] = [];
    for (const message of [...queue.messages]) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      if (queue.redrive && message.receiveCount >= queue.redrive.maxReceiveCount) {
        const target = this.byArn(queue.redrive.deadLetterTargetArn);
        if (target && target !== queue) {
          queue.messages = queue.messages.filter((candidate) => candidate !== message);
          message.deadLetterSourceArn = queue.arn;
          message.visibleAt = now;
          target.messages.push(message);
          this.wake(target);
          continue;
        }
      }
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.visibleAt = now + timeout * 1000;
      taken.push({ message, handle: receiptHandle(queue, message) });
    }
    return taken;
  }

  /** Drops messages older than the queue's retention period. */
  private expire(queue: Queue): void {
    const retention = Number(
      queue.attributes.get('MessageRetentionPeriod') ?? defaultAttribute('MessageRetentionPeriod'),
    );
    const oldest = this.now() - retention * 1000;
    if (queue.messages.some((message) => message.sentTimestamp <= oldest)) {
      queue.messages = queue.messages.filter((message) => message.sentTimestamp > oldest);
    }
  }

  private counts(queue: Queue): { visible: number; inFlight: number; delayed: number } {
    this.expire(queue);
    const now = this.now();
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const message of queue.messages) {
      if (message.visibleAt <= now) visible += 1;
      else if (message.receiveCount > 0) inFlight += 1;
      else delayed += 1;
    }
    return { visible, inFlight, delayed };
  }

  private messageOfHandle(queue: Queue, handle: string): StoredMessage | undefined {
    const decoded = decodeReceiptHandle(handle);
    if (!decoded || decoded.queueArn !== queue.arn) {
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle}" is not a valid receipt handle.`,
      );
    }
    return queue.messages.find((message) => message.messageId === decoded.messageId);
  }

  /** Deleting a message that is already gone succeeds, as in SQS. */
  private deleteByHandle(queue: Queue, handle: string): void {
    const message = this.messageOfHandle(queue, handle);
    if (message) queue.messages = queue.messages.filter((candidate) => candidate !== message);
  }

  private changeVisibility(queue: Queue, input: Json): void {
    const handle = requireString(input, 'ReceiptHandle');
    const timeout = optionalInteger(input, 'VisibilityTimeout', 0, 43_200);
    if (timeout === undefined) {
      throw new SqsError('MissingParameter', 'The request must contain the parameter VisibilityTimeout.');
    }
    const message = this.messageOfHandle(queue, handle);
    if (!message) {
      throw invalidValue(
        `Value ${handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    const now = this.now();
    if (message.visibleAt <= now || message.receiveCount === 0) {
      throw new SqsError('MessageNotInflight', 'The message referred to is not in flight.');
    }
    message.visibleAt = now + timeout * 1000;
    if (timeout === 0) this.wake(queue);
  }

  private validateQueueAttributes(attributes: Json): Map<string, string> {
    const result = new Map<string, string>();
    for (const [name, raw] of Object.entries(attributes)) {
      const value = typeof raw === 'string' ? raw : String(raw);
      const numeric = NUMERIC_ATTRIBUTES[name];
      if (numeric) {
        const number = Number(value);
        if (
          value.trim() === '' ||
          !Number.isInteger(number) ||
          number < numeric.min ||
          number > numeric.max
        ) {
          throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}.`);
        }
        result.set(name, String(number));
      } else if (name === 'RedrivePolicy') {
        result.set(name, value === '' ? '' : JSON.stringify(this.parseRedrive(value)));
      } else if (name === 'FifoQueue' || name === 'ContentBasedDeduplication') {
        if (value === 'true') {
          throw new SqsError(
            'InvalidAttributeValue',
            'The emulator serves standard queues only; FIFO queues are not emulated.',
          );
        }
      } else if (TEXT_ATTRIBUTES.has(name)) {
        result.set(name, value);
      } else {
        throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
      }
    }
    return result;
  }

  private parseRedrive(value: string): RedrivePolicy {
    const policy = asObject(safeJson(value));
    const reason = (why: string) =>
      new SqsError(
        'InvalidParameterValue',
        `Value ${value} for parameter RedrivePolicy is invalid. Reason: ${why}`,
      );
    if (!policy) throw reason('Redrive policy is not a valid JSON map.');
    const target = policy.deadLetterTargetArn;
    const count = Number(policy.maxReceiveCount);
    if (typeof target !== 'string' || !QUEUE_ARN.test(target)) {
      throw reason('Invalid value for deadLetterTargetArn.');
    }
    if (!this.byArn(target)) throw reason('Dead letter target does not exist.');
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      throw reason('Invalid value for maxReceiveCount: must be an integer from 1 to 1000.');
    }
    return { deadLetterTargetArn: target, maxReceiveCount: count };
  }

  private applyAttributes(queue: Queue, attributes: Map<string, string>): void {
    for (const [name, value] of attributes) {
      if (value === '') queue.attributes.delete(name);
      else queue.attributes.set(name, value);
      if (name === 'RedrivePolicy') {
        const parsed = value === '' ? undefined : (JSON.parse(value) as RedrivePolicy);
        queue.redrive = parsed;
      }
    }
  }

  private queueOf(call: SqsCall, input: Json): Queue {
    const url = requireString(input, 'QueueUrl');
    let parts: string[] = [];
    try {
      parts = new URL(url).pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      parts = [];
    }
    const [accountId, name] = parts;
    const queue =
      parts.length === 2 && accountId && name
        ? this.queues.get(queueKey(call.region, accountId, name))
        : undefined;
    if (!queue) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  private byArn(arn: string): Queue | undefined {
    const match = QUEUE_ARN.exec(arn);
    if (!match) return undefined;
    const [, region = '', accountId = '', name = ''] = match;
    return this.queues.get(queueKey(region, accountId, name));
  }

  private byUniqueName(name: string): Queue | undefined {
    const found = [...this.queues.values()].filter((queue) => queue.name === name);
    return found.length === 1 ? found[0] : undefined;
  }

  private isLive(queue: Queue): boolean {
    return this.queues.get(queueKey(queue.region, queue.accountId, queue.name)) === queue;
  }

  private wake(queue: Queue): void {
    for (const waiter of [...queue.waiters]) waiter();
  }

  /** Resolves when the queue changes, a message becomes visible, or `maxMs` passes. */
  private waitForChange(queue: Queue, maxMs: number): Promise<void> {
    const now = this.now();
    const nextVisible = queue.messages.reduce(
      (earliest, message) =>
        message.visibleAt > now ? Math.min(earliest, message.visibleAt - now) : earliest,
      Number.POSITIVE_INFINITY,
    );
    const delay = Math.max(1, Math.min(maxMs, nextVisible));
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        queue.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, delay);
      queue.waiters.add(done);
    });
  }
}

// ---- helpers -----------------------------------------------------------------------------------

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function queueKey(region: string, accountId: string, name: string): string {
  return `${region}/${accountId}/${name}`;
}

function queueUrl(endpoint: string, queue: Queue): string {
  return `${trimTrailingSlashes(endpoint)}/${queue.accountId}/${queue.name}`;
}

function defaultAttribute(name: string): string | undefined {
  const spec = NUMERIC_ATTRIBUTES[name];
  return spec?.default === undefined ? undefined : String(spec.default);
}

function receiptHandle(queue: Queue, message: StoredMessage): string {
  const nonce = randomBytes(12).toString('base64url');
  return `${RECEIPT_PREFIX}.${Buffer.from(`${queue.arn} ${message.messageId} ${nonce}`, 'utf8').toString('base64url')}`;
}

function decodeReceiptHandle(handle: string): { queueArn: string; messageId: string } | undefined {
  if (!handle.startsWith(`${RECEIPT_PREFIX}.`)) return undefined;
  const [queueArn, messageId, nonce] = Buffer.from(handle.slice(RECEIPT_PREFIX.length + 1), 'base64url')
    .toString('utf8')
    .split(' ');
  return queueArn && messageId && nonce ? { queueArn, messageId } : undefined;
}

/** Validates a batch's Entries: 1 to 10, distinct ids of up to 80 alphanumerics, hyphens, underscores. */
function batchEntries(input: Json): Json[] {
  const raw = input.Entries;
  const entries = Array.isArray(raw) ? raw.map((entry) => asObject(entry) ?? {}) : [];
  if (entries.length === 0) {
    throw new SqsError(
      'EmptyBatchRequest',
      'There should be at least one SendMessageBatchRequestEntry in the request.',
    );
  }
  if (entries.length > 10) {
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
    );
  }
  const ids = new Set<string>();
  for (const entry of entries) {
    const id = entry.Id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
      throw new SqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (ids.has(id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    ids.add(id);
  }
  return entries;
}

function wantsAttribute(requested: readonly string[], name: string): boolean {
  return requested.some(
    (pattern) =>
      pattern === 'All' ||
      pattern === '.*' ||
      pattern === name ||
      (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))),
  );
}

function renderReceived(
  message: StoredMessage,
  handle: string,
  systemNames: readonly string[],
  attributeNames: readonly string[],
): Json {
  const system: Record<string, string | undefined> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentTimestamp),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp:
      message.firstReceiveTimestamp === undefined ? undefined : String(message.firstReceiveTimestamp),
    DeadLetterQueueSourceArn: message.deadLetterSourceArn,
    AWSTraceHeader: message.traceHeader,
  };
  const attributes: Record<string, string> = {};
  for (const name of SYSTEM_ATTRIBUTES) {
    const value = system[name];
    if (value !== undefined && (systemNames.includes('All') || systemNames.includes(name)))
      attributes[name] = value;
  }
  const userAttributes: Record<string, SqsAttributeValue> = {};
  for (const [name, value] of Object.entries(message.attributes)) {
    if (wantsAttribute(attributeNames, name)) userAttributes[name] = value;
  }
  const md5Attributes = md5OfMessageAttributes(userAttributes);
  return {
    MessageId: message.messageId,
    ReceiptHandle: handle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    ...(Object.keys(attributes).length ? { Attributes: attributes } : {}),
    ...(md5Attributes ? { MD5OfMessageAttributes: md5Attributes, MessageAttributes: userAttributes } : {}),
  };
}
