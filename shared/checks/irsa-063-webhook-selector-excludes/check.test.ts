import { describe, expect, it } from 'vitest';
import { AuditContext } from '../../engine/audit-context.ts';
import type { LabelSelector } from '../../model/fleet.ts';
import { describeCheck } from '../../testing/check-harness.ts';
import {
  FleetBuilder,
  type HealthyIrsa,
  healthyWith,
  irsaTrustPolicy,
  mutatingWebhook,
} from '../../testing/fleet-builder.ts';
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

/**
 * The check's work grows with the cluster, not with its ServiceAccounts times its pods: it reads
 * each pod's namespace a bounded number of times (the reads are counted through a proxy, nothing is
 * timed). Filtering every pod of the cluster for each ServiceAccount, as it once did, read it
 * 150 x 900 times here; on a cluster of 5,000 ServiceAccounts and 50,000 pods that took seconds.
 */
describe('IRSA-063 on a large cluster', () => {
  const SERVICE_ACCOUNTS = 150;
  const REPLICAS = 6;

  function largeCluster(excludedNamespace: string | null) {
    const builder = new FleetBuilder();
    const account = builder.account();
    const cluster = account.cluster('large');
    account.provider(cluster.issuer);
    cluster.webhook(undefined, undefined, {
      namespaceSelector: excludedNamespace
        ? sel({}, [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [excludedNamespace] }])
        : sel({}),
    });
    for (let n = 0; n < 10; n++) cluster.namespace(`ns-${n}`);
    for (let i = 0; i < SERVICE_ACCOUNTS; i++) {
      const namespace = `ns-${i % 10}`;
      const role = account.role(
        `role-${i}`,
        irsaTrustPolicy(cluster.providerArn(), cluster.issuer, `system:serviceaccount:${namespace}:sa-${i}`),
      );
      cluster.serviceAccount(namespace, `sa-${i}`, { 'eks.amazonaws.com/role-arn': role.arn });
      cluster.deployment(namespace, `app-${i}`, REPLICAS, {
        serviceAccountName: `sa-${i}`,
        mutatedWith: role.arn,
      });
    }
    const pods = cluster.kubernetes.pods;
    if (!pods) throw new Error('the fixture has no pods');
    let reads = 0;
    cluster.kubernetes.pods = pods.map(
      (pod) =>
        new Proxy(pod, {
          get(target, key, receiver) {
            if (key === 'namespace') reads++;
            return Reflect.get(target, key, receiver);
          },
        }),
    );
    return { fleet: builder.build(), pods: pods.length, reads: () => reads };
  }

  it.each([
    ['every ServiceAccount passes', null, 0],
    ['a namespace is excluded: its 15 ServiceAccounts fail', 'ns-3', 15],
  ])('reads each pod a bounded number of times when %s', (_, excluded, failing) => {
    const { fleet, pods, reads } = largeCluster(excluded);
    const context = new AuditContext(fleet, new Date('2026-06-01T00:00:00Z'));
    const before = reads();
    const verdicts = check.evaluate(context);
    expect(verdicts).toHaveLength(SERVICE_ACCOUNTS);
    expect(verdicts.filter((v) => v.status === 'fail')).toHaveLength(failing);
    expect(verdicts.filter((v) => v.status === 'pass')).toHaveLength(SERVICE_ACCOUNTS - failing);
    expect(pods).toBe(SERVICE_ACCOUNTS * REPLICAS);
    // To index the running pods, and to group the workloads where one fails: a few reads a pod.
    expect(reads() - before).toBeLessThanOrEqual(4 * pods);
  });
});
