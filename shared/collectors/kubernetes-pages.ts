/**
 * One Kubernetes list page, decoded: the body parsed, each item trimmed to the fields the checks
 * read, and written back as one line of JSON per item, the way `kubernetes.json` stores them.
 * Pure and self-contained, so it runs on the main thread or in a worker thread of
 * `page-decoder-pool.ts` (for a fleet of 600,000 pods this is most of the collector's CPU).
 */
import { CREDENTIAL_VARIABLES, REDACTED_VALUE } from '../model/credentials.ts';
import type { KubernetesKind } from '../model/fleet.ts';

export interface DecodedPage {
  /** The trimmed items, one JSON document per line, joined by `,\n` ('' for an empty page). */
  readonly lines: string;
  readonly count: number;
  /** The list's continue token, when more pages follow. */
  readonly continue?: string;
  /** The trimmed items as objects, for the kinds the collector reads itself (ServiceAccounts). */
  readonly items?: unknown[];
  /** Set when the body is not a Kubernetes list: what is wrong with it. */
  readonly malformed?: string;
}

/**
 * A page as a decoder hands it back: as decodePage returns it, or with its lines as UTF-8 bytes
 * when it was decoded on another thread (transferred, not copied: the collector's thread never
 * holds a cluster's pods as text, only as bytes outside its heap, until they are written).
 */
export interface PageLines extends Omit<DecodedPage, 'lines'> {
  readonly lines: string | Uint8Array;
}

/** Decodes list pages, here or on other threads. */
export interface PageDecoder {
  decode(kind: KubernetesKind, body: Uint8Array): Promise<PageLines>;
  /**
   * Takes back the lines of decoded pages once they are written and nothing reads them any more
   * (the bytes are detached: the caller must not touch them after). Bytes a decode thread sent
   * are freed by the collector thread's garbage collector, which runs rarely there (that thread
   * allocates little): written pages' bytes then piled up to V8's external-memory threshold,
   * about 70 MB at the collection benchmark's peak. Handed back to a decode thread, whose heap
   * turns over with every page, they are freed within a page or two. Text lines are left alone.
   */
  release?(lines: readonly (string | Uint8Array)[]): void;
}

/** Decodes on the calling thread. */
export const inlinePageDecoder: PageDecoder = {
  decode: async (kind, body) => decodePage(kind, body),
};

/** Kubernetes timestamps: RFC 3339 in whole seconds, as the API server writes them. */
function timestamp(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return typeof value === 'string' ? value : undefined;
}

const ROLE_ARN_FIELD = 'f:eks.amazonaws.com/role-arn';

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: unknown;
  ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
  managedFields?: { time?: unknown; fieldsV1?: Record<string, unknown> }[];
}

// The trims build plain object literals, with undefined for what is absent (JSON.stringify leaves
// it out) rather than spreads: this runs for every pod of the fleet.

/**
 * What `kubectl apply` leaves on an object: its whole manifest as last applied, which for a pod
 * applied directly holds every env value. No check reads it.
 */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function trimAnnotations(
  annotations: Record<string, string> | undefined,
): Record<string, string> | undefined {
  if (!annotations || !Object.hasOwn(annotations, LAST_APPLIED)) return annotations;
  const { [LAST_APPLIED]: _, ...others } = annotations;
  return others;
}

function trimMetadata(meta: Meta | undefined, keepLabels: boolean): Record<string, unknown> {
  return {
    name: meta?.name,
    namespace: meta?.namespace,
    annotations: trimAnnotations(meta?.annotations),
    labels: keepLabels ? meta?.labels : undefined,
    creationTimestamp: timestamp(meta?.creationTimestamp),
    ownerReferences: meta?.ownerReferences?.map((o) => ({
      kind: o.kind,
      name: o.name,
      controller: o.controller,
    })),
  };
}

function trimServiceAccount(sa: { metadata?: Meta }): Record<string, unknown> {
  // Only the managedFields entries that wrote the role-arn annotation (when it was annotated).
  const managedFields = sa.metadata?.managedFields
    ?.filter((f) => JSON.stringify(f.fieldsV1 ?? {}).includes(ROLE_ARN_FIELD))
    .map((f) => ({
      time: timestamp(f.time),
      fieldsV1: { 'f:metadata': { 'f:annotations': { [ROLE_ARN_FIELD]: {} } } },
    }));
  const metadata = trimMetadata(sa.metadata, false);
  if (managedFields?.length) metadata.managedFields = managedFields;
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata };
}

interface KeyRef {
  name?: unknown;
  key?: unknown;
  optional?: unknown;
}

interface EnvVarLike {
  name?: string;
  value?: unknown;
  valueFrom?: unknown;
}

interface ContainerLike {
  name?: string;
  env?: EnvVarLike[];
}

const REFERENCE_KINDS: ReadonlySet<string> = new Set(['secretKeyRef', 'configMapKeyRef']);

const string = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * A `valueFrom`, reduced to where the value comes from: a Secret's or ConfigMap's name and key
 * (what a check of static credentials needs), and of other sources (fieldRef, ...) the kind only.
 */
function trimValueFrom(valueFrom: unknown): Record<string, unknown> | undefined {
  if (!valueFrom || typeof valueFrom !== 'object' || Array.isArray(valueFrom)) return undefined;
  const trimmed: Record<string, unknown> = {};
  for (const [kind, source] of Object.entries(valueFrom)) {
    if (!REFERENCE_KINDS.has(kind)) {
      trimmed[kind] = {};
      continue;
    }
    const ref = (source ?? {}) as KeyRef;
    trimmed[kind] = {
      name: string(ref.name),
      key: string(ref.key),
      optional: typeof ref.optional === 'boolean' ? ref.optional : undefined,
    };
  }
  return trimmed;
}

function trimEnvVar(variable: EnvVarLike): Record<string, unknown> {
  const name = variable.name;
  const literal = variable.value;
  return {
    name,
    value:
      literal === undefined || literal === null
        ? undefined
        : // An empty value hides nothing, and says the variable is set to nothing.
          literal !== '' && name !== undefined && CREDENTIAL_VARIABLES.has(name)
          ? REDACTED_VALUE
          : literal,
    valueFrom: trimValueFrom(variable.valueFrom),
  };
}

function trimContainer(container: ContainerLike): Record<string, unknown> {
  return {
    name: container.name,
    // Only the variables the checks read; values of others may be secrets, and of the AWS ones
    // the credentials are never kept (trimEnvVar).
    env: container.env?.filter((e) => e.name?.startsWith('AWS_')).map(trimEnvVar),
  };
}

function trimPod(pod: {
  metadata?: Meta;
  spec?: {
    serviceAccountName?: string;
    serviceAccount?: string;
    containers?: ContainerLike[];
    initContainers?: ContainerLike[];
    volumes?: {
      name?: string;
      projected?: { sources?: { serviceAccountToken?: { audience?: string } }[] };
    }[];
  };
  status?: { phase?: string };
}): Record<string, unknown> {
  const spec = pod.spec;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: trimMetadata(pod.metadata, true),
    spec: {
      serviceAccountName: spec?.serviceAccountName ?? spec?.serviceAccount,
      containers: (spec?.containers ?? []).map(trimContainer),
      initContainers: spec?.initContainers?.length ? spec.initContainers.map(trimContainer) : undefined,
      volumes: spec?.volumes?.map((v) => ({
        name: v.name,
        projected: v.projected
          ? {
              sources: (v.projected.sources ?? [])
                .filter((s) => s.serviceAccountToken)
                .map((s) => ({ serviceAccountToken: { audience: s.serviceAccountToken?.audience } })),
            }
          : undefined,
      })),
    },
    status: { phase: pod.status?.phase },
  };
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key?: string; operator?: string; values?: string[] }[];
}

/** A label selector reduced to its two fields (absent stays absent: the checks read that as not recorded). */
function trimSelector(selector: Selector | undefined): Selector | undefined {
  if (!selector || typeof selector !== 'object') return undefined;
  return {
    matchLabels: selector.matchLabels,
    matchExpressions: selector.matchExpressions?.map((e) => ({
      key: e.key,
      operator: e.operator,
      values: e.values,
    })),
  };
}

function trimWebhookConfiguration(config: {
  metadata?: Meta;
  webhooks?: {
    name?: string;
    clientConfig?: { caBundle?: string; url?: string; service?: { namespace?: string; name?: string } };
    failurePolicy?: string;
    namespaceSelector?: Selector;
    objectSelector?: Selector;
  }[];
}): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: config.metadata?.name },
    webhooks: (config.webhooks ?? []).map((w) => ({
      name: w.name,
      clientConfig: {
        caBundle: w.clientConfig?.caBundle,
        url: w.clientConfig?.url,
        service: w.clientConfig?.service
          ? { namespace: w.clientConfig.service.namespace, name: w.clientConfig.service.name }
          : undefined,
      },
      // IRSA-062 and IRSA-063 read these (the API server always fills them on v1).
      failurePolicy: w.failurePolicy,
      namespaceSelector: trimSelector(w.namespaceSelector),
      objectSelector: trimSelector(w.objectSelector),
    })),
  };
}

/** A namespace: its name and labels (IRSA-063 judges namespaceSelectors on them), nothing else. */
function trimNamespace(namespace: { metadata?: Meta }): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace.metadata?.name, labels: namespace.metadata?.labels },
  };
}

/** A pod identity webhook's Service: its type and selector (IRSA-064). */
function trimService(service: {
  metadata?: Meta;
  spec?: { type?: string; selector?: Record<string, string> };
}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: service.metadata?.name, namespace: service.metadata?.namespace },
    spec: { type: service.spec?.type, selector: service.spec?.selector },
  };
}

/** The label that ties an EndpointSlice to its Service. */
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** An EndpointSlice of such a Service: which Service, and each endpoint's readiness and target (IRSA-064). */
function trimEndpointSlice(slice: {
  metadata?: Meta;
  endpoints?: { conditions?: { ready?: boolean }; targetRef?: { kind?: string; name?: string } }[];
}): Record<string, unknown> {
  const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: slice.metadata?.name,
      namespace: slice.metadata?.namespace,
      labels: service === undefined ? undefined : { [SERVICE_NAME_LABEL]: service },
    },
    endpoints: slice.endpoints?.map((e) => ({
      conditions: { ready: e.conditions?.ready },
      targetRef: e.targetRef ? { kind: e.targetRef.kind, name: e.targetRef.name } : undefined,
    })),
  };
}

const TRIM: Record<KubernetesKind, (item: never) => Record<string, unknown>> = {
  ServiceAccount: trimServiceAccount,
  Pod: trimPod,
  MutatingWebhookConfiguration: trimWebhookConfiguration,
  Namespace: trimNamespace,
  Service: trimService,
  EndpointSlice: trimEndpointSlice,
};

/**
 * The kinds whose trimmed objects the collector needs: ServiceAccounts (role references, the
 * probe's candidates), webhook configurations (the Services of the pod identity webhook).
 */
const KEEP_OBJECTS: ReadonlySet<KubernetesKind> = new Set(['ServiceAccount', 'MutatingWebhookConfiguration']);

/** One object (a single GET's answer) trimmed as a list item of its kind would be. */
export function trimItem(kind: KubernetesKind, item: object): Record<string, unknown> {
  return TRIM[kind](item as never);
}

/**
 * JSON.parse's message without the excerpt of the text V8 quotes in some of them (`Unexpected token
 * 'x', ..."KEY1"}, x,{"... is not valid JSON`): next to the fault may be an env value, a credential,
 * and the message becomes a collection error, kept and sent on.
 */
function parseProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cut = withoutExcerpt(message);
  return cut.includes('"') ? 'not valid JSON' : cut;
}

const NOT_VALID = ' is not valid JSON';

/**
 * The message up to its excerpt, `, "..." is not valid JSON` or `, ..."..."... is not valid JSON`:
 * what `/, (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/` removes, found by hand (that
 * expression is quadratic on a long run of `, "`). The message as it is without one.
 */
export function withoutExcerpt(message: string): string {
  if (!message.endsWith(NOT_VALID)) return message;
  const body = message.slice(0, -NOT_VALID.length);
  const close = body.endsWith('"') ? body.length - 1 : body.endsWith('"...') ? body.length - 4 : -1;
  for (let at = body.indexOf(', '); at !== -1 && at < close; at = body.indexOf(', ', at + 1)) {
    const open = body.startsWith('"', at + 2) ? at + 2 : body.startsWith('..."', at + 2) ? at + 5 : -1;
    if (open !== -1 && open < close) return message.slice(0, at);
  }
  return message;
}

/**
 * A page decoded with each trimmed item's JSON apart, not joined: {@link decodePage} joins them,
 * a decode thread encodes them straight into the bytes it sends back ({@link encodeLines}).
 */
export interface DecodedItems extends Omit<DecodedPage, 'lines'> {
  /** Each trimmed item as one line of JSON. */
  readonly lines: readonly string[];
}

/** Parses and trims one page of a list of `kind`. Never throws: a body that is not a list is `malformed`. */
export function decodePage(kind: KubernetesKind, body: Uint8Array): DecodedPage {
  const page = decodePageItems(kind, body);
  return { ...page, lines: page.lines.join(SEPARATOR) };
}

/** Between two items' lines, in a page's text and in {@link encodeLines}' bytes alike. */
const SEPARATOR = ',\n';

/**
 * The lines as one UTF-8 text, joined by `,\n` (what `TextEncoder.encode(lines.join(',\n'))`
 * gives), each line encoded into its place in one buffer: no joined string, which for a page is
 * a large object of V8's (see {@link splitListPage}), made only to be encoded and dropped. The
 * buffer is an ArrayBuffer of its own (never a pooled one), so a decode thread can transfer it.
 */
export function encodeLines(lines: readonly string[]): Uint8Array {
  let size = lines.length > 0 ? SEPARATOR.length * (lines.length - 1) : 0;
  for (let i = 0; i < lines.length; i++) size += Buffer.byteLength(lines[i] as string, 'utf8');
  const bytes = Buffer.from(new ArrayBuffer(size));
  let at = 0;
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) at += bytes.write(SEPARATOR, at, 'latin1');
    at += bytes.write(lines[i] as string, at, 'utf8');
  }
  return new Uint8Array(bytes.buffer, 0, at);
}

/**
 * The body in a buffer of fixed length: a copy when it came in a resizable one (as getPage reads
 * pages, kubernetes.ts), because V8 reads a resizable buffer's bytes several times slower in the
 * byte scans that cut a page into items (measured: 3 to 6 times, Node 20 and 24). One copy of
 * the page, made on the thread that decodes it, costs far less.
 */
function plainBytes(body: Uint8Array): Uint8Array {
  return (body.buffer as { resizable?: boolean }).resizable ? body.slice() : body;
}

/** {@link decodePage}, its lines apart. */
export function decodePageItems(kind: KubernetesKind, body: Uint8Array): DecodedItems {
  // Each item is trimmed as soon as it is parsed (and, unless its object is kept, made its line),
  // so that a page's parsed items never live side by side. A decode thread's young generation is
  // small (page-decoder-pool.ts), and when every item was parsed before the first was trimmed, each
  // minor collection during a page copied all the page's parsed items so far, then promoted them.
  // Measured (a worker thread with the pool's limits, 20 distinct pages of 500 pods, 1,000 pages a
  // run, alternating): 7.2 to 8.6 ms a page before, 6.0 to 6.5 after; in a collection of the
  // benchmark's fleet, each decode thread's scavenge pauses went from 1.4 s to 0.8 s.
  if (KEEP_OBJECTS.has(kind)) {
    const page = parseListPage(
      kind,
      plainBytes(body),
      TRIM[kind] as (item: object) => Record<string, unknown>,
    );
    if ('malformed' in page) return { lines: [], count: 0, malformed: page.malformed };
    const cont = continueToken(page.metadata);
    return {
      lines: page.items.map(jsonLine),
      count: page.items.length,
      ...(cont ? { continue: cont } : {}),
      items: page.items,
    };
  }
  const page = parseListPage(kind, plainBytes(body), LINE[kind]);
  if ('malformed' in page) return { lines: [], count: 0, malformed: page.malformed };
  const cont = continueToken(page.metadata);
  return { lines: page.items, count: page.items.length, ...(cont ? { continue: cont } : {}) };
}

function jsonLine(object: Record<string, unknown>): string {
  return JSON.stringify(object);
}

/** Each kind's item, trimmed, as its line of JSON. */
const LINE = Object.fromEntries(
  Object.entries(TRIM).map(([kind, trim]) => [kind, (item: object) => JSON.stringify(trim(item as never))]),
) as Record<KubernetesKind, (item: object) => string>;

type ParsedList<T> = { items: T[]; metadata: { continue?: unknown } | undefined } | { malformed: string };

/**
 * A list page's items, each given to `map` as it is parsed, and its metadata. A page laid out as
 * the API server writes it is read item by item ({@link splitListPage}); any other is parsed
 * whole, and its faults are worded from that.
 */
function parseListPage<T>(kind: KubernetesKind, body: Uint8Array, map: (item: object) => T): ParsedList<T> {
  // The items mapped so far: the index of the one a trim failed on.
  let at = 0;
  const each = (item: object): T => {
    const mapped = map(item);
    at++;
    return mapped;
  };
  let split: ParsedList<T> | null;
  try {
    split = splitListPage(body, each);
  } catch (error) {
    return { malformed: wrongShape(kind, at, error) };
  }
  if (split !== null) return split;
  let page: { items?: unknown; metadata?: { continue?: unknown } };
  try {
    page = JSON.parse(new TextDecoder().decode(body));
  } catch (error) {
    return { malformed: `the ${kind} list page is not JSON: ${parseProblem(error)}` };
  }
  if (!page || typeof page !== 'object' || !Array.isArray(page.items)) {
    return { malformed: `the ${kind} list page has no items array` };
  }
  const items: unknown[] = page.items;
  const mapped: T[] = new Array(items.length);
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    if (!item || typeof item !== 'object') {
      return { malformed: `item ${index} of the ${kind} list page is not an object` };
    }
    try {
      mapped[index] = map(item);
    } catch (error) {
      return { malformed: wrongShape(kind, index, error) };
    }
  }
  return { items: mapped, metadata: page.metadata };
}

/**
 * An item the trim could not read: a field of a type the API server never writes there (a string
 * for a list, null for an object), which the trim's code fails on. Its message names the field
 * by the trim's own expression (`container.env?.filter is not a function`), never a value.
 */
function wrongShape(kind: KubernetesKind, index: number, error: unknown): string {
  const detail = error instanceof TypeError ? `: ${error.message}` : '';
  return `item ${index} of the ${kind} list page is not shaped as a ${kind} (a field has a type the API server never gives it${detail})`;
}

const itemDecoder = new TextDecoder();

function asIs(item: object): object {
  return item;
}

/**
 * The page's items, each parsed from its own bytes and handed to `map` at once (what it returns is
 * kept, in order; by default the parsed object itself), when the page is laid out as the API server
 * writes it: a head (kind, apiVersion, metadata), then `"items":[` and objects, then `]}`; null
 * for any other page (whitespace elsewhere, another key after the items, an item that is not an
 * object or not JSON), which the whole-page parse then judges. The same objects as that parse
 * gives (a JSON value means the same wherever it is cut out of its document), without making the
 * page one string first: a string the size of a page (hundreds of KB) goes to V8's large-object
 * space, on pages of memory of its own, and making one costs about as much as parsing it.
 */
export function splitListPage(body: Uint8Array): ParsedList<object> | null;
export function splitListPage<T>(body: Uint8Array, map: (item: object) => T): ParsedList<T> | null;
export function splitListPage<T>(
  body: Uint8Array,
  map: (item: object) => T = asIs as (item: object) => T,
): ParsedList<T> | null {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const head = listHead(bytes);
  if (head === null) return null;
  const n = bytes.length;
  let i = skipWhitespace(bytes, head.itemsAt);
  if (bytes[i] !== 0x5b) return null; // [
  i = skipWhitespace(bytes, i + 1);
  const items: T[] = [];
  if (bytes[i] === 0x5d) {
    i++; // ] of an empty list
  } else {
    for (;;) {
      if (bytes[i] !== 0x7b) return null; // { : an object, else the whole parse says what it is
      const end = objectEnd(bytes, i);
      if (end < 0) return null;
      let item: object;
      try {
        item = JSON.parse(itemDecoder.decode(body.subarray(i, end)));
      } catch {
        return null;
      }
      items.push(map(item));
      i = skipWhitespace(bytes, end);
      if (bytes[i] === 0x2c) {
        i = skipWhitespace(bytes, i + 1); // ,
        continue;
      }
      if (bytes[i] !== 0x5d) return null; // ]
      i++;
      break;
    }
  }
  i = skipWhitespace(bytes, i);
  if (bytes[i] !== 0x7d) return null; // } closing the list
  return skipWhitespace(bytes, i + 1) === n ? { items, metadata: head.metadata } : null;
}

/** JSON's whitespace: space, tab, line feed, carriage return. */
function skipWhitespace(bytes: Uint8Array, from: number): number {
  let i = from;
  for (;;) {
    const c = bytes[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/**
 * The index after the `}` that closes the object opening at `start`, counting braces and brackets
 * outside strings (a string is skipped to its closing quote, one not escaped by an odd run of
 * backslashes); -1 when the page ends first. What lies between is left to JSON.parse to judge.
 */
function objectEnd(bytes: Buffer, start: number): number {
  let depth = 0;
  for (let i = start; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x22) {
      // "
      for (;;) {
        const quote = bytes.indexOf(0x22, i + 1);
        if (quote < 0) return -1;
        let backslash = quote - 1;
        while (bytes[backslash] === 0x5c) backslash--;
        i = quote;
        if ((quote - 1 - backslash) % 2 === 0) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * The continue token of a list page, read from the page's head without parsing its items, so the
 * next page can be requested while this one is decoded: a string, `undefined` on the last page,
 * or `null` when the head is not laid out as the API server writes it (kind, apiVersion,
 * metadata, then items); then only the full decode can tell.
 */
const ITEMS_KEY = Buffer.from(',"items":');
/** How far into a page its head (kind, apiVersion, metadata) is looked for. */
const HEAD_LIMIT = 64 * 1024;

/**
 * The continue token of a list page, read from the page's head without parsing its items, so the
 * next page can be requested while this one is decoded: a string, `undefined` on the last page,
 * or `null` when the head is not laid out as the API server writes it (kind, apiVersion,
 * metadata, then items); then only the full decode can tell.
 */
export function peekContinue(body: Uint8Array): string | undefined | null {
  const head = listHead(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  return head === null ? null : continueToken(head.metadata);
}

/**
 * The head of a list page laid out as the API server writes it: the metadata, and where the items'
 * array starts (after `,"items":`, looked for in the first {@link HEAD_LIMIT} bytes). Null when
 * the head is not an object with an object `metadata`, or is not found there.
 */
function listHead(bytes: Buffer): { metadata: { continue?: unknown }; itemsAt: number } | null {
  const end = bytes.subarray(0, HEAD_LIMIT).indexOf(ITEMS_KEY);
  if (end < 0) return null;
  let head: { metadata?: { continue?: unknown } };
  try {
    head = JSON.parse(`${bytes.toString('utf8', 0, end)}}`);
  } catch {
    return null;
  }
  if (!head || typeof head !== 'object' || !head.metadata || typeof head.metadata !== 'object') return null;
  return { metadata: head.metadata, itemsAt: end + ITEMS_KEY.length };
}

/** A list's continue token: a non-empty string, or undefined on the last page. */
function continueToken(metadata: { continue?: unknown } | undefined): string | undefined {
  const cont = metadata?.continue;
  return typeof cont === 'string' && cont ? cont : undefined;
}

/**
 * A cluster's `kubernetes.json`, a List with one item per line (still diffable and greppable), as
 * the pieces to write one after the other: the pages' lines as they are (text, or the bytes a
 * decode thread sent), never joined into one string.
 */
export function kubernetesListParts(file: {
  collected: readonly KubernetesKind[];
  chunks: readonly (string | Uint8Array)[];
}): (string | Uint8Array)[] {
  const head = JSON.stringify({ apiVersion: 'v1', kind: 'List', collected: file.collected }).slice(1, -1);
  const chunks = file.chunks.filter((chunk) => chunk.length > 0);
  if (chunks.length === 0) return [`{${head},\n"items": []}\n`];
  const parts: (string | Uint8Array)[] = [`{${head},\n"items": [\n`];
  for (const [index, chunk] of chunks.entries()) {
    if (index > 0) parts.push(',\n');
    parts.push(chunk);
  }
  parts.push('\n]}\n');
  return parts;
}

/** A cluster's `kubernetes.json` as one text (kubernetesListParts joined). */
export function kubernetesListJson(file: {
  collected: readonly KubernetesKind[];
  chunks: readonly (string | Uint8Array)[];
}): string {
  return kubernetesListParts(file)
    .map((part) =>
      typeof part === 'string'
        ? part
        : Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('utf8'),
    )
    .join('');
}
