// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables (${...}) are literal text in these policies
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conditionHolds, evaluatePolicy, normaliseContext, wildcardMatch } from './evaluate.ts';
import { type Condition, parsePolicyDocument, splitOperator } from './policy-document.ts';

const PROVIDER = 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC';
const ISSUER = 'oidc.eks.us-west-2.amazonaws.com/id/ABC';
const request = (sub: string, aud = 'sts.amazonaws.com') => ({
  action: 'sts:AssumeRoleWithWebIdentity',
  principal: { type: 'Federated', id: PROVIDER },
  context: { [`${ISSUER}:sub`]: sub, [`${ISSUER}:aud`]: aud },
});

function policy(raw: unknown) {
  const parsed = parsePolicyDocument(raw);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.policy;
}

function condition(operator: string, key: string, values: string[]): Condition {
  return { operator, ...splitOperator(operator), key, values };
}

describe('wildcardMatch', () => {
  it.each([
    ['*', '', true],
    ['a*c', 'abbbc', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['system:serviceaccount:*:api', 'system:serviceaccount:shop:api', true],
    ['system:serviceaccount:*:api', 'system:serviceaccount:shop:apix', false],
    ['*a*a*a*a*a*b', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', false],
    ['abc', 'ABC', false],
  ])('%s ~ %s is %s', (pattern, value, expected) => {
    expect(wildcardMatch(pattern, value)).toBe(expected);
  });
});

describe('conditionHolds', () => {
  const ctx = normaliseContext({ 'Issuer.Example/id/X:sub': 'system:serviceaccount:a:b' });
  it('compares keys case-insensitively and values case-sensitively', () => {
    expect(
      conditionHolds(
        condition('StringEquals', 'issuer.example/ID/x:SUB', ['system:serviceaccount:a:b']),
        ctx,
      ),
    ).toBe(true);
    expect(
      conditionHolds(
        condition('StringEquals', 'issuer.example/id/x:sub', ['SYSTEM:serviceaccount:a:b']),
        ctx,
      ),
    ).toBe(false);
    expect(
      conditionHolds(
        condition('StringEqualsIgnoreCase', 'issuer.example/id/x:sub', ['SYSTEM:serviceaccount:a:b']),
        ctx,
      ),
    ).toBe(true);
  });
  it('treats a missing key as IAM does for each operator form', () => {
    const missing = 'other.example/id/Y:sub';
    expect(conditionHolds(condition('StringEquals', missing, ['x']), ctx)).toBe(false);
    expect(conditionHolds(condition('StringEqualsIfExists', missing, ['x']), ctx)).toBe(true);
    expect(conditionHolds(condition('ForAllValues:StringEquals', missing, ['x']), ctx)).toBe(true);
    expect(conditionHolds(condition('ForAnyValue:StringEquals', missing, ['x']), ctx)).toBe(false);
    expect(conditionHolds(condition('StringNotEquals', missing, ['x']), ctx)).toBe(true);
    expect(conditionHolds(condition('Null', missing, ['true']), ctx)).toBe(true);
    expect(conditionHolds(condition('Null', 'issuer.example/id/x:sub', ['true']), ctx)).toBe(false);
  });
  it('matches any of several policy values, and negated operators none of them', () => {
    const key = 'issuer.example/id/x:sub';
    expect(conditionHolds(condition('StringLike', key, ['nope', 'system:serviceaccount:a:*']), ctx)).toBe(
      true,
    );
    expect(conditionHolds(condition('StringNotLike', key, ['nope', 'system:serviceaccount:a:*']), ctx)).toBe(
      false,
    );
    expect(conditionHolds(condition('StringNotEquals', key, ['nope']), ctx)).toBe(true);
  });
  it('never holds for an operator it does not model', () => {
    expect(conditionHolds(condition('NumericLessThan', 'issuer.example/id/x:sub', ['5']), ctx)).toBe(false);
  });
});

describe('evaluatePolicy', () => {
  const allow = (extra: Record<string, unknown> = {}) => ({
    Effect: 'Allow',
    Principal: { Federated: PROVIDER },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: { StringEquals: { [`${ISSUER}:sub`]: 'system:serviceaccount:a:b' } },
    ...extra,
  });

  it('allows when one statement matches (statements OR)', () => {
    const p = policy({
      Statement: [allow({ Condition: { StringEquals: { [`${ISSUER}:sub`]: 'x' } } }), allow()],
    });
    expect(evaluatePolicy(p, request('system:serviceaccount:a:b')).decision).toBe('allow');
  });
  it('lets an explicit Deny win over an Allow', () => {
    const p = policy({ Statement: [allow(), { Effect: 'Deny', Principal: '*', Action: 'sts:*' }] });
    expect(evaluatePolicy(p, request('system:serviceaccount:a:b')).decision).toBe('explicit-deny');
  });
  it('denies implicitly when the principal, action or a condition does not match', () => {
    const sub = 'system:serviceaccount:a:b';
    expect(
      evaluatePolicy(
        policy({ Statement: [allow({ Principal: { Federated: `${PROVIDER}X` } })] }),
        request(sub),
      ).decision,
    ).toBe('implicit-deny');
    expect(
      evaluatePolicy(policy({ Statement: [allow({ Action: 'sts:AssumeRole' })] }), request(sub)).decision,
    ).toBe('implicit-deny');
    expect(
      evaluatePolicy(policy({ Statement: [allow()] }), request('system:serviceaccount:a:c')).decision,
    ).toBe('implicit-deny');
  });
  it('supports wildcard actions and NotAction; NotPrincipal is refused in a trust policy', () => {
    const sub = 'system:serviceaccount:a:b';
    expect(
      evaluatePolicy(
        policy({ Statement: [allow({ Action: ['s3:*', 'STS:assumerolewith*'] })] }),
        request(sub),
      ).decision,
    ).toBe('allow');
    const notAction = { ...allow(), Action: undefined, NotAction: 'sts:AssumeRole' };
    expect(evaluatePolicy(policy({ Statement: [notAction] }), request(sub)).decision).toBe('allow');
    const notPrincipal = { ...allow(), Principal: undefined, NotPrincipal: { AWS: 'arn:aws:iam::1:root' } };
    expect(parsePolicyDocument({ Statement: [notPrincipal] })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/NotPrincipal/),
    });
  });
});

// ---- IAM's corners (issue 22; found by test/trust-differential.test.ts) -------------------

describe('IAM corners', () => {
  const base = {
    Effect: 'Allow',
    Principal: { Federated: PROVIDER },
    Action: 'sts:AssumeRoleWithWebIdentity',
  };
  const decide = (document: unknown, context: Record<string, string | string[]> = request('x').context) =>
    evaluatePolicy(policy(document), { ...request('x'), context }).decision;
  const v2012 = (statement: object) => ({ Version: '2012-10-17', Statement: [{ ...base, ...statement }] });
  const sub = (value: string) => ({ [`${ISSUER}:sub`]: value, [`${ISSUER}:aud`]: 'sts.amazonaws.com' });

  it('ForAnyValue with IfExists does not hold on an absent key', () => {
    const other = 'oidc.eks.eu-west-1.amazonaws.com/id/OTHER:sub';
    expect(decide(v2012({ Condition: { 'ForAnyValue:StringEqualsIfExists': { [other]: 'x' } } }))).toBe(
      'implicit-deny',
    );
    expect(decide(v2012({ Condition: { StringEqualsIfExists: { [other]: 'x' } } }))).toBe('allow');
  });

  it('{"AWS": "*"} is everyone, federated callers included', () => {
    expect(decide(v2012({ Principal: { AWS: '*' } }))).toBe('allow');
    expect(
      decide({
        Version: '2012-10-17',
        Statement: [{ ...base }, { ...base, Effect: 'Deny', Principal: { AWS: '*' } }],
      }),
    ).toBe('explicit-deny');
  });

  it('ARN operators match component by component; a non-ARN value fails, negated too', () => {
    const arn = sub('arn:aws:iam::111122223333:role/x');
    expect(
      decide(v2012({ Condition: { ArnLike: { [`${ISSUER}:sub`]: 'arn:aws:iam::*:role/x' } } }), arn),
    ).toBe('allow');
    expect(decide(v2012({ Condition: { ArnLike: { [`${ISSUER}:sub`]: 'arn:aws:*' } } }), arn)).toBe(
      'implicit-deny',
    );
    expect(decide(v2012({ Condition: { ArnEquals: { [`${ISSUER}:sub`]: 'arn:*:iam::*:*' } } }), arn)).toBe(
      'allow',
    );
    expect(decide(v2012({ Condition: { ArnNotLike: { [`${ISSUER}:sub`]: 'arn:aws:s3:::b' } } }), arn)).toBe(
      'allow',
    );
    expect(decide(v2012({ Condition: { ArnNotLike: { [`${ISSUER}:sub`]: 'not-an-arn' } } }), arn)).toBe(
      'implicit-deny',
    );
  });

  it('Bool and Null take only true and false', () => {
    const key = `${ISSUER}:flag`;
    expect(decide(v2012({ Condition: { Bool: { [key]: 'TRUE' } } }), { [key]: 'true' })).toBe('allow');
    expect(decide(v2012({ Condition: { Bool: { [key]: 'yes' } } }), { [key]: 'yes' })).toBe('implicit-deny');
    expect(decide(v2012({ Condition: { Null: { [key]: 'false' } } }), { [key]: 'x' })).toBe('allow');
    expect(decide(v2012({ Condition: { Null: { [key]: 'no' } } }), { [key]: 'x' })).toBe('implicit-deny');
  });

  it('substitutes policy variables under Version 2012-10-17 only', () => {
    const condition = { StringEquals: { [`${ISSUER}:sub`]: `system:serviceaccount:\${${ISSUER}:aud}:b` } };
    const context = sub('system:serviceaccount:sts.amazonaws.com:b');
    expect(decide(v2012({ Condition: condition }), context)).toBe('allow');
    expect(decide({ Version: '2008-10-17', Statement: [{ ...base, Condition: condition }] }, context)).toBe(
      'implicit-deny',
    );
    const star = { StringLike: { [`${ISSUER}:sub`]: 'a:${*}' } };
    expect(decide(v2012({ Condition: star }), sub('a:*'))).toBe('allow');
    expect(decide(v2012({ Condition: star }), sub('a:b'))).toBe('implicit-deny');
    const fallback = { StringEquals: { [`${ISSUER}:sub`]: "${aws:username, 'shop'}" } };
    expect(decide(v2012({ Condition: fallback }), sub('shop'))).toBe('allow');
    const missing = { StringNotEquals: { [`${ISSUER}:sub`]: '${aws:username}' } };
    expect(decide(v2012({ Condition: missing }), sub('shop'))).toBe('implicit-deny');
  });

  it('a multivalued key needs a set qualifier', () => {
    const key = `${ISSUER}:amr`;
    expect(decide(v2012({ Condition: { StringEquals: { [key]: 'a' } } }), { [key]: ['a'] })).toBe(
      'implicit-deny',
    );
    expect(
      decide(v2012({ Condition: { 'ForAnyValue:StringEquals': { [key]: 'a' } } }), { [key]: ['a'] }),
    ).toBe('allow');
  });

  it.each([
    [{ ...base, Action: '*:AssumeRoleWithWebIdentity' }, /service prefix/],
    [{ ...base, Principal: { federated: PROVIDER } }, /principal types are case-sensitive/],
    [{ ...base, Resource: '*' }, /Resource/],
    [{ effect: 'Allow', Principal: base.Principal, Action: base.Action }, /element names are case-sensitive/],
  ])('refuses a document IAM refuses as a trust policy: %j', (statement, reason) => {
    const result = parsePolicyDocument({ Version: '2012-10-17', Statement: [statement] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(reason);
  });
});

// ---- property-based tests ---------------------------------------------------------------

describe('properties', () => {
  it('parsing never throws on arbitrary JSON, strings or values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.string(), fc.anything()), (raw) => {
        const result = parsePolicyDocument(raw);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('evaluation never throws on any policy that parses, whatever the request', () => {
    const statement = fc.record(
      {
        Effect: fc.constantFrom('Allow', 'Deny'),
        Principal: fc.oneof(
          fc.constant('*'),
          fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.array(fc.string()))),
        ),
        Action: fc.oneof(fc.string(), fc.array(fc.string(), { minLength: 1 })),
        Condition: fc.dictionary(fc.string(), fc.dictionary(fc.string(), fc.jsonValue())),
      },
      { requiredKeys: ['Effect'] },
    );
    fc.assert(
      fc.property(
        fc.array(statement),
        fc.string(),
        fc.dictionary(fc.string(), fc.string()),
        (statements, action, context) => {
          const parsed = parsePolicyDocument({ Statement: statements });
          if (!parsed.ok) return;
          const result = evaluatePolicy(parsed.policy, {
            action,
            principal: { type: 'Federated', id: PROVIDER },
            context,
          });
          expect(['allow', 'explicit-deny', 'implicit-deny']).toContain(result.decision);
        },
      ),
      { numRuns: 1000 },
    );
  });

  // A deliberately naive reference: regular expressions for wildcards, one request value per key.
  function referenceLike(pattern: string, value: string): boolean {
    const source = [...pattern]
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return new RegExp(`^${source}$`, 's').test(value);
  }
  function referenceCondition(
    operator: string,
    key: string,
    values: string[],
    context: Record<string, string>,
  ): boolean {
    const parts = operator.split(':');
    const qualifier = parts.length > 1 ? parts[0] : '';
    let base = parts[parts.length - 1] ?? '';
    const ifExists = base.endsWith('IfExists');
    if (ifExists) base = base.slice(0, -8);
    const entry = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase());
    const negated = base.includes('Not');
    if (base === 'Null') return values.some((v) => (v === 'true') === (entry === undefined));
    if (entry === undefined) {
      if (ifExists || qualifier === 'ForAllValues') return true;
      if (qualifier === 'ForAnyValue') return false;
      return negated;
    }
    const matches = values.some((v) => (base.includes('Like') ? referenceLike(v, entry[1]) : v === entry[1]));
    return negated ? !matches : matches;
  }

  it('agrees with a naive reference evaluator on generated trust policies', () => {
    const subjects = ['system:serviceaccount:a:b', 'system:serviceaccount:a:c', 'system:serviceaccount:x:b'];
    const subValues = fc.constantFrom(
      ...subjects,
      'system:serviceaccount:a:*',
      'system:serviceaccount:?:b',
      '*',
      '',
      'system:*:b',
    );
    const audValues = fc.constantFrom('sts.amazonaws.com', '', 'sts.*', 'other');
    const operator = fc.constantFrom(
      'StringEquals',
      'StringLike',
      'StringNotEquals',
      'StringNotLike',
      'StringEqualsIfExists',
      'StringLikeIfExists',
      'ForAnyValue:StringEquals',
      'ForAnyValue:StringLike',
      'ForAllValues:StringEquals',
      'ForAllValues:StringLike',
    );
    const key = fc.constantFrom(
      `${ISSUER}:sub`,
      `${ISSUER.toUpperCase()}:SUB`,
      `${ISSUER}:aud`,
      'oidc.eks.eu-west-1.amazonaws.com/id/ZZZ:sub',
    );
    const cond = fc.record({
      operator,
      key,
      values: fc.array(fc.oneof(subValues, audValues), { minLength: 1, maxLength: 3 }),
    });
    const stmt = fc.record({
      effect: fc.constantFrom('Allow', 'Allow', 'Deny'),
      principal: fc.constantFrom(PROVIDER, '*', `${PROVIDER}0`),
      action: fc.constantFrom('sts:AssumeRoleWithWebIdentity', 'sts:*', '*', 'sts:AssumeRole'),
      conditions: fc.array(cond, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(stmt, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(...subjects),
        audValues,
        (stmts, sub, aud) => {
          const document = {
            Version: '2012-10-17',
            Statement: stmts.map((s) => {
              const condition: Record<string, Record<string, string[]>> = {};
              for (const c of s.conditions) {
                const block = condition[c.operator] ?? {};
                block[c.key] = c.values; // a repeated operator+key keeps the last, as JSON would
                condition[c.operator] = block;
              }
              return {
                Effect: s.effect,
                Principal: s.principal === '*' ? '*' : { Federated: s.principal },
                Action: s.action,
                Condition: condition,
              };
            }),
          };
          const context = { [`${ISSUER}:sub`]: sub, [`${ISSUER}:aud`]: aud };
          const applies = (s: (typeof document.Statement)[number]) =>
            (s.Principal === '*' || (s.Principal as { Federated: string }).Federated === PROVIDER) &&
            ['sts:AssumeRoleWithWebIdentity', 'sts:*', '*'].includes(s.Action) &&
            Object.entries(s.Condition).every(([op, block]) =>
              Object.entries(block).every(([k, values]) => referenceCondition(op, k, values, context)),
            );
          const expected = document.Statement.some((s) => s.Effect === 'Deny' && applies(s))
            ? 'explicit-deny'
            : document.Statement.some((s) => s.Effect === 'Allow' && applies(s))
              ? 'allow'
              : 'implicit-deny';
          const actual = evaluatePolicy(policy(document), {
            action: 'sts:AssumeRoleWithWebIdentity',
            principal: { type: 'Federated', id: PROVIDER },
            context,
          }).decision;
          expect(actual).toBe(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('wildcardMatch agrees with a regular-expression reference', () => {
    const alphabet = fc.constantFrom('a', 'b', ':', '*', '?', '.');
    const text = fc.string({ unit: alphabet, maxLength: 12 });
    fc.assert(
      fc.property(
        text,
        fc.string({ unit: fc.constantFrom('a', 'b', ':', '.'), maxLength: 12 }),
        (pattern, value) => {
          expect(wildcardMatch(pattern, value)).toBe(referenceLike(pattern, value));
        },
      ),
      { numRuns: 5000 },
    );
  });
});
