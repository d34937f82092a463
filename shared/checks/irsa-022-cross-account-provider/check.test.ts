import { describeCheck } from '../../testing/check-harness.ts';
import {
  type AccountBuilder,
  FleetBuilder,
  healthyIrsa,
  irsaTrustPolicy,
} from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const CLUSTER_ACCOUNT = '111122223333';
const ROLE_ACCOUNT = '444455556666';
/** The finding carries the cluster's account even though the role lives elsewhere. */
const API = { accountId: CLUSTER_ACCOUNT, cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };

/**
 * Cluster `demo` in 111122223333 (with its provider), SA `shop/local` using role `local` of that
 * account, and SA `shop/api` annotated with role `cross-api` of 444455556666 (or `roleArn`);
 * `setup` shapes the role account (its providers, or `iam = null`).
 */
function crossAccount(setup: (roleAccount: AccountBuilder, issuer: string) => void, roleArn?: string) {
  return () => {
    const fleet = new FleetBuilder();
    const account = fleet.account(CLUSTER_ACCOUNT);
    const cluster = account.cluster('demo');
    account.provider(cluster.issuer);
    cluster.webhook();
    const roleAccount = fleet.account(ROLE_ACCOUNT);
    setup(roleAccount, cluster.issuer);
    const trust = irsaTrustPolicy(
      cluster.providerArn(ROLE_ACCOUNT),
      cluster.issuer,
      'system:serviceaccount:shop:api',
    );
    if (roleAccount.iam && !roleAccount.iam.roles.some((r) => r.name === 'cross-api'))
      roleAccount.role('cross-api', trust);
    cluster.serviceAccount('shop', 'api', {
      'eks.amazonaws.com/role-arn': roleArn ?? `arn:aws:iam::${ROLE_ACCOUNT}:role/cross-api`,
    });
    return fleet.build();
  };
}

const withProvider = (a: AccountBuilder, issuer: string) => {
  a.provider(issuer);
};
const withoutProvider = () => {};

describeCheck(check, {
  pass: [
    { name: 'role in the cluster account', fleet: () => healthyIrsa().fleet.build() },
    { name: 'role account has a provider for the issuer', fleet: crossAccount(withProvider) },
    {
      name: 'provider Url with https:// and a trailing slash',
      fleet: crossAccount((a, issuer) => {
        a.provider(`https://${issuer}/`);
      }),
    },
  ],
  fail: [
    {
      name: 'role account has no provider at all',
      fleet: crossAccount(withoutProvider),
      expect: [API],
      mentions: [ROLE_ACCOUNT],
    },
    {
      name: "role account has providers, but not for this cluster's issuer",
      fleet: crossAccount((a, issuer) => {
        a.provider(issuer.replace('us-west-2', 'us-east-1'));
        a.provider('oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF');
      }),
      expect: [API],
      mentions: [
        'aws iam create-open-id-connect-provider --url https://oidc.eks.us-west-2.amazonaws.com/id/',
      ],
    },
    {
      name: 'still evaluated when the role is missing (only IRSA-010 makes it not-evaluated)',
      fleet: crossAccount(withoutProvider, `arn:aws:iam::${ROLE_ACCOUNT}:role/no-such-role`),
      expect: [API],
    },
  ],
  notEvaluated: [
    {
      name: "the role's account is not in the fleet",
      fleet: crossAccount(withoutProvider, 'arn:aws:iam::999988887777:role/cross-api'),
      expect: [API],
    },
    {
      name: "the role account's iam.json is unreadable",
      fleet: crossAccount((a) => {
        a.iam = null;
      }),
      expect: [API],
    },
    {
      name: 'malformed role ARN (IRSA-010)',
      fleet: crossAccount(withProvider, `arn:aws:iam::${ROLE_ACCOUNT}:user/cross-api`),
      expect: [API],
    },
  ],
});
