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

/**
 * Request context with keys folded to lower case, as IAM compares them. A single-valued key
 * keeps its string; a multivalued key (a list, even of one value) its list.
 */
export type NormalisedContext = ReadonlyMap<string, string | readonly string[]>;

export function normaliseContext(context: PolicyRequest['context']): NormalisedContext {
  const map = new Map<string, string | readonly string[]>();
  for (const key in context) {
    if (Object.hasOwn(context, key)) map.set(key.toLowerCase(), context[key] as string | readonly string[]);
  }
  return map;
}

/** IAM substitutes policy variables only in documents of Version 2012-10-17. */
export function substitutesVariables(policy: PolicyDocument): boolean {
  return policy.version === '2012-10-17';
}

/** Evaluates `policy` for `request`. Pure; never throws on a parsed policy. */
export function evaluatePolicy(policy: PolicyDocument, request: PolicyRequest): Evaluation {
  return evaluateInContext(policy, request.action, request.principal, normaliseContext(request.context));
}

/**
 * {@link evaluatePolicy} for a context already normalised: a caller that evaluates one request
 * per ServiceAccount builds the map itself, without an object of computed keys to fold first.
 */
export function evaluateInContext(
  policy: PolicyDocument,
  action: string,
  principal: PolicyRequest['principal'],
  context: NormalisedContext,
): Evaluation {
  const substitute = substitutesVariables(policy);
  const matchedAllows: Statement[] = [];
  const matchedDenies: Statement[] = [];
  for (const statement of policy.statements) {
    if (!statementAppliesTo(statement, action, principal)) continue;
    if (!allConditionsHold(statement.conditions, context, substitute)) continue;
    (statement.effect === 'Deny' ? matchedDenies : matchedAllows).push(statement);
  }
  const decision: Decision =
    matchedDenies.length > 0 ? 'explicit-deny' : matchedAllows.length > 0 ? 'allow' : 'implicit-deny';
  return { decision, matchedAllows, matchedDenies };
}

/** Whether every condition of a statement holds (IAM ANDs them; none holds vacuously). */
function allConditionsHold(
  conditions: readonly Condition[],
  context: NormalisedContext,
  substitute: boolean,
): boolean {
  for (let i = 0; i < conditions.length; i++) {
    if (!conditionHolds(conditions[i] as Condition, context, substitute)) return false;
  }
  return true;
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
  // `{"AWS": "*"}` is the same principal as `"*"`: everyone, federated callers included.
  if (Object.hasOwn(spec, 'AWS') && spec.AWS?.includes('*')) return true;
  // Only the request's own principal type can name it (types are compared as written).
  if (!Object.hasOwn(spec, principal.type)) return false;
  const ids = spec[principal.type] as readonly string[];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === '*' || id === principal.id) return true;
  }
  return false;
}

/** Actions match case-insensitively, with `*` and `?` wildcards (`sts:*`, `*`). */
export function actionMatches(pattern: string, action: string): boolean {
  // The usual statement names the action as the request does: equal text matches in any case.
  return pattern === action || wildcardMatch(pattern.toLowerCase(), action.toLowerCase());
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
 * A policy value after policy-variable substitution: characters, and the wildcards `*` and `?`
 * (a `*` or `?` that came from `${*}`, `${?}` or a substituted value is a literal character).
 * `null` when a variable names a key the request lacks (or carries several values) and has no
 * default: IAM documents that such a value never matches.
 */
type Pattern = string | readonly Token[] | null;

/**
 * A resolved policy value: a string when it is plain text (no wildcard, no variable: the usual
 * `system:serviceaccount:ns:sa` or `sts.amazonaws.com`, compared as it is), else its characters
 * and wildcards.
 */
type Token = string | { readonly wildcard: '*' | '?' };

/** Whether `value` resolves to itself: no `*` or `?`, and no `${` that would be substituted. */
function isPlainText(value: string, substitute: boolean): boolean {
  return !value.includes('*') && !value.includes('?') && !(substitute && value.includes('${'));
}

/**
 * Substitutes IAM policy variables in `value` (`${key}`, `${key, 'default'}`, `${*}`, `${?}`,
 * `${$}`) from `context`, and marks the wildcards. Without `substitute` (a Version other than
 * 2012-10-17) `${...}` is plain text.
 */
function resolveValue(value: string, context: NormalisedContext, substitute: boolean): Pattern {
  // Most values are plain text: no list of characters to build and join back.
  if (isPlainText(value, substitute)) return value;
  const tokens: Token[] = [];
  let i = 0;
  while (i < value.length) {
    const ch = value[i] as string;
    if (ch === '*' || ch === '?') {
      tokens.push({ wildcard: ch });
      i++;
      continue;
    }
    const end = substitute && ch === '$' && value[i + 1] === '{' ? value.indexOf('}', i + 2) : -1;
    if (end < 0) {
      tokens.push(ch);
      i++;
      continue;
    }
    const inner = value.slice(i + 2, end);
    i = end + 1;
    if (inner === '*' || inner === '?' || inner === '$') {
      tokens.push(inner);
      continue;
    }
    const comma = keyAndDefault(inner);
    const key = (comma ? comma.key : inner).trim().toLowerCase();
    // A multivalued key cannot be substituted; an absent (or empty) one takes the default.
    const present = context.get(key);
    const substituted = typeof present === 'string' && present !== '' ? present : comma?.fallback;
    if (substituted === undefined || substituted === '') return null;
    // A character at a time, not a spread: a snapshot's default may be longer than a call takes arguments.
    for (const character of substituted) tokens.push(character);
  }
  return tokens;
}

/** The pattern as literal text (for the `Equals` operators, where `*` and `?` are characters). */
function literalText(pattern: string | readonly Token[]): string {
  if (typeof pattern === 'string') return pattern;
  return pattern.map((token) => (typeof token === 'string' ? token : token.wildcard)).join('');
}

/** Splits an ARN-shaped pattern or value into its six components (the last keeps its colons). */
function arnComponents<T>(items: readonly T[], isColon: (item: T) => boolean): T[][] | null {
  const parts: T[][] = [[]];
  for (const item of items) {
    if (isColon(item) && parts.length < 6) parts.push([]);
    else (parts[parts.length - 1] as T[]).push(item);
  }
  if (parts.length < 6) return null;
  const head = parts[0] as T[];
  return head.length === 3 && head.map(String).join('') === 'arn' ? parts : null;
}

/**
 * IAM's ARN operators (`ArnEquals` and `ArnLike` alike): each of the six colon-separated
 * components is matched on its own, with `*` and `?` not crossing a component.
 */
function arnMatches(pattern: NonNullable<Pattern>, requestValue: string): boolean | 'not-an-arn' {
  const tokens: readonly Token[] = typeof pattern === 'string' ? [...pattern] : pattern;
  const patternParts = arnComponents(tokens, (t) => t === ':');
  const valueParts = arnComponents([...requestValue], (c) => c === ':');
  if (patternParts === null || valueParts === null) return 'not-an-arn';
  return patternParts.every((part, index) => tokensMatch(part, (valueParts[index] as string[]).join('')));
}

const BOOLEAN = /^(true|false)$/i;

/** The base operators this evaluator models, in lower case. */
const KNOWN_OPERATORS: ReadonlySet<string> = new Set([
  'stringequals',
  'stringnotequals',
  'stringequalsignorecase',
  'stringnotequalsignorecase',
  'stringlike',
  'stringnotlike',
  'arnequals',
  'arnlike',
  'arnnotequals',
  'arnnotlike',
  'bool',
]);

/**
 * Compares one request value with one (resolved) policy value under a base operator (in lower
 * case). Returns `undefined` for operators this evaluator does not model (they never hold).
 */
function valueMatches(base: string, pattern: Pattern, requestValue: string): boolean | undefined {
  if (!KNOWN_OPERATORS.has(base)) return undefined;
  // A value whose variable cannot be resolved never matches, and makes a negated operator fail
  // too: the request value counts as matched, so it does not pass.
  if (pattern === null) return NEGATED.has(base);
  switch (base) {
    case 'stringequals':
    case 'stringnotequals':
      return literalText(pattern) === requestValue;
    case 'stringequalsignorecase':
    case 'stringnotequalsignorecase':
      return literalText(pattern).toLowerCase() === requestValue.toLowerCase();
    case 'stringlike':
    case 'stringnotlike':
      return tokensMatch(pattern, requestValue);
    case 'bool': {
      const text = literalText(pattern);
      return (
        BOOLEAN.test(text) && BOOLEAN.test(requestValue) && text.toLowerCase() === requestValue.toLowerCase()
      );
    }
    default: {
      const result = arnMatches(pattern, requestValue);
      // A value that is not an ARN (either side) fails the comparison: for a negated operator the
      // request value then counts as matched, so the condition does not hold.
      if (result === 'not-an-arn') return NEGATED.has(base);
      return result;
    }
  }
}

const lowerCasedConditions = new WeakMap<Condition, { readonly key: string; readonly base: string }>();

/** The condition's key and base operator in lower case, as IAM compares them; folded once per condition. */
function lowerCased(condition: Condition): { readonly key: string; readonly base: string } {
  let folded = lowerCasedConditions.get(condition);
  if (folded === undefined) {
    folded = { key: condition.key.toLowerCase(), base: condition.baseOperator.toLowerCase() };
    lowerCasedConditions.set(condition, folded);
  }
  return folded;
}

/**
 * Evaluates one condition against the request context, as IAM does. `substituteVariables`:
 * the policy's Version is 2012-10-17, so `${...}` in values are policy variables.
 */
export function conditionHolds(
  condition: Condition,
  context: NormalisedContext,
  substituteVariables = false,
): boolean {
  const { key, base } = lowerCased(condition);
  const present = context.get(key);
  const requestValues = typeof present === 'string' ? [present] : present;
  const absent = requestValues === undefined || requestValues.length === 0;
  if (base === 'null') {
    // Only `true` and `false` mean anything to Null; any other value never holds.
    return condition.values.some((value) => {
      const v = value.toLowerCase();
      return v === 'true' ? absent : v === 'false' ? !absent : false;
    });
  }
  const negated = NEGATED.has(base);
  if (absent) {
    // ForAnyValue needs a value to match, even under IfExists.
    if (condition.setQualifier === 'ForAnyValue') return false;
    if (condition.ifExists) return true;
    if (condition.setQualifier === 'ForAllValues') return true;
    return negated;
  }
  // A multivalued key needs a set qualifier: without one the condition does not hold, negated or not.
  if (typeof present !== 'string' && condition.setQualifier === null) return false;
  if (typeof present === 'string') {
    // One request value (the :sub and :aud of a token): its verdict is the condition's, whatever
    // the set qualifier, and no list is built.
    const matched = matchesAnyValue(condition.values, base, present, context, substituteVariables);
    return matched === undefined ? false : negated ? !matched : matched;
  }
  const matchesAny = (requestValue: string): boolean | undefined =>
    matchesAnyValue(condition.values, base, requestValue, context, substituteVariables);
  const results = requestValues.map(matchesAny);
  if (results.includes(undefined)) return false;
  // For a negated operator a request value "passes" when it matches none of the policy values.
  const passes = results.map((matched) => (negated ? !matched : Boolean(matched)));
  if (condition.setQualifier === 'ForAllValues') return passes.every(Boolean);
  if (condition.setQualifier === 'ForAnyValue') return passes.some(Boolean);
  return negated ? passes.every(Boolean) : passes.some(Boolean);
}

/**
 * Whether `requestValue` matches one of the condition's values under `base`: `true` at the first
 * that matches, `undefined` when none does and the operator is not modelled, else `false`. Each
 * value is resolved as it is reached (the first of a list is most often the match).
 */
function matchesAnyValue(
  values: readonly string[],
  base: string,
  requestValue: string,
  context: NormalisedContext,
  substitute: boolean,
): boolean | undefined {
  let unknown = false;
  for (let i = 0; i < values.length; i++) {
    const result = valueMatches(base, resolveValue(values[i] as string, context, substitute), requestValue);
    if (result === undefined) unknown = true;
    else if (result) return true;
  }
  return unknown ? undefined : false;
}

/** `StringLike` matching of a resolved pattern (see `wildcardMatch`), literal `*`/`?` kept literal. */
function tokensMatch(pattern: NonNullable<Pattern>, value: string): boolean {
  if (typeof pattern === 'string') return pattern === value;
  let p = 0;
  let v = 0;
  let starP = -1;
  let starV = 0;
  const isStar = (t: Token | undefined) => typeof t === 'object' && t.wildcard === '*';
  while (v < value.length) {
    const token = pattern[p];
    if (isStar(token)) {
      starP = p++;
      starV = v;
    } else if (token !== undefined && (typeof token === 'object' || token === value[v])) {
      p++;
      v++;
    } else if (starP >= 0) {
      p = starP + 1;
      v = ++starV;
    } else {
      return false;
    }
  }
  while (isStar(pattern[p])) p++;
  return p === pattern.length;
}

const SPACE = /\s/;

/**
 * A policy variable's key and default value, `aws:username, 'nobody'`: the key up to the first comma
 * that whitespace and a quoted default follow to the end; null without one. What
 * `/^(.*?),\s*'(.*)'$/s` matches, found by hand: the expression is quadratic on a long run of `,'`.
 */
export function keyAndDefault(inner: string): { key: string; fallback: string } | null {
  const last = inner.length - 1;
  if (inner[last] !== "'") return null;
  for (let comma = inner.indexOf(','); comma !== -1; comma = inner.indexOf(',', comma + 1)) {
    let quote = comma + 1;
    while (quote < last && SPACE.test(inner[quote] as string)) quote++;
    if (quote < last && inner[quote] === "'")
      return { key: inner.slice(0, comma), fallback: inner.slice(quote + 1, last) };
  }
  return null;
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
