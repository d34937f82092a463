import { describe, expect, it } from 'vitest';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { type ClusterBuilder, irsaTrustPolicy } from '../../testing/fleet-builder.ts';
import { API, type Conditions, policy, SUB, statement, withTrust } from '../../testing/trust-fixtures.ts';
import { check as irsa012 } from '../irsa-012-trust-provider-mismatch/check.ts';
import { check as irsa013 } from '../irsa-013-trust-subject-mismatch/check.ts';
import { check } from './check.ts';

/** The EKS-guide statement for `shop/api` with `:aud` under `operator` = `value` (on `key`). */
const aud = (operator: string, value: unknown, key?: (c: ClusterBuilder) => string) =>
  withTrust((c) => {
    const conditions: Conditions = { StringEquals: { [`${c.issuer}:sub`]: SUB } };
    conditions[operator] = { ...conditions[operator], [key?.(c) ?? `${c.issuer}:aud`]: value };
    return policy(statement(c, { Condition: conditions }));
  });
/** The single statement of an `irsaTrustPolicy(...)`. */
const only = (document: Record<string, unknown>) => (document.Statement as unknown[])[0];
const audience = (value: string) => ({ annotations: { 'eks.amazonaws.com/audience': value } });
const otherIssuer = (c: ClusterBuilder) =>
  c.issuer.replace(/[0-9A-F]{32}$/, '0123456789ABCDEF0123456789ABCDEF');
const denyAud = (operator: string, value: string) =>
  withTrust((c) =>
    policy(
      statement(c),
      statement(c, { Effect: 'Deny', Condition: { [operator]: { [`${c.issuer}:aud`]: value } } }),
    ),
  );

/** One broken link each; `IRSA-014` needs the other two links intact. */
const BROKEN = {
  'IRSA-012': withTrust((c) =>
    irsaTrustPolicy(c.providerArn('444455556666'), c.issuer, SUB, { audience: '' }),
  ),
  'IRSA-013': withTrust((c) =>
    irsaTrustPolicy(c.providerArn(), c.issuer, 'system:serviceaccount:shop:apii', { audience: '' }),
  ),
  'IRSA-014': withTrust((c) => irsaTrustPolicy(c.providerArn(), c.issuer, SUB, { audience: '' })),
};

describeCheck(check, {
  pass: [
    { name: 'EKS-guide trust policy', fleet: withTrust((c) => policy(statement(c))) },
    {
      name: 'no :aud condition',
      fleet: withTrust((c) => irsaTrustPolicy(c.providerArn(), c.issuer, SUB, { audience: null })),
    },
    { name: ':aud list holding sts.amazonaws.com', fleet: aud('StringEquals', ['x', 'sts.amazonaws.com']) },
    { name: ':aud StringLike sts.*', fleet: aud('StringLike', 'sts.*') },
    {
      name: ':aud key in upper case',
      fleet: aud('StringEquals', 'sts.amazonaws.com', (c) => `${c.issuer.toUpperCase()}:AUD`),
    },
    {
      name: 'custom audience annotation admitted by :aud',
      fleet: withTrust(
        (c) => irsaTrustPolicy(c.providerArn(), c.issuer, SUB, { audience: 'my-aud' }),
        audience('my-aud'),
      ),
    },
    {
      name: 'an empty audience annotation means sts.amazonaws.com',
      fleet: withTrust((c) => policy(statement(c)), audience('')),
    },
    { name: 'a Deny for every other audience', fleet: denyAud('StringNotEquals', 'sts.amazonaws.com') },
    {
      name: 'one of two statements admits the audience (OR)',
      fleet: withTrust((c) =>
        policy(only(irsaTrustPolicy(c.providerArn(), c.issuer, SUB, { audience: '' })), statement(c)),
      ),
    },
    {
      name: 'trust as a URL-encoded string',
      fleet: withTrust((c) => encodeURIComponent(JSON.stringify(policy(statement(c))))),
    },
  ],
  fail: [
    { name: ':aud = ""', fleet: aud('StringEquals', ''), expect: [API] },
    { name: ':aud of another partition', fleet: aud('StringEquals', 'sts.amazonaws.com.cn'), expect: [API] },
    {
      name: ':aud values are case-sensitive',
      fleet: aud('StringEquals', 'STS.amazonaws.com'),
      expect: [API],
    },
    {
      name: 'ForAnyValue:StringEquals without the audience',
      fleet: aud('ForAnyValue:StringEquals', ['a', 'b']),
      expect: [API],
    },
    {
      name: 'upper-case :aud key with a wrong value',
      fleet: aud('StringEquals', '', (c) => `${c.issuer.toUpperCase()}:AUD`),
      expect: [API],
    },
    {
      name: 'SA with a custom audience the trust does not admit',
      fleet: withTrust((c) => policy(statement(c)), audience('my-aud')),
      expect: [API],
      mentions: ['my-aud'],
    },
    {
      name: 'an explicit Deny on :aud',
      fleet: denyAud('StringEquals', 'sts.amazonaws.com'),
      expect: [API],
      mentions: ['Statement[1]'],
    },
    {
      name: 'a correct :sub, but :aud keyed on another issuer',
      fleet: aud('StringEquals', 'sts.amazonaws.com', (c) => `${otherIssuer(c)}:aud`),
      expect: [API],
    },
    {
      name: 'the statement admitting the subject has a wrong :aud; the right :aud is for another subject',
      fleet: withTrust((c) =>
        policy(
          only(irsaTrustPolicy(c.providerArn(), c.issuer, SUB, { audience: '' })),
          only(irsaTrustPolicy(c.providerArn(), c.issuer, 'system:serviceaccount:shop:web')),
        ),
      ),
      expect: [API],
    },
    {
      name: 'empty :aud in a JSON string',
      fleet: withTrust((c) =>
        JSON.stringify(irsaTrustPolicy(c.providerArn(), c.issuer, SUB, { audience: '' })),
      ),
      expect: [API],
    },
    {
      name: 'only the SA with a custom audience fails',
      fleet: withTrust(
        (c) => irsaTrustPolicy(c.providerArn(), c.issuer, [SUB, 'system:serviceaccount:shop:worker']),
        { ...audience('my-aud'), others: ['worker'] },
      ),
      expect: [API],
    },
  ],
  notEvaluated: [
    { name: 'IRSA-012 fails first', fleet: BROKEN['IRSA-012'], expect: [API] },
    { name: 'IRSA-013 fails first', fleet: BROKEN['IRSA-013'], expect: [API] },
    {
      name: 'IRSA-012 fails first (unconditional Deny)',
      fleet: withTrust((c) => policy(statement(c), statement(c, { Effect: 'Deny', Condition: null }))),
      expect: [API],
    },
    {
      name: 'unparseable trust',
      fleet: withTrust(() => JSON.stringify({ Version: '2012-10-17' })),
      expect: [API],
    },
    {
      name: 'role missing (IRSA-011)',
      fleet: withTrust((c) => policy(statement(c)), { roleArn: 'arn:aws:iam::111122223333:role/demo-apii' }),
      expect: [API],
    },
  ],
});

describe('IRSA-012/013/014 attribution', () => {
  const checks = [irsa012, irsa013, check];
  const failing = (fleet: () => ReturnType<ReturnType<typeof withTrust>>) =>
    checks.flatMap((c) =>
      runCheck(c, fleet())
        .filter((r) => r.status === 'fail')
        .map((r) => r.checkId),
    );
  for (const [id, fleet] of Object.entries(BROKEN)) {
    it(`a service account whose token is refused gets exactly one of them: ${id}`, () => {
      expect(failing(fleet)).toEqual([id]);
    });
  }
  it('an admitted service account gets none of them', () => {
    expect(failing(withTrust((c) => policy(statement(c))))).toEqual([]);
  });
});
