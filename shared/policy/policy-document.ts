/**
 * Parsing of IAM policy documents (here: role trust policies) into a normalised form.
 *
 * IAM is lenient about shape: `Statement`, `Action`, `Principal` values and condition values
 * may each be a single value or a list. We normalise all of that once, so the evaluator and
 * the checks only ever see lists.
 */

/** The principal block of a statement: `"*"` or `{ Federated: [...], AWS: [...], Service: [...] }`. */
export type PrincipalSpec = '*' | Readonly<Record<string, readonly string[]>>;

/** One condition: a single operator applied to a single key (IAM ANDs all of them). */
export interface Condition {
  /** The operator exactly as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  /** The operator without set qualifier and `IfExists`, e.g. `StringLike`. */
  readonly baseOperator: string;
  readonly setQualifier: 'ForAnyValue' | 'ForAllValues' | null;
  readonly ifExists: boolean;
  /** The condition key as written (IAM compares keys case-insensitively). */
  readonly key: string;
  readonly values: readonly string[];
}

export interface Statement {
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  readonly principal: PrincipalSpec | undefined;
  readonly notPrincipal: PrincipalSpec | undefined;
  readonly action: readonly string[] | undefined;
  readonly notAction: readonly string[] | undefined;
  readonly conditions: readonly Condition[];
}

export interface PolicyDocument {
  readonly version: string | undefined;
  readonly statements: readonly Statement[];
}

export type ParseResult = { ok: true; policy: PolicyDocument } | { ok: false; error: string };

/**
 * Decodes and parses a trust policy given in any of the three encodings the snapshot allows:
 * the API's URL-encoded string, a JSON string, or the decoded object the AWS CLI prints.
 * Never throws: a document that cannot be used yields `{ ok: false, error }`.
 */
export function parsePolicyDocument(raw: unknown): ParseResult {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    const decoded = decodeDocumentString(raw);
    if (!decoded.ok) return decoded;
    value = decoded.value;
  }
  try {
    return { ok: true, policy: normalisePolicy(value) };
  } catch (error) {
    if (error instanceof PolicyShapeError) return { ok: false, error: error.message };
    throw error;
  }
}

export function decodeDocumentString(
  text: string,
): { ok: true; value: unknown } | { ok: false; error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: 'the document is empty' };
  let json = trimmed;
  // The IAM API returns the document URL-encoded (RFC 3986, path style): it never starts with "{".
  if (!trimmed.startsWith('{')) {
    try {
      json = decodeURIComponent(trimmed);
    } catch {
      return { ok: false, error: 'the document is neither JSON nor a valid URL-encoded string' };
    }
  }
  try {
    return { ok: true, value: JSON.parse(json) };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, error: `the document is not valid JSON (${detail})` };
  }
}

class PolicyShapeError extends Error {}

function fail(message: string): never {
  throw new PolicyShapeError(message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The element `name` of `record`. IAM refuses a trust policy whose element names are not
 * spelled exactly (`effect`, `PRINCIPAL`) or that carries elements it does not define, so any
 * key outside `allowed` is an error naming the rule.
 */
function field(record: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

function onlyElements(record: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(record)) {
    if (allowed.includes(key)) continue;
    const proper = allowed.find((name) => name.toLowerCase() === key.toLowerCase());
    fail(
      proper
        ? `${where} names the element "${key}"; IAM accepts only "${proper}" (element names are case-sensitive)`
        : `${where} has the element "${key}", which IAM does not define for a trust policy`,
    );
  }
}

const PRINCIPAL_TYPES = ['AWS', 'Federated', 'Service', 'CanonicalUser'] as const;

function stringList(value: unknown, where: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')) {
    return value as string[];
  }
  return fail(`${where} must be a string or a non-empty list of strings`);
}

/** Condition values may also be booleans or numbers (`"Bool": {"k": true}`): IAM compares their text. */
function conditionValues(value: unknown, where: string): string[] {
  const scalar = (item: unknown): string => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    return fail(`${where} must be a string, number, boolean, or a list of them`);
  };
  if (Array.isArray(value)) return value.map(scalar);
  return [scalar(value)];
}

function normalisePrincipal(value: unknown, where: string): PrincipalSpec {
  if (value === '*') return '*';
  if (!isRecord(value)) return fail(`${where} must be "*" or an object`);
  for (const type of Object.keys(value)) {
    if ((PRINCIPAL_TYPES as readonly string[]).includes(type)) continue;
    const proper = PRINCIPAL_TYPES.find((t) => t.toLowerCase() === type.toLowerCase());
    fail(
      proper
        ? `${where} has the principal type "${type}"; IAM accepts only "${proper}" (principal types are case-sensitive)`
        : `${where} has the principal type "${type}", which IAM does not define`,
    );
  }
  // Each type becomes an own property: `spec[type] = ...` with a `__proto__` type (an own key after
  // JSON.parse) would replace the spec's prototype instead.
  return Object.fromEntries(
    Object.entries(value).map(([type, ids]) => [type, stringList(ids, `${where}.${type}`)]),
  );
}

const SET_QUALIFIERS = ['ForAnyValue', 'ForAllValues'] as const;

/** Splits `ForAnyValue:StringLikeIfExists` into its qualifier, base operator and IfExists flag. */
export function splitOperator(
  operator: string,
): Pick<Condition, 'baseOperator' | 'setQualifier' | 'ifExists'> {
  let rest = operator;
  let setQualifier: Condition['setQualifier'] = null;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const prefix = rest.slice(0, colon);
    setQualifier = SET_QUALIFIERS.find((q) => q.toLowerCase() === prefix.toLowerCase()) ?? null;
    if (setQualifier === null) fail(`unknown condition qualifier "${prefix}" in "${operator}"`);
    rest = rest.slice(colon + 1);
  }
  const ifExists = /ifexists$/i.test(rest) && rest.toLowerCase() !== 'null';
  const baseOperator = ifExists ? rest.slice(0, -'IfExists'.length) : rest;
  return { baseOperator, setQualifier, ifExists };
}

function normaliseConditions(value: unknown, where: string): Condition[] {
  if (value === undefined) return [];
  if (!isRecord(value)) return fail(`${where} must be an object`);
  const conditions: Condition[] = [];
  for (const [operator, block] of Object.entries(value)) {
    if (!isRecord(block)) fail(`${where}.${operator} must be an object of condition keys`);
    const parts = splitOperator(operator);
    for (const [key, values] of Object.entries(block)) {
      conditions.push({
        operator,
        ...parts,
        key,
        values: conditionValues(values, `${where}.${operator}.${key}`),
      });
    }
  }
  return conditions;
}

/**
 * IAM refuses an action whose service prefix is not plain letters, digits and hyphens
 * (`*:AssumeRoleWithWebIdentity`, `s?s:*`), or that is not `*` or `service:action`.
 */
function actionList(value: unknown, where: string): string[] {
  const actions = stringList(value, where);
  for (const action of actions) {
    if (action === '*') continue;
    const parts = action.split(':');
    if (parts.length !== 2) fail(`${where}: "${action}" is neither "*" nor "service:action"`);
    if (!/^[A-Za-z0-9-]+$/.test(parts[0] as string)) {
      fail(`${where}: "${action}" has a wildcard or another invalid character in its service prefix`);
    }
  }
  return actions;
}

const STATEMENT_ELEMENTS = [
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
];

function normaliseStatement(value: unknown, index: number): Statement {
  const where = `Statement[${index}]`;
  if (!isRecord(value)) return fail(`${where} must be an object`);
  onlyElements(value, STATEMENT_ELEMENTS, where);
  if (field(value, 'NotPrincipal') !== undefined)
    fail(`${where} has NotPrincipal, which IAM refuses in a trust policy`);
  for (const name of ['Resource', 'NotResource']) {
    if (field(value, name) !== undefined) fail(`${where} has ${name}, which IAM refuses in a trust policy`);
  }
  const effect = field(value, 'Effect');
  if (effect !== 'Allow' && effect !== 'Deny') fail(`${where}.Effect must be "Allow" or "Deny"`);
  const principal = field(value, 'Principal');
  const notPrincipal = field(value, 'NotPrincipal');
  const action = field(value, 'Action');
  const notAction = field(value, 'NotAction');
  if (action === undefined && notAction === undefined) fail(`${where} has neither Action nor NotAction`);
  if (principal === undefined && notPrincipal === undefined) {
    fail(`${where} has neither Principal nor NotPrincipal (a trust policy needs one)`);
  }
  const sid = field(value, 'Sid');
  return {
    index,
    sid: typeof sid === 'string' ? sid : undefined,
    effect,
    principal: principal === undefined ? undefined : normalisePrincipal(principal, `${where}.Principal`),
    notPrincipal:
      notPrincipal === undefined ? undefined : normalisePrincipal(notPrincipal, `${where}.NotPrincipal`),
    action: action === undefined ? undefined : actionList(action, `${where}.Action`),
    notAction: notAction === undefined ? undefined : actionList(notAction, `${where}.NotAction`),
    conditions: normaliseConditions(field(value, 'Condition'), `${where}.Condition`),
  };
}

function normalisePolicy(value: unknown): PolicyDocument {
  if (!isRecord(value)) return fail('the document must be a JSON object');
  onlyElements(value, ['Version', 'Id', 'Statement'], 'the document');
  const version = field(value, 'Version');
  if (version !== undefined && version !== '2012-10-17' && version !== '2008-10-17') {
    fail('the document\'s Version must be "2012-10-17" or "2008-10-17"');
  }
  const statement = field(value, 'Statement');
  if (statement === undefined) fail('the document has no Statement');
  const statements = Array.isArray(statement) ? statement : [statement];
  if (statements.length === 0) fail('the document has an empty Statement list');
  return {
    version: typeof version === 'string' ? version : undefined,
    statements: statements.map(normaliseStatement),
  };
}
