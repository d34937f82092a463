/** What the collector reads behind the pod identity webhook (IRSA-064), and how it trims namespaces. */
import { describe, expect, it } from 'vitest';
import { webhookServices } from './kubernetes.ts';
import { decodePage, trimItem } from './kubernetes-pages.ts';

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

const configuration = (name: string, webhooks: unknown[]) => ({ metadata: { name }, webhooks });
const viaService = (name: string, namespace: string, service: string) => ({
  name,
  clientConfig: { service: { namespace, name: service, port: 443 } },
});

describe('webhookServices', () => {
  it('names each distinct Service of the pod identity webhooks, as the checks find them', () => {
    expect(
      webhookServices([
        configuration('irsa-a', [
          viaService('iam-for-pods.amazonaws.com', 'irsa-system', 'pod-identity-webhook'),
          viaService('other.example.com', 'istio-system', 'istiod'),
        ]),
        configuration('irsa-b', [
          viaService('iam-for-pods.amazonaws.com', 'irsa-system', 'pod-identity-webhook'),
        ]),
        configuration('pod-identity-webhook', [viaService('not-the-name', 'kube-system', 'ignored')]),
      ]),
    ).toEqual([{ namespace: 'irsa-system', name: 'pod-identity-webhook' }]);
  });

  it('falls back to the webhooks of the configuration EKS names pod-identity-webhook (as podIdentityWebhooks)', () => {
    expect(
      webhookServices([
        configuration('pod-identity-webhook', [
          viaService('pod-identity-webhook.amazonaws.com', 'kube-system', 'pod-identity-webhook'),
        ]),
      ]),
    ).toEqual([{ namespace: 'kube-system', name: 'pod-identity-webhook' }]);
  });

  it("reads nothing for EKS's own webhook at a URL, nor for a name no Service can have", () => {
    expect(
      webhookServices([
        configuration('pod-identity-webhook', [
          { name: 'iam-for-pods.amazonaws.com', clientConfig: { url: 'https://127.0.0.1:23443/mutate' } },
          viaService('iam-for-pods.amazonaws.com', '../..', 'x'),
          viaService('iam-for-pods.amazonaws.com', 'ok', 'a/b?c'),
          { name: 'iam-for-pods.amazonaws.com', clientConfig: { service: { namespace: 7, name: null } } },
        ]),
        'not an object',
        null,
      ]),
    ).toEqual([]);
  });
});

describe('the trims of the later kinds', () => {
  it('keeps of a namespace only its name and labels', () => {
    const page = decodePage(
      'Namespace',
      bytes({
        items: [
          {
            metadata: {
              name: 'etl',
              labels: { 'kubernetes.io/metadata.name': 'etl', team: 'data' },
              annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"secret":1}' },
              uid: 'u',
            },
            spec: { finalizers: ['kubernetes'] },
            status: { phase: 'Active' },
          },
        ],
      }),
    );
    expect(JSON.parse(page.lines)).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'etl', labels: { 'kubernetes.io/metadata.name': 'etl', team: 'data' } },
    });
  });

  it("keeps of a Service its type and selector, of an EndpointSlice its Service label and each endpoint's readiness and target", () => {
    expect(
      trimItem('Service', {
        metadata: { name: 'w', namespace: 'n', annotations: { a: 'b' } },
        spec: { type: 'ClusterIP', selector: { app: 'w' }, clusterIP: '10.0.0.1', ports: [{ port: 443 }] },
      }),
    ).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'w', namespace: 'n' },
      spec: { type: 'ClusterIP', selector: { app: 'w' } },
    });
    const slice = JSON.parse(
      decodePage(
        'EndpointSlice',
        bytes({
          items: [
            {
              metadata: {
                name: 'w-x',
                namespace: 'n',
                labels: { 'kubernetes.io/service-name': 'w', 'endpointslice.kubernetes.io/managed-by': 'c' },
              },
              endpoints: [
                {
                  addresses: ['10.0.0.2'],
                  conditions: { ready: false, serving: true },
                  targetRef: { kind: 'Pod', name: 'w-1', uid: 'u' },
                },
                { addresses: ['10.0.0.3'] },
              ],
              ports: [{ port: 443 }],
            },
          ],
        }),
      ).lines,
    );
    expect(slice).toEqual({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'w-x', namespace: 'n', labels: { 'kubernetes.io/service-name': 'w' } },
      endpoints: [
        { conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'w-1' } },
        { conditions: {} },
      ],
    });
  });
});
