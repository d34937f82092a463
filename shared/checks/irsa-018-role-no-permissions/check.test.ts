import { describeCheck } from '../../testing/check-harness.ts';
import { FleetBuilder, irsaTrustPolicy } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };
const OTHER_ACCOUNT = '444455556666';

type Policies = { attached?: string[]; inline?: string[] } | null;

/**
 * Cluster `demo` and SA `shop/api` annotated with role `demo-api` (in `roleAccount`) whose
 * RolePolicies entry is `policies` (null: absent from RolePolicies), or with `roleArn` instead.
 */
function withPolicies(policies: Policies, options: { roleAccount?: string; roleArn?: string } = {}) {
  return () => {
    const fleet = new FleetBuilder();
    const account = fleet.account('111122223333');
    const cluster = account.cluster('demo');
    account.provider(cluster.issuer);
    cluster.webhook();
    const roleAccount = fleet.account(options.roleAccount ?? account.accountId);
    const trust = irsaTrustPolicy(
      cluster.providerArn(roleAccount.accountId),
      cluster.issuer,
      'system:serviceaccount:shop:api',
    );
    const role = roleAccount.role('demo-api', trust, policies);
    cluster.serviceAccount('shop', 'api', { 'eks.amazonaws.com/role-arn': options.roleArn ?? role.arn });
    return fleet.build();
  };
}

describeCheck(check, {
  pass: [
    { name: 'an attached policy', fleet: withPolicies({ attached: ['app-policy'] }) },
    { name: 'an inline policy only', fleet: withPolicies({ inline: ['s3-read'] }) },
    { name: 'attached and inline policies', fleet: withPolicies({ attached: ['a', 'b'], inline: ['c'] }) },
    {
      name: 'a role with policies in another audited account',
      fleet: withPolicies({ inline: ['x'] }, { roleAccount: OTHER_ACCOUNT }),
    },
  ],
  fail: [
    {
      name: 'no attached and no inline policy',
      fleet: withPolicies({ attached: [], inline: [] }),
      expect: [API],
      mentions: ['demo-api'],
    },
    { name: 'empty RolePolicies entry', fleet: withPolicies({}), expect: [API] },
    {
      name: 'an empty role in another audited account (finding on the cluster account)',
      fleet: withPolicies({}, { roleAccount: OTHER_ACCOUNT }),
      expect: [{ ...API, accountId: '111122223333' }],
    },
  ],
  notEvaluated: [
    { name: 'role absent from RolePolicies', fleet: withPolicies(null), expect: [API] },
    {
      name: 'role missing (IRSA-011)',
      fleet: withPolicies({}, { roleArn: 'arn:aws:iam::111122223333:role/demo-apii' }),
      expect: [API],
    },
    {
      name: 'malformed role ARN (IRSA-010)',
      fleet: withPolicies({}, { roleArn: 'arn:aws:iam::111122223333:role/demo-api ' }),
      expect: [API],
    },
    {
      name: "the role's account is not audited",
      fleet: withPolicies({}, { roleArn: `arn:aws:iam::999988887777:role/demo-api` }),
      expect: [API],
    },
  ],
});
