/**
 * Kubernetes reads per cluster, with the EKS bearer token and TLS verified against the cluster
 * CA from DescribeCluster: ServiceAccounts, Pods, MutatingWebhookConfigurations and Namespaces,
 * listed in pages of 500 and trimmed to the fields the checks read; then, for each distinct
 * Service a pod identity webhook names (`clientConfig.service`), that Service (one GET) and its
 * EndpointSlices (one list by `kubernetes.io/service-name`; none for a missing or ExternalName
 * Service). 429 (honouring Retry-After) and 5xx are
 * retried with backoff, a list whose continue token expired (410) is restarted, and failures are
 * returned as collection errors, never thrown: the rest of the fleet is still audited.
 *
 * Authentication is the EKS bearer token in the Authorization header; TLS is verified against the
 * cluster CA (always on). The list pages are read over one keep-alive HTTPS agent per cluster and
 * parsed as plain JSON: the client library's generated typed API opens a new TLS connection per
 * request and turns every pod into class instances, which cost a fleet of 600,000 pods about 14
 * of its 31 CPU-seconds (see bench/collection.bench.ts). The client library is not loaded here at
 * all: it costs a process 70 MB of memory (more from the sources), and only the live probe
 * (probe.ts) uses it.
 *
 * A list requests its next page as soon as a page's head names it, and the pages are decoded
 * meanwhile (a bounded number waiting): a cluster is `listed` once its pages are in and its
 * ServiceAccounts read, and `done` once every page is decoded. The collector goes on with the
 * next cluster and the account's policy lookups while the last pod pages decode.
 *
 * Nothing waits without bound: a cluster's reads share one deadline, and a TCP connect or TLS
 * handshake has a short bound of its own. A request that got no answer in time is not retried (a
 * stall retried is a stall multiplied); it ends the cluster's reads, every request of the cluster
 * is aborted and its connections destroyed, and the cluster gets one `k8s` Timeout error.
 *
 * Nothing is read without bound either, whatever the server sends (docs/checks.md, "Bounds of the
 * Kubernetes reads"): a page's bytes and items, a list's pages, a continue token that comes back,
 * an answer that trickles. A bound crossed ends the cluster's reads the same way, with one error
 * that names the bound, the value seen and the setting (`PageTooLarge`, `TooManyItems`,
 * `TooManyPages`, `ContinueLoop`, `Trickle`): AUDIT-002 says why, and the rest of the fleet goes on.
 */
import type { ClientRequest } from 'node:http';
import { Agent, type RequestOptions, request } from 'node:https';
import type { Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import pLimit, { type LimitFunction } from 'p-limit';
import { podIdentityWebhooks } from '../engine/audit-context.ts';
import type {
  CollectionError,
  FailureClass,
  KubernetesKind,
  MutatingWebhookConfiguration,
} from '../model/fleet.ts';
import { namespaceProblem, objectNameProblem } from '../policy/aws-names.ts';
import { DEFAULT_CLUSTER_DEADLINE_MS } from './collection-defaults.ts';
import { classOf, redactSecrets } from './failures.ts';
import {
  inlinePageDecoder,
  type PageDecoder,
  type PageLines,
  peekContinue,
  trimItem,
} from './kubernetes-pages.ts';

export interface KubernetesTarget {
  readonly name: string;
  /** `https://...` from DescribeCluster. */
  readonly endpoint: string;
  /** base64 PEM from DescribeCluster `certificateAuthority.data`. */
  readonly caData: string;
}

export interface KubernetesCollectOptions {
  /** Returns a valid EKS bearer token (cached by the caller). Never logged. */
  readonly token: () => Promise<string>;
  readonly pageSize?: number;
  /** Retries of one page on 429/5xx/network errors. */
  readonly maxRetries?: number;
  /** Restarts of a list whose continue token expired. */
  readonly maxRestarts?: number;
  /**
   * Per-request idle timeout: no byte for this long, before or during an answer, ends the
   * cluster's reads (not retried; default {@link DEFAULT_REQUEST_TIMEOUT_MS}).
   */
  readonly timeoutMs?: number;
  /**
   * Per-request bound on the time from the request being sent to its answer's headers, however
   * the bytes come (default {@link DEFAULT_HEADERS_TIMEOUT_MS}): a `k8s` Timeout error.
   */
  readonly headersTimeoutMs?: number;
  /** A page's body is not read beyond this many bytes (default {@link DEFAULT_MAX_PAGE_BYTES}): `PageTooLarge`. */
  readonly maxPageBytes?: number;
  /**
   * A page with more items than this is not a page of the list asked for (default: twice the page
   * size, see {@link PAGE_ITEMS_TOLERANCE}): `TooManyItems`.
   */
  readonly maxPageItems?: number;
  /**
   * A list is not followed past this many pages (default: {@link DEFAULT_MAX_LIST_OBJECTS} divided
   * by the page size): `TooManyPages`.
   */
  readonly maxPagesPerList?: number;
  /**
   * An answer's body must come at least this fast, in each window of `rateWindowMs` (default
   * {@link DEFAULT_MIN_BYTES_PER_SECOND}): slower is `Trickle`.
   */
  readonly minBytesPerSecond?: number;
  /** The window the body's rate is measured over (default {@link DEFAULT_RATE_WINDOW_MS}). */
  readonly rateWindowMs?: number;
  /**
   * The cluster's deadline: all its lists together, retries and waits included, must have their
   * pages in by then, or every request of the cluster is aborted and it gets one `k8s` Timeout
   * error (default {@link DEFAULT_CLUSTER_DEADLINE_MS}).
   */
  readonly deadlineMs?: number;
  /** Bound on a TCP connect plus TLS handshake (default {@link DEFAULT_CONNECT_TIMEOUT_MS}). */
  readonly connectTimeoutMs?: number;
  /** Base backoff; doubled per retry (with jitter), overridden by Retry-After. */
  readonly backoffMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Parses and trims the pod and webhook configuration pages; default: on this thread (see
   * page-decoder-pool.ts for worker threads). ServiceAccount pages, which the cluster's `listed`
   * stage waits on, are always decoded on this thread, at once: never behind pod pages.
   */
  readonly decoder?: PageDecoder;
  /**
   * Pages waiting to be decoded, at most this many at a time (a list requests its next page only
   * when one of these slots is free): a limiter shared by the clusters of a run bounds the memory
   * they hold (default: a limiter of the cluster's own).
   */
  readonly pageSlots?: LimitFunction;
}

/**
 * The kinds decoded on the calling thread as soon as a page is in, whatever the decoder: a cluster
 * is `listed` once its ServiceAccounts are read, and they are small (a page is a few dozen KB).
 */
const DECODED_HERE: ReadonlySet<KubernetesKind> = new Set(['ServiceAccount', 'MutatingWebhookConfiguration']);

/**
 * How many pages may wait to be decoded, when no limiter is given (and for a whole run, in
 * collectFleet): 16, four for each of the at most four decode threads. More only hold memory
 * (each a page body, up to megabytes) while they wait for a thread: with 64, the collection
 * benchmark's page bodies took 37 MB at its peak, with 16 they took 14 MB (docs/performance-log.md).
 */
export const DEFAULT_PAGE_SLOTS = 16;

/** A cluster's deadline (collection-defaults.ts, where the CLI reads it without loading this module). */
export { DEFAULT_CLUSTER_DEADLINE_MS };

/**
 * A TCP connect plus TLS handshake, 10 s: it takes milliseconds to a reachable API server (a
 * hundred or two across regions), so a connection that has not got that far in 10 s will not.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Items a page is asked for (`limit`). */
export const DEFAULT_PAGE_SIZE = 500;

/**
 * A request's idle bound, 30 s: an API server streams a list page as it encodes it, so a page
 * that has started does not pause for seconds; one that has not started in 30 s is stuck.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * A request's answer must have its headers within 60 s of being sent: the kube-apiserver's own
 * bound on a request (`--request-timeout`, 1 minute), after which it gives up itself. Against a
 * server that keeps the idle bound at bay by sending its headers a byte at a time.
 */
export const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;

/**
 * A page's body, 64 MiB. A page of 500 pods is typically 2 to 10 MB (5 to 20 KB a pod, most of
 * it managedFields); 64 MiB is 130 KB a pod, more than six times a heavy pod. What the collector
 * holds is at most this per request in flight plus per page waiting to be decoded (the page slots,
 * DEFAULT_PAGE_SLOTS), and a body is never buffered past it.
 */
export const DEFAULT_MAX_PAGE_BYTES = 64 * 1024 * 1024;

/**
 * The kube-apiserver never returns more items than the `limit` asked for; a page may have this
 * many times the limit (twice) before it is a server that ignores paging (or a hostile one), whose
 * pages could then hold a whole cluster each.
 */
export const PAGE_ITEMS_TOLERANCE = 2;

/**
 * The most objects one list is followed for, 1,000,000: ten times the largest clusters EKS runs
 * (100,000 nodes is the documented ceiling, 150,000 pods the upstream scalability target); at 500
 * a page, 2,000 pages. A server that keeps returning a continue token past that never ends its list.
 */
export const DEFAULT_MAX_LIST_OBJECTS = 1_000_000;

/**
 * The slowest an answer's body may come, 16 KiB/s, in the last window of {@link DEFAULT_RATE_WINDOW_MS} and over
 * the whole body, judged from the third window on.
 * An API server sends a page at network speed (megabytes a second, even across regions); a body
 * slower than this is a server or proxy that trickles, which would hold a 10 MB page for 10 minutes
 * while never tripping the idle bound.
 */
export const DEFAULT_MIN_BYTES_PER_SECOND = 16 * 1024;

/** The window over which a body's rate is measured, 10 s: long enough for a pause in a healthy stream. */
export const DEFAULT_RATE_WINDOW_MS = 10_000;
/** Windows an answer's body has before its rate is judged (so a trickle is said after about 30 s by default). */
const TRICKLE_WINDOWS = 3;

/**
 * A cluster's reads ended early, by a bound (a time, or what the server sent): every request of
 * the cluster is aborted, and its collection ends with this one error.
 */
export class ReadsEndedError extends Error {
  override readonly name: string = 'ReadsEndedError';
  constructor(
    message: string,
    readonly code: string,
    readonly failureClass: FailureClass,
    /** `k8s`, or `k8s:<resource>` when one list crossed the bound. */
    readonly api: string,
  ) {
    super(message);
  }
}

/**
 * A cluster's reads ended for want of an answer (its deadline, the connect bound, or a request's
 * timeout): its collection ends with one `k8s` Timeout error.
 */
export class NoAnswerError extends ReadsEndedError {
  override readonly name = 'NoAnswerError';
  constructor(message: string) {
    super(message, 'Timeout', 'unreachable', 'k8s');
  }
}

/** A bound on what the server sends was crossed (see the DEFAULT_* above): one error naming it. */
export class BoundExceededError extends ReadsEndedError {
  override readonly name = 'BoundExceededError';
}

/** `64 MiB`, `1.5 KiB`, `300 bytes`. */
function bytes(count: number): string {
  if (count >= 1024 * 1024) return `${Number((count / (1024 * 1024)).toFixed(1))} MiB`;
  if (count >= 1024) return `${Number((count / 1024).toFixed(1))} KiB`;
  return `${count} bytes`;
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

/** `no answer within 1.5 s (TLS handshake)`. */
function noAnswer(ms: number, waiting: string): NoAnswerError {
  return new NoAnswerError(`no answer within ${Number((ms / 1000).toFixed(1))} s (${waiting})`);
}

export interface KubernetesCollection {
  /** What `kubernetes.json` is written from (`kubernetesListJson`), or null when the API could not be read at all. */
  readonly file: KubernetesListFile | null;
  readonly errors: CollectionError[];
  /** Requests made, by resource (for the benchmark's call accounting). */
  readonly requests: Record<string, number>;
}

export interface KubernetesListFile {
  /** The kinds listed completely. */
  readonly collected: KubernetesKind[];
  /** The trimmed items as JSON lines, page by page, as text or UTF-8 bytes (see PageLines). */
  readonly chunks: (string | Uint8Array)[];
  /** The trimmed ServiceAccounts as objects. */
  readonly serviceAccounts: unknown[];
}

/** A 2xx answer that is not a Kubernetes list. */
export class MalformedListError extends Error {
  override readonly name = 'MalformedListError';
}

interface Lister {
  readonly kind: KubernetesKind;
  readonly resource: string;
  /** The cluster-wide list path (or a namespaced one, with its label selector). */
  readonly path: string;
  /** A GET of one object, not a list: no `limit`, no pages. */
  readonly single?: true;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const LISTERS: readonly Lister[] = [
  {
    kind: 'ServiceAccount',
    resource: 'serviceaccounts',
    path: '/api/v1/serviceaccounts',
  },
  {
    kind: 'Pod',
    resource: 'pods',
    path: '/api/v1/pods',
  },
  {
    kind: 'MutatingWebhookConfiguration',
    resource: 'mutatingwebhookconfigurations',
    path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
  },
  {
    kind: 'Namespace',
    resource: 'namespaces',
    path: '/api/v1/namespaces',
  },
];

/** The label that ties an EndpointSlice to its Service. */
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * The distinct Services the cluster's pod identity webhooks call (`clientConfig.service`), as the
 * checks find those webhooks (podIdentityWebhooks), from the trimmed configurations. A name no
 * Service could have is left out: no read can find it (IRSA-064 then says it does not exist).
 */
export function webhookServices(configurations: readonly unknown[]): { namespace: string; name: string }[] {
  const model: MutatingWebhookConfiguration[] = configurations.map((item) => {
    const config = (item ?? {}) as { metadata?: { name?: unknown }; webhooks?: unknown };
    const webhooks = Array.isArray(config.webhooks) ? config.webhooks : [];
    return {
      name: text(config.metadata?.name) ?? '',
      webhooks: webhooks.map((w: { name?: unknown; clientConfig?: { url?: unknown; service?: unknown } }) => {
        const service = (w?.clientConfig?.service ?? null) as { namespace?: unknown; name?: unknown } | null;
        const namespace = text(service?.namespace);
        const name = text(service?.name);
        return {
          name: text(w?.name) ?? '',
          caBundle: null,
          url: text(w?.clientConfig?.url),
          service: namespace !== null && name !== null ? { namespace, name } : null,
          failurePolicy: null,
          namespaceSelector: null,
          objectSelector: null,
        };
      }),
    };
  });
  const seen = new Map<string, { namespace: string; name: string }>();
  for (const webhook of podIdentityWebhooks(model)) {
    const service = webhook.service;
    if (!service || namespaceProblem(service.namespace) !== null || objectNameProblem(service.name) !== null)
      continue;
    seen.set(`${service.namespace}/${service.name}`, service);
  }
  return [...seen.values()].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
}

/** A 404 whose Status says the object does not exist (not a 404 of an endpoint that serves no such API). */
function isNotFoundStatus(error: unknown, resource: string): boolean {
  if (!(error instanceof KubernetesApiError) || error.code !== 404) return false;
  const body = error.body as { kind?: unknown; reason?: unknown; details?: { kind?: unknown } } | undefined;
  return (
    typeof body === 'object' &&
    body !== null &&
    body.kind === 'Status' &&
    body.reason === 'NotFound' &&
    body.details?.kind === resource
  );
}

/** What the reads behind the pod identity webhook gave (Services and their EndpointSlices). */
interface WebhookServicesRead {
  readonly chunks: (string | Uint8Array)[];
  /** `Service` and `EndpointSlice` when every one of their reads succeeded. */
  readonly collected: KubernetesKind[];
  readonly errors: CollectionError[];
}

/** A non-2xx answer of the API server: its status, body (parsed when JSON) and headers. */
export class KubernetesApiError extends Error {
  override readonly name = 'KubernetesApiError';
  constructor(
    /** The HTTP status. */
    readonly code: number,
    message: string,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

/** What one cluster's requests share: the bearer token's request options, and one agent. */
interface Connection {
  readonly token: string;
  readonly options: RequestOptions;
}

/** A request's options: the bearer token, JSON, on the cluster's agent (whose TLS context holds its CA). */
function connectionOptions(token: string, agent: Agent): RequestOptions {
  return { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, agent };
}

/** What a request of a cluster is bounded by, and where it says what it is waiting for. */
interface RequestWatch {
  readonly resource: string;
  readonly timeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxPageBytes: number;
  readonly minBytesPerSecond: number;
  readonly rateWindowMs: number;
  /** Aborted when the cluster's reads end: the request is destroyed with the signal's reason. */
  readonly signal: AbortSignal;
  /** Sockets past their TLS handshake (kept alive by the agent): a request on one waits only for its answer. */
  readonly secured: WeakSet<Socket>;
  /** What the request is waiting for now (`TCP connect`, ...), or undefined once it is settled. */
  readonly waiting: (request: ClientRequest, what: string | undefined) => void;
  readonly onSocket?: (socket: Socket) => void;
}

/** ES2024's resizable ArrayBuffer (Node 20 has it; the project's TypeScript lib is ES2023). */
export interface ResizableArrayBuffer extends ArrayBuffer {
  readonly resizable: boolean;
  resize(byteLength: number): void;
}
const GrowableBuffer = ArrayBuffer as unknown as new (
  byteLength: number,
  options: { maxByteLength: number },
) => ResizableArrayBuffer;

/**
 * A buffer that grows in place up to `maxBytes`, or undefined where V8 cannot reserve the address
 * space for it (a `ulimit -v`, a bound beyond what it reserves): the page is then kept as chunks.
 */
export function growableBuffer(maxBytes: number): ResizableArrayBuffer | undefined {
  try {
    return new GrowableBuffer(0, { maxByteLength: maxBytes });
  } catch {
    return undefined;
  }
}

/** GETs one list page's body; a non-2xx answer becomes a KubernetesApiError. */
function getPage(url: URL, options: RequestOptions, watch: RequestWatch): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    if (watch.signal.aborted) {
      reject(watch.signal.reason);
      return;
    }
    /** Why this request was destroyed: what it is rejected with, whatever error the destroy raises. */
    let failure: unknown;
    let connectTimer: NodeJS.Timeout | undefined;
    let headersTimer: NodeJS.Timeout | undefined;
    let rateTimer: NodeJS.Timeout | undefined;
    /** The body's bytes received so far; undefined until the answer's headers are in. */
    let received: number | undefined;
    const fail = (error: unknown) => {
      failure ??= error;
      req.destroy(failure as Error);
    };
    const onAbort = () => fail(watch.signal.reason);
    const settle = () => {
      clearTimeout(connectTimer);
      clearTimeout(headersTimer);
      clearTimeout(rateTimer);
      watch.signal.removeEventListener('abort', onAbort);
      watch.waiting(req, undefined);
    };
    const resolved = (body: Uint8Array) => {
      settle();
      resolve(body);
    };
    const rejected = (error: unknown) => {
      settle();
      reject(failure ?? error);
    };
    const api = `k8s:${watch.resource}`;
    const tooLarge = (seen: string) =>
      new BoundExceededError(
        `the ${watch.resource} page is larger than ${bytes(watch.maxPageBytes)} (${seen}; maxPageBytes ${watch.maxPageBytes}): not read further`,
        'PageTooLarge',
        'malformed',
        api,
      );
    const req = request(url, { ...options, method: 'GET', timeout: watch.timeoutMs }, (res) => {
      clearTimeout(headersTimer);
      res.on('error', rejected);
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      // A 2xx body is copied into one buffer as it comes, so that each chunk Node read is garbage
      // at once, collected young, rather than held (and maybe promoted) until the page ends. The
      // buffer grows in place up to maxPageBytes (a reservation of address space, committed as it
      // grows), and is mapped memory of its own, not malloc's: freed whole when the decode thread
      // that takes it over drops it. An error's body is kept as chunks, for its text, and so is a
      // page where that address space cannot be reserved (a `ulimit -v`).
      const page = ok ? growableBuffer(watch.maxPageBytes) : undefined;
      const chunks: Buffer[] = [];
      let length = 0;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > watch.maxPageBytes) {
        fail(tooLarge(`Content-Length ${declared}`));
        return;
      }
      // The body's rate, window by window: bytes that come, but too slowly, are a trickle.
      const started = performance.now();
      let windowStart = started;
      let windowBytes = 0;
      let windows = 0;
      const judge = () => {
        if (failure) return;
        const now = performance.now();
        const window = now - windowStart;
        windows++;
        // A trickle is judged on the last window AND the whole body so far, and not before three
        // windows: a healthy answer paused once (a busy server, a loaded machine) is not one.
        const slowWindow = windowBytes < (watch.minBytesPerSecond * window) / 1000;
        const slowOverall = length < (watch.minBytesPerSecond * (now - started)) / 1000;
        if (windows >= TRICKLE_WINDOWS && slowWindow && slowOverall) {
          fail(
            new BoundExceededError(
              `the ${watch.resource} answer trickled: ${windowBytes} bytes in the last ${seconds(window)} ` +
                `(${length} bytes in ${seconds(now - started)} in all), below ${bytes(watch.minBytesPerSecond)}/s ` +
                `(minBytesPerSecond ${watch.minBytesPerSecond}, rateWindowMs ${watch.rateWindowMs})`,
              'Trickle',
              'unreachable',
              api,
            ),
          );
          return;
        }
        windowStart = now;
        windowBytes = 0;
        rateTimer = setTimeout(endOfWindow, watch.rateWindowMs);
      };
      // Judged after the event loop has read what already arrived: a thread busy for a while (a
      // page decoded here) does not make a healthy answer look slow.
      const endOfWindow = () => setImmediate(judge);
      rateTimer = setTimeout(endOfWindow, watch.rateWindowMs);
      received = 0;
      res.on('data', (chunk: Buffer) => {
        if (failure) return;
        windowBytes += chunk.length;
        received = length + chunk.length;
        if (length + chunk.length > watch.maxPageBytes) {
          // Never held: the body read so far is dropped with the request.
          fail(tooLarge(`more than ${length + chunk.length} bytes received`));
          return;
        }
        if (page) {
          try {
            page.resize(length + chunk.length);
          } catch (error) {
            // No memory to commit the page's next bytes: the page is not read, and says why.
            fail(error);
            return;
          }
          new Uint8Array(page, length, chunk.length).set(chunk);
        } else chunks.push(chunk);
        length += chunk.length;
      });
      res.on('end', () => {
        if (page) {
          // The whole buffer, so a decode thread can take it over (page-decoder-pool.ts).
          resolved(new Uint8Array(page, 0, length));
          return;
        }
        if (ok) {
          // Kept as chunks (no growable buffer): one buffer of its own, not a slice of Node's
          // pool, so a decode thread can take it over.
          const body = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
          let offset = 0;
          for (const chunk of chunks) {
            body.set(chunk, offset);
            offset += chunk.length;
          }
          resolved(body);
          return;
        }
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text for the error
        }
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') headers[key] = value;
        }
        rejected(new KubernetesApiError(status, `HTTP ${status} from ${url.pathname}`, body, headers));
      });
    });
    // Until the agent gives it a socket, a request waits behind the cluster's other requests.
    let waiting = 'a free connection';
    const waitFor = (what: string) => {
      waiting = what;
      watch.waiting(req, what);
    };
    waitFor(waiting);
    /** Waits for the answer, its headers within their bound however slowly their bytes come. */
    const waitForAnswer = () => {
      const answer = `response of ${watch.resource}`;
      waitFor(answer);
      headersTimer = setTimeout(
        () =>
          fail(
            new NoAnswerError(
              `no response headers within ${seconds(watch.headersTimeoutMs)} (${answer}; headersTimeoutMs ${watch.headersTimeoutMs})`,
            ),
          ),
        watch.headersTimeoutMs,
      );
    };
    req.once('socket', (socket: Socket) => {
      watch.onSocket?.(socket);
      if (watch.secured.has(socket)) {
        waitForAnswer();
        return;
      }
      waitFor(socket.connecting ? 'TCP connect' : 'TLS handshake');
      connectTimer = setTimeout(
        () => fail(noAnswer(watch.connectTimeoutMs, waiting)),
        watch.connectTimeoutMs,
      );
      socket.once('connect', () => {
        if (waiting === 'TCP connect') waitFor('TLS handshake');
      });
      socket.once('secureConnect', () => {
        clearTimeout(connectTimer);
        watch.secured.add(socket);
        waitForAnswer();
      });
    });
    req.on('timeout', () =>
      fail(
        received === undefined
          ? noAnswer(watch.timeoutMs, waiting)
          : new NoAnswerError(
              `no byte within ${seconds(watch.timeoutMs)} in the body of the ${watch.resource} answer, after ${received} bytes (timeoutMs ${watch.timeoutMs})`,
            ),
      ),
    );
    req.on('error', rejected);
    watch.signal.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|EPROTO|SSL/i;

/** Classifies a failed request: retryable, fatal for the whole API, or a denied list. */
function classify(
  error: unknown,
):
  | { type: 'retry'; code: string; message: string; retryAfterMs?: number }
  | { type: 'expired' }
  | { type: 'denied'; code: string; message: string }
  | { type: 'fatal'; code: string; message: string } {
  if (error instanceof KubernetesApiError) {
    const status = error.code;
    const body = error.body as { message?: string } | string | undefined;
    const detail = typeof body === 'object' && body?.message ? body.message : `HTTP ${status}`;
    if (status === 410) return { type: 'expired' };
    if (status === 429 || status >= 500) {
      const retryAfter = Number(error.headers?.['retry-after']);
      return {
        type: 'retry',
        code: status === 429 ? 'TooManyRequests' : `HTTP${status}`,
        message: detail,
        ...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}),
      };
    }
    if (status === 401) return { type: 'fatal', code: 'Unauthorized', message: detail };
    if (status === 403) return { type: 'denied', code: 'Forbidden', message: detail };
    return { type: 'fatal', code: `HTTP${status}`, message: detail };
  }
  if (error instanceof MalformedListError)
    return { type: 'fatal', code: 'MalformedList', message: error.message };
  const err = error as {
    code?: string;
    cause?: { code?: string; message?: string };
    message?: string;
    name?: string;
  };
  const code = err.code ?? err.cause?.code ?? err.name ?? 'Error';
  const message = err.cause?.message ?? err.message ?? String(error);
  if (TLS_CODES.test(code) || TLS_CODES.test(message)) return { type: 'fatal', code: 'TLS', message };
  // A stall is not retried: each retry would wait as long again.
  if (/ETIMEDOUT|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH/.test(code))
    return { type: 'fatal', code, message };
  return { type: 'retry', code, message };
}

/**
 * A cluster's collection in two stages. `listed`: every page has been received and the
 * ServiceAccounts are decoded (what the collector needs to go on: the roles they reference), while
 * the other pages may still be decoding. `done`: everything decoded and checked.
 */
export interface KubernetesCollectionStages {
  /** The trimmed ServiceAccounts, when their list was read completely. Never rejects. */
  readonly listed: Promise<{ readonly serviceAccounts?: unknown[] }>;
  /** Never rejects: failures are collection errors. */
  readonly done: Promise<KubernetesCollection>;
}

/** Lists the three kinds of one cluster; resolves once everything is decoded. */
export function collectKubernetes(
  target: KubernetesTarget,
  options: KubernetesCollectOptions,
): Promise<KubernetesCollection> {
  return startKubernetesCollection(target, options).done;
}

/** One page received: what its head says comes next, and its decoding (which may still run). */
interface ReceivedPage {
  readonly peeked: string | undefined | null;
  readonly decoded: Promise<PageLines>;
}

/**
 * Lists the three kinds of one cluster. Each list follows its pages' heads without waiting for
 * their decoding, so the round trips are never held up by a busy decoder; the pages are decoded
 * meanwhile (on worker threads, with a pool), at most `pageSlots` of them waiting at a time.
 */
export function startKubernetesCollection(
  target: KubernetesTarget,
  options: KubernetesCollectOptions,
): KubernetesCollectionStages {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const maxRetries = options.maxRetries ?? 5;
  const maxRestarts = options.maxRestarts ?? 3;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const maxPageBytes = options.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES;
  const maxPageItems = options.maxPageItems ?? pageSize * PAGE_ITEMS_TOLERANCE;
  const maxPagesPerList = options.maxPagesPerList ?? Math.ceil(DEFAULT_MAX_LIST_OBJECTS / pageSize);
  const minBytesPerSecond = options.minBytesPerSecond ?? DEFAULT_MIN_BYTES_PER_SECOND;
  const rateWindowMs = options.rateWindowMs ?? DEFAULT_RATE_WINDOW_MS;
  const deadlineMs = options.deadlineMs ?? DEFAULT_CLUSTER_DEADLINE_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const backoffMs = options.backoffMs ?? 200;
  const sleep = options.sleep ?? defaultSleep;
  const decoder = options.decoder ?? inlinePageDecoder;
  const pageSlots = options.pageSlots ?? pLimit(DEFAULT_PAGE_SLOTS);
  const requests: Record<string, number> = {};

  // One keep-alive agent for the cluster, verifying its CA; request options rebuilt only when the
  // token cache renews the token (every 14 minutes), not per page.
  // The TLS context (the cluster CA) is built once for the cluster, not for each connection.
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext({ ca: Buffer.from(target.caData, 'base64') });
  } catch (error) {
    const done = Promise.resolve({
      file: null,
      errors: [
        {
          api: 'k8s:serviceaccounts',
          code: 'TLS',
          message: `the cluster CA from DescribeCluster is not a usable certificate: ${(error as Error).message}`,
          class: 'unreachable' as const,
        },
      ],
      requests,
    });
    return { listed: Promise.resolve({}), done };
  }
  // Two connections: the pod list (the longest chain of pages) on one, the short lists on the other.
  const agent = new Agent({ keepAlive: true, maxSockets: 2, secureContext, rejectUnauthorized: true });
  let current: Connection | undefined;
  async function optionsForToken(): Promise<RequestOptions> {
    const token = await whileWaiting('the EKS token', options.token());
    if (current?.token !== token) current = { token, options: connectionOptions(token, agent) };
    return current.options;
  }

  // The cluster's reads end at its deadline, at the first request that got no answer in time, or
  // at the first bound crossed: then every request still out is destroyed, and so is the agent
  // with its connections.
  const controller = new AbortController();
  let stopped: ReadsEndedError | undefined;
  function stop(error: ReadsEndedError): ReadsEndedError {
    if (stopped) return stopped;
    stopped = error;
    controller.abort(error);
    agent.destroy();
    return error;
  }
  const aborted = new Promise<never>((_, reject) =>
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }),
  );
  aborted.catch(() => {}); // raced by whileWaiting, not awaited on its own
  /** What the cluster is waiting for, by request (or by a wait of its own): the deadline's error names it. */
  const waiting = new Map<object, string>();
  const secured = new WeakSet<Socket>();
  /** Waits for `work`, as `what`, unless the cluster's reads end first. */
  async function whileWaiting<T>(what: string, work: Promise<T>): Promise<T> {
    const key = {};
    waiting.set(key, what);
    try {
      return await Promise.race([work, aborted]);
    } finally {
      waiting.delete(key);
    }
  }
  /** `TLS handshake`, `response of pods, serviceaccounts`, ...: what was in flight at the deadline. */
  function whatWasWaiting(): string {
    const answers = new Set<string>();
    const others = new Set<string>();
    for (const what of waiting.values()) {
      if (what.startsWith('response of ')) answers.add(what.slice('response of '.length));
      else others.add(what);
    }
    // A request waiting for a connection waits for the others: it is named only when alone.
    if (others.size > 1 || answers.size > 0) others.delete('a free connection');
    const parts = [...others];
    if (answers.size > 0) parts.push(`response of ${[...answers].join(', ')}`);
    return parts.join(', ') || 'nothing in flight';
  }
  const deadline = setTimeout(() => stop(noAnswer(deadlineMs, whatWasWaiting())), deadlineMs);

  // The first connection's TLS session lets the second one resume it: no second certificate
  // exchange and verification, no second signature by the server. So the first request goes alone
  // until its connection has a session (or has answered, or failed); then the others follow.
  let firstConnected: () => void = () => {};
  const firstConnection = new Promise<void>((resolve) => {
    firstConnected = resolve;
  });
  let first = true;

  /** GETs one page, retrying 429, 5xx and network errors with backoff; never a request that got no answer. */
  async function fetchPage(lister: Lister, cont: string | undefined): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      if (stopped) throw stopped;
      const onSocket = first ? (socket: Socket) => socket.once('session', firstConnected) : undefined;
      first = false;
      try {
        const url = new URL(lister.path, target.endpoint);
        if (!lister.single) url.searchParams.set('limit', String(pageSize));
        if (cont) url.searchParams.set('continue', cont);
        const requestOptions = await optionsForToken();
        requests[lister.resource] = (requests[lister.resource] ?? 0) + 1;
        return await getPage(url, requestOptions, {
          resource: lister.resource,
          timeoutMs,
          headersTimeoutMs,
          connectTimeoutMs,
          maxPageBytes,
          minBytesPerSecond,
          rateWindowMs,
          signal: controller.signal,
          secured,
          waiting: (request, what) => (what ? waiting.set(request, what) : waiting.delete(request)),
          ...(onSocket ? { onSocket } : {}),
        }).finally(firstConnected);
      } catch (error) {
        if (stopped) throw stopped;
        if (error instanceof ReadsEndedError) throw stop(error);
        const verdict = classify(error);
        if (verdict.type !== 'retry' || attempt >= maxRetries) throw error;
        const exponential = backoffMs * 2 ** attempt * (0.5 + Math.random() / 2);
        await whileWaiting(`retry backoff of ${lister.resource}`, sleep(verdict.retryAfterMs ?? exponential));
      }
    }
  }

  /**
   * Fetches one page and starts decoding it once a page slot is free; a slot is held until its page
   * is decoded. Resolves when the decoding starts: so a list waits for a slot before it requests
   * its next page, which bounds the pages waiting in memory when the decoders fall behind.
   */
  async function receivePage(lister: Lister, cont: string | undefined): Promise<ReceivedPage> {
    const body = await fetchPage(lister, cont);
    if (DECODED_HERE.has(lister.kind)) {
      const decoded = counted(lister, inlinePageDecoder.decode(lister.kind, body));
      return { peeked: (await decoded).continue, decoded };
    }
    const peeked = peekContinue(body); // before the decoder takes the body over
    return whileWaiting(
      'a free decode slot',
      new Promise((resolve) => {
        void pageSlots(() => {
          const decoded = counted(lister, decoder.decode(lister.kind, body));
          resolve({ peeked, decoded });
          return decoded.catch(() => {});
        });
      }),
    );
  }

  /** A page's decoding, which ends the cluster's reads when the page has more items than a page may. */
  function counted(lister: Lister, decoding: Promise<PageLines>): Promise<PageLines> {
    const checked = decoding.then((page) => {
      if (page.count <= maxPageItems) return page;
      throw stop(
        new BoundExceededError(
          `a ${lister.resource} page has ${page.count} items, more than ${maxPageItems} (maxPageItems; the page asked for ${pageSize}): the server does not page as asked`,
          'TooManyItems',
          'malformed',
          `k8s:${lister.resource}`,
        ),
      );
    });
    checked.catch(() => {}); // awaited by listAll, unless the list ended first
    return checked;
  }

  /**
   * Lists one kind completely, restarting it when its continue token expired. Each page's head
   * names the next page, which is requested at once; `onReceived` is called when the last page is
   * in. Then the decodes are checked in order: the full decode has the last word, and a head read
   * wrongly (or not at all) continues the list from the token the decode found.
   */
  async function listAll(
    lister: Lister,
    onReceived: () => void,
  ): Promise<{ chunks: (string | Uint8Array)[]; items: unknown[] }> {
    let restarts = 0;
    /** The pages so far, each with the token the next page was requested with (undefined: none). */
    let pages: { decoded: Promise<PageLines>; next: string | undefined }[] = [];
    /** The continue tokens followed in this pass of the list, with the page (from 1) that gave each. */
    let followed = new Map<string, number>();
    /** Checks that the list may go on with `token`, the continue token of its last page so far. */
    const follow = (token: string): void => {
      const api = `k8s:${lister.resource}`;
      const before = followed.get(token);
      if (before !== undefined) {
        throw stop(
          new BoundExceededError(
            `the ${lister.resource} list loops: page ${pages.length} gave the continue token page ${before} gave (a continue token never repeats within one list)`,
            'ContinueLoop',
            'malformed',
            api,
          ),
        );
      }
      if (pages.length >= maxPagesPerList) {
        throw stop(
          new BoundExceededError(
            `the ${lister.resource} list did not end after ${pages.length} pages (maxPagesPerList ${maxPagesPerList}, ${pageSize} items a page): the server keeps giving a continue token`,
            'TooManyPages',
            'malformed',
            api,
          ),
        );
      }
      followed.set(token, pages.length);
    };
    let cont: string | undefined;
    for (;;) {
      let page: ReceivedPage;
      try {
        page = await receivePage(lister, cont);
      } catch (error) {
        if (classify(error).type === 'expired' && restarts < maxRestarts) {
          // The snapshot the continue token pointed at is gone: start the list again.
          restarts++;
          pages = [];
          followed = new Map();
          cont = undefined;
          continue;
        }
        throw error;
      }
      if (typeof page.peeked === 'string') {
        pages.push({ decoded: page.decoded, next: page.peeked });
        follow(page.peeked);
        cont = page.peeked;
        continue;
      }
      pages.push({ decoded: page.decoded, next: undefined });
      onReceived();
      const decoded: PageLines[] = [];
      let resume: string | undefined;
      for (const [index, entry] of pages.entries()) {
        const result = await entry.decoded;
        if (result.malformed) throw new MalformedListError(`${result.malformed} (${lister.path})`);
        decoded.push(result);
        if (result.continue !== entry.next) {
          // The pages after this one were requested with another token (or not at all).
          pages.length = index + 1;
          entry.next = result.continue;
          resume = result.continue;
          break;
        }
      }
      if (resume === undefined) {
        return {
          chunks: decoded.map((result) => result.lines),
          items: decoded.flatMap((result) => result.items ?? []),
        };
      }
      // Only the tokens of the pages kept were followed.
      followed = new Map(
        pages.flatMap((entry, index) =>
          entry.next !== undefined && index < pages.length - 1 ? [[entry.next, index + 1] as const] : [],
        ),
      );
      follow(resume);
      cont = resume;
    }
  }

  /** GETs one object; null when the API server says it does not exist. */
  async function getObject(lister: Lister): Promise<Record<string, unknown> | null> {
    let body: Uint8Array;
    try {
      body = await fetchPage(lister, undefined);
    } catch (error) {
      if (isNotFoundStatus(error, lister.resource)) return null;
      throw error;
    }
    let object: unknown;
    try {
      object = JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw new MalformedListError(`the ${lister.resource} answer is not JSON (${lister.path})`);
    }
    if (!object || typeof object !== 'object' || Array.isArray(object)) {
      throw new MalformedListError(`the ${lister.resource} answer is not an object (${lister.path})`);
    }
    return trimItem(lister.kind, object);
  }

  /** A failed read of the webhook's Service or its EndpointSlices, as a collection error of its kind. */
  function readError(kind: KubernetesKind, resource: string, reason: unknown): CollectionError {
    const verdict = classify(reason);
    const code = verdict.type === 'expired' ? 'Expired' : verdict.code;
    const message =
      verdict.type === 'expired'
        ? 'the list was restarted and its continue token expired again'
        : verdict.message;
    return { api: `k8s:${resource}`, code, message: redact(message), kind, ...failureOf(reason, code) };
  }

  /**
   * For each distinct Service the pod identity webhooks call: the Service (one GET), then, unless
   * it does not exist or is an ExternalName, its EndpointSlices (one list by label). A failed read
   * leaves its kind out of `collected`, with its error.
   */
  async function readWebhookServices(configurations: readonly unknown[]): Promise<WebhookServicesRead> {
    const chunks: (string | Uint8Array)[] = [];
    const errors: CollectionError[] = [];
    let servicesOk = true;
    let slicesOk = true;
    for (const service of webhookServices(configurations)) {
      const ns = encodeURIComponent(service.namespace);
      let object: Record<string, unknown> | null;
      try {
        object = await getObject({
          kind: 'Service',
          resource: 'services',
          path: `/api/v1/namespaces/${ns}/services/${encodeURIComponent(service.name)}`,
          single: true,
        });
      } catch (error) {
        if (stopped || error instanceof ReadsEndedError) throw stopped ?? error;
        servicesOk = false;
        errors.push(readError('Service', 'services', error));
        continue;
      }
      if (object === null) continue; // no such Service: IRSA-064 says so
      chunks.push(JSON.stringify(object));
      if ((object.spec as { type?: unknown } | undefined)?.type === 'ExternalName') continue;
      try {
        const slices = await listAll(
          {
            kind: 'EndpointSlice',
            resource: 'endpointslices',
            path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=${encodeURIComponent(`${SERVICE_NAME_LABEL}=${service.name}`)}`,
          },
          () => {},
        );
        chunks.push(...slices.chunks);
      } catch (error) {
        if (stopped || error instanceof ReadsEndedError) throw stopped ?? error;
        slicesOk = false;
        errors.push(readError('EndpointSlice', 'endpointslices', error));
      }
    }
    const collected: KubernetesKind[] = [];
    if (servicesOk) collected.push('Service');
    if (servicesOk && slicesOk) collected.push('EndpointSlice');
    return { chunks, collected, errors };
  }

  // The four lists are independent: list them at once, the pods (the longest) first.
  const received: Promise<void>[] = [];
  const lists = LISTERS.map((lister) => {
    let markReceived: () => void = () => {};
    received.push(
      new Promise<void>((resolve) => {
        markReceived = resolve;
      }),
    );
    const list =
      lister.kind === 'Pod'
        ? listAll(lister, markReceived)
        : firstConnection.then(() => listAll(lister, markReceived));
    return list.finally(markReceived);
  });
  // Then the Services the pod identity webhooks call, once their configurations are read (none
  // when that list failed: the checks that need them say why, from its error).
  const webhookList = lists[LISTERS.findIndex((lister) => lister.kind === 'MutatingWebhookConfiguration')];
  const webhookServicesRead: Promise<WebhookServicesRead | null> = (webhookList ?? Promise.reject()).then(
    (list) => readWebhookServices(list.items),
    () => null,
  );
  received.push(
    webhookServicesRead.then(
      () => {},
      () => {},
    ),
  );
  // Once every list's pages are in, the network part is over: the deadline no longer applies.
  void Promise.all(received).then(() => clearTimeout(deadline));
  const settled = Promise.all([Promise.allSettled(lists), webhookServicesRead.catch(() => null)]);
  const outcomes = settled.finally(() => {
    clearTimeout(deadline);
    agent.destroy();
  });
  const serviceAccountList = lists[LISTERS.findIndex((lister) => lister.kind === 'ServiceAccount')];
  const listed = Promise.all(received)
    .then(() => serviceAccountList)
    .then(
      (list) => (list ? { serviceAccounts: list.items } : {}),
      () => ({}),
    );
  return {
    listed,
    done: outcomes.then(([lists, services]) => collection(lists, services, requests, maxRestarts, stopped)),
  };
}

/** A cluster's collection from the outcomes of its lists (in LISTERS order) and of the webhook's Services. */
function collection(
  outcomes: PromiseSettledResult<{ chunks: (string | Uint8Array)[]; items: unknown[] }>[],
  webhookServicesRead: WebhookServicesRead | null,
  requests: Record<string, number>,
  maxRestarts: number,
  stopped: ReadsEndedError | undefined,
): KubernetesCollection {
  if (stopped) {
    // Whatever each list was doing then, the cluster's reads ended: one error for its API.
    return {
      file: null,
      errors: [
        {
          api: stopped.api,
          code: stopped.code,
          class: stopped.failureClass,
          message: redact(stopped.message),
        },
      ],
      requests,
    };
  }
  const errors: CollectionError[] = [];
  const chunks: (string | Uint8Array)[] = [];
  const serviceAccounts: unknown[] = [];
  const collected: KubernetesKind[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    const lister = LISTERS[index] as Lister;
    if (outcome.status === 'fulfilled') {
      chunks.push(...outcome.value.chunks);
      if (lister.kind === 'ServiceAccount') serviceAccounts.push(...outcome.value.items);
      collected.push(lister.kind);
      continue;
    }
    const verdict = classify(outcome.reason);
    const api = `k8s:${lister.resource}`;
    const failure = failureOf(outcome.reason, verdict.type === 'expired' ? 'Expired' : verdict.code);
    // A list that fails by itself (a 404, a malformed page) while the API answers the others is that
    // list's failure (AUDIT-003); the API as a whole is out of reach when the failure is the
    // connection's or the token's, or when no list could be read at all.
    const wholeApi =
      verdict.type === 'fatal' &&
      (failure.class === 'unreachable' ||
        failure.class === 'denied' ||
        outcomes.every((other) => other.status === 'rejected'));
    if (wholeApi) {
      // The API as a whole is out of reach or refuses us: one error for the cluster, no file.
      return {
        file: null,
        errors: [
          {
            api,
            code: verdict.code,
            message: redact(verdict.message),
            ...failure,
          },
        ],
        requests,
      };
    }
    if (verdict.type === 'denied') {
      errors.push({
        api,
        code: verdict.code,
        message: redact(verdict.message),
        kind: lister.kind,
        ...failureOf(outcome.reason, verdict.code),
      });
      continue;
    }
    const { code, message } =
      verdict.type === 'expired'
        ? {
            code: 'Expired',
            message: `the list was restarted ${maxRestarts} times and its continue token expired again`,
          }
        : verdict;
    errors.push({ api, code, message: redact(message), kind: lister.kind, ...failure });
  }
  if (webhookServicesRead) {
    chunks.push(...webhookServicesRead.chunks);
    collected.push(...webhookServicesRead.collected);
    errors.push(...webhookServicesRead.errors);
  }
  return { file: { collected, chunks, serviceAccounts }, errors, requests };
}

/** The failure class (and HTTP status, when the API answered) of a list that failed. */
function failureOf(reason: unknown, code: string): { class: FailureClass; status?: number } {
  if (reason instanceof MalformedListError) return { class: 'malformed', status: 200 };
  const status = reason instanceof KubernetesApiError ? reason.code : undefined;
  return { class: classOf(status, code), ...(status === undefined ? {} : { status }) };
}

/** Error texts never carry the bearer token, even if a library put it there. */
const redact = redactSecrets;
