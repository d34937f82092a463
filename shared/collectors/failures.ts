/**
 * Failed reads classified once, where they happen (docs/checks.md, "Coverage"): every AWS SDK
 * error and every network error of the collection becomes a short code, one of the failure
 * classes of the model, and the HTTP status when there was an answer. The AUDIT-* checks word
 * their message and fix from the class, so it is decided here and nowhere else.
 */
import type { FailureClass } from '../model/fleet.ts';

export interface ClassifiedFailure {
  readonly code: string;
  readonly message: string;
  readonly class: FailureClass;
  /** The HTTP status of the answer; absent when none came (DNS, refused, timed out). */
  readonly status?: number;
}

/** AWS error codes of a refused caller (whatever the HTTP status a compatible endpoint sends). */
const DENIED_CODES =
  /^(AccessDenied\w*|UnauthorizedOperation|UnauthorizedAccess|Unauthorized|Forbidden|InvalidClientTokenId|UnrecognizedClientException|ExpiredToken\w*|InvalidToken|SignatureDoesNotMatch|AuthFailure|MissingAuthenticationToken|AWSOrganizationsNotInUseException)$/;
const THROTTLED_CODES =
  /^(Throttling\w*|TooManyRequests\w*|RequestLimitExceeded|SlowDown|RequestThrottled\w*|PriorRequestNotComplete|ProvisionedThroughputExceeded\w*)$/;
/** An operation the endpoint does not have (an AWS-compatible endpoint, or a partition without it). */
const NOT_IMPLEMENTED_CODES = /^(UnknownOperation\w*|NotImplemented|InvalidAction|UnsupportedOperation)$/;
/** Network failures before any answer: the endpoint was not reached, or it never answered. */
const NETWORK_CODES =
  /^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE|ETIMEDOUT|ESOCKETTIMEDOUT|ECONNABORTED|TimeoutError|RequestTimeout|Timeout|PrivateEndpoint|NoEndpoint)$/;
const TLS_PATTERN = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|EPROTO|SSL/i;

/** A run of base64url characters and dots, where a JWT is looked for (see redactJwts). */
const TOKEN_RUN = /[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*/g;

/**
 * Each JWT of a run of base64url characters and dots replaced: from an `eyJ` (a JSON header, base64url)
 * through the next dot and up to two more parts, what `/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*\/g`
 * replaces. That expression is quadratic on a long run of `eyJ` without a dot; here each run is
 * matched once, then searched with indexOf.
 */
function redactJwts(run: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const start = run.indexOf('eyJ', from);
    // A JWT has a dot after its header; no dot after this `eyJ`, none after a later one either.
    const dot = start === -1 ? -1 : run.indexOf('.', start + 3);
    if (dot === -1) return out + run.slice(from);
    let end = partEnd(run, dot + 1);
    if (run[end] === '.') end = partEnd(run, end + 1);
    out += `${run.slice(from, start)}<redacted-jwt>`;
    from = end;
  }
}

/** Where the base64url part that starts at `from` ends (at the next dot, or the run's end). */
function partEnd(run: string, from: number): number {
  const dot = run.indexOf('.', from);
  return dot === -1 ? run.length : dot;
}

/**
 * A text without anything that looks like a credential: the EKS bearer token, a service account
 * token (a JWT), a presigned URL's signature or session token. The one redaction of the collectors
 * (error messages of AWS and Kubernetes calls, the live probe's STS messages).
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/k8s-aws-v1\.[A-Za-z0-9_-]+/g, 'k8s-aws-v1.<redacted>')
    .replace(TOKEN_RUN, redactJwts)
    .replace(/(X-Amz-(?:Signature|Security-Token|Credential)=)[^&\s"']+/gi, '$1<redacted>');
}

/** The first line of an error message, redacted and cut to 500 characters. */
export function safeMessage(message: string): string {
  return redactSecrets(message.split('\n')[0] ?? '').slice(0, 500);
}

/** The class of a failure with an answer, from its HTTP status and (AWS) error code. */
export function classOf(status: number | undefined, code: string): FailureClass {
  if (DENIED_CODES.test(code) || status === 401 || status === 403) return 'denied';
  if (THROTTLED_CODES.test(code) || status === 429) return 'throttled';
  if (NOT_IMPLEMENTED_CODES.test(code) || status === 404 || status === 501) return 'not-found';
  if (NETWORK_CODES.test(code) || TLS_PATTERN.test(code)) return 'unreachable';
  if (status !== undefined && status >= 500) return 'server-error';
  if (status !== undefined && status >= 200 && status < 300) return 'malformed';
  return 'error';
}

interface ErrorLike {
  name?: string;
  code?: string;
  message?: string;
  cause?: { code?: string; message?: string };
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/**
 * An AWS SDK error (or a network error under it) as a classified failure. A body the SDK could not
 * parse (an HTML 404 page, a cut-off JSON) keeps its HTTP status: a 404 is `not-found`, a 5xx a
 * `server-error`, a 2xx `malformed`, never a bare `SyntaxError`.
 */
export function classifyAwsError(error: unknown): ClassifiedFailure {
  if (!(error instanceof Error))
    return { code: 'Error', message: safeMessage(String(error)), class: 'error' };
  const err = error as Error & ErrorLike;
  const status = err.$metadata?.httpStatusCode ?? err.$response?.statusCode;
  const networkCode = err.code ?? err.cause?.code;
  const unparsed =
    err.name === 'SyntaxError' || /XML parse error|Deserialization error/i.test(err.message ?? '');
  let code = networkCode ?? err.name ?? 'Error';
  let message = safeMessage(err.message ?? '');
  if (unparsed && status !== undefined) {
    // The answer was not what the API returns: say so with its status, not the parser's complaint.
    code = status >= 200 && status < 300 ? 'MalformedResponse' : `HTTP${status}`;
    // The parser's complaint (`Unexpected token '<'`) says nothing to the reader: the status does.
    message = `HTTP ${status} with a body that is not the API's answer${status === 404 ? ' (an operation the endpoint does not implement?)' : ''}`;
  } else if ((code === 'Unknown' || code === 'UnknownError' || code === 'NotFound') && status !== undefined) {
    code = `HTTP${status}`;
    message = `HTTP ${status}${message && message !== 'Unknown' ? `: ${message}` : ' with no AWS error in the body'}`;
  }
  if (status === undefined && TLS_PATTERN.test(code)) return { code: 'TLS', message, class: 'unreachable' };
  const failureClass = classOf(status, code);
  return { code, message, class: failureClass, ...(status === undefined ? {} : { status }) };
}

/** A failed read tagged with the operation that failed, when one function makes several calls. */
export class ReadError extends Error {
  override readonly name = 'ReadError';
  constructor(
    readonly api: string,
    override readonly cause: unknown,
  ) {
    super(`${api} failed`);
  }
}

/** Runs one operation's read; a failure is rethrown as a ReadError naming the operation. */
export async function reading<T>(api: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw error instanceof ReadError ? error : new ReadError(api, error);
  }
}

/** Sorts collection errors so that two runs with the same failures write the same file and text. */
export function byErrorOrder<T extends { api: string; region?: string; role?: string; code: string }>(
  a: T,
  b: T,
): number {
  const key = (e: T) => [e.api, e.region ?? '', e.role ?? '', e.code].join('\u0000');
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
