/**
 * EKS bearer tokens, built exactly as `aws eks get-token` (botocore) builds them, and checked as a local
 * EKS emulator would check them.
 *
 * A token is `k8s-aws-v1.` + base64url (no padding) of a SigV4 presigned GET of
 * `https://sts.<region>.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15` whose signed headers
 * are `host;x-k8s-aws-id` (the cluster name) and whose `X-Amz-Expires` is 60. It is signed locally: no
 * API call. EKS accepts it for 15 minutes after X-Amz-Date; we treat it as expired after 14.
 *
 * The token is a credential: nothing in this module logs it, and refusal reasons never include it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
export const K8S_AWS_ID_HEADER = 'x-k8s-aws-id';
/** What botocore puts in X-Amz-Expires for get-token (awscli `URL_TIMEOUT`). */
export const PRESIGN_EXPIRES_SECONDS = 60;
/** How long we consider a token good for (awscli `TOKEN_EXPIRATION_MINS`); EKS itself accepts 15 minutes. */
export const TOKEN_LIFETIME_MS = 14 * 60 * 1000;
const DEFAULT_MAX_AGE_SECONDS = 15 * 60;
const MAX_CLOCK_SKEW_SECONDS = 5 * 60;
const ALGORITHM = 'AWS4-HMAC-SHA256';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const REGION_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export interface EksTokenInput {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity;
  /** Signing time (default: the current time). */
  now?: Date;
}

export interface EksToken {
  token: string;
  expiresAt: Date;
}

/**
 * The query parameters in the order botocore writes them into the URL: the operation's parameters, then
 * SigV4QueryAuth's auth params (a dict, so insertion order), then X-Amz-Signature appended last.
 */
function botocoreQueryOrder(hasSessionToken: boolean): string[] {
  return [
    'Action',
    'Version',
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-Date',
    'X-Amz-Expires',
    'X-Amz-SignedHeaders',
    ...(hasSessionToken ? ['X-Amz-Security-Token'] : []),
    'X-Amz-Signature',
  ];
}

/** RFC 3986 percent-encoding, as botocore's `percent_encode` (`quote(v, safe='-_.~')`) and SigV4 want it. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function assertClusterName(clusterName: string): void {
  // botocore and smithy normalise whitespace in header values slightly differently; EKS names have none.
  if (clusterName.length === 0 || /[\s\p{Cc}]/u.test(clusterName)) {
    throw new Error('EKS cluster name must be non-empty and contain no whitespace or control characters');
  }
}

function assertRegion(region: string): void {
  if (!REGION_PATTERN.test(region)) throw new Error(`not an AWS region name: ${JSON.stringify(region)}`);
}

/** `aws eks get-token --cluster-name <clusterName> --region <region>`, without the API call it never makes. */
export async function createEksToken(input: EksTokenInput): Promise<EksToken> {
  const { clusterName, region, credentials } = input;
  assertClusterName(clusterName);
  assertRegion(region);
  const now = input.now ?? new Date();
  const hostname = `sts.${region}.amazonaws.com`;
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: Sha256 });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [K8S_AWS_ID_HEADER]: clusterName },
    },
    { signingDate: now, expiresIn: PRESIGN_EXPIRES_SECONDS },
  );

  // smithy signs the same canonical request as botocore, but its query object is in a different order
  // (session token first): lay the URL out as botocore does, so the token is byte-for-byte the same.
  const query = presigned.query ?? {};
  const order = botocoreQueryOrder(Boolean(credentials.sessionToken));
  const unexpected = Object.keys(query).filter((key) => !order.includes(key));
  if (unexpected.length > 0 || order.some((key) => typeof query[key] !== 'string')) {
    throw new Error(
      `unexpected presigned query from @smithy/signature-v4 (parameters: ${Object.keys(query).join(', ')})`,
    );
  }
  const search = order.map((key) => `${key}=${rfc3986(query[key] as string)}`).join('&');
  const url = `https://${hostname}/?${search}`;
  return {
    token: EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url'),
    expiresAt: new Date(now.getTime() + TOKEN_LIFETIME_MS),
  };
}

export interface EksTokenCacheOptions {
  /** The clock (default: the current time). */
  now?: () => Date;
}

interface CacheEntry {
  promise: Promise<EksToken>;
  /** Known once the token is minted; until then the entry is an in-flight request. */
  expiresAt?: Date;
}

/**
 * Reuses a token per (cluster, region, access key id) until its expiresAt (14 minutes), then mints a new
 * one. Concurrent requests for the same key share one signing. Tokens signed with temporary credentials
 * are not reused past the credentials' own expiration.
 */
export class EksTokenCache {
  private readonly clock: () => Date;
  private readonly entries = new Map<string, CacheEntry>();

  constructor(options: EksTokenCacheOptions = {}) {
    this.clock = options.now ?? (() => new Date());
  }

  get(input: Omit<EksTokenInput, 'now'>): Promise<EksToken> {
    const now = this.clock();
    this.prune(now);
    const key = [input.clusterName, input.region, input.credentials.accessKeyId].join('\u0000');
    const credentialsExpired =
      input.credentials.expiration !== undefined && input.credentials.expiration.getTime() <= now.getTime();
    const cached = this.entries.get(key);
    if (cached && !credentialsExpired) return cached.promise;

    const entry: CacheEntry = { promise: createEksToken({ ...input, now }) };
    this.entries.set(key, entry);
    entry.promise.then(
      (token) => {
        const expiration = input.credentials.expiration;
        entry.expiresAt =
          expiration && expiration.getTime() < token.expiresAt.getTime() ? expiration : token.expiresAt;
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.promise;
  }

  /** How many tokens (or signings in flight) are held. */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  private prune(now: Date): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt && entry.expiresAt.getTime() <= now.getTime()) this.entries.delete(key);
    }
  }
}

export interface EksTokenExpectation {
  clusterName: string;
  /** The secret access key for an access key id, or undefined when the key is unknown. */
  secretAccessKeyFor: (accessKeyId: string) => string | undefined;
  now: Date;
  /** How long after X-Amz-Date the token is accepted (default 900, as EKS). */
  maxAgeSeconds?: number;
}

export type EksTokenVerdict = { ok: true; accessKeyId: string } | { ok: false; reason: string };

function refuse(reason: string): EksTokenVerdict {
  return { ok: false, reason };
}

/** A short, quoted rendering of a value taken from the token, for a refusal reason (never secrets). */
function shown(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Reject rollovers such as month 13 or second 60.
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && date.getUTCSeconds() === s
    ? date
    : undefined;
}

/**
 * Accept or refuse an EKS bearer token, as a local EKS emulator would: the token must be a presigned STS
 * GetCallerIdentity URL, fresh, and its SigV4 signature must verify with the access key's secret and the
 * header `x-k8s-aws-id: <expect.clusterName>` (so a token minted for another cluster is refused).
 */
export function verifyEksToken(token: string, expect: EksTokenExpectation): EksTokenVerdict {
  if (!token.startsWith(EKS_TOKEN_PREFIX)) return refuse('token does not start with "k8s-aws-v1."');
  const payload = token.slice(EKS_TOKEN_PREFIX.length);
  if (payload.length === 0 || !/^[A-Za-z0-9_-]+$/.test(payload) || payload.length % 4 === 1) {
    return refuse('token payload is not unpadded base64url');
  }
  const bytes = Buffer.from(payload, 'base64url');
  if (bytes.toString('base64url') !== payload) return refuse('token payload is not canonical base64url');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return refuse('token payload does not decode to a URL');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse('token payload does not decode to a URL');
  }

  if (url.protocol !== 'https:') return refuse(`token URL is not https (${shown(url.protocol)})`);
  if (url.username || url.password || url.port || url.hash) {
    return refuse('token URL has userinfo, a port or a fragment');
  }
  const regional = /^sts\.([a-z0-9]+(?:-[a-z0-9]+)*)\.amazonaws\.com$/.exec(url.hostname);
  const hostRegion = regional ? regional[1] : url.hostname === 'sts.amazonaws.com' ? 'us-east-1' : undefined;
  if (!hostRegion) return refuse(`token URL host ${shown(url.hostname)} is not an STS endpoint`);
  if (url.pathname !== '/') return refuse(`token URL path ${shown(url.pathname)} is not "/"`);

  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(url.search)) {
    if (params.has(key)) return refuse(`token URL repeats the query parameter ${shown(key)}`);
    params.set(key, value);
  }
  const action = params.get('Action');
  if (action !== 'GetCallerIdentity') {
    return refuse(
      `token URL Action is ${action === undefined ? 'missing' : shown(action)}, not GetCallerIdentity`,
    );
  }
  const algorithm = params.get('X-Amz-Algorithm');
  if (algorithm !== ALGORITHM) {
    return refuse(
      `token X-Amz-Algorithm is ${algorithm === undefined ? 'missing' : shown(algorithm)}, not ${ALGORITHM}`,
    );
  }

  const signedHeadersParam = params.get('X-Amz-SignedHeaders') ?? '';
  const signedHeaders = signedHeadersParam.split(';');
  if (!signedHeaders.includes(K8S_AWS_ID_HEADER)) {
    return refuse('token X-Amz-SignedHeaders does not include x-k8s-aws-id');
  }
  const foreign = signedHeaders.filter((h) => h !== 'host' && h !== K8S_AWS_ID_HEADER);
  if (foreign.length > 0 || !signedHeaders.includes('host')) {
    return refuse(
      `token X-Amz-SignedHeaders must be host;x-k8s-aws-id (a bearer token cannot carry other headers), ` +
        `got ${shown(signedHeadersParam)}`,
    );
  }

  const credential = (params.get('X-Amz-Credential') ?? '').split('/');
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = credential;
  if (
    credential.length !== 5 ||
    !accessKeyId ||
    !scopeDate ||
    scopeService !== 'sts' ||
    terminator !== 'aws4_request'
  ) {
    return refuse('token X-Amz-Credential is not <access-key-id>/<date>/<region>/sts/aws4_request');
  }
  if (scopeRegion !== hostRegion) {
    return refuse(
      `token is signed for region ${shown(scopeRegion ?? '')} but addressed to ${url.hostname} (${hostRegion})`,
    );
  }

  const amzDate = params.get('X-Amz-Date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (!signedAt) return refuse('token X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ');
  if (amzDate.slice(0, 8) !== scopeDate)
    return refuse('token X-Amz-Date does not match its credential scope date');
  const expires = params.get('X-Amz-Expires') ?? '';
  if (!/^[1-9]\d{0,5}$/.test(expires))
    return refuse('token X-Amz-Expires is missing or not a positive integer');
  const signature = params.get('X-Amz-Signature') ?? '';
  if (!/^[0-9a-f]{64}$/.test(signature))
    return refuse('token X-Amz-Signature is missing or not 64 hex digits');

  const maxAge = expect.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const ageSeconds = Math.floor((expect.now.getTime() - signedAt.getTime()) / 1000);
  if (ageSeconds > maxAge) {
    return refuse(`token expired: signed ${ageSeconds}s ago at ${signedAt.toISOString()}, limit ${maxAge}s`);
  }
  if (-ageSeconds > MAX_CLOCK_SKEW_SECONDS) {
    return refuse(`token is dated ${-ageSeconds}s in the future (${signedAt.toISOString()})`);
  }

  const secret = expect.secretAccessKeyFor(accessKeyId);
  if (secret === undefined) return refuse(`unknown access key id ${shown(accessKeyId)}`);

  // Re-compute the SigV4 signature with the header the server expects, as STS would on the forwarded call.
  const canonicalQuery = [...params]
    .filter(([key]) => key !== 'X-Amz-Signature')
    .map(([key, value]) => [rfc3986(key), rfc3986(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const headerValues: Record<string, string> = { host: url.host, [K8S_AWS_ID_HEADER]: expect.clusterName };
  const sortedHeaders = [...signedHeaders].sort();
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery,
    `${sortedHeaders.map((h) => `${h}:${(headerValues[h] ?? '').trim().replace(/\s+/g, ' ')}`).join('\n')}\n`,
    sortedHeaders.join(';'),
    EMPTY_SHA256,
  ].join('\n');
  const scope = `${scopeDate}/${scopeRegion}/sts/aws4_request`;
  const stringToSign = [
    ALGORITHM,
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, scopeDate), scopeRegion), 'sts'), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return refuse(
      `token is for another cluster, or was altered (signature does not match x-k8s-aws-id=${expect.clusterName})`,
    );
  }
  return { ok: true, accessKeyId };
}
