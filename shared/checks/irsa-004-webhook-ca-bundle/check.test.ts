import { expect, it } from 'vitest';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import {
  base64,
  type ClusterBuilder,
  FleetBuilder,
  healthyIrsa,
  healthyWith,
  mutatingWebhook,
} from '../../testing/fleet-builder.ts';
import {
  CLUSTER_CA_A_PEM,
  CLUSTER_CA_B_PEM,
  CLUSTER_CA_C_PEM,
  EXPIRED_CA_PEM,
} from '../../testing/test-certificates.ts';
import { check } from './check.ts';

const DEMO = { accountId: '111122223333', cluster: 'demo' };

/** A one-cluster fleet (CA `clusterCa`) whose only webhook configuration is what `install` adds. */
function cluster(install: (c: ClusterBuilder) => void, clusterCa = CLUSTER_CA_A_PEM) {
  return () => {
    const fleet = new FleetBuilder();
    const c = fleet.account().cluster('demo', { caPem: clusterCa });
    install(c);
    return fleet.build();
  };
}

/** The pod identity webhook with caBundle `bundle`. */
const withBundle = (bundle: string | null, clusterCa?: string) =>
  cluster((c) => c.webhook(bundle), clusterCa);

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA setup', fleet: () => healthyIrsa().fleet.build() },
    { name: 'caBundle is the cluster CA', fleet: withBundle(base64(CLUSTER_CA_A_PEM)) },
    {
      name: 'caBundle holds two certificates, one of them the cluster CA',
      fleet: withBundle(base64(CLUSTER_CA_B_PEM + CLUSTER_CA_A_PEM)),
    },
    {
      name: 'an expired extra certificate beside the valid cluster CA',
      fleet: withBundle(base64(EXPIRED_CA_PEM + CLUSTER_CA_A_PEM)),
    },
    {
      name: 'webhook in configuration pod-identity-webhook under another webhook name',
      fleet: cluster((c) =>
        c.kubernetes.webhookConfigurations?.push({
          name: 'pod-identity-webhook',
          webhooks: [
            mutatingWebhook({
              name: 'pod-identity-webhook.amazonaws.com',
              caBundle: base64(CLUSTER_CA_A_PEM),
            }),
          ],
        }),
      ),
    },
    {
      name: 'iam-for-pods.amazonaws.com in a configuration with another name',
      fleet: cluster((c) => c.webhook(base64(CLUSTER_CA_A_PEM), 'custom-pod-identity')),
    },
  ],
  fail: [
    { name: 'caBundle empty', fleet: withBundle(''), expect: [DEMO], mentions: ['empty'] },
    {
      name: 'caBundle absent (counts as empty)',
      fleet: withBundle(null),
      expect: [DEMO],
      mentions: ['empty'],
    },
    {
      name: 'caBundle not PEM (base64 of garbage)',
      fleet: withBundle(base64('this is not a certificate')),
      expect: [DEMO],
      mentions: ['no PEM'],
    },
    {
      name: 'caBundle is raw PEM text that was never base64-encoded',
      fleet: withBundle(CLUSTER_CA_A_PEM),
      expect: [DEMO],
    },
    {
      name: "caBundle is another cluster's CA",
      fleet: withBundle(base64(CLUSTER_CA_B_PEM)),
      expect: [DEMO],
      mentions: ['no certificate equal to the cluster CA'],
    },
    {
      name: 'caBundle holds two certificates, neither the cluster CA',
      fleet: withBundle(base64(CLUSTER_CA_B_PEM + CLUSTER_CA_C_PEM)),
      expect: [DEMO],
    },
    {
      name: 'caBundle equals the cluster CA, but it expired',
      fleet: withBundle(base64(EXPIRED_CA_PEM), EXPIRED_CA_PEM),
      expect: [DEMO],
      mentions: ['expired'],
    },
    {
      name: 'only the cluster with the wrong caBundle fails (a missing webhook is IRSA-003)',
      fleet: healthyWith((h) => {
        h.account.cluster('other', { region: 'eu-west-1' }).webhook(base64(CLUSTER_CA_B_PEM));
        h.account.cluster('bare', { region: 'eu-west-1' });
      }),
      expect: [{ accountId: '111122223333', cluster: 'other' }],
    },
  ],
  notEvaluated: [
    {
      name: 'MutatingWebhookConfigurations were not collected',
      fleet: healthyWith((h) => {
        h.cluster.kubernetes.webhookConfigurations = null;
      }),
      expect: [DEMO],
    },
    {
      name: 'cluster.json is unreadable (no cluster CA to compare with)',
      fleet: healthyWith((h) => {
        h.cluster.cluster.info = null;
      }),
      expect: [DEMO],
    },
  ],
});

it('IRSA-004 yields no result at all for a cluster without the webhook (IRSA-003 reports it)', () => {
  expect(runCheck(check, cluster(() => {})())).toEqual([]);
  const unrelated = cluster((c) =>
    c.kubernetes.webhookConfigurations?.push({
      name: 'other',
      webhooks: [mutatingWebhook({ name: 'other.k8s.io', caBundle: null })],
    }),
  );
  expect(runCheck(check, unrelated())).toEqual([]);
});
