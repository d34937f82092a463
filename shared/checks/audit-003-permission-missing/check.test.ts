import { describeCheck } from '../../testing/check-harness.ts';
import { type ClusterBuilder, healthyIrsa } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const ACCOUNT = '111122223333';
type Kind = 'serviceAccounts' | 'pods' | 'webhookConfigurations';

/** The healthy fleet with a second cluster `other`; `change` edits the Kubernetes data of both. */
function fleet(change: (demo: ClusterBuilder, other: ClusterBuilder) => void) {
  return () => {
    const h = healthyIrsa();
    const other = h.account.cluster('other', { region: 'eu-west-1' });
    other.webhook();
    change(h.cluster, other);
    return h.fleet.build();
  };
}

function deny(cluster: ClusterBuilder, ...kinds: Kind[]): void {
  for (const kind of kinds) cluster.kubernetes[kind] = null;
}

const demo = {
  accountId: ACCOUNT,
  region: 'us-west-2',
  cluster: 'demo',
  namespace: null,
  serviceAccount: null,
};

describeCheck(check, {
  pass: [
    { name: 'every kind collected', fleet: () => healthyIrsa().fleet.build() },
    { name: 'empty lists count as collected', fleet: fleet(() => {}) },
    {
      name: 'a missing kubernetes.json is AUDIT-004 alone',
      fleet: fleet((_demo, other) => {
        other.cluster.kubernetes = null;
      }),
    },
  ],
  fail: [
    {
      name: 'MutatingWebhookConfigurations not collected',
      fleet: fleet((d) => deny(d, 'webhookConfigurations')),
      expect: [demo],
      mentions: [
        'MutatingWebhookConfiguration',
        'IRSA-003, 004',
        'auth can-i list mutatingwebhookconfigurations',
      ],
    },
    {
      name: 'one finding per cluster listing every missing kind',
      fleet: fleet((d) => deny(d, 'serviceAccounts', 'pods')),
      expect: [demo],
      mentions: ['"notCollected":["ServiceAccount","Pod"]', 'list serviceaccounts', 'list pods'],
    },
    {
      name: 'each cluster is reported on its own',
      fleet: fleet((d, other) => {
        deny(d, 'pods');
        deny(other, 'serviceAccounts', 'pods', 'webhookConfigurations');
      }),
      expect: [
        { accountId: ACCOUNT, region: 'us-west-2', cluster: 'demo' },
        { accountId: ACCOUNT, region: 'eu-west-1', cluster: 'other' },
      ],
    },
    {
      name: 'the live probe was denied create on serviceaccounts/token',
      fleet: fleet((d) => {
        d.cluster.collectionErrors = [
          {
            api: 'k8s:serviceaccounts/token',
            code: 'Forbidden',
            message: 'cannot create resource "serviceaccounts/token"',
            kind: 'TokenRequest',
          },
        ];
      }),
      expect: [demo],
      mentions: ['"notCollected":["TokenRequest"]', 'IRSA-040', 'auth can-i create serviceaccounts/token'],
    },
    {
      name: 'no finding for a cluster whose kubernetes.json is missing',
      fleet: fleet((d, other) => {
        deny(d, 'serviceAccounts');
        other.cluster.kubernetes = null;
      }),
      expect: [{ cluster: 'demo' }],
      mentions: ['"notCollected":["ServiceAccount"]'],
    },
  ],
});
