/**
 * The Kubernetes API of one emulated cluster: an HTTPS server (its own CA) that speaks the list
 * protocol (`limit`, `continue`, `remainingItemCount`, 410 Gone), TokenRequest, EKS bearer-token
 * authentication, and the errors of a real kube-apiserver (Status objects). It also answers what
 * kubectl asks before and besides a list: the legacy discovery documents (`/api`, `/apis`, and the
 * resource list of each group version it serves), and a GET of one ServiceAccount, Pod or
 * MutatingWebhookConfiguration by name (`kubectl get sa NAME -n NS`), counted as `discovery` and
 * `<resource>:get`.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { DEFAULT_CIPHERS, type TLSSocket } from 'node:tls';
import { pemCertificateBlocks, pemCertificateRanges, trimTrailingSlashes } from '#shared/model/text.ts';
import type { ClusterTls } from './certificates.ts';
import { type FaultState, sleep } from './faults.ts';
import type { FleetClusterFiles, JsonObject, KubeObject, KubernetesKind } from './fleet-files.ts';
import { type KubernetesRbac, rbacRoute } from './kubernetes-rbac.ts';
import type { OidcIssuers } from './sts-web-identity.ts';

export type TokenVerdict = { ok: true; accessKeyId: string } | { ok: false; reason: string };

export interface KubernetesClusterContext {
  readonly cluster: FleetClusterFiles;
  readonly tls: ClusterTls;
  readonly faults: FaultState;
  /** Verifies an EKS bearer token for this cluster (see verifyEksToken). */
  readonly verifyToken: (token: string) => TokenVerdict;
  /** The account and principal ARN of an access key the emulator issued. */
  readonly principalOf: (accessKeyId: string) => { accountId: string; arn: string } | undefined;
  /** The cluster's ClusterRoles and ClusterRoleBindings (see kubernetes-rbac.ts); without it, 404. */
  readonly rbac?: KubernetesRbac;
  /** Signs TokenRequest tokens with the key of the cluster's issuer (see sts-web-identity.ts); without it, a random signature. */
  readonly issuers?: OidcIssuers;
}

interface ListResource {
  readonly kind: KubernetesKind;
  readonly resource: string;
  readonly apiVersion: string;
  readonly group: string;
}

/** Node's default suites, AES-128-GCM first. */
const SERVER_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  ...DEFAULT_CIPHERS.split(':').filter((cipher) => cipher !== 'TLS_AES_128_GCM_SHA256'),
].join(':');

const LISTS: Record<string, ListResource> = {
  '/api/v1/serviceaccounts': {
    kind: 'ServiceAccount',
    resource: 'serviceaccounts',
    apiVersion: 'v1',
    group: '',
  },
  '/api/v1/pods': { kind: 'Pod', resource: 'pods', apiVersion: 'v1', group: '' },
  '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations': {
    kind: 'MutatingWebhookConfiguration',
    resource: 'mutatingwebhookconfigurations',
    apiVersion: 'admissionregistration.k8s.io/v1',
    group: 'admissionregistration.k8s.io',
  },
  '/api/v1/namespaces': { kind: 'Namespace', resource: 'namespaces', apiVersion: 'v1', group: '' },
  '/apis/discovery.k8s.io/v1/endpointslices': {
    kind: 'EndpointSlice',
    resource: 'endpointslices',
    apiVersion: 'discovery.k8s.io/v1',
    group: 'discovery.k8s.io',
  },
};
const NAMESPACED_LIST = /^\/api\/v1\/namespaces\/([^/]+)\/(serviceaccounts|pods)$/;
/** One object by name: `kubectl get sa NAME -n NS`, `kubectl get mutatingwebhookconfiguration NAME`. */
const NAMESPACED_GET = /^\/api\/v1\/namespaces\/([^/]+)\/(serviceaccounts|pods)\/([^/]+)$/;
/** One namespace by name: kubectl asks after a namespaced GET answered 404, to say which is missing. */
const NAMESPACE_GET = /^\/api\/v1\/namespaces\/([^/]+)$/;
const CLUSTER_GET = /^\/apis\/admissionregistration\.k8s\.io\/v1\/(mutatingwebhookconfigurations)\/([^/]+)$/;
const ADMISSION_GROUP = 'admissionregistration.k8s.io';
const RBAC_GROUP = 'rbac.authorization.k8s.io';

/**
 * The legacy discovery documents of what this server answers (kubectl reads them before its first
 * request to a server, then keeps them in its discovery cache): only the verbs served here.
 */
function discoveryDocument(path: string, withRbac: boolean): JsonObject | undefined {
  const groupVersion = (group: string) => ({ groupVersion: `${group}/v1`, version: 'v1' });
  switch (path) {
    case '/api':
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    case '/apis':
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [ADMISSION_GROUP, ...(withRbac ? [RBAC_GROUP] : [])].map((name) => ({
          name,
          versions: [groupVersion(name)],
          preferredVersion: groupVersion(name),
        })),
      };
    case '/api/v1':
      return {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          {
            name: 'namespaces',
            singularName: 'namespace',
            namespaced: false,
            kind: 'Namespace',
            verbs: ['get', 'list'],
            shortNames: ['ns'],
          },
          {
            name: 'pods',
            singularName: 'pod',
            namespaced: true,
            kind: 'Pod',
            verbs: ['get', 'list'],
            shortNames: ['po'],
            categories: ['all'],
          },
          {
            name: 'serviceaccounts',
            singularName: 'serviceaccount',
            namespaced: true,
            kind: 'ServiceAccount',
            verbs: ['get', 'list'],
            shortNames: ['sa'],
          },
          {
            name: 'serviceaccounts/token',
            singularName: '',
            namespaced: true,
            group: 'authentication.k8s.io',
            version: 'v1',
            kind: 'TokenRequest',
            verbs: ['create'],
          },
        ],
      };
    case `/apis/${ADMISSION_GROUP}/v1`:
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: `${ADMISSION_GROUP}/v1`,
        resources: [
          {
            name: 'mutatingwebhookconfigurations',
            singularName: 'mutatingwebhookconfiguration',
            namespaced: false,
            kind: 'MutatingWebhookConfiguration',
            verbs: ['get', 'list'],
          },
        ],
      };
    default:
      return undefined;
  }
}
const NAMESPACED_SLICES = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/;
/** A GET of one Service (the collector reads the Services the pod identity webhooks name). */
const SERVICE_GET = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)$/;
const TOKEN_REQUEST = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/;

const EXPIRED_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new ' +
  'list without the continue parameter, or use the continue token in this response to retrieve the ' +
  'remainder of the results. Continuing with the provided token results in an inconsistent list - ' +
  'objects that were created, modified, or deleted between the time the first chunk was returned and ' +
  'now may show up in the list.';

class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: JsonObject,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function status(error: StatusError): JsonObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: error.message,
    reason: error.reason,
    ...(error.details ? { details: error.details } : {}),
    code: error.code,
  };
}

function certificatesIn(base64Pem: string): Buffer[] {
  const text = Buffer.from(base64Pem.trim(), 'base64').toString('utf8');
  const ders: Buffer[] = [];
  for (const block of pemCertificateBlocks(text)) {
    try {
      ders.push(new X509Certificate(block).raw);
    } catch {
      // not a certificate: it can match nothing
    }
  }
  return ders;
}

/**
 * Rewrites a webhook caBundle for the emulator: each certificate of the bundle that is the
 * snapshot's cluster CA becomes the emulator's CA of that cluster; everything else is kept, so a
 * bundle that matched the cluster CA still matches and a wrong one stays wrong.
 */
export function caBundleRewriter(
  snapshotCaData: string | undefined,
  emulatorCaPem: string,
): (bundle: unknown) => unknown {
  const snapshotCas = snapshotCaData ? certificatesIn(snapshotCaData) : [];
  if (snapshotCas.length === 0) return (bundle) => bundle;
  const emulatorBundle = Buffer.from(emulatorCaPem, 'utf8').toString('base64');
  return (bundle) => {
    if (typeof bundle !== 'string' || bundle.trim() === '') return bundle;
    // The usual case: the bundle is the cluster CA, byte for byte, as DescribeCluster returns it.
    if (bundle.trim() === snapshotCaData?.trim()) return emulatorBundle;
    const text = Buffer.from(bundle.trim(), 'base64').toString('utf8');
    let replaced = false;
    let rewritten = '';
    let at = 0;
    for (const [start, end] of pemCertificateRanges(text)) {
      const block = text.slice(start, end);
      rewritten += text.slice(at, start);
      at = end;
      try {
        const der = new X509Certificate(block).raw;
        if (snapshotCas.some((ca) => ca.equals(der))) {
          replaced = true;
          rewritten += emulatorCaPem.trim();
          continue;
        }
      } catch {
        // not a certificate: kept as it is
      }
      rewritten += block;
    }
    rewritten += text.slice(at);
    return replaced ? Buffer.from(rewritten, 'utf8').toString('base64') : bundle;
  };
}

function rewriteWebhooks(object: KubeObject, rewrite: (bundle: unknown) => unknown): KubeObject {
  const webhooks = (object as JsonObject).webhooks;
  if (!Array.isArray(webhooks)) return object;
  return {
    ...object,
    webhooks: webhooks.map((webhook: JsonObject) => {
      const clientConfig = webhook?.clientConfig as JsonObject | undefined;
      if (!clientConfig || !('caBundle' in clientConfig)) return webhook;
      return { ...webhook, clientConfig: { ...clientConfig, caBundle: rewrite(clientConfig.caBundle) } };
    }),
  };
}

interface SingleObject {
  readonly list: ListResource;
  /** undefined for a cluster-scoped kind. */
  readonly namespace: string | undefined;
  readonly name: string;
}

/** The object a GET of `path` names, or undefined when the path names no single object served here. */
function singleObject(path: string): SingleObject | undefined {
  const namespaced = NAMESPACED_GET.exec(path);
  if (namespaced) {
    const list = LISTS[`/api/v1/${namespaced[2]}`];
    return list
      ? {
          list,
          namespace: decodeURIComponent(namespaced[1] ?? ''),
          name: decodeURIComponent(namespaced[3] ?? ''),
        }
      : undefined;
  }
  const cluster = CLUSTER_GET.exec(path);
  if (cluster) {
    const list = LISTS[`/apis/${ADMISSION_GROUP}/v1/${cluster[1]}`];
    return list ? { list, namespace: undefined, name: decodeURIComponent(cluster[2] ?? '') } : undefined;
  }
  return undefined;
}

/** The list page with its last item's `metadata.ownerReferences` a string (misshapenLists). */
function misshapen(bytes: Buffer): RawJson {
  const page = JSON.parse(bytes.toString('utf8')) as { items?: { metadata?: Record<string, unknown> }[] };
  const last = page.items?.at(-1);
  if (last) last.metadata = { ...last.metadata, ownerReferences: 'not a list' };
  return new RawJson(Buffer.from(JSON.stringify(page)));
}

/** A response body already serialised (a list page built from its items' JSON). */
class RawJson {
  constructor(
    readonly bytes: Buffer,
    /** What the bytes are, when not JSON (an injected HTML error page). */
    readonly contentType = 'application/json',
  ) {}
}

/**
 * A response body written as the client reads it (a hostile list page: huge, or trickled). The
 * writer stops when the connection closes.
 */
class StreamedJson {
  constructor(readonly write: (res: ServerResponse, closed: () => boolean) => Promise<void>) {}
}

/** Writes `chunk`, then waits until the client has read enough for the next (or the connection closed). */
async function written(res: ServerResponse, chunk: Buffer, closed: () => boolean): Promise<void> {
  if (res.write(chunk) || closed()) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** A page of `size` bytes: `prefix` (the head and the page's items), then copies of `items`, then the end. */
function hugePage(prefix: Buffer, items: readonly Buffer[], size: number): StreamedJson {
  const filler = items.length > 0 ? items : [Buffer.from('{"metadata":{"name":"filler"}}')];
  return new StreamedJson(async (res, closed) => {
    let sent = 0;
    let first = items.length === 0;
    await written(res, prefix, closed);
    sent += prefix.length;
    let next = 0;
    while (sent < size && !closed()) {
      // About 64 KiB at a time, the copies of the items one after the other.
      const parts: Buffer[] = [];
      let length = 0;
      while (length < 64 * 1024 && sent + length < size) {
        const item = filler[next++ % filler.length] as Buffer;
        if (!first) parts.push(COMMA);
        first = false;
        parts.push(item);
        length += item.length + 1;
      }
      const chunk = Buffer.concat(parts);
      await written(res, chunk, closed);
      sent += chunk.length;
    }
    if (!closed()) res.end(']}');
  });
}

/** `bytes` sent `trickle.bytes` at a time, every `trickle.everyMs` (a trickling cluster). */
function trickled(bytes: Buffer, trickle: { bytes: number; everyMs: number }): StreamedJson {
  return new StreamedJson(async (res, closed) => {
    // A pause ends early when the client goes: nothing is left waiting on a closed connection.
    const gone = new Promise<void>((resolve) => res.once('close', resolve));
    for (let offset = 0; offset < bytes.length && !closed(); offset += trickle.bytes) {
      await written(res, bytes.subarray(offset, offset + trickle.bytes), closed);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        gone,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, trickle.everyMs))),
      ]);
      clearTimeout(timer);
    }
    if (!closed()) res.end();
  });
}

/** An object with its JSON, serialised once when the server starts. */
interface Served {
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly labels: Readonly<Record<string, unknown>>;
  readonly json: Buffer;
}

/** One requirement of an equality-based label selector (`k=v`, `k==v`, `k!=v`, `k`, `!k`). */
type LabelRequirement = { key: string; op: '=' | '!=' | 'exists' | '!exists'; value?: string };

/**
 * Parses a `labelSelector` as the API server does for its equality-based forms; the set-based
 * forms (`in`, `notin`) are not emulated and answered 400, as a selector the server cannot parse.
 */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  for (const raw of selector.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const unequal = /^([^=!\s]+)\s*!=\s*(\S*)$/.exec(part);
    const equal = /^([^=!\s]+)\s*==?\s*(\S*)$/.exec(part);
    if (unequal) out.push({ key: unequal[1] as string, op: '!=', value: unequal[2] ?? '' });
    else if (equal) out.push({ key: equal[1] as string, op: '=', value: equal[2] ?? '' });
    else if (/^![^=!\s(),]+$/.test(part)) out.push({ key: part.slice(1), op: '!exists' });
    else if (/^[^=!\s(),]+$/.test(part)) out.push({ key: part, op: 'exists' });
    else throw new StatusError(400, 'BadRequest', `unable to parse requirement: ${JSON.stringify(part)}`);
  }
  return out;
}

function selects(
  requirements: readonly LabelRequirement[],
  labels: Readonly<Record<string, unknown>>,
): boolean {
  return requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.op) {
      case '=':
        return has && value === r.value;
      case '!=':
        return !has || value !== r.value;
      case 'exists':
        return has;
      default:
        return !has;
    }
  });
}

const COMMA = Buffer.from(',');

function base64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

/** One emulated cluster's API server. It can be closed and reopened on the same port. */
export class KubernetesClusterServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /**
   * The objects as JSON, serialised when the server starts: serving a page then costs the emulator
   * little, as a remote API server's work costs the auditor's machine nothing (the collection
   * benchmark runs both on one machine).
   */
  private readonly objects: Record<KubernetesKind, readonly Served[]>;
  private readonly resourceVersion: string;
  /** Takes the port instead of the API server for a silent cluster: accepts, never sends a byte. */
  private readonly silentServer: NetServer;
  private port = 0;
  /** What listens on the port: the API server, the silent one, or nothing. */
  private listening: 'serve' | 'silent' | undefined;
  /** The changes of what listens, applied in order (see listen). */
  private changes: Promise<void> = Promise.resolve();
  /** Pages served with an endless continue token: each token is new. */
  private endlessPages = 0;

  constructor(private readonly context: KubernetesClusterContext) {
    const { cluster, tls } = context;
    const rewrite = caBundleRewriter(cluster.caData, tls.caPem);
    const served = (objects: readonly KubeObject[]): Served[] =>
      objects.map((object) => {
        const labels = (object.metadata as JsonObject | undefined)?.labels;
        return {
          namespace: object.metadata?.namespace ?? undefined,
          name: object.metadata?.name,
          labels: labels && typeof labels === 'object' ? (labels as Record<string, unknown>) : {},
          json: Buffer.from(JSON.stringify(object)),
        };
      });
    this.objects = {
      ServiceAccount: served(cluster.objects.ServiceAccount),
      Pod: served(cluster.objects.Pod),
      MutatingWebhookConfiguration: served(
        cluster.objects.MutatingWebhookConfiguration.map((object) => rewriteWebhooks(object, rewrite)),
      ),
      Namespace: served(cluster.objects.Namespace),
      Service: served(cluster.objects.Service),
      EndpointSlice: served(cluster.objects.EndpointSlice),
    };
    const versions = Object.values(cluster.objects)
      .flat()
      .map((object) => Number((object.metadata as JsonObject | undefined)?.resourceVersion))
      .filter((version) => Number.isFinite(version));
    this.resourceVersion = String(Math.max(1, ...versions));
    this.server = createServer(
      {
        key: tls.keyPem,
        cert: tls.certPem,
        // AES-128-GCM first and the server's choice, as Go's crypto/tls (kube-apiserver) chooses.
        ciphers: SERVER_CIPHERS,
        honorCipherOrder: true,
      },
      (req, res) => this.onRequest(req, res),
    );
    // Counted like the requests: a client that resumes its TLS session skips the certificate and signature.
    this.server.on('secureConnection', (socket: TLSSocket) => {
      this.context.faults.countHandshake(cluster.name, socket.isSessionReused() ? 'resumed' : 'full');
    });
    this.server.on('connection', (socket: Socket) => this.track(socket));
    this.silentServer = createNetServer((socket) => {
      this.track(socket);
      socket.on('error', () => {});
      // The client's hello is read and dropped: no byte is ever sent back.
      socket.resume();
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** The port it listens on (kept while closed, so the endpoint stays the same). */
  get boundPort(): number {
    return this.port;
  }

  /** Connections open now (to the API server or the silent one). */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** The cluster CA (PEM) that signed this server's certificate. */
  get caPem(): string {
    return this.context.tls.caPem;
  }

  get endpoint(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /**
   * Listens on 127.0.0.1 (on its previous port once it has one): the API server, or with `silent`
   * a server that accepts connections and never answers (silentClusters). Changes are applied one
   * after the other, in the order asked.
   */
  listen(mode: 'serve' | 'silent' = 'serve'): Promise<void> {
    return this.change(mode);
  }

  /** Stops listening and drops open connections: new connections are refused. */
  close(): Promise<void> {
    return this.change(undefined);
  }

  private change(mode: 'serve' | 'silent' | undefined): Promise<void> {
    const next = this.changes.then(() => this.apply(mode));
    this.changes = next.catch(() => {});
    return next;
  }

  private async apply(mode: 'serve' | 'silent' | undefined): Promise<void> {
    if (this.listening === mode) return;
    if (this.listening) {
      const open = this.listening === 'serve' ? this.server : this.silentServer;
      this.listening = undefined;
      await new Promise<void>((resolve) => {
        open.close(() => resolve());
        for (const socket of this.sockets) socket.destroy();
      });
    }
    if (!mode) return;
    const server = mode === 'serve' ? this.server : this.silentServer;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address();
        if (address && typeof address === 'object') this.port = address.port;
        resolve();
      });
    });
    this.listening = mode;
  }

  private apiKey(resource: string): string[] {
    const { accountId, region, name } = this.context.cluster;
    return [`k8s:${name}:${resource}`, `k8s:${accountId}/${region}/${name}:${resource}`];
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.handle(req, Buffer.concat(chunks).toString('utf8'))
        .catch((error: unknown) =>
          error instanceof StatusError
            ? error
            : new StatusError(500, 'InternalError', `Internal error occurred: ${(error as Error).message}`),
        )
        .then((result) => {
          if (result instanceof StatusError) {
            res.writeHead(result.code, { 'content-type': 'application/json', ...result.headers });
            res.end(JSON.stringify(status(result)));
          } else if (result.body instanceof StreamedJson) {
            let closed = false;
            res.once('close', () => {
              closed = true;
            });
            res.writeHead(result.code, { 'content-type': 'application/json' });
            result.body.write(res, () => closed || res.destroyed).catch(() => res.destroy());
          } else {
            res.writeHead(result.code, {
              'content-type': result.body instanceof RawJson ? result.body.contentType : 'application/json',
            });
            res.end(result.body instanceof RawJson ? result.body.bytes : JSON.stringify(result.body));
          }
        });
    });
  }

  private async handle(req: IncomingMessage, body: string): Promise<{ code: number; body: unknown }> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    const path = trimTrailingSlashes(url.pathname);
    const namespaced = NAMESPACED_LIST.exec(path) ?? NAMESPACED_SLICES.exec(path);
    const token = TOKEN_REQUEST.exec(path);
    const serviceGet = method === 'GET' ? SERVICE_GET.exec(path) : null;
    const list =
      LISTS[path] ??
      (namespaced
        ? LISTS[namespaced[2] ? `/api/v1/${namespaced[2]}` : '/apis/discovery.k8s.io/v1/endpointslices']
        : undefined);
    const rbac = this.context.rbac ? rbacRoute(method, path) : undefined;
    const discovery = method === 'GET' ? discoveryDocument(path, this.context.rbac !== undefined) : undefined;
    const single = method === 'GET' ? singleObject(path) : undefined;
    const namespaceGet = method === 'GET' ? NAMESPACE_GET.exec(path) : null;
    const resource =
      rbac?.apiKey ??
      (discovery
        ? 'discovery'
        : namespaceGet
          ? 'namespaces:get'
          : single
            ? `${single.list.resource}:get`
            : serviceGet
              ? 'services'
              : list && method === 'GET'
                ? list.resource
                : token && method === 'POST'
                  ? 'token'
                  : undefined);
    if (resource) this.context.faults.count(this.apiKey(resource)[0] as string);
    // Read and counted, never answered: the socket stays open until the client gives up.
    if (this.context.faults.isStalled(this.context.cluster)) return new Promise(() => {});
    await sleep(this.context.faults.latencyMs);
    const principal = this.authenticate(req);
    if (!resource)
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
    const keys = this.apiKey(resource);
    const fault = this.context.faults.decide(keys);
    if (fault === 'throttle') {
      throw new StatusError(
        429,
        'TooManyRequests',
        'Too many requests, please try again later.',
        { retryAfterSeconds: 1 },
        {
          'retry-after': '1',
        },
      );
    }
    if (fault === 'server-error') {
      throw new StatusError(
        500,
        'InternalError',
        'Internal error occurred: the emulator injected a server error',
        {
          causes: [{ message: 'injected fault' }],
        },
      );
    }
    const failure = this.context.faults.failureOf(keys);
    if (failure === 'denied') {
      throw new StatusError(
        403,
        'Forbidden',
        `${resource} is forbidden: User "${principal}" cannot list resource "${resource}" (injected)`,
        { kind: resource },
      );
    }
    if (failure === 'server-error') {
      throw new StatusError(500, 'InternalError', 'Internal error occurred: injected failure');
    }
    if (failure === 'html-404') {
      const page = '<!doctype html>\n<html><body><h1>404 Not Found</h1></body></html>';
      return { code: 404, body: new RawJson(Buffer.from(page), 'text/html; charset=utf-8') };
    }
    if (failure === 'silent') {
      // Read, never answered: the collector's timeout has to end it.
      await new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
      throw new StatusError(500, 'InternalError', 'closed');
    }
    if (discovery) return { code: 200, body: discovery };
    if (single) return this.getOne(single, principal);
    if (namespaceGet) return this.getNamespace(decodeURIComponent(namespaceGet[1] ?? ''));
    if (rbac && this.context.rbac) {
      const contentType = req.headers['content-type'];
      return this.context.rbac.handle(rbac, { body, contentType, query: url.searchParams });
    }
    if (token) {
      return this.tokenRequest(
        decodeURIComponent(token[1] ?? ''),
        decodeURIComponent(token[2] ?? ''),
        body,
        principal,
      );
    }
    if (serviceGet) {
      return this.getService(
        decodeURIComponent(serviceGet[1] ?? ''),
        decodeURIComponent(serviceGet[2] ?? ''),
        principal,
        failure === 'malformed' || this.context.faults.isMalformedList(keys),
      );
    }
    if (!list) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    const namespace = namespaced ? decodeURIComponent(namespaced[1] ?? '') : undefined;
    if (!this.context.cluster.collected.has(list.kind)) {
      const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
      throw new StatusError(
        403,
        'Forbidden',
        `${list.resource} is forbidden: User "${principal}" cannot list resource "${list.resource}" in API group "${list.group}" ${scope}`,
        { kind: list.resource },
      );
    }
    const page = this.list(list, url.searchParams, keys, namespace);
    if (page instanceof StreamedJson) return { code: 200, body: page };
    if (this.context.faults.isMalformedList(keys) || failure === 'malformed') {
      return { code: 200, body: new RawJson(page.bytes.subarray(0, Math.floor(page.bytes.length / 2))) };
    }
    if (this.context.faults.isMisshapenList(keys)) return { code: 200, body: misshapen(page.bytes) };
    const trickle = this.context.faults.trickleOf(this.context.cluster);
    return { code: 200, body: trickle ? trickled(page.bytes, trickle) : page };
  }

  /** Returns the caller's principal ARN, or throws 401. */
  private authenticate(req: IncomingMessage): string {
    const { cluster } = this.context;
    if (this.context.faults.isForbidden(cluster)) {
      throw new StatusError(
        401,
        'Unauthorized',
        `Unauthorized: no access entry for the caller in cluster ${cluster.name}`,
      );
    }
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new StatusError(401, 'Unauthorized', 'Unauthorized: no bearer token');
    const verdict = this.context.verifyToken(match[1]);
    if (!verdict.ok) throw new StatusError(401, 'Unauthorized', `Unauthorized: ${verdict.reason}`);
    const principal = this.context.principalOf(verdict.accessKeyId);
    if (!principal) throw new StatusError(401, 'Unauthorized', 'Unauthorized: unknown access key');
    if (principal.accountId !== cluster.accountId) {
      throw new StatusError(
        401,
        'Unauthorized',
        `Unauthorized: credentials of account ${principal.accountId} cannot access cluster in account ${cluster.accountId}`,
      );
    }
    return principal.arn;
  }

  private list(
    list: ListResource,
    query: URLSearchParams,
    keys: readonly string[],
    namespace: string | undefined,
  ): RawJson | StreamedJson {
    const faults = this.context.faults;
    const selector = query.get('labelSelector') ?? '';
    const requirements = parseLabelSelector(selector);
    const all = this.objects[list.kind].filter(
      (object) =>
        (namespace === undefined || object.namespace === namespace) && selects(requirements, object.labels),
    );
    const limitParam = query.get('limit');
    const limit = limitParam === null || limitParam === '' ? 0 : Number(limitParam);
    if (!Number.isInteger(limit) || limit < 0) {
      throw new StatusError(400, 'BadRequest', `invalid limit: ${JSON.stringify(limitParam)}`);
    }
    let offset = 0;
    const continueToken = query.get('continue');
    if (continueToken) {
      if (this.context.faults.expireContinue(keys)) {
        throw new StatusError(410, 'Expired', EXPIRED_MESSAGE);
      }
      offset = this.decodeContinue(continueToken, list.resource, namespace, selector);
    }
    const oversized = faults.oversizedPageItems(keys);
    const endless = faults.isEndlessContinue(keys);
    // An endless list goes round its items; an oversized page repeats them past the limit.
    const start = endless && all.length > 0 ? offset % all.length : offset;
    const items =
      oversized !== undefined
        ? Array.from(
            { length: all.length > 0 ? oversized : 0 },
            (_, index) => all[index % all.length] as Served,
          )
        : limit > 0
          ? all.slice(start, start + limit)
          : all.slice(start);
    const end = offset + items.length;
    const remaining = all.length - end;
    const metadata: JsonObject = { resourceVersion: this.resourceVersion };
    const token = (at: number, extra: JsonObject = {}) =>
      base64url({
        v: 'emulator/1',
        rv: this.resourceVersion,
        resource: list.resource,
        namespace,
        ...(selector ? { selector } : {}),
        offset: at,
        ...extra,
      });
    if (faults.isLoopingContinue(keys)) {
      // The same token on every page: the one the first page gave.
      metadata.continue = token(Math.min(limit, all.length), { loop: true });
    } else if (endless) {
      // A new token each time, even when the list has no items to go round.
      this.endlessPages++;
      metadata.continue = token(end, { page: this.endlessPages });
    } else if (limit > 0 && remaining > 0) {
      metadata.continue = token(end);
      metadata.remainingItemCount = remaining;
    }
    const head = JSON.stringify({ kind: `${list.kind}List`, apiVersion: list.apiVersion, metadata });
    const parts: Buffer[] = [Buffer.from(`${head.slice(0, -1)},"items":[`)];
    for (const [index, item] of items.entries()) {
      if (index > 0) parts.push(COMMA);
      parts.push(item.json);
    }
    const huge = faults.hugePageBytes(keys);
    if (huge !== undefined) {
      return hugePage(
        Buffer.concat(parts),
        items.map((item) => item.json),
        huge,
      );
    }
    parts.push(Buffer.from(']}'));
    return new RawJson(Buffer.concat(parts));
  }

  /** One object by name, as kube-apiserver answers a GET of it (404 NotFound when there is none). */
  private getOne(single: SingleObject, principal: string): { code: number; body: unknown } {
    const { list, namespace, name } = single;
    if (!this.context.cluster.collected.has(list.kind)) {
      const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
      throw new StatusError(
        403,
        'Forbidden',
        `${list.resource} "${name}" is forbidden: User "${principal}" cannot get resource "${list.resource}" in API group "${list.group}" ${scope}`,
        { name, kind: list.resource },
      );
    }
    const found = this.objects[list.kind].find(
      (object) => object.name === name && (namespace === undefined || object.namespace === namespace),
    );
    if (!found) {
      const qualified = list.group ? `${list.resource}.${list.group}` : list.resource;
      throw new StatusError(404, 'NotFound', `${qualified} "${name}" not found`, {
        name,
        ...(list.group ? { group: list.group } : {}),
        kind: list.resource,
      });
    }
    return { code: 200, body: new RawJson(found.json) };
  }

  /**
   * The snapshot's Namespace when it has them; for an older snapshot, a namespace exists when an
   * object of the snapshot is in it (a snapshot holds every ServiceAccount, and every namespace has
   * its `default` one).
   */
  private getNamespace(name: string): { code: number; body: unknown } {
    const listed = this.objects.Namespace.find((object) => object.name === name);
    if (listed) return { code: 200, body: new RawJson(listed.json) };
    const known =
      this.objects.Namespace.length === 0 &&
      [...this.objects.ServiceAccount, ...this.objects.Pod].some((object) => object.namespace === name);
    if (!known) {
      throw new StatusError(404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' });
    }
    return {
      code: 200,
      body: {
        kind: 'Namespace',
        apiVersion: 'v1',
        metadata: { name },
        spec: {},
        status: { phase: 'Active' },
      },
    };
  }

  private decodeContinue(
    token: string,
    resource: string,
    namespace: string | undefined,
    selector: string,
  ): number {
    try {
      const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as JsonObject;
      const offset = Number(decoded.offset);
      if (
        decoded.v === 'emulator/1' &&
        decoded.resource === resource &&
        decoded.namespace === namespace &&
        (decoded.selector ?? '') === selector &&
        Number.isInteger(offset) &&
        offset >= 0
      ) {
        return offset;
      }
    } catch {
      // reported below
    }
    throw new StatusError(
      400,
      'BadRequest',
      'continue key is not valid: the token was not issued for this list',
    );
  }

  /** GET of one Service: the object, or the Status NotFound a kube-apiserver answers. */
  private getService(
    namespace: string,
    name: string,
    principal: string,
    malformed: boolean,
  ): { code: number; body: unknown } {
    if (!this.context.cluster.collected.has('Service')) {
      throw new StatusError(
        403,
        'Forbidden',
        `services "${name}" is forbidden: User "${principal}" cannot get resource "services" in API group "" in the namespace "${namespace}"`,
        { name, kind: 'services' },
      );
    }
    const service = this.objects.Service.find((s) => s.namespace === namespace && s.name === name);
    if (!service) {
      throw new StatusError(404, 'NotFound', `services "${name}" not found`, { name, kind: 'services' });
    }
    return {
      code: 200,
      body: new RawJson(
        malformed ? service.json.subarray(0, Math.floor(service.json.length / 2)) : service.json,
      ),
    };
  }

  private tokenRequest(
    namespace: string,
    name: string,
    body: string,
    principal: string,
  ): { code: number; body: unknown } {
    if (this.context.faults.deniesTokenRequests(this.context.cluster)) {
      throw new StatusError(
        403,
        'Forbidden',
        `serviceaccounts "${name}" is forbidden: User "${principal}" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${namespace}"`,
        { name, kind: 'serviceaccounts' },
      );
    }
    const serviceAccount = this.context.cluster.objects.ServiceAccount.find(
      (object) => object.metadata?.name === name && (object.metadata?.namespace ?? 'default') === namespace,
    );
    if (!serviceAccount) {
      throw new StatusError(404, 'NotFound', `serviceaccounts "${name}" not found`, {
        name,
        kind: 'serviceaccounts',
      });
    }
    let spec: JsonObject = {};
    try {
      const parsed = body.trim() ? (JSON.parse(body) as JsonObject) : {};
      spec = (parsed.spec as JsonObject | undefined) ?? {};
    } catch {
      throw new StatusError(400, 'BadRequest', 'the request body is not a TokenRequest in JSON');
    }
    const audiences =
      Array.isArray(spec.audiences) && spec.audiences.length > 0
        ? (spec.audiences as string[])
        : ['https://kubernetes.default.svc'];
    const expirationSeconds = spec.expirationSeconds === undefined ? 3600 : Number(spec.expirationSeconds);
    if (!Number.isInteger(expirationSeconds) || expirationSeconds < 600) {
      throw new StatusError(
        422,
        'Invalid',
        'TokenRequest.authentication.k8s.io is invalid: spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes',
      );
    }
    const now = Math.floor(Date.now() / 1000);
    const issuer = (
      (this.context.cluster.cluster.identity as JsonObject | undefined)?.oidc as JsonObject | undefined
    )?.issuer;
    const uid = (serviceAccount.metadata as JsonObject | undefined)?.uid;
    const claims = {
      aud: audiences,
      exp: now + expirationSeconds,
      iat: now,
      iss: typeof issuer === 'string' ? issuer : 'https://kubernetes.default.svc',
      nbf: now,
      sub: `system:serviceaccount:${namespace}:${name}`,
      'kubernetes.io': { namespace, serviceaccount: { name, ...(typeof uid === 'string' ? { uid } : {}) } },
    };
    // A projected service account token, signed RS256 by the cluster issuer's key (STS verifies it).
    const jwt =
      this.context.issuers?.sign(claims) ??
      `${base64url({ alg: 'RS256', kid: 'irsa-auditor-emulator' })}.${base64url(claims)}.${randomBytes(64).toString('base64url')}`;
    return {
      code: 201,
      body: {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace, creationTimestamp: null },
        spec: { audiences, expirationSeconds, boundObjectRef: spec.boundObjectRef ?? null },
        status: {
          token: jwt,
          expirationTimestamp: new Date((now + expirationSeconds) * 1000).toISOString().replace('.000Z', 'Z'),
        },
      },
    };
  }
}
