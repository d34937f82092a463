import { describeCheck } from '../../testing/check-harness.ts';
import { healthyIrsa } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const ACCOUNT = '111122223333';

/** The healthy fleet (SAs shop/api, shop/default) plus billing/api and billing/worker, and role `wide` trusting `sub` under `operator`. */
function wideRole(sub: unknown, operator = 'StringLike') {
  return () => {
    const h = healthyIrsa();
    h.cluster.serviceAccount('billing', 'api');
    h.cluster.serviceAccount('billing', 'worker');
    h.account.role(
      'wide',
      irsaTrust(
        h.cluster.providerArn(),
        { [operator]: { [`${h.cluster.issuer}:sub`]: sub } },
        h.cluster.issuer,
      ),
    );
    return h.fleet.build();
  };
}

function irsaTrust(provider: string, condition: Record<string, Record<string, unknown>>, issuer: string) {
  const aud = { [`${issuer}:aud`]: 'sts.amazonaws.com' };
  const merged = { ...condition, StringEquals: { ...(condition.StringEquals ?? {}), ...aud } };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: provider },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: merged,
      },
    ],
  };
}

const wideOnDemo = [{ accountId: ACCOUNT, region: 'us-west-2', cluster: 'demo', roleName: 'wide' }];

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA (exact StringEquals)', fleet: () => healthyIrsa().fleet.build() },
    { name: 'StringLike without wildcard', fleet: wideRole('system:serviceaccount:billing:api') },
    {
      name: '"*" under StringEquals is a literal',
      fleet: wideRole('system:serviceaccount:billing:*', 'StringEquals'),
    },
    { name: '"*" admits everything: IRSA-015, not 016', fleet: wideRole('*') },
    { name: '"system:serviceaccount:*" is IRSA-015, not 016', fleet: wideRole('system:serviceaccount:*') },
    {
      name: '"system:serviceaccount:*:*" is IRSA-015, not 016',
      fleet: wideRole('system:serviceaccount:*:*'),
    },
  ],
  fail: [
    {
      name: 'namespace wildcard "system:serviceaccount:billing:*" lists the SAs it admits',
      fleet: wideRole('system:serviceaccount:billing:*'),
      expect: wideOnDemo,
      mentions: ['billing/api', 'billing/worker', '"admittedCount":2', 'system:serviceaccount:billing:*'],
    },
    {
      name: 'the ServiceAccounts could not be listed: says so, never "admitting 0"',
      fleet: () => {
        const fleet = wideRole('system:serviceaccount:billing:*')();
        const cluster = fleet.accounts[0]?.clusters[0];
        if (cluster?.kubernetes) Object.assign(cluster.kubernetes, { serviceAccounts: null });
        return fleet;
      },
      expect: wideOnDemo,
      mentions: ['could not be listed', '"serviceAccountsCollected":false'],
      absent: ['admitting 0'],
    },
    {
      name: 'name wildcard "system:serviceaccount:*:api"',
      fleet: wideRole('system:serviceaccount:*:api'),
      expect: wideOnDemo,
      mentions: ['shop/api', 'billing/api', '"admittedCount":2'],
    },
    {
      name: '"?" pattern',
      fleet: wideRole('system:serviceaccount:shop:ap?'),
      expect: wideOnDemo,
      mentions: ['"admittedServiceAccounts":["shop/api"]'],
    },
    {
      name: 'wildcard in a list with an exact value',
      fleet: wideRole(['system:serviceaccount:shop:api', 'system:serviceaccount:billing:w*']),
      expect: wideOnDemo,
      mentions: ['billing/worker'],
    },
    {
      name: 'wildcard under ForAnyValue:StringLike',
      fleet: wideRole('system:serviceaccount:billing:*', 'ForAnyValue:StringLike'),
      expect: wideOnDemo,
      mentions: ['billing/api', 'billing/worker'],
    },
    {
      name: 'a pattern admitting no existing SA still fails, with zero admitted',
      fleet: wideRole('system:serviceaccount:ghost:*'),
      expect: wideOnDemo,
      mentions: ['"admittedCount":0'],
    },
  ],
});
