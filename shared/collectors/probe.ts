/**
 * The live probe (IRSA-040, opt-in): for each ServiceAccount with a role-arn annotation, a
 * TokenRequest with the audience its pods get, then sts:AssumeRoleWithWebIdentity with that token,
 * the way the pod's SDK would do it. Only the outcome is kept: the token and the credentials STS
 * returns are dropped at once, never stored, logged or put in a message. A TokenRequest that RBAC
 * denies is a collection error of the cluster (AUDIT-003), and the cluster has no probe results.
 */
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { CoreV1Api } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { AUDIENCE_ANNOTATION, ROLE_ARN_ANNOTATION } from '../engine/audit-context.ts';
import type { CollectionError, ProbeResult } from '../model/fleet.ts';
import { DEFAULT_AUDIENCE } from '../policy/irsa-trust.ts';
import { redactSecrets } from './failures.ts';
import type { KubernetesTarget } from './kubernetes.ts';

export const PROBE_SESSION_NAME = 'irsa-audit-probe';
/** The shortest lifetime a TokenRequest accepts; the token is used once, right away. */
const TOKEN_EXPIRATION_SECONDS = 600;
/** The shortest session STS grants; the credentials are never used. */
const SESSION_SECONDS = 900;

export interface ProbeTarget {
  readonly name: string;
  readonly region: string;
  /** `https://...` from DescribeCluster. */
  readonly endpoint: string;
  /** base64 PEM from DescribeCluster `certificateAuthority.data`. */
  readonly caData: string;
}

/** An annotated ServiceAccount to probe. */
export interface ProbeCandidate {
  readonly namespace: string;
  readonly name: string;
  readonly roleArn: string;
  readonly audience: string;
}

export interface ProbeOptions {
  /** Returns a valid EKS bearer token of the auditor (cached by the caller). Never logged. */
  readonly token: () => Promise<string>;
  /** The unsigned STS client of a region (see {@link WebIdentityStsClients}). */
  readonly sts: (region: string) => STSClient;
  /** Service accounts probed at once in this cluster. */
  readonly concurrency?: number;
  /** Retries of a TokenRequest on 429/5xx. */
  readonly maxRetries?: number;
  readonly backoffMs?: number;
  /** Per-request timeout (TokenRequest and STS). */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ProbeCollection {
  /** One result per candidate, or null when the cluster refused the TokenRequests (not probed). */
  readonly results: ProbeResult[] | null;
  readonly errors: CollectionError[];
  /** Requests made: `serviceaccounts/token` and `sts:AssumeRoleWithWebIdentity`. */
  readonly requests: Record<string, number>;
}

/**
 * The unsigned STS clients of the probe, one per region, with the collectors' retry settings
 * (adaptive: throttling and 5xx are retried by the SDK). AssumeRoleWithWebIdentity needs no AWS
 * credentials: the SDK sends it unsigned, so the auditor's identity plays no part in the answer.
 */
export class WebIdentityStsClients {
  private readonly byRegion = new Map<string, STSClient>();

  constructor(private readonly maxAttempts = 6) {}

  get(region: string): STSClient {
    let client = this.byRegion.get(region);
    if (!client) {
      client = new STSClient({ region, retryMode: 'adaptive', maxAttempts: this.maxAttempts });
      this.byRegion.set(region, client);
    }
    return client;
  }

  destroy(): void {
    for (const client of this.byRegion.values()) client.destroy();
    this.byRegion.clear();
  }
}

/** The ServiceAccounts of a `kubernetes.json` item list that carry a non-empty role-arn annotation. */
export function probeCandidates(items: readonly unknown[]): ProbeCandidate[] {
  const out: ProbeCandidate[] = [];
  for (const item of items as {
    kind?: string;
    metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  }[]) {
    if (item.kind !== 'ServiceAccount' || !item.metadata?.name) continue;
    const annotations = item.metadata.annotations ?? {};
    const roleArn = annotations[ROLE_ARN_ANNOTATION];
    if (!roleArn?.trim()) continue;
    const audience = annotations[AUDIENCE_ANNOTATION];
    out.push({
      namespace: item.metadata.namespace ?? 'default',
      name: item.metadata.name,
      roleArn,
      audience: audience?.trim() ? audience : DEFAULT_AUDIENCE,
    });
  }
  return out;
}

/** Texts kept from the probe never carry a bearer token or a service account token. */
export function redactTokens(text: string): string {
  return redactSecrets(text).slice(0, 1000);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' })),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The Kubernetes client library, loaded the first time a cluster is probed: it costs a process about
 * 70 MB of memory, which a collection without the probe does not pay.
 */
type ClientLibrary = typeof import('@kubernetes/client-node');
let clientLibrary: Promise<ClientLibrary> | undefined;
const loadClientLibrary = () => {
  clientLibrary ??= import('@kubernetes/client-node');
  return clientLibrary;
};

/** The client library's CoreV1Api for one cluster: its endpoint and CA (verified), the bearer token. */
async function coreApi(target: KubernetesTarget, token: string): Promise<CoreV1Api> {
  const { CoreV1Api, KubeConfig } = await loadClientLibrary();
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: target.name, server: target.endpoint, caData: target.caData, skipTLSVerify: false }],
    users: [{ name: 'irsa-auditor', token }],
    contexts: [{ name: target.name, cluster: target.name, user: 'irsa-auditor' }],
    currentContext: target.name,
  });
  return config.makeApiClient(CoreV1Api);
}

/** Why a TokenRequest failed: the cluster refuses the probe, a retryable answer, or this SA only. */
function classifyTokenError(
  { ApiException }: ClientLibrary,
  error: unknown,
):
  | { type: 'denied'; code: string; message: string }
  | { type: 'retry'; code: string; message: string; retryAfterMs?: number }
  | { type: 'error'; code: string; message: string } {
  if (error instanceof ApiException) {
    const status = error.code;
    const body = error.body as { message?: string } | string | undefined;
    const detail = typeof body === 'object' && body?.message ? body.message : `HTTP ${status}`;
    if (status === 403) return { type: 'denied', code: 'Forbidden', message: detail };
    if (status === 401) return { type: 'denied', code: 'Unauthorized', message: detail };
    if (status === 429 || status >= 500) {
      const retryAfter = Number(error.headers?.['retry-after']);
      return {
        type: 'retry',
        code: status === 429 ? 'TooManyRequests' : `HTTP${status}`,
        message: detail,
        ...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}),
      };
    }
    return { type: 'error', code: status === 404 ? 'NotFound' : `HTTP${status}`, message: detail };
  }
  const err = error as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  const code = err.code ?? err.cause?.code ?? 'Error';
  const message = err.cause?.message ?? err.message ?? String(error);
  return code === 'ETIMEDOUT' ? { type: 'retry', code, message } : { type: 'error', code, message };
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** An STS answer that refuses the token or the role is a failure; anything else left the probe unfinished. */
function stsOutcome(error: unknown): { outcome: 'fail' | 'error'; code: string; message: string } {
  const err = error as {
    name?: string;
    code?: string;
    Code?: string;
    message?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  // STS's own error code (`InvalidIdentityToken`), not the SDK's class name (`InvalidIdentityTokenException`).
  const code = err.Code || (err.name && err.name !== 'Error' ? err.name : (err.code ?? 'Error'));
  const message = err.message ?? String(error);
  const answered = err.$metadata?.httpStatusCode !== undefined && err.$fault === 'client';
  return { outcome: answered && !THROTTLING.has(code) ? 'fail' : 'error', code, message };
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Probes the candidates of one cluster. Never throws; failures are results or collection errors. */
export async function probeServiceAccounts(
  target: ProbeTarget,
  candidates: readonly ProbeCandidate[],
  options: ProbeOptions,
): Promise<ProbeCollection> {
  const limit = pLimit(options.concurrency ?? 4);
  const maxRetries = options.maxRetries ?? 5;
  const backoffMs = options.backoffMs ?? 200;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const sleep = options.sleep ?? defaultSleep;
  const requests: Record<string, number> = {};
  const count = (key: string) => {
    requests[key] = (requests[key] ?? 0) + 1;
  };
  let denied: CollectionError | undefined;

  let current: { token: string; api: CoreV1Api } | undefined;
  async function api(): Promise<CoreV1Api> {
    const token = await options.token();
    if (current?.token !== token) current = { token, api: await coreApi(target, token) };
    return current.api;
  }

  /** A service account token with the pod's audience; `undefined` once the cluster denied the probe. */
  async function requestToken(candidate: ProbeCandidate): Promise<string | ProbeResult | undefined> {
    for (let attempt = 0; ; attempt++) {
      if (denied) return undefined;
      count('serviceaccounts/token');
      try {
        const issued = await withTimeout(
          (await api()).createNamespacedServiceAccountToken({
            name: candidate.name,
            namespace: candidate.namespace,
            body: { spec: { audiences: [candidate.audience], expirationSeconds: TOKEN_EXPIRATION_SECONDS } },
          }),
          timeoutMs,
        );
        const token = issued.status?.token;
        if (token) return token;
        return result(candidate, 'error', 'NoToken', 'the TokenRequest returned no token');
      } catch (error) {
        const verdict = classifyTokenError(await loadClientLibrary(), error);
        if (verdict.type === 'denied') {
          denied ??= {
            api: 'k8s:serviceaccounts/token',
            code: verdict.code,
            message: redactTokens(verdict.message),
            kind: 'TokenRequest',
          };
          return undefined;
        }
        if (verdict.type === 'error' || attempt >= maxRetries) {
          return result(candidate, 'error', verdict.code, verdict.message);
        }
        const exponential = backoffMs * 2 ** attempt * (0.5 + Math.random() / 2);
        await sleep(verdict.type === 'retry' && verdict.retryAfterMs ? verdict.retryAfterMs : exponential);
      }
    }
  }

  async function probe(candidate: ProbeCandidate): Promise<ProbeResult | undefined> {
    const token = await requestToken(candidate);
    if (token === undefined || typeof token !== 'string') return token;
    count('sts:AssumeRoleWithWebIdentity');
    try {
      const response = await options.sts(target.region).send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: candidate.roleArn,
          RoleSessionName: PROBE_SESSION_NAME,
          WebIdentityToken: token,
          DurationSeconds: SESSION_SECONDS,
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      // Only the session ARN is kept; the credentials in `response` go out of scope here.
      return result(candidate, 'pass', null, null, response.AssumedRoleUser?.Arn ?? null);
    } catch (error) {
      const { outcome, code, message } = stsOutcome(error);
      return result(candidate, outcome, code, message);
    }
  }

  const settled = await Promise.all(candidates.map((candidate) => limit(() => probe(candidate))));
  if (denied) return { results: null, errors: [denied], requests };
  return { results: settled.filter((r): r is ProbeResult => r !== undefined), errors: [], requests };
}

function result(
  candidate: ProbeCandidate,
  outcome: ProbeResult['outcome'],
  errorCode: string | null,
  message: string | null,
  assumedRoleArn: string | null = null,
): ProbeResult {
  return {
    namespace: candidate.namespace,
    serviceAccount: candidate.name,
    roleArn: candidate.roleArn,
    audience: candidate.audience,
    outcome,
    errorCode,
    message: message === null ? null : redactTokens(message),
    assumedRoleArn,
  };
}
