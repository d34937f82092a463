/**
 * sts:AssumeRoleWithWebIdentity as STS answers it for an EKS service account token, and the
 * signing keys of the emulated clusters' OIDC issuers that the TokenRequest of each cluster signs
 * with (RS256). STS validates the way it does for real: the token's signature against its issuer's
 * key (STS fetches the issuer's JWKS), its expiry, an IAM OIDC provider in the ROLE's account whose
 * Url is the token's `iss`, an audience among the provider's client ids, then the role's trust
 * policy (evaluated by the project's IAM evaluator) with the token's claims as condition keys.
 */
import { createSign, createVerify, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { trimTrailingSlashes } from '#shared/model/text.ts';
import { evaluatePolicy } from '#shared/policy/evaluate.ts';
import { parsePolicyDocument } from '#shared/policy/policy-document.ts';
import type { IssuedCredentials } from './credentials.ts';
import type { FleetAccountFiles, JsonObject } from './fleet-files.ts';

const ACTION = 'sts:AssumeRoleWithWebIdentity';

function base64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

/** `https://host/path/` -> `host/path`, as IAM stores a provider's Url. */
function hostPath(url: string): string {
  return trimTrailingSlashes(url.replace(/^https?:\/\//i, ''));
}

export interface TokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: readonly string[];
  readonly exp: number;
  readonly iat: number;
  readonly nbf: number;
  readonly [claim: string]: unknown;
}

/**
 * The emulator's OIDC issuers: one RSA key per issuer URL (each cluster has its own issuer),
 * made on first use. Everything issued is remembered, so tests can prove it leaks nowhere.
 */
export class OidcIssuers {
  private readonly keys = new Map<string, { kid: string; privateKey: KeyObject; publicKey: KeyObject }>();
  private readonly issued: string[] = [];

  private keyOf(issuer: string) {
    let key = this.keys.get(issuer);
    if (!key) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      key = { kid: randomBytes(8).toString('hex'), privateKey, publicKey };
      this.keys.set(issuer, key);
    }
    return key;
  }

  /** A JWT signed RS256 by the key of `claims.iss`, as the cluster's service account issuer signs. */
  sign(claims: TokenClaims): string {
    const key = this.keyOf(claims.iss);
    const input = `${base64url({ alg: 'RS256', kid: key.kid })}.${base64url(claims)}`;
    const signature = createSign('RSA-SHA256').update(input).sign(key.privateKey).toString('base64url');
    const token = `${input}.${signature}`;
    this.issued.push(token);
    return token;
  }

  /** Whether `token` carries a valid signature of its issuer's key (null: the issuer is unknown here). */
  verifySignature(token: string, issuer: string): boolean | null {
    const key = this.keys.get(issuer);
    if (!key) return null;
    const [header = '', payload = '', signature = ''] = token.split('.');
    return createVerify('RSA-SHA256')
      .update(`${header}.${payload}`)
      .verify(key.publicKey, Buffer.from(signature, 'base64url'));
  }

  /** Records credentials issued for a web identity (see {@link issuedSecrets}). */
  remember(credentials: IssuedCredentials): void {
    this.issued.push(credentials.secretAccessKey, credentials.sessionToken ?? '');
  }

  /** Every token signed and every secret key and session token issued so far. */
  issuedSecrets(): string[] {
    return this.issued.filter(Boolean);
  }
}

export interface WebIdentityContext {
  readonly accounts: ReadonlyMap<string, FleetAccountFiles>;
  readonly issuers: OidcIssuers;
  /** Issues temporary credentials of an assumed-role session (the emulator's credential store). */
  readonly issueSession: (
    accountId: string,
    roleName: string,
    sessionName: string,
    durationSeconds: number,
  ) => IssuedCredentials;
  readonly now?: () => Date;
}

export interface WebIdentityResult {
  readonly credentials: IssuedCredentials;
  readonly subject: string;
  readonly audience: string;
  readonly provider: string;
}

export type WebIdentityOutcome =
  | { readonly ok: true; readonly result: WebIdentityResult }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

const fail = (status: number, code: string, message: string): WebIdentityOutcome => ({
  ok: false,
  status,
  code,
  message,
});
const validation = (message: string) => fail(400, 'ValidationError', message);
const invalidToken = (message: string) => fail(400, 'InvalidIdentityToken', message);
const denied = () => fail(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');

function decodeClaims(token: string): JsonObject | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8')) as JsonObject;
    const claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as unknown;
    if (header.alg !== 'RS256' || !claims || typeof claims !== 'object' || Array.isArray(claims))
      return undefined;
    return claims as JsonObject;
  } catch {
    return undefined;
  }
}

function timestamp(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** sts:AssumeRoleWithWebIdentity from the request's parameters (an unsigned call). */
export function assumeRoleWithWebIdentity(
  params: URLSearchParams,
  context: WebIdentityContext,
): WebIdentityOutcome {
  const roleArn = params.get('RoleArn') ?? '';
  const sessionName = params.get('RoleSessionName') ?? '';
  const token = params.get('WebIdentityToken') ?? '';
  const arn = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(.+)$/.exec(roleArn);
  if (!arn) return validation('Request ARN is invalid');
  if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
    return validation(
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
    );
  }
  const durationParam = params.get('DurationSeconds');
  const duration = durationParam === null || durationParam === '' ? 3600 : Number(durationParam);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
    return validation(
      `1 validation error detected: Value '${durationParam}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
    );
  }
  if (token.length < 4 || token.length > 20000) {
    return validation(
      "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between 4 and 20000",
    );
  }

  const claims = decodeClaims(token);
  if (!claims || typeof claims.iss !== 'string' || typeof claims.sub !== 'string') {
    return invalidToken(
      'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)',
    );
  }
  const [, accountId = '', rolePath = ''] = arn;
  const roleName = rolePath.split('/').pop() ?? '';
  const account = context.accounts.get(accountId);
  // STS looks the provider up in the account of the role, by the token's issuer.
  const issuerHostPath = hostPath(claims.iss);
  const provider = account?.oidcProviders.find(
    (p) => hostPath(p.Url).toLowerCase() === issuerHostPath.toLowerCase(),
  );
  if (!provider) return invalidToken(`No OpenIDConnect provider found in your account for ${claims.iss}`);
  const signature = context.issuers.verifySignature(token, claims.iss);
  if (signature === null) {
    return invalidToken(
      "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
    );
  }
  if (!signature) return invalidToken('The signature of the provided token is not valid');
  const now = (context.now?.() ?? new Date()).getTime() / 1000;
  const exp = Number(claims.exp);
  if (!Number.isFinite(exp) || now >= exp) {
    return fail(
      400,
      'ExpiredTokenException',
      `Token expired: current date/time ${timestamp(Math.floor(now))} must be before the expiration date/time ${Number.isFinite(exp) ? timestamp(exp) : 'unknown'}`,
    );
  }
  if (typeof claims.nbf === 'number' && now < claims.nbf)
    return invalidToken('Token used before its nbf (not before) time');
  const audiences = (Array.isArray(claims.aud) ? claims.aud : [claims.aud]).filter(
    (aud): aud is string => typeof aud === 'string',
  );
  const clientIds = Array.isArray(provider.ClientIDList) ? (provider.ClientIDList as string[]) : [];
  const audience = audiences.find((aud) => clientIds.includes(aud));
  if (audience === undefined) return invalidToken('Incorrect token audience');

  const role = account?.roles.find((candidate) => candidate.RoleName === roleName);
  if (!role) return denied();
  const trust = parsePolicyDocument(role.AssumeRolePolicyDocument);
  if (!trust.ok) return denied();
  const evaluation = evaluatePolicy(trust.policy, {
    action: ACTION,
    principal: { type: 'Federated', id: provider.Arn },
    context: {
      [`${issuerHostPath}:sub`]: claims.sub,
      // One value, as IAM gives it: the token's audience that the provider lists as a client id
      // (a multivalued key would hold under no plain operator, only under ForAnyValue/ForAllValues).
      [`${issuerHostPath}:aud`]: audience,
    },
  });
  if (evaluation.decision !== 'allow') return denied();
  const maxSession = Number(role.MaxSessionDuration ?? 3600);
  if (durationParam !== null && durationParam !== '' && duration > maxSession) {
    return validation('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  }
  const credentials = context.issueSession(accountId, roleName, sessionName, duration);
  context.issuers.remember(credentials);
  return { ok: true, result: { credentials, subject: claims.sub, audience, provider: provider.Arn } };
}

/**
 * Whether an HTTP request without a SigV4 scope is an AssumeRoleWithWebIdentity (which the SDK
 * sends unsigned): its parameters, else undefined.
 */
export function unsignedWebIdentityParams(
  method: string,
  url: URL,
  body: string,
): URLSearchParams | undefined {
  const params = new URLSearchParams(url.search);
  if (method === 'POST') for (const [key, value] of new URLSearchParams(body)) params.append(key, value);
  return params.get('Action') === 'AssumeRoleWithWebIdentity' ? params : undefined;
}
