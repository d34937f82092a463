/**
 * Fixture builders for the trust-policy checks (IRSA-012, -013, -014): one cluster `demo` and the
 * service account `shop/api` whose role's trust document a test writes statement by statement.
 */
import { type ClusterBuilder, FleetBuilder } from './fleet-builder.ts';

/** The subject of `shop/api` on cluster `demo`. */
export const API = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };
export const SUB = 'system:serviceaccount:shop:api';
export const WEB_IDENTITY = 'sts:AssumeRoleWithWebIdentity';

export type Conditions = Record<string, Record<string, unknown>>;

/** The EKS-guide condition block for `shop/api` on this cluster's issuer. */
export const good = (c: ClusterBuilder): Conditions => ({
  StringEquals: { [`${c.issuer}:sub`]: SUB, [`${c.issuer}:aud`]: 'sts.amazonaws.com' },
});
export const statement = (
  c: ClusterBuilder,
  fields: { Effect?: string; Federated?: unknown; Action?: unknown; Condition?: Conditions | null } = {},
) => ({
  Effect: fields.Effect ?? 'Allow',
  Principal: { Federated: fields.Federated ?? c.providerArn() },
  Action: fields.Action ?? WEB_IDENTITY,
  ...(fields.Condition === null ? {} : { Condition: fields.Condition ?? good(c) }),
});
export const policy = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });

/**
 * Cluster `demo` (account 111122223333, provider, webhook) and SA `shop/api` annotated with role
 * `demo-api` of `roleAccount` (or `roleArn`), whose trust document is `trust(cluster)` in any encoding;
 * `others` are more SAs of `shop` annotated with the same role.
 */
export function withTrust(
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
