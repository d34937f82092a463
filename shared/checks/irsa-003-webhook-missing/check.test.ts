import { describeCheck } from '../../testing/check-harness.ts';
import {
  type ClusterBuilder,
  healthyIrsa,
  healthyWith,
  mutatingWebhook,
} from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const DEMO = { accountId: '111122223333', cluster: 'demo' };

/** healthyIrsa() whose MutatingWebhookConfigurations are replaced by what `install` adds. */
function webhooks(install: (cluster: ClusterBuilder) => void) {
  return () => {
    const h = healthyIrsa();
    h.cluster.kubernetes.webhookConfigurations = [];
    install(h.cluster);
    return h.fleet.build();
  };
}

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA setup', fleet: () => healthyIrsa().fleet.build() },
    {
      name: 'configuration pod-identity-webhook whose webhook has another name',
      fleet: webhooks((c) =>
        c.kubernetes.webhookConfigurations?.push({
          name: 'pod-identity-webhook',
          webhooks: [mutatingWebhook({ name: 'pod-identity-webhook.amazonaws.com', caBundle: null })],
        }),
      ),
    },
    {
      name: 'webhook iam-for-pods.amazonaws.com in a configuration with another name',
      fleet: webhooks((c) => {
        c.webhook(undefined, 'vpc-resource-mutating-webhook');
        c.webhook(undefined, 'aws-pod-identity');
      }),
    },
  ],
  fail: [
    { name: 'no MutatingWebhookConfiguration at all', fleet: webhooks(() => {}), expect: [DEMO] },
    {
      name: 'only unrelated webhooks',
      fleet: webhooks((c) =>
        c.kubernetes.webhookConfigurations?.push({
          name: 'vpc-resource-mutating-webhook',
          webhooks: [mutatingWebhook({ name: 'mpod.vpc.k8s.aws', caBundle: null })],
        }),
      ),
      expect: [DEMO],
      mentions: ['vpc-resource-mutating-webhook'],
    },
    {
      name: 'names that only resemble the EKS ones',
      fleet: webhooks((c) =>
        c.kubernetes.webhookConfigurations?.push({
          name: 'pod-identity-webhook-old',
          webhooks: [mutatingWebhook({ name: 'iam-for-pods.amazonaws.com.bak', caBundle: null })],
        }),
      ),
      expect: [DEMO],
    },
    {
      name: 'only the cluster without the webhook fails',
      fleet: healthyWith((h) => {
        h.account.cluster('other', { region: 'eu-west-1' });
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
      name: 'kubernetes.json is unreadable',
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
      }),
      expect: [DEMO],
    },
  ],
});
