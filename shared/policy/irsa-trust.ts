/**
 * What IRSA needs of a role's trust policy, on top of the generic evaluator: which statements
 * trust which OIDC provider, whether a web-identity token of a service account is admitted
 * (and if not, which link is broken), and how tightly a statement restricts `:sub`.
 */

import { trimTrailingSlashes } from '../model/text.ts';
import {
  actionMatches,
  conditionHolds,
  evaluateInContext,
  isNegatedOperator,
  statementAppliesTo,
  substitutesVariables,
  wildcardMatch,
} from './evaluate.ts';
import type { Condition, PolicyDocument, Statement } from './policy-document.ts';

export const WEB_IDENTITY_ACTION = 'sts:AssumeRoleWithWebIdentity';
export const DEFAULT_AUDIENCE = 'sts.amazonaws.com';

/** `https://oidc.eks.r.amazonaws.com/id/X/` -> `oidc.eks.r.amazonaws.com/id/X` */
export function issuerHostPath(issuerUrl: string): string {
  // Trailing slashes trimmed by hand: `/\/+$/` backtracks in quadratic time on a long run of
  // slashes followed by something else (a hostile cluster.json or iam.json).
  return trimTrailingSlashes(issuerUrl.replace(/^https?:\/\//i, ''));
}

/** The ARN IAM gives the OIDC provider of `hostPath` in `accountId`. */
export function oidcProviderArn(partition: string, accountId: string, hostPath: string): string {
  return `arn:${partition}:iam::${accountId}:oidc-provider/${hostPath}`;
}

/** The issuer host/path named by an OIDC provider ARN, or null if the ARN is not one. */
export function hostPathOfProviderArn(arn: string): string | null {
  const match = /^arn:[^:]+:iam::\d*:oidc-provider\/(.+)$/.exec(arn);
  return match?.[1] ?? null;
}

const EKS_ISSUER = /^oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/id\/[A-Za-z0-9]+$/i;

/** The region of an EKS issuer host/path (`oidc.eks.<region>.amazonaws.com/id/<ID>`), else null. */
export function eksIssuerRegion(hostPath: string): string | null {
  return EKS_ISSUER.exec(hostPath)?.[1] ?? null;
}

export interface ArnParts {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly accountId: string;
  readonly resource: string;
}

/**
 * An ARN's parts (`arn:partition:service:region:account:resource`, the resource holding any further
 * colons), or null when it does not start `arn:` or has fewer than six parts. Cut at the first five
 * colons, not split at every one: there is an ARN per annotated ServiceAccount, read by several
 * checks, and a split makes an array and a string for each part.
 */
export function parseArn(arn: string): ArnParts | null {
  if (!arn.startsWith('arn:')) return null;
  const partitionEnd = arn.indexOf(':', 4);
  const serviceEnd = partitionEnd < 0 ? -1 : arn.indexOf(':', partitionEnd + 1);
  const regionEnd = serviceEnd < 0 ? -1 : arn.indexOf(':', serviceEnd + 1);
  const accountEnd = regionEnd < 0 ? -1 : arn.indexOf(':', regionEnd + 1);
  if (accountEnd < 0) return null;
  return {
    partition: arn.slice(4, partitionEnd),
    service: arn.slice(partitionEnd + 1, serviceEnd),
    region: arn.slice(serviceEnd + 1, regionEnd),
    accountId: arn.slice(regionEnd + 1, accountEnd),
    resource: arn.slice(accountEnd + 1),
  };
}

export function serviceAccountSubject(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

function claimOf(condition: Condition): string | null {
  const colon = condition.key.lastIndexOf(':');
  return colon < 0 ? null : condition.key.slice(colon + 1).toLowerCase();
}

/** Whether the condition is keyed on the `:sub` claim of any issuer. */
export function isSubCondition(condition: Condition): boolean {
  return claimOf(condition) === 'sub' && condition.key.includes('.');
}

function isAudCondition(condition: Condition): boolean {
  return claimOf(condition) === 'aud' && condition.key.includes('.');
}

/** The issuer a condition key names (`oidc.eks...:sub` -> `oidc.eks...`), or null for global keys. */
export function issuerOfConditionKey(key: string): string | null {
  const colon = key.lastIndexOf(':');
  if (colon <= 0) return null;
  const prefix = key.slice(0, colon);
  // Global keys (`aws:SourceIp`, `sts:RoleSessionName`) have a service prefix; issuer keys a host.
  return prefix.includes('.') ? prefix : null;
}

export type TrustVerdict =
  | { readonly result: 'admits'; readonly statements: readonly Statement[] }
  | { readonly result: 'IRSA-012' | 'IRSA-013' | 'IRSA-014'; readonly reason: string };

export interface WebIdentityRequest {
  readonly providerArn: string;
  /** Issuer host/path, the prefix of the `:sub` and `:aud` condition keys. */
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
}

/** The last issuer's `:sub` and `:aud` keys, in lower case: ServiceAccounts are assessed cluster by cluster. */
let lastClaimKeys = { issuer: '', sub: ':sub', aud: ':aud' };

/** `<issuer>:sub` and `<issuer>:aud` folded to lower case, as IAM compares condition keys. */
function claimKeys(issuer: string): { readonly sub: string; readonly aud: string } {
  if (lastClaimKeys.issuer !== issuer) {
    const prefix = issuer.toLowerCase();
    lastClaimKeys = { issuer, sub: `${prefix}:sub`, aud: `${prefix}:aud` };
  }
  return lastClaimKeys;
}

function describeStatement(statement: Statement): string {
  return statement.sid ? `statement "${statement.sid}"` : `Statement[${statement.index}]`;
}

/**
 * Evaluates the web-identity request of one service account as IAM would, and when it is not
 * admitted, attributes the failure: no statement for the provider and action (IRSA-012), no
 * statement whose `:sub` conditions admit the subject (IRSA-013), else the audience (IRSA-014).
 */
export function assessWebIdentityTrust(policy: PolicyDocument, request: WebIdentityRequest): TrustVerdict {
  const principal = { type: 'Federated', id: request.providerArn };
  const keys = claimKeys(request.issuer);
  const context = new Map<string, string>();
  context.set(keys.sub, request.subject);
  context.set(keys.aud, request.audience);
  const evaluation = evaluateInContext(policy, WEB_IDENTITY_ACTION, principal, context);
  if (evaluation.decision === 'allow') return { result: 'admits', statements: evaluation.matchedAllows };

  const denies = evaluation.matchedDenies;
  const candidates = policy.statements.filter(
    (s) => s.effect === 'Allow' && statementAppliesTo(s, WEB_IDENTITY_ACTION, principal),
  );
  const unconditionalDeny = denies.find((d) => d.conditions.length === 0);
  if (candidates.length === 0 || unconditionalDeny) {
    return {
      result: 'IRSA-012',
      reason: unconditionalDeny
        ? `${describeStatement(unconditionalDeny)} denies ${WEB_IDENTITY_ACTION} to ${request.providerArn} unconditionally`
        : `no Allow statement grants ${WEB_IDENTITY_ACTION} to Federated ${request.providerArn}`,
    };
  }
  const subjectDeny = denies.find((d) => d.conditions.some(isSubCondition));
  if (subjectDeny) {
    return {
      result: 'IRSA-013',
      reason: `${describeStatement(subjectDeny)} denies subject ${request.subject}`,
    };
  }
  const admitsSubject = (s: Statement) =>
    s.conditions
      .filter(isSubCondition)
      .every((c) => conditionHolds(c, context, substitutesVariables(policy)));
  if (!candidates.some(admitsSubject)) {
    const values = candidates.flatMap((s) => s.conditions.filter(isSubCondition).flatMap((c) => c.values));
    return {
      result: 'IRSA-013',
      reason: `no statement for the provider admits subject ${request.subject} (trusted :sub values: ${
        values.length > 0 ? values.map((v) => JSON.stringify(v)).join(', ') : 'none that apply to this issuer'
      })`,
    };
  }
  const audienceDeny = denies.find((d) => d.conditions.some(isAudCondition));
  if (audienceDeny) {
    return {
      result: 'IRSA-014',
      reason: `${describeStatement(audienceDeny)} denies audience ${request.audience}`,
    };
  }
  const audValues = candidates
    .filter(admitsSubject)
    .flatMap((s) => s.conditions.filter(isAudCondition).flatMap((c) => c.values));
  return {
    result: 'IRSA-014',
    reason:
      audValues.length > 0
        ? `the statements admitting ${request.subject} require :aud ${audValues.map((v) => JSON.stringify(v)).join(', ')}, not "${request.audience}"`
        : `the statements admitting ${request.subject} carry other conditions the token cannot satisfy`,
  };
}

/** An Allow statement granting web-identity assumption to one OIDC provider. */
export interface ProviderGrant {
  readonly statement: Statement;
  readonly providerArn: string;
  /** Issuer host/path of the provider (`oidc.eks.../id/X`). */
  readonly issuer: string;
}

function federatedIds(statement: Statement): string[] {
  if (statement.principal === undefined || statement.principal === '*') return [];
  const ids: string[] = [];
  for (const [type, values] of Object.entries(statement.principal)) {
    if (type.toLowerCase() !== 'federated') continue;
    // A loop, not a spread: a snapshot's principal may list more values than a call takes arguments.
    for (const value of values) ids.push(value);
  }
  return ids;
}

/** Every (Allow statement, OIDC provider) pair of the policy that grants AssumeRoleWithWebIdentity. */
export function providerGrants(policy: PolicyDocument): ProviderGrant[] {
  const grants: ProviderGrant[] = [];
  for (const statement of policy.statements) {
    if (statement.effect !== 'Allow') continue;
    const grantsAction = statement.action
      ? statement.action.some((a) => actionMatches(a, WEB_IDENTITY_ACTION))
      : !(statement.notAction ?? []).some((a) => actionMatches(a, WEB_IDENTITY_ACTION));
    if (!grantsAction) continue;
    for (const providerArn of federatedIds(statement)) {
      const issuer = hostPathOfProviderArn(providerArn);
      if (issuer !== null) grants.push({ statement, providerArn, issuer });
    }
  }
  return grants;
}

/**
 * What IRSA-015, 016 and 017 each ask of every grant of every role, worked out once a grant: a
 * grant is made per audit (AuditContext.roleGrantsByCluster) and lives as long, and these with it.
 */
const foreignConditions = new WeakMap<ProviderGrant, readonly Condition[]>();
const restrictions = new WeakMap<ProviderGrant, SubjectRestriction>();

/** Conditions of the grant's statement keyed on an issuer the statement does not trust. */
export function foreignIssuerConditions(grant: ProviderGrant): readonly Condition[] {
  let known = foreignConditions.get(grant);
  if (known === undefined) {
    known = foreignIssuerConditionsOf(grant);
    foreignConditions.set(grant, known);
  }
  return known;
}

function foreignIssuerConditionsOf(grant: ProviderGrant): Condition[] {
  const trusted = new Set(
    federatedIds(grant.statement).map((arn) => hostPathOfProviderArn(arn)?.toLowerCase()),
  );
  return grant.statement.conditions.filter((c) => {
    const issuer = issuerOfConditionKey(c.key);
    return issuer !== null && !trusted.has(issuer.toLowerCase());
  });
}

const PROBE_SUBJECTS = [
  'system:serviceaccount:a:b',
  'system:serviceaccount:default:default',
  'system:serviceaccount:kube-system:aws-node',
  'system:serviceaccount:zq-9.x:w_0-y.z',
];

/** Whether a `StringLike` pattern admits every service account of a cluster (`*`, `system:serviceaccount:*`). */
export function admitsEveryServiceAccount(pattern: string): boolean {
  return PROBE_SUBJECTS.every((subject) => wildcardMatch(pattern, subject));
}

export interface SubjectRestriction {
  /** `strict` when some `:sub` condition with a strict operator restricts the subject. */
  readonly kind: 'strict' | 'unrestricted';
  /** The `:sub` conditions for this grant's issuer. */
  readonly subConditions: readonly Condition[];
  /** `StringLike` patterns with `*` or `?` that do not admit everything. */
  readonly wildcardPatterns: readonly string[];
}

const STRICT_OPERATORS = new Set(['stringequals', 'stringequalsignorecase', 'stringlike']);

/**
 * How the grant restricts `<issuer>:sub`. Non-strict forms: no condition, `...IfExists`,
 * `ForAllValues:`, negated operators, `Null`, or a `StringLike` pattern admitting every account.
 */
export function subjectRestriction(grant: ProviderGrant): SubjectRestriction {
  let known = restrictions.get(grant);
  if (known === undefined) {
    known = subjectRestrictionOf(grant);
    restrictions.set(grant, known);
  }
  return known;
}

function subjectRestrictionOf(grant: ProviderGrant): SubjectRestriction {
  const subKey = `${grant.issuer}:sub`.toLowerCase();
  const subConditions = grant.statement.conditions.filter((c) => c.key.toLowerCase() === subKey);
  const restricting = subConditions.filter((c) => {
    const base = c.baseOperator.toLowerCase();
    if (c.ifExists || c.setQualifier === 'ForAllValues' || isNegatedOperator(base)) return false;
    if (!STRICT_OPERATORS.has(base)) return false;
    return !(base === 'stringlike' && c.values.some(admitsEveryServiceAccount));
  });
  const wildcardPatterns = restricting
    .filter((c) => c.baseOperator.toLowerCase() === 'stringlike')
    .flatMap((c) => c.values.filter((v) => v.includes('*') || v.includes('?')));
  return { kind: restricting.length > 0 ? 'strict' : 'unrestricted', subConditions, wildcardPatterns };
}

/** A service account that could present a token to STS: its subject and the audience its token carries. */
export interface TokenHolder {
  readonly subject: string;
  readonly audience: string;
}

/**
 * Who can assume a role with a token of one issuer, as IAM evaluates the whole trust (Denies
 * included), for IRSA-015's message:
 * - `any`: every probe subject is admitted with each of `audiences` (`'any'` when an audience no
 *   condition names is admitted too); `except` are those still refused with those audiences (token
 *   holders, and subjects a `:sub` condition names);
 * - `some`: probe subjects are admitted with `audiences`, but not all: `excluded` is one refused,
 *   with IAM's reason;
 * - `existing`: no probe subject is admitted, but these token holders are;
 * - `none`: nobody tried is admitted; `reason` says why, for default/default and the default audience.
 */
export type AssumableBy =
  | {
      readonly kind: 'any';
      readonly audiences: readonly string[] | 'any';
      readonly except: readonly { readonly subject: string; readonly reason: string }[];
    }
  | {
      readonly kind: 'some';
      readonly audiences: readonly string[];
      readonly excluded: { readonly subject: string; readonly reason: string };
    }
  | { readonly kind: 'existing'; readonly subjects: readonly string[] }
  | { readonly kind: 'none'; readonly reason: string };

/** An audience no condition names and no service account asks for: admitted only when `:aud` is unconstrained. */
const PROBE_AUDIENCE = 'irsa-audit.invalid';

function refusal(verdict: TrustVerdict): string | null {
  return verdict.result === 'admits' ? null : verdict.reason;
}

/**
 * Evaluates the trust for the probe subjects (service accounts no condition is likely to name,
 * the ones {@link admitsEveryServiceAccount} uses) with every audience that matters (the default,
 * the `:aud` values the policy names for this issuer, those the token holders carry, and one no
 * one names), then for the token holders that exist (null when they are unknown).
 */
export function assumableBy(
  policy: PolicyDocument,
  provider: { readonly providerArn: string; readonly issuer: string },
  holders: readonly TokenHolder[] | null,
): AssumableBy {
  const audKey = `${provider.issuer}:aud`.toLowerCase();
  const named = policy.statements.flatMap((s) =>
    s.conditions
      .filter((c) => c.key.toLowerCase() === audKey)
      // An empty audience is no token's: the webhook gives the default for an empty annotation.
      .flatMap((c) => c.values.filter((v) => v !== '' && !v.includes('*') && !v.includes('?'))),
  );
  const audiences = [...new Set([DEFAULT_AUDIENCE, ...named, ...(holders ?? []).map((h) => h.audience)])];
  const assess = (subject: string, audience: string) =>
    refusal(assessWebIdentityTrust(policy, { ...provider, subject, audience }));
  const admittedBy = (audience: string) => PROBE_SUBJECTS.filter((s) => assess(s, audience) === null);

  const everyone = audiences.filter((a) => admittedBy(a).length === PROBE_SUBJECTS.length);
  if (everyone.length > 0) {
    const anyAudience = admittedBy(PROBE_AUDIENCE).length === PROBE_SUBJECTS.length;
    // Refused among them: token holders with such an audience, and the subjects the trust names
    // outright in a `:sub` condition (`StringNotEquals` one service account), whether they exist or not.
    const subKey = `${provider.issuer}:sub`.toLowerCase();
    const namedSubjects = policy.statements.flatMap((s) =>
      s.conditions
        .filter((c) => c.key.toLowerCase() === subKey)
        .flatMap((c) => c.values.filter((v) => !v.includes('*') && !v.includes('?') && !v.includes('${'))),
    );
    const tried = [
      ...(holders ?? []).filter((h) => anyAudience || everyone.includes(h.audience)),
      ...namedSubjects.map((subject) => ({ subject, audience: everyone[0] ?? DEFAULT_AUDIENCE })),
    ];
    const except = [...new Map(tried.map((h) => [h.subject, h])).values()].flatMap((h) => {
      const reason = assess(h.subject, h.audience);
      return reason === null ? [] : [{ subject: h.subject, reason }];
    });
    return { kind: 'any', audiences: anyAudience ? 'any' : everyone, except };
  }
  const some = audiences.filter((a) => admittedBy(a).length > 0);
  const [first] = some;
  if (first !== undefined) {
    const refused = PROBE_SUBJECTS.find((s) => assess(s, first) !== null) ?? '';
    return {
      kind: 'some',
      audiences: some,
      excluded: { subject: refused, reason: assess(refused, first) ?? '' },
    };
  }
  const admitted = (holders ?? [])
    .filter((h) => assess(h.subject, h.audience) === null)
    .map((h) => h.subject);
  if (admitted.length > 0) return { kind: 'existing', subjects: admitted };
  // The reason, shown for the service account every namespace has.
  return {
    kind: 'none',
    reason: assess(serviceAccountSubject('default', 'default'), DEFAULT_AUDIENCE) ?? '',
  };
}
