import type { LabelSelector } from '../../model/fleet.ts';
import { describeCheck } from '../../testing/check-harness.ts';
import { type HealthyIrsa, healthyWith, mutatingWebhook } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = { accountId: '111122223333', cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };
const SKIP = 'eks.amazonaws.com/skip-pod-identity-webhook';

function sel(
  matchLabels: Record<string, string>,
  matchExpressions: { key: string; operator: string; values?: string[] }[] = [],
): LabelSelector {
  return { matchLabels, matchExpressions: matchExpressions.map((e) => ({ ...e, values: e.values ?? [] })) };
}

/** healthyIrsa() whose pod identity webhook has these selectors (EKS's for the one not given). */
function selectors(
  entry: { namespaceSelector?: LabelSelector | null; objectSelector?: LabelSelector | null },
  more?: (h: HealthyIrsa) => void,
) {
  return healthyWith((h) => {
    h.cluster.kubernetes.webhookConfigurations = [
      { name: 'pod-identity-webhook', webhooks: [mutatingWebhook(entry)] },
    ];
    more?.(h);
  });
}

/** Labels every running pod of shop/api with `labels`. */
function labelPods(h: HealthyIrsa, labels: Record<string, string>): void {
  for (const pod of h.pods) Object.assign(pod.labels, labels);
}

describeCheck(check, {
  pass: [
    { name: "EKS's selectors (every namespace, pods without the skip label)", fleet: selectors({}) },
    {
      name: 'empty selectors match everything',
      fleet: selectors({ namespaceSelector: sel({}), objectSelector: sel({}) }),
    },
    {
      name: 'namespaceSelector NotIn on kubernetes.io/metadata.name that leaves shop in',
      fleet: selectors({
        namespaceSelector: sel({}, [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
        ]),
      }),
    },
    {
      name: 'objectSelector matchLabels that the pods carry',
      fleet: selectors({ objectSelector: sel({ 'irsa.example.com/inject': 'true' }) }, (h) =>
        labelPods(h, { 'irsa.example.com/inject': 'true' }),
      ),
    },
    {
      name: 'a namespaceSelector on a namespace label the namespace carries (namespaces collected)',
      fleet: selectors({ namespaceSelector: sel({ 'team.example.com/irsa': 'on' }) }, (h) => {
        h.cluster.namespace('shop', { 'team.example.com/irsa': 'on' });
      }),
    },
    {
      name: 'a namespaceSelector NotIn on a label the namespace does not carry (NotIn holds for an absent key)',
      fleet: selectors(
        {
          namespaceSelector: sel({}, [
            { key: 'irsa.example.com/opt-out', operator: 'NotIn', values: ['true'] },
          ]),
        },
        (h) => {
          h.cluster.namespace('shop');
        },
      ),
    },
    {
      name: 'an annotated service account without running pods and an empty objectSelector',
      fleet: selectors({ objectSelector: sel({}) }, (h) => {
        h.cluster.serviceAccount('shop', 'idle', { 'eks.amazonaws.com/role-arn': h.role.arn });
      }),
    },
  ],
  fail: [
    {
      name: 'the pods carry the skip label EKS excludes (DoesNotExist), even with value "false"',
      fleet: selectors({}, (h) => labelPods(h, { [SKIP]: 'false' })),
      expect: [API],
      mentions: [SKIP, 'objectSelector'],
    },
    {
      name: 'a bare pod with the skip label: recreate it, no `edit pod` (labels were judged at admission)',
      fleet: selectors({}, (h) => {
        h.cluster.pod('shop', 'debug', {
          serviceAccountName: 'api',
          owner: null,
          labels: { [SKIP]: 'true' },
        });
      }),
      expect: [API],
      mentions: ['bare pod debug', 'excludes 1 running pod(s)'],
      absent: ['edit pod'],
    },
    {
      name: 'objectSelector matchLabels the pods do not carry',
      fleet: selectors({ objectSelector: sel({ 'irsa.example.com/inject': 'true' }) }, (h) =>
        labelPods(h, { 'irsa.example.com/inject': 'yes' }),
      ),
      expect: [API],
      mentions: ['deployment api'],
    },
    {
      name: 'only one of the two pods is excluded (objectSelector NotIn)',
      fleet: selectors(
        { objectSelector: sel({}, [{ key: 'tier', operator: 'NotIn', values: ['batch'] }]) },
        (h) => {
          Object.assign(h.pods[0]?.labels ?? {}, { tier: 'batch' });
        },
      ),
      expect: [API],
      mentions: ['excludes 1 running pod(s)'],
    },
    {
      name: 'namespaceSelector NotIn on kubernetes.io/metadata.name excludes shop (decided without namespace labels)',
      fleet: selectors({
        namespaceSelector: sel({}, [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'shop'] },
        ]),
      }),
      expect: [API],
      mentions: ['namespace shop', 'edit mutatingwebhookconfiguration pod-identity-webhook'],
      absent: ['label namespace'],
    },
    {
      name: 'namespaceSelector In other namespaces, beside a label that is not collected: still excluded',
      fleet: selectors({
        namespaceSelector: sel({ 'team.example.com/irsa': 'on' }, [
          { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['web'] },
        ]),
      }),
      expect: [API],
    },
    {
      name: 'a namespaceSelector on a namespace label shop does not carry (namespaces collected)',
      fleet: selectors({ namespaceSelector: sel({ 'team.example.com/irsa': 'on' }) }, (h) => {
        h.cluster.namespace('shop', { 'team.example.com/irsa': 'off' });
        h.cluster.namespace('web', { 'team.example.com/irsa': 'on' });
      }),
      expect: [API],
      mentions: [
        'excludes namespace shop',
        '"namespaceLabels":{',
        '"team.example.com/irsa":"off"',
        'label namespace shop team.example.com/irsa=on --overwrite',
      ],
    },
    {
      name: 'a namespaceSelector Exists on a label shop does not carry at all',
      fleet: selectors(
        { namespaceSelector: sel({}, [{ key: 'irsa.example.com/enabled', operator: 'Exists' }]) },
        (h) => {
          h.cluster.namespace('shop', { 'irsa.example.com/enabled-not': 'true' });
        },
      ),
      expect: [API],
    },
  ],
  notEvaluated: [
    {
      name: "namespaces collected, but the SA's namespace is not in the list (created between the lists): judged on its name only",
      fleet: selectors({ namespaceSelector: sel({ 'team.example.com/irsa': 'on' }) }, (h) => {
        h.cluster.namespace('web', { 'team.example.com/irsa': 'on' });
      }),
      expect: [API],
    },
    {
      name: 'an older snapshot without the selectors',
      fleet: selectors({ namespaceSelector: null, objectSelector: null }),
      expect: [API],
    },
    {
      name: 'a namespaceSelector on a namespace label, in a snapshot without namespaces (older)',
      fleet: selectors({ namespaceSelector: sel({ 'team.example.com/irsa': 'on' }) }),
      expect: [API],
    },
    {
      name: 'no running pod to judge a non-empty objectSelector against',
      fleet: selectors({}, (h) => {
        h.cluster.kubernetes.pods = [];
      }),
      expect: [API],
    },
    {
      name: 'Pods were not collected',
      fleet: selectors({}, (h) => {
        h.cluster.kubernetes.pods = null;
      }),
      expect: [API],
    },
    {
      name: 'MutatingWebhookConfigurations were not collected',
      fleet: healthyWith((h) => {
        h.cluster.kubernetes.webhookConfigurations = null;
      }),
      expect: [API],
    },
  ],
});
