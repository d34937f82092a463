import { describeCheck } from '../../testing/check-harness.ts';
import {
  type ClusterBuilder,
  FleetBuilder,
  irsaTrustPolicy,
  oidcIdFor,
} from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };
const SUB = 'system:serviceaccount:shop:api';
const WEB_IDENTITY = 'sts:AssumeRoleWithWebIdentity';
const OTHER_ACCOUNT = '444455556666';
const ISSUER = `oidc.eks.us-west-2.amazonaws.com/id/${oidcIdFor('111122223333/us-west-2/demo')}`;
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`;

type Conditions = Record<string, Record<string, unknown>>;

/** The EKS-guide condition block for `shop/api` on this cluster's issuer. */
const good = (c: ClusterBuilder): Conditions => ({
  StringEquals: { [`${c.issuer}:sub`]: SUB, [`${c.issuer}:aud`]: 'sts.amazonaws.com' },
});
const statement = (
  c: ClusterBuilder,
  fields: { Effect?: string; Federated?: unknown; Action?: unknown; Condition?: Conditions | null } = {},
) => ({
  Effect: fields.Effect ?? 'Allow',
  Principal: { Federated: fields.Federated ?? c.providerArn() },
  Action: fields.Action ?? WEB_IDENTITY,
  ...(fields.Condition === null ? {} : { Condition: fields.Condition ?? good(c) }),
});
const policy = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });

/**
 * Cluster `demo` (account 111122223333, provider, webhook) and SA `shop/api` annotated with role
 * `demo-api` of `roleAccount` (or `roleArn`), whose trust document is `trust(cluster)` in any encoding;
 * `others` are more SAs of `shop` annotated with the same role.
 */
function withTrust(
  trust: (c: ClusterBuilder) => unknown,
  options: {
    roleAccount?: string;
    roleArn?: string;
    annotations?: Record<string, string>;
    others?: string[];
  } = {},
) {
  return () => {
    const fleet = new FleetBuilder();
    const account = fleet.account('111122223333');
    const cluster = account.cluster('demo');
    account.provider(cluster.issuer);
    cluster.webhook();
    const roleAccount = fleet.account(options.roleAccount ?? account.accountId);
    roleAccount.provider(cluster.issuer);
    const role = roleAccount.role('demo-api', trust(cluster));
    cluster.serviceAccount('shop', 'api', {
      'eks.amazonaws.com/role-arn': options.roleArn ?? role.arn,
      ...options.annotations,
    });
    for (const name of options.others ?? []) {
      cluster.serviceAccount('shop', name, { 'eks.amazonaws.com/role-arn': role.arn });
    }
    return fleet.build();
  };
}

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
