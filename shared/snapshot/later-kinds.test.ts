/**
 * The Kubernetes kinds collected since the first snapshots (Namespace, Service, EndpointSlice):
 * absent from an older kubernetes.json means not collected, never an empty list; with `collected`
 * (what the collector writes), they are read as any kind.
 */
import { describe, expect, it } from 'vitest';
import { parseKubernetesFile } from './parse-files.ts';

const sa = { kind: 'ServiceAccount', metadata: { namespace: 'shop', name: 'api' } };
const namespace = {
  kind: 'Namespace',
  metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'web' } },
};
const service = {
  kind: 'Service',
  metadata: { namespace: 'irsa-system', name: 'pod-identity-webhook' },
  spec: { type: 'ClusterIP', selector: { app: 'pod-identity-webhook' } },
};
const slice = {
  kind: 'EndpointSlice',
  metadata: {
    namespace: 'irsa-system',
    name: 'pod-identity-webhook-abcde',
    labels: { 'kubernetes.io/service-name': 'pod-identity-webhook' },
  },
  endpoints: [
    { conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'webhook-1' } },
    { conditions: {} },
    {},
  ],
};

function parse(file: Record<string, unknown>) {
  const result = parseKubernetesFile(JSON.stringify({ apiVersion: 'v1', kind: 'List', ...file }));
  if (!result.ok) throw new Error(JSON.stringify(result.problem));
  return result.value;
}

describe('kubernetes.json: Namespace, Service and EndpointSlice', () => {
  it('an older file (no collected, none of them) has them not collected, the first three kinds collected', () => {
    const k = parse({ items: [sa] });
    expect(k.serviceAccounts).toHaveLength(1);
    expect(k.pods).toEqual([]);
    expect(k.webhookConfigurations).toEqual([]);
    expect(k.namespaces).toBeNull();
    expect(k.services).toBeNull();
    expect(k.endpointSlices).toBeNull();
  });

  it('with collected naming them, an empty list is collected and empty', () => {
    const k = parse({
      collected: [
        'ServiceAccount',
        'Pod',
        'MutatingWebhookConfiguration',
        'Namespace',
        'Service',
        'EndpointSlice',
      ],
      items: [],
    });
    expect([k.namespaces, k.services, k.endpointSlices]).toEqual([[], [], []]);
  });

  it('with collected leaving one out (its read failed), that one is not collected', () => {
    const k = parse({ collected: ['ServiceAccount', 'Namespace', 'Service'], items: [service] });
    expect(k.services).toHaveLength(1);
    expect(k.endpointSlices).toBeNull();
    expect(k.pods).toBeNull();
  });

  it('reads namespace labels, the Service type and selector, and each endpoint readiness (absent stays null)', () => {
    const k = parse({ items: [namespace, service, slice] });
    expect(k.namespaces).toEqual([
      { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'web' } },
    ]);
    expect(k.services).toEqual([
      {
        namespace: 'irsa-system',
        name: 'pod-identity-webhook',
        type: 'ClusterIP',
        selector: { app: 'pod-identity-webhook' },
      },
    ]);
    expect(k.endpointSlices).toEqual([
      {
        namespace: 'irsa-system',
        name: 'pod-identity-webhook-abcde',
        serviceName: 'pod-identity-webhook',
        endpoints: [
          { ready: false, target: { kind: 'Pod', name: 'webhook-1' } },
          { ready: null, target: null },
          { ready: null, target: null },
        ],
      },
    ]);
  });

  it('refuses a namespace name no API server would return, naming the item', () => {
    const result = parseKubernetesFile(
      JSON.stringify({ items: [{ kind: 'Namespace', metadata: { name: 'Not_A_Label' } }] }),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem.field).toBe('items[0].metadata.name');
  });

  it('refuses an endpoint readiness that is not a boolean', () => {
    const result = parseKubernetesFile(
      JSON.stringify({ items: [{ ...slice, endpoints: [{ conditions: { ready: 'yes' } }] }] }),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem.field).toBe('items[0].endpoints[0].conditions.ready');
  });
});
