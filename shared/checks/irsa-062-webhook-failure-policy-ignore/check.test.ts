import { describeCheck } from '../../testing/check-harness.ts';
import {
  type ClusterBuilder,
  healthyIrsa,
  healthyWith,
  mutatingWebhook,
} from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const DEMO = { accountId: '111122223333', cluster: 'demo' };
const SELF_MANAGED = {
  name: 'pod-identity-webhook.amazonaws.com',
  url: null,
  service: { namespace: 'kube-system', name: 'pod-identity-webhook' },
};

/** healthyIrsa() whose pod identity webhook is replaced by what `install` adds. */
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
    {
      name: "EKS's managed webhook with the Ignore EKS ships (the owner cannot change it)",
      fleet: () => healthyIrsa().fleet.build(),
    },
    {
      name: 'a self-managed webhook (Service) with failurePolicy Fail',
      fleet: webhooks((c) =>
        c.webhook(undefined, 'pod-identity-webhook', { ...SELF_MANAGED, failurePolicy: 'Fail' }),
      ),
    },
    {
      name: 'a webhook at a non-loopback URL with failurePolicy Fail',
      fleet: webhooks((c) =>
        c.webhook(undefined, 'pod-identity-webhook', {
          url: 'https://webhook.example.com/mutate',
          failurePolicy: 'Fail',
        }),
      ),
    },
  ],
  fail: [
    {
      name: 'a self-managed webhook (Service) with failurePolicy Ignore',
      fleet: webhooks((c) =>
        c.webhook(undefined, 'pod-identity-webhook', { ...SELF_MANAGED, failurePolicy: 'Ignore' }),
      ),
      expect: [DEMO],
      mentions: ['pod-identity-webhook.amazonaws.com', 'Ignore', '/webhooks/0/failurePolicy'],
    },
    {
      name: 'a URL that only looks local (127.0.0.1.example.com) is not EKS-managed',
      fleet: webhooks((c) =>
        c.webhook(undefined, 'pod-identity-webhook', {
          url: 'https://127.0.0.1.example.com/mutate',
          failurePolicy: 'Ignore',
        }),
      ),
      expect: [DEMO],
    },
    {
      name: 'the Ignore one of two webhooks named iam-for-pods.amazonaws.com, at its index',
      fleet: webhooks((c) =>
        c.kubernetes.webhookConfigurations?.push({
          name: 'custom-irsa',
          webhooks: [
            mutatingWebhook({ name: 'other.example.com', failurePolicy: 'Ignore', ...{ url: null } }),
            mutatingWebhook({ ...SELF_MANAGED, name: 'iam-for-pods.amazonaws.com', failurePolicy: 'Ignore' }),
          ],
        }),
      ),
      expect: [DEMO],
      mentions: ['/webhooks/1/failurePolicy', 'custom-irsa'],
    },
  ],
  notEvaluated: [
    {
      name: 'an older snapshot without failurePolicy (absent is not the v1 default Fail)',
      fleet: webhooks((c) =>
        c.webhook(undefined, 'pod-identity-webhook', { ...SELF_MANAGED, failurePolicy: null }),
      ),
      expect: [DEMO],
    },
    {
      name: 'a failurePolicy that is neither Fail nor Ignore',
      fleet: webhooks((c) =>
        c.webhook(undefined, 'pod-identity-webhook', { ...SELF_MANAGED, failurePolicy: 'ignore' }),
      ),
      expect: [DEMO],
    },
    {
      name: 'MutatingWebhookConfigurations were not collected',
      fleet: healthyWith((h) => {
        h.cluster.kubernetes.webhookConfigurations = null;
      }),
      expect: [DEMO],
    },
  ],
});
