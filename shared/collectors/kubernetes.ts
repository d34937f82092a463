/**
 * Kubernetes reads per cluster, with the EKS bearer token and TLS verified against the cluster
 * CA from DescribeCluster: ServiceAccounts, Pods and MutatingWebhookConfigurations, listed in
 * pages of 500 and trimmed to the fields the checks read. 429 (honouring Retry-After) and 5xx are
 * retried with backoff, a list whose continue token expired (410) is restarted, and failures are
 * returned as collection errors, never thrown: the rest of the fleet is still audited.
 *
 * Authentication and TLS come from the Kubernetes client's KubeConfig (`applyToHTTPSOptions`: the
 * bearer header and the cluster CA, verification always on). The list pages themselves are read
 * over one keep-alive HTTPS agent per cluster and parsed as plain JSON: the generated typed API
 * opens a new TLS connection per request and turns every pod into class instances, which cost a
 * fleet of 600,000 pods about 14 of its 31 CPU-seconds (see bench/collection.bench.ts).
 */
import { Agent, type RequestOptions, request } from 'node:https';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import type { CollectionError, KubernetesKind } from '../model/fleet.ts';

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
  /** Per-request timeout. */
  readonly timeoutMs?: number;
  /** Base backoff; doubled per retry (with jitter), overridden by Retry-After. */
  readonly backoffMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface KubernetesCollection {
  /** The `kubernetes.json` document, or null when the API could not be read at all. */
  readonly file: { apiVersion: 'v1'; kind: 'List'; items: unknown[]; collected: KubernetesKind[] } | null;
  readonly errors: CollectionError[];
  /** Requests made, by resource (for the benchmark's call accounting). */
  readonly requests: Record<string, number>;
}

interface ListPage {
  items: unknown[];
  metadata?: { continue?: string };
}

interface Lister {
  readonly kind: KubernetesKind;
  readonly resource: string;
  /** The cluster-wide list path. */
  readonly path: string;
  readonly trim: (item: never) => Record<string, unknown>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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

function trimMetadata(meta: Meta | undefined, keepLabels: boolean): Record<string, unknown> {
  return {
    name: meta?.name,
    namespace: meta?.namespace,
    annotations: meta?.annotations,
    ...(keepLabels ? { labels: meta?.labels } : {}),
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
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { ...trimMetadata(sa.metadata, false), ...(managedFields?.length ? { managedFields } : {}) },
  };
}

interface ContainerLike {
  name?: string;
  env?: { name?: string; value?: string }[];
}

function trimContainer(container: ContainerLike): Record<string, unknown> {
  return {
    name: container.name,
    // Only the variables the checks read; values of others may be secrets.
    env: container.env
      ?.filter((e) => e.name?.startsWith('AWS_'))
      .map((e) => ({ name: e.name, ...(e.value === undefined ? {} : { value: e.value }) })),
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
      ...(spec?.initContainers?.length ? { initContainers: spec.initContainers.map(trimContainer) } : {}),
      volumes: spec?.volumes?.map((v) => ({
        name: v.name,
        ...(v.projected
          ? {
              projected: {
                sources: (v.projected.sources ?? [])
                  .filter((s) => s.serviceAccountToken)
                  .map((s) => ({ serviceAccountToken: { audience: s.serviceAccountToken?.audience } })),
              },
            }
          : {}),
      })),
    },
    status: { phase: pod.status?.phase },
  };
}

function trimWebhookConfiguration(config: {
  metadata?: Meta;
  webhooks?: { name?: string; clientConfig?: { caBundle?: string } }[];
}): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: config.metadata?.name },
    webhooks: (config.webhooks ?? []).map((w) => ({
      name: w.name,
      clientConfig: { caBundle: w.clientConfig?.caBundle },
    })),
  };
}

const LISTERS: readonly Lister[] = [
  {
    kind: 'ServiceAccount',
    resource: 'serviceaccounts',
    path: '/api/v1/serviceaccounts',
    trim: trimServiceAccount as Lister['trim'],
  },
  {
    kind: 'Pod',
    resource: 'pods',
    path: '/api/v1/pods',
    trim: trimPod as Lister['trim'],
  },
  {
    kind: 'MutatingWebhookConfiguration',
    resource: 'mutatingwebhookconfigurations',
    path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
    trim: trimWebhookConfiguration as Lister['trim'],
  },
];

/** The client library's configuration for one cluster: its endpoint and CA (verified), the bearer token. */
export function kubeConfig(target: KubernetesTarget, token: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: target.name, server: target.endpoint, caData: target.caData, skipTLSVerify: false }],
    users: [{ name: 'irsa-auditor', token }],
    contexts: [{ name: target.name, cluster: target.name, user: 'irsa-auditor' }],
    currentContext: target.name,
  });
  return config;
}

/** What one cluster's requests share: the request options from the KubeConfig, and one agent. */
interface Connection {
  readonly token: string;
  readonly options: RequestOptions;
}

/** The request options of the client's KubeConfig (bearer header, cluster CA), on our own agent. */
async function connectionOptions(
  target: KubernetesTarget,
  token: string,
  agent: Agent,
): Promise<RequestOptions> {
  const options: RequestOptions = {};
  await kubeConfig(target, token).applyToHTTPSOptions(options);
  return {
    headers: { ...options.headers, accept: 'application/json' },
    agent,
  };
}

/** GETs one list page; a non-2xx answer becomes the client library's ApiException. */
function getPage(url: URL, options: RequestOptions, timeoutMs: number): Promise<ListPage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text for the error
        }
        if (status >= 200 && status < 300 && body && typeof body === 'object') {
          resolve(body as ListPage);
          return;
        }
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') headers[key] = value;
        }
        reject(new ApiException(status, `HTTP ${status} from ${url.pathname}`, body, headers));
      });
    });
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', reject);
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
  if (error instanceof ApiException) {
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
  const err = error as {
    code?: string;
    cause?: { code?: string; message?: string };
    message?: string;
    name?: string;
  };
  const code = err.code ?? err.cause?.code ?? err.name ?? 'Error';
  const message = err.cause?.message ?? err.message ?? String(error);
  if (TLS_CODES.test(code) || TLS_CODES.test(message)) return { type: 'fatal', code: 'TLS', message };
  if (code === 'ETIMEDOUT') return { type: 'retry', code, message };
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH/.test(code)) return { type: 'fatal', code, message };
  return { type: 'retry', code, message };
}

/** Lists the three kinds of one cluster. */
export async function collectKubernetes(
  target: KubernetesTarget,
  options: KubernetesCollectOptions,
): Promise<KubernetesCollection> {
  const pageSize = options.pageSize ?? 500;
  const maxRetries = options.maxRetries ?? 5;
  const maxRestarts = options.maxRestarts ?? 3;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const backoffMs = options.backoffMs ?? 200;
  const sleep = options.sleep ?? defaultSleep;
  const requests: Record<string, number> = {};
  const errors: CollectionError[] = [];
  const items: unknown[] = [];
  const collected: KubernetesKind[] = [];

  // One keep-alive agent for the cluster, verifying its CA; request options rebuilt only when the
  // token cache renews the token (every 14 minutes), not per page.
  const ca = Buffer.from(target.caData, 'base64');
  const agent = new Agent({ keepAlive: true, maxSockets: LISTERS.length, ca, rejectUnauthorized: true });
  let current: Connection | undefined;
  async function optionsForToken(): Promise<RequestOptions> {
    const token = await options.token();
    if (current?.token !== token) current = { token, options: await connectionOptions(target, token, agent) };
    return current.options;
  }

  async function page(lister: Lister, cont: string | undefined): Promise<ListPage> {
    for (let attempt = 0; ; attempt++) {
      requests[lister.resource] = (requests[lister.resource] ?? 0) + 1;
      try {
        const url = new URL(lister.path, target.endpoint);
        url.searchParams.set('limit', String(pageSize));
        if (cont) url.searchParams.set('continue', cont);
        return await getPage(url, await optionsForToken(), timeoutMs);
      } catch (error) {
        const verdict = classify(error);
        if (verdict.type !== 'retry' || attempt >= maxRetries) throw error;
        const exponential = backoffMs * 2 ** attempt * (0.5 + Math.random() / 2);
        await sleep(verdict.retryAfterMs ?? exponential);
      }
    }
  }

  /** Lists one kind completely, restarting it when its continue token expired. */
  async function listAll(lister: Lister): Promise<unknown[]> {
    const kindItems: unknown[] = [];
    let restarts = 0;
    let cont: string | undefined;
    do {
      let result: ListPage;
      try {
        result = await page(lister, cont);
      } catch (error) {
        if (classify(error).type === 'expired' && restarts < maxRestarts) {
          // The snapshot the continue token pointed at is gone: start the list again.
          restarts++;
          kindItems.length = 0;
          cont = undefined;
          continue;
        }
        throw error;
      }
      for (const item of result.items) kindItems.push(lister.trim(item as never));
      cont = result.metadata?.continue || undefined;
    } while (cont);
    return kindItems;
  }

  // The three lists are independent: list them at once.
  const outcomes = await Promise.allSettled(LISTERS.map(listAll)).finally(() => agent.destroy());
  for (const [index, outcome] of outcomes.entries()) {
    const lister = LISTERS[index] as Lister;
    if (outcome.status === 'fulfilled') {
      items.push(...outcome.value);
      collected.push(lister.kind);
      continue;
    }
    const verdict = classify(outcome.reason);
    const api = `k8s:${lister.resource}`;
    if (verdict.type === 'fatal') {
      // The API as a whole is out of reach or refuses us: one error for the cluster, no file.
      return {
        file: null,
        errors: [{ api, code: verdict.code, message: redact(verdict.message) }],
        requests,
      };
    }
    if (verdict.type === 'denied') {
      errors.push({ api, code: verdict.code, message: verdict.message, kind: lister.kind });
      continue;
    }
    const { code, message } =
      verdict.type === 'expired'
        ? {
            code: 'Expired',
            message: `the list was restarted ${maxRestarts} times and its continue token expired again`,
          }
        : verdict;
    errors.push({ api, code, message: redact(message), kind: lister.kind });
  }
  return { file: { apiVersion: 'v1', kind: 'List', items, collected }, errors, requests };
}

/** Error texts never carry the bearer token, even if a library put it there. */
function redact(message: string): string {
  return message.replace(/k8s-aws-v1\.[A-Za-z0-9_-]+/g, 'k8s-aws-v1.<redacted>');
}
