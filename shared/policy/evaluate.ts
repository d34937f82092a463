/**
 * Evaluation of a parsed trust policy against one request, following IAM's documented logic:
 * statements combine with OR, an explicit Deny wins over any Allow, and all conditions of a
 * statement must hold (AND). Condition keys are case-insensitive, values are case-sensitive
 * unless the operator says otherwise.
 */
import type { Condition, PolicyDocument, PrincipalSpec, Statement } from './policy-document.ts';

/** The request a web-identity token makes of STS, reduced to what a trust policy can test. */
export interface PolicyRequest {
  /** e.g. `sts:AssumeRoleWithWebIdentity` */
  readonly action: string;
  /** e.g. `{ type: 'Federated', id: 'arn:aws:iam::111122223333:oidc-provider/oidc.eks...' }` */
  readonly principal: { readonly type: string; readonly id: string };
  /** Condition keys (any case) to their values in the request context. */
  readonly context: Readonly<Record<string, string | readonly string[]>>;
}

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

export interface Evaluation {
  readonly decision: Decision;
  /** Allow statements that apply to the request and whose conditions all hold. */
  readonly matchedAllows: readonly Statement[];
  /** Deny statements that apply to the request and whose conditions all hold. */
  readonly matchedDenies: readonly Statement[];
}

/** Request context with keys folded to lower case, as IAM compares them. */
export type NormalisedContext = ReadonlyMap<string, readonly string[]>;

export function normaliseContext(context: PolicyRequest['context']): NormalisedContext {
  const map = new Map<string, readonly string[]>();
  for (const [key, value] of Object.entries(context)) {
    map.set(key.toLowerCase(), typeof value === 'string' ? [value] : value);
  }
  return map;
}

/** Evaluates `policy` for `request`. Pure; never throws on a parsed policy. */
export function evaluatePolicy(policy: PolicyDocument, request: PolicyRequest): Evaluation {
  const context = normaliseContext(request.context);
  const matchedAllows: Statement[] = [];
  const matchedDenies: Statement[] = [];
  for (const statement of policy.statements) {
    if (!statementAppliesTo(statement, request.action, request.principal)) continue;
    if (!statement.conditions.every((condition) => conditionHolds(condition, context))) continue;
    (statement.effect === 'Deny' ? matchedDenies : matchedAllows).push(statement);
  }
  const decision: Decision =
    matchedDenies.length > 0 ? 'explicit-deny' : matchedAllows.length > 0 ? 'allow' : 'implicit-deny';
  return { decision, matchedAllows, matchedDenies };
}

/** Whether the statement's principal and action elements cover the request (conditions aside). */
export function statementAppliesTo(
  statement: Statement,
  action: string,
  principal: PolicyRequest['principal'],
): boolean {
  const principalOk =
    statement.principal !== undefined
      ? principalMatches(statement.principal, principal)
      : statement.notPrincipal !== undefined && !principalMatches(statement.notPrincipal, principal);
  if (!principalOk) return false;
  if (statement.action !== undefined)
    return statement.action.some((pattern) => actionMatches(pattern, action));
  return (
    statement.notAction !== undefined &&
    !statement.notAction.some((pattern) => actionMatches(pattern, action))
  );
}

function principalMatches(spec: PrincipalSpec, principal: PolicyRequest['principal']): boolean {
  if (spec === '*') return true;
  const type = principal.type.toLowerCase();
  for (const [specType, ids] of Object.entries(spec)) {
    if (specType.toLowerCase() !== type) continue;
    if (ids.some((id) => id === '*' || id === principal.id)) return true;
  }
  return false;
}

/** Actions match case-insensitively, with `*` and `?` wildcards (`sts:*`, `*`). */
export function actionMatches(pattern: string, action: string): boolean {
  return wildcardMatch(pattern.toLowerCase(), action.toLowerCase());
}

const NEGATED = new Set([
  'stringnotequals',
  'stringnotequalsignorecase',
  'stringnotlike',
  'arnnotequals',
  'arnnotlike',
]);

/** Whether `operator` (base form, e.g. `StringNotLike`) is a negated matching operator. */
export function isNegatedOperator(baseOperator: string): boolean {
  return NEGATED.has(baseOperator.toLowerCase());
}

/**
 * Compares one request value with one policy value under a base operator.
 * Returns `undefined` for operators this evaluator does not model (they never hold).
 */
function valueMatches(baseOperator: string, policyValue: string, requestValue: string): boolean | undefined {
  switch (baseOperator.toLowerCase()) {
    case 'stringequals':
    case 'stringnotequals':
      return policyValue === requestValue;
    case 'stringequalsignorecase':
    case 'stringnotequalsignorecase':
      return policyValue.toLowerCase() === requestValue.toLowerCase();
    case 'stringlike':
    case 'stringnotlike':
    case 'arnequals':
    case 'arnlike':
    case 'arnnotequals':
    case 'arnnotlike':
      return wildcardMatch(policyValue, requestValue);
    case 'bool':
      return policyValue.toLowerCase() === requestValue.toLowerCase();
    default:
      return undefined;
  }
}

/** Evaluates one condition against the request context, as IAM does. */
export function conditionHolds(condition: Condition, context: NormalisedContext): boolean {
  const requestValues = context.get(condition.key.toLowerCase());
  const base = condition.baseOperator.toLowerCase();
  if (base === 'null') {
    const absent = requestValues === undefined || requestValues.length === 0;
    return condition.values.some((value) => (value.toLowerCase() === 'true' ? absent : !absent));
  }
  const negated = NEGATED.has(base);
  if (requestValues === undefined || requestValues.length === 0) {
    if (condition.ifExists) return true;
    if (condition.setQualifier === 'ForAllValues') return true;
    if (condition.setQualifier === 'ForAnyValue') return false;
    return negated;
  }
  const matchesAny = (requestValue: string): boolean | undefined => {
    let unknown = false;
    for (const policyValue of condition.values) {
      const result = valueMatches(base, policyValue, requestValue);
      if (result === undefined) unknown = true;
      else if (result) return true;
    }
    return unknown ? undefined : false;
  };
  const results = requestValues.map(matchesAny);
  if (results.includes(undefined)) return false;
  // For a negated operator a request value "passes" when it matches none of the policy values.
  const passes = results.map((matched) => (negated ? !matched : Boolean(matched)));
  if (condition.setQualifier === 'ForAllValues') return passes.every(Boolean);
  if (condition.setQualifier === 'ForAnyValue') return passes.some(Boolean);
  return negated ? passes.every(Boolean) : passes.some(Boolean);
}

/**
 * IAM's `StringLike` matching: `*` matches any run of characters (also none), `?` exactly one.
 * Greedy matcher that backtracks only to the last `*`: O(pattern x value) at worst, and no
 * regular expressions, so a hostile pattern cannot cause catastrophic backtracking.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let starP = -1;
  let starV = 0;
  while (v < value.length) {
    const ch = pattern[p];
    if (ch === '*') {
      starP = p++;
      starV = v;
    } else if (ch !== undefined && (ch === '?' || ch === value[v])) {
      p++;
      v++;
    } else if (starP >= 0) {
      p = starP + 1;
      v = ++starV;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
