import { describeCheck } from '../../testing/check-harness.ts';
import { type ClusterBuilder, irsaTrustPolicy } from '../../testing/fleet-builder.ts';
import { API, type Conditions, policy, SUB, statement, withTrust } from '../../testing/trust-fixtures.ts';
import { check } from './check.ts';

const typo = (subject: string) => (c: ClusterBuilder) => irsaTrustPolicy(c.providerArn(), c.issuer, subject);
/** A `:sub` condition under `operator` (on `key`), plus the usual `:aud` one. */
const sub = (c: ClusterBuilder, operator: string, value: unknown, key = `${c.issuer}:sub`): Conditions => {
  const conditions: Conditions = { StringEquals: { [`${c.issuer}:aud`]: 'sts.amazonaws.com' } };
  conditions[operator] = { ...conditions[operator], [key]: value };
  return conditions;
};
const otherIssuer = (c: ClusterBuilder) =>
  c.issuer.replace(/[0-9A-F]{32}$/, '0123456789ABCDEF0123456789ABCDEF');
const withSub = (operator: string, value: unknown, key?: (c: ClusterBuilder) => string) =>
  withTrust((c) => policy(statement(c, { Condition: sub(c, operator, value, key?.(c)) })));

describeCheck(check, {
  pass: [
    { name: 'EKS-guide trust policy', fleet: withTrust((c) => policy(statement(c))) },
    {
      name: ':sub as a list holding the subject',
      fleet: withSub('StringEquals', ['system:serviceaccount:shop:web', SUB]),
    },
    { name: 'StringLike with ?', fleet: withSub('StringLike', 'system:serviceaccount:sho?:ap?') },
    { name: 'StringLike with *', fleet: withSub('StringLike', 'system:serviceaccount:shop:*') },
    { name: 'ForAnyValue:StringEquals', fleet: withSub('ForAnyValue:StringEquals', ['x', SUB]) },
    {
      name: 'condition keys in another case (IAM keys are case-insensitive)',
      fleet: withTrust((c) =>
        policy(
          statement(c, {
            Condition: {
              StringEquals: {
                [`${c.issuer.toLowerCase()}:SUB`]: SUB,
                [`${c.issuer.toUpperCase()}:Aud`]: 'sts.amazonaws.com',
              },
            },
          }),
        ),
      ),
    },
    {
      name: 'one of two statements admits the subject (OR)',
      fleet: withTrust((c) =>
        policy(
          statement(c, { Condition: sub(c, 'StringEquals', 'system:serviceaccount:shop:web') }),
          statement(c),
        ),
      ),
    },
    {
      name: 'a Deny on :sub that does not match this SA',
      fleet: withTrust((c) =>
        policy(
          statement(c),
          statement(c, {
            Effect: 'Deny',
            Condition: sub(c, 'StringLike', 'system:serviceaccount:kube-system:*'),
          }),
        ),
      ),
    },
    {
      name: 'a Deny for every subject but this one',
      fleet: withTrust((c) =>
        policy(statement(c), statement(c, { Effect: 'Deny', Condition: sub(c, 'StringNotEquals', SUB) })),
      ),
    },
    {
      name: 'no :sub condition at all (IRSA-015 territory, not 013)',
      fleet: withTrust((c) =>
        policy(statement(c, { Condition: { StringEquals: { [`${c.issuer}:aud`]: 'sts.amazonaws.com' } } })),
      ),
    },
    { name: 'trust as a JSON string', fleet: withTrust((c) => JSON.stringify(policy(statement(c)))) },
    // Attribution order: a later link failing leaves IRSA-013 passing.
    {
      name: 'empty :aud (IRSA-014, not 013)',
      fleet: withTrust((c) => irsaTrustPolicy(c.providerArn(), c.issuer, SUB, { audience: '' })),
    },
  ],
  fail: [
    {
      name: 'namespace typo',
      fleet: withTrust(typo('system:serviceaccount:shopp:api')),
      expect: [API],
      mentions: [SUB],
    },
    { name: 'name typo', fleet: withTrust(typo('system:serviceaccount:shop:apl')), expect: [API] },
    {
      name: 'values are case-sensitive',
      fleet: withTrust(typo('system:serviceaccount:Shop:api')),
      expect: [API],
    },
    {
      name: 'StringEquals does not expand *',
      fleet: withSub('StringEquals', 'system:serviceaccount:shop:*'),
      expect: [API],
    },
    {
      name: 'StringLike ? matches exactly one character',
      fleet: withSub('StringLike', 'system:serviceaccount:shop:api?'),
      expect: [API],
    },
    {
      name: 'ForAnyValue:StringEquals without the subject',
      fleet: withSub('ForAnyValue:StringEquals', ['x', 'y']),
      expect: [API],
    },
    {
      name: 'StringEqualsIfExists with another subject (the key exists)',
      fleet: withSub('StringEqualsIfExists', 'system:serviceaccount:shop:web'),
      expect: [API],
    },
    {
      name: 'upper-case key with a wrong value',
      fleet: withSub(
        'StringEquals',
        'system:serviceaccount:shop:web',
        (c) => `${c.issuer.toUpperCase()}:SUB`,
      ),
      expect: [API],
    },
    {
      name: 'an explicit Deny on :sub',
      fleet: withTrust((c) =>
        policy(statement(c), statement(c, { Effect: 'Deny', Condition: sub(c, 'StringEquals', SUB) })),
      ),
      expect: [API],
      mentions: ['Statement[1]'],
    },
    {
      name: 'the statement trusts this provider but keys :sub on another issuer',
      fleet: withTrust((c) =>
        policy(
          statement(c, {
            Condition: {
              StringEquals: {
                [`${otherIssuer(c)}:sub`]: SUB,
                [`${otherIssuer(c)}:aud`]: 'sts.amazonaws.com',
              },
            },
          }),
        ),
      ),
      expect: [API],
    },
    {
      name: "a correct :sub plus one keyed on another issuer's :sub",
      fleet: withTrust((c) =>
        policy(
          statement(c, {
            Condition: { StringEquals: { [`${c.issuer}:sub`]: SUB, [`${otherIssuer(c)}:sub`]: SUB } },
          }),
        ),
      ),
      expect: [API],
    },
    {
      name: 'subject typo in a URL-encoded trust string',
      fleet: withTrust((c) => encodeURIComponent(JSON.stringify(typo('system:serviceaccount:shop:apii')(c)))),
      expect: [API],
    },
    {
      name: 'only the SAs the trust does not name fail',
      fleet: withTrust((c) => policy(statement(c)), { others: ['worker', 'web'] }),
      expect: [
        { cluster: 'demo', namespace: 'shop', serviceAccount: 'worker' },
        { cluster: 'demo', namespace: 'shop', serviceAccount: 'web' },
      ],
    },
  ],
  notEvaluated: [
    {
      name: 'IRSA-012 fails first (wrong action)',
      fleet: withTrust((c) =>
        policy(statement(c, { Action: 'sts:AssumeRole', Condition: sub(c, 'StringEquals', 'x') })),
      ),
      expect: [API],
    },
    {
      name: 'IRSA-012 fails first (unconditional Deny)',
      fleet: withTrust((c) => policy(statement(c), statement(c, { Effect: 'Deny', Condition: null }))),
      expect: [API],
    },
    { name: 'unparseable trust', fleet: withTrust(() => 'not a policy'), expect: [API] },
    {
      name: 'role missing (IRSA-011)',
      fleet: withTrust((c) => policy(statement(c)), { roleArn: 'arn:aws:iam::111122223333:role/demo-apii' }),
      expect: [API],
    },
    {
      name: 'malformed role ARN (IRSA-010)',
      fleet: withTrust((c) => policy(statement(c)), { roleArn: '"arn:aws:iam::111122223333:role/demo-api"' }),
      expect: [API],
    },
  ],
});
