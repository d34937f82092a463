import { describeCheck } from '../../testing/check-harness.ts';
import { healthyIrsa, healthyWith, irsaTrustPolicy } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };
const OTHER_ACCOUNT = '444455556666';

/** healthyIrsa() whose SA `shop/api` is annotated with `roleArn` instead. */
function annotated(roleArn: string, setup: (h: ReturnType<typeof healthyIrsa>) => void = () => {}) {
  return () => {
    const h = healthyIrsa();
    Object.assign(h.serviceAccount.annotations, { 'eks.amazonaws.com/role-arn': roleArn });
    setup(h);
    return h.fleet.build();
  };
}

/** A second audited account holding role `cross-api` (trusting the demo cluster). */
function crossAccount(h: ReturnType<typeof healthyIrsa>) {
  const other = h.fleet.account(OTHER_ACCOUNT);
  other.provider(h.cluster.issuer);
  other.role(
    'cross-api',
    irsaTrustPolicy(h.cluster.providerArn(OTHER_ACCOUNT), h.cluster.issuer, 'system:serviceaccount:shop:api'),
  );
  return other;
}

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA setup', fleet: () => healthyIrsa().fleet.build() },
    {
      name: 'role in another audited account',
      fleet: annotated(`arn:aws:iam::${OTHER_ACCOUNT}:role/cross-api`, crossAccount),
    },
    { name: 'role ARN with a path', fleet: annotated('arn:aws:iam::111122223333:role/team/demo-api') },
  ],
  fail: [
    {
      name: 'annotated role does not exist',
      fleet: annotated('arn:aws:iam::111122223333:role/demo-apii'),
      expect: [API],
      mentions: ['demo-apii'],
    },
    {
      name: 'role missing in another audited account',
      fleet: annotated(`arn:aws:iam::${OTHER_ACCOUNT}:role/demo-api`, crossAccount),
      expect: [API],
      mentions: [OTHER_ACCOUNT],
    },
    {
      name: 'only the SA with the missing role fails',
      fleet: healthyWith((h) => {
        h.cluster.serviceAccount('shop', 'worker', {
          'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/demo-worker',
        });
      }),
      expect: [{ cluster: 'demo', namespace: 'shop', serviceAccount: 'worker' }],
    },
  ],
  notEvaluated: [
    {
      name: "the role's account is not in the fleet",
      fleet: annotated(`arn:aws:iam::${OTHER_ACCOUNT}:role/demo-api`),
      expect: [API],
    },
    {
      name: "the role account's iam.json is unreadable",
      fleet: annotated('arn:aws:iam::111122223333:role/demo-api', (h) => {
        h.account.iam = null;
      }),
      expect: [API],
    },
    {
      name: 'malformed role ARN (IRSA-010)',
      fleet: annotated(' arn:aws:iam::111122223333:role/demo-api'),
      expect: [API],
    },
    { name: 'bare role name (IRSA-010)', fleet: annotated('demo-apii'), expect: [API] },
  ],
});
