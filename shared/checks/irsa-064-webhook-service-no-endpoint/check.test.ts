import { describe, expect, it } from 'vitest';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import {
  type ClusterBuilder,
  healthyIrsa,
  healthyWith,
  mutatingWebhook,
} from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const DEMO = { accountId: '111122223333', cluster: 'demo' };
const SERVICE = { namespace: 'kube-system', name: 'pod-identity-webhook' };

/** healthyIrsa() whose EKS webhook is replaced by a self-managed one behind SERVICE, then `install`. */
function selfManaged(install: (cluster: ClusterBuilder) => void, entry = {}) {
  return () => {
    const h = healthyIrsa();
    h.cluster.kubernetes.webhookConfigurations = [];
    h.cluster.selfManagedWebhook(SERVICE, entry);
    install(h.cluster);
    return h.fleet.build();
  };
}

/** The webhook's Deployment: `replicas` running pods labelled app=pod-identity-webhook. */
function webhookPods(c: ClusterBuilder, replicas = 2) {
  return c.deployment('kube-system', 'pod-identity-webhook', replicas, {
    serviceAccountName: 'pod-identity-webhook',
    labels: { app: 'pod-identity-webhook' },
  });
}

describeCheck(check, {
  pass: [
    {
      name: "EKS's own webhook at the control plane's loopback URL (no Service: not this check's)",
      fleet: () => healthyIrsa().fleet.build(),
    },
    {
      name: 'a webhook at another URL (no Service to judge)',
      fleet: healthyWith((h) => {
        h.cluster.kubernetes.webhookConfigurations = [];
        h.cluster.webhook(undefined, 'pod-identity-webhook', { url: 'https://webhook.example.com/mutate' });
      }),
    },
    {
      name: 'a self-managed webhook whose Service has a ready endpoint',
      fleet: selfManaged((c) => {
        const pods = webhookPods(c);
        c.service(SERVICE.namespace, SERVICE.name);
        c.endpointSlice(
          SERVICE.namespace,
          SERVICE.name,
          pods.map((p, i) => ({ ready: i === 0, pod: p.name })),
        );
      }),
    },
    {
      name: 'an endpoint without conditions.ready counts as ready (Kubernetes reads unknown as ready)',
      fleet: selfManaged((c) => {
        c.service(SERVICE.namespace, SERVICE.name);
        c.endpointSlice(SERVICE.namespace, SERVICE.name, [{ ready: null }]);
      }),
    },
    {
      name: 'the ready endpoint is in the second of two EndpointSlices',
      fleet: selfManaged((c) => {
        c.service(SERVICE.namespace, SERVICE.name);
        c.endpointSlice(SERVICE.namespace, SERVICE.name, [{ ready: false }], 'pod-identity-webhook-a');
        c.endpointSlice(SERVICE.namespace, SERVICE.name, [{ ready: true }], 'pod-identity-webhook-b');
      }),
    },
    {
      name: 'an ExternalName Service (no endpoints by design: the API server calls the name it holds)',
      fleet: selfManaged((c) => {
        c.service(SERVICE.namespace, SERVICE.name, { type: 'ExternalName', selector: null });
      }),
    },
  ],
  fail: [
    {
      name: 'the Service the webhook names does not exist',
      fleet: selfManaged(() => {}),
      expect: [DEMO],
      mentions: ['kube-system/pod-identity-webhook, which does not exist', 'rejected (failurePolicy Fail'],
      absent: ['endpointslices'],
    },
    {
      name: 'every endpoint not ready: the fix looks at the Deployment behind the Service and its pods',
      fleet: selfManaged((c) => {
        const pods = webhookPods(c);
        c.service(SERVICE.namespace, SERVICE.name);
        c.endpointSlice(
          SERVICE.namespace,
          SERVICE.name,
          pods.map((p) => ({ ready: false, pod: p.name })),
        );
      }),
      expect: [DEMO],
      mentions: [
        '2 endpoint(s), none ready (Pod pod-identity-webhook-',
        'rollout status deployment/pod-identity-webhook',
        'describe pods -l app=pod-identity-webhook',
        'get endpointslices -l kubernetes.io/service-name=pod-identity-webhook',
      ],
    },
    {
      name: 'no EndpointSlice and no pod matching the selector (scaled to zero)',
      fleet: selfManaged((c) => {
        c.service(SERVICE.namespace, SERVICE.name);
      }),
      expect: [DEMO],
      mentions: [
        'no running pod matches its selector app=pod-identity-webhook',
        'get deployments,daemonsets',
      ],
    },
    {
      name: 'with failurePolicy Ignore: pods are admitted without credentials (the seed 001 outage)',
      fleet: selfManaged(
        (c) => {
          c.service(SERVICE.namespace, SERVICE.name);
          c.endpointSlice(SERVICE.namespace, SERVICE.name, []);
        },
        { failurePolicy: 'Ignore' },
      ),
      expect: [DEMO],
      mentions: ['admitted without IRSA credentials', 'failurePolicy Ignore'],
    },
    {
      name: 'ready endpoints of a Service of the same name in another namespace, or of another Service, do not count',
      fleet: selfManaged((c) => {
        c.service(SERVICE.namespace, SERVICE.name);
        c.endpointSlice('default', SERVICE.name, [{ ready: true }]);
        c.endpointSlice(SERVICE.namespace, 'pod-identity-webhook-metrics', [{ ready: true }]);
        // Named like the webhook's, but labelled for Service `other`.
        c.endpointSlice(SERVICE.namespace, 'other', [{ ready: true }], 'pod-identity-webhook-x');
      }),
      expect: [DEMO],
      mentions: ['which has no endpoint'],
    },
    {
      name: 'a Service without selector and no endpoint (endpoints managed by hand)',
      fleet: selfManaged((c) => {
        c.service(SERVICE.namespace, SERVICE.name, { selector: null });
      }),
      expect: [DEMO],
      mentions: ['no selector'],
      absent: ['get pods -l'],
    },
    {
      name: "a self-managed webhook beside EKS's own: the Service one is judged",
      fleet: () => {
        const h = healthyIrsa();
        h.cluster.kubernetes.webhookConfigurations?.push({
          name: 'custom-irsa',
          webhooks: [mutatingWebhook({ url: null, service: { namespace: 'irsa', name: 'webhook' } })],
        });
        h.cluster.service('irsa', 'webhook');
        h.cluster.endpointSlice('irsa', 'webhook', [{ ready: false }]);
        return h.fleet.build();
      },
      expect: [DEMO],
      mentions: ['irsa/webhook', 'none ready'],
    },
  ],
  notEvaluated: [
    {
      name: 'an older snapshot without the Services and EndpointSlices',
      fleet: selfManaged((c) => {
        c.kubernetes.services = null;
        c.kubernetes.endpointSlices = null;
      }),
      expect: [DEMO],
    },
    {
      name: 'the Services were read but not the EndpointSlices',
      fleet: selfManaged((c) => {
        c.service(SERVICE.namespace, SERVICE.name);
        c.kubernetes.endpointSlices = null;
      }),
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

describe('IRSA-064 remediation', () => {
  it('quotes what came from the cluster (a hostile selector value stays one shell word)', () => {
    const fleet = selfManaged((c) => {
      c.service(SERVICE.namespace, SERVICE.name, { selector: { app: '$(reboot)' } });
    })();
    const [failure] = runCheck(check, fleet).filter((r) => r.status === 'fail');
    expect(failure?.remediation).toContain("get pods -l 'app=$(reboot)' -o wide");
    expect(failure?.remediation).not.toMatch(/ -l app=\$\(reboot\)/);
  });

  it('names the webhook that still works when only one of two Services is down', () => {
    const fleet = (() => {
      const h = healthyIrsa();
      h.cluster.kubernetes.webhookConfigurations = [
        {
          name: 'pod-identity-webhook',
          webhooks: [
            mutatingWebhook({ url: null, service: SERVICE, failurePolicy: 'Fail' }),
            mutatingWebhook({
              url: null,
              service: { namespace: 'irsa', name: 'spare' },
              failurePolicy: 'Fail',
            }),
          ],
        },
      ];
      h.cluster.service(SERVICE.namespace, SERVICE.name);
      h.cluster.endpointSlice(SERVICE.namespace, SERVICE.name, [{ ready: true }]);
      h.cluster.service('irsa', 'spare');
      return h.fleet.build();
    })();
    const results = runCheck(check, fleet);
    expect(results.map((r) => r.status)).toEqual(['fail']);
    expect(results[0]?.message).toContain('irsa/spare');
    expect(results[0]?.message).not.toContain('kube-system/pod-identity-webhook');
    expect(JSON.stringify(results[0]?.evidence)).toContain('"readyEndpoints":1');
  });
});
