import { describeCheck } from '../../testing/check-harness.ts';
import { type ClusterBuilder, irsaTrustPolicy, oidcIdFor } from '../../testing/fleet-builder.ts';
import { API, policy, SUB, statement, WEB_IDENTITY, withTrust } from '../../testing/trust-fixtures.ts';
import { check } from './check.ts';

const OTHER_ACCOUNT = '444455556666';
const ISSUER = `oidc.eks.us-west-2.amazonaws.com/id/${oidcIdFor('111122223333/us-west-2/demo')}`;
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`;

const otherRegion = (c: ClusterBuilder) => c.issuer.replace('us-west-2', 'eu-west-1');
const otherId = (c: ClusterBuilder) => c.issuer.replace(/[0-9A-F]{32}$/, '0123456789ABCDEF0123456789ABCDEF');

describeCheck(check, {
  pass: [
    { name: 'EKS-guide trust policy', fleet: withTrust((c) => policy(statement(c))) },
    { name: 'action sts:*', fleet: withTrust((c) => policy(statement(c, { Action: 'sts:*' }))) },
    { name: 'action *', fleet: withTrust((c) => policy(statement(c, { Action: '*' }))) },
    {
      name: 'Action as a list, Federated as a list',
      fleet: withTrust((c) =>
        policy(
          statement(c, {
            Action: ['sts:TagSession', WEB_IDENTITY],
            Federated: [c.providerArn(OTHER_ACCOUNT), c.providerArn()],
          }),
        ),
      ),
    },
    {
      name: 'Statement as a single object',
      fleet: withTrust((c) => ({ Version: '2012-10-17', Statement: statement(c) })),
    },
    {
      name: 'one of several statements trusts the provider (OR)',
      fleet: withTrust((c) =>
        policy(
          statement(c, { Federated: c.providerArn(OTHER_ACCOUNT), Action: 'sts:AssumeRole' }),
          statement(c),
        ),
      ),
    },
    {
      name: 'a Deny for another provider does not apply',
      fleet: withTrust((c) =>
        policy(
          statement(c),
          statement(c, {
            Effect: 'Deny',
            Federated: `arn:aws:iam::111122223333:oidc-provider/${otherId(c)}`,
            Condition: null,
          }),
        ),
      ),
    },
    {
      name: "cross-account role trusting the provider in the role's account",
      fleet: withTrust((c) => irsaTrustPolicy(c.providerArn(OTHER_ACCOUNT), c.issuer, SUB), {
        roleAccount: OTHER_ACCOUNT,
      }),
    },
    {
      name: 'trust as a URL-encoded string (IAM API)',
      fleet: withTrust((c) => encodeURIComponent(JSON.stringify(policy(statement(c))))),
    },
    {
      name: 'trust as a JSON string',
      fleet: withTrust((c) => JSON.stringify(policy(statement(c)), null, 2)),
    },
    // Attribution order: a later link failing leaves IRSA-012 passing.
    {
      name: 'subject typo (IRSA-013, not 012)',
      fleet: withTrust((c) => irsaTrustPolicy(c.providerArn(), c.issuer, 'system:serviceaccount:shopp:api')),
    },
    {
      name: 'empty :aud (IRSA-014, not 012)',
      fleet: withTrust((c) => irsaTrustPolicy(c.providerArn(), c.issuer, SUB, { audience: '' })),
    },
  ],
  fail: [
    {
      name: 'Federated in the wrong account',
      fleet: withTrust((c) => irsaTrustPolicy(c.providerArn(OTHER_ACCOUNT), c.issuer, SUB)),
      expect: [API],
      mentions: [PROVIDER],
    },
    {
      name: "cross-account role trusting the provider in the cluster's account, not the role's",
      fleet: withTrust((c) => irsaTrustPolicy(c.providerArn(), c.issuer, SUB), {
        roleAccount: OTHER_ACCOUNT,
      }),
      expect: [API],
    },
    {
      name: 'Federated for the cluster name in another region',
      fleet: withTrust((c) =>
        irsaTrustPolicy(`arn:aws:iam::111122223333:oidc-provider/${otherRegion(c)}`, otherRegion(c), SUB),
      ),
      expect: [API],
    },
    {
      name: 'Federated with another OIDC id',
      fleet: withTrust((c) =>
        irsaTrustPolicy(`arn:aws:iam::111122223333:oidc-provider/${otherId(c)}`, otherId(c), SUB),
      ),
      expect: [API],
    },
    {
      name: 'action sts:AssumeRole instead of web identity',
      fleet: withTrust((c) => policy(statement(c, { Action: 'sts:AssumeRole' }))),
      expect: [API],
    },
    {
      name: 'action list without web identity',
      fleet: withTrust((c) => policy(statement(c, { Action: ['sts:AssumeRole', 'sts:TagSession'] }))),
      expect: [API],
    },
    {
      name: 'only a Deny statement names the provider',
      fleet: withTrust((c) => policy(statement(c, { Effect: 'Deny' }))),
      expect: [API],
    },
    {
      name: 'an unconditional explicit Deny beside the Allow',
      fleet: withTrust((c) => policy(statement(c), statement(c, { Effect: 'Deny', Condition: null }))),
      expect: [API],
      mentions: ['Statement[1]'],
    },
    {
      name: 'wrong provider in a URL-encoded trust string',
      fleet: withTrust((c) =>
        encodeURIComponent(JSON.stringify(policy(statement(c, { Action: 'sts:AssumeRole' })))),
      ),
      expect: [API],
    },
  ],
  notEvaluated: [
    {
      name: 'unparseable trust (not JSON)',
      fleet: withTrust(() => '{"Version": "2012-10-17", "Statement": ['),
      expect: [API],
    },
    {
      name: 'unparseable trust (bad URL encoding)',
      fleet: withTrust(() => '%7B%22Version%22%3A%E0%A4%A'),
      expect: [API],
    },
    {
      name: 'trust statement without Action',
      fleet: withTrust((c) => policy({ Effect: 'Allow', Principal: { Federated: c.providerArn() } })),
      expect: [API],
    },
    {
      name: 'role missing (IRSA-011)',
      fleet: withTrust((c) => policy(statement(c)), { roleArn: 'arn:aws:iam::111122223333:role/demo-apii' }),
      expect: [API],
    },
    {
      name: "the role's account is not audited",
      fleet: withTrust((c) => policy(statement(c)), { roleArn: 'arn:aws:iam::999988887777:role/demo-api' }),
      expect: [API],
    },
    {
      name: 'malformed role ARN (IRSA-010)',
      fleet: withTrust((c) => policy(statement(c)), { roleArn: 'arn:aws:iam::111122223333:role/demo-api ' }),
      expect: [API],
    },
  ],
});
