import { describe, expect, it } from 'vitest';
import { parsePolicyDocument, splitOperator } from './policy-document.ts';

const trust = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: {
        Federated: 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC',
      },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: { 'oidc.eks.us-west-2.amazonaws.com/id/ABC:sub': 'system:serviceaccount:a:b' },
      },
    },
  ],
};

describe('parsePolicyDocument', () => {
  it('accepts the decoded object, a JSON string and the URL-encoded string alike', () => {
    // Prepare
    const json = JSON.stringify(trust);
    // Act
    const results = [trust, json, encodeURIComponent(json)].map(parsePolicyDocument);
    // Assess
    for (const result of results) expect(result).toEqual(results[0]);
    expect(results[0]?.ok).toBe(true);
  });

  it('normalises single values to lists and keeps every condition key separately', () => {
    const result = parsePolicyDocument({
      Statement: {
        Effect: 'Allow',
        Principal: '*',
        Action: ['sts:AssumeRoleWithWebIdentity', 'sts:TagSession'],
        Condition: {
          StringEquals: { 'x.y:sub': ['a', 'b'], 'x.y:aud': 'c' },
          Bool: { 'aws:SecureTransport': true },
        },
      },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [statement] = result.policy.statements;
    expect(statement?.principal).toBe('*');
    expect(statement?.action).toEqual(['sts:AssumeRoleWithWebIdentity', 'sts:TagSession']);
    expect(statement?.conditions.map((c) => [c.key, c.values])).toEqual([
      ['x.y:sub', ['a', 'b']],
      ['x.y:aud', ['c']],
      ['aws:SecureTransport', ['true']],
    ]);
  });

  it.each([
    ['truncated JSON', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow"', /not valid JSON/],
    ['bad URL encoding', '%E0%A4%A', /neither JSON nor a valid URL-encoded/],
    ['empty string', '   ', /empty/],
    ['an array', [], /JSON object/],
    ['no Statement', { Version: '2012-10-17' }, /no Statement/],
    ['an Effect typo', { Statement: [{ Effect: 'allow', Principal: '*', Action: '*' }] }, /Effect/],
    ['no Action', { Statement: [{ Effect: 'Allow', Principal: '*' }] }, /neither Action nor NotAction/],
    ['no Principal', { Statement: [{ Effect: 'Allow', Action: '*' }] }, /neither Principal nor NotPrincipal/],
    ['a numeric Action', { Statement: [{ Effect: 'Allow', Principal: '*', Action: 7 }] }, /Action/],
    [
      'an unknown qualifier',
      {
        Statement: [
          { Effect: 'Allow', Principal: '*', Action: '*', Condition: { 'ForSome:StringEquals': { k: 'v' } } },
        ],
      },
      /qualifier/,
    ],
  ])('rejects %s with a reason', (_name, raw, reason) => {
    const result = parsePolicyDocument(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(reason);
  });

  it('refuses a principal type named __proto__ (IAM defines no such type), without touching a prototype', () => {
    // Found by test/fuzz-snapshot.test.ts: the type was assigned, which made ["x"] the prototype.
    const json = '{"Statement":{"Effect":"Allow","Action":"*","Principal":{"__proto__":["x"],"AWS":"y"}}}';
    for (const raw of [JSON.parse(json), json]) {
      const result = parsePolicyDocument(raw);
      expect(result).toEqual({
        ok: false,
        error: expect.stringMatching(/"__proto__", which IAM does not define/),
      });
    }
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});

describe('splitOperator', () => {
  it.each([
    ['StringEquals', 'StringEquals', null, false],
    ['StringLikeIfExists', 'StringLike', null, true],
    ['ForAnyValue:StringLike', 'StringLike', 'ForAnyValue', false],
    ['forallvalues:StringEqualsIfExists', 'StringEquals', 'ForAllValues', true],
    ['Null', 'Null', null, false],
  ])('%s', (operator, baseOperator, setQualifier, ifExists) => {
    expect(splitOperator(operator)).toEqual({ baseOperator, setQualifier, ifExists });
  });
});
