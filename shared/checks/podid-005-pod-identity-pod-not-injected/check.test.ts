import { describe, expect, it } from 'vitest';
import { parseKubernetesFile } from '../../snapshot/parse-files.ts';
import { describeCheck } from '../../testing/check-harness.ts';
import { POD_IDENTITY_ENV, podIdentityWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = {
  cluster: 'demo',
  namespace: 'shop',
  serviceAccount: 'api',
  workload: { kind: 'Deployment', name: 'api' },
};
const URI_ONLY = {
  AWS_CONTAINER_CREDENTIALS_FULL_URI: POD_IDENTITY_ENV.AWS_CONTAINER_CREDENTIALS_FULL_URI ?? '',
};

describeCheck(check, {
  pass: [
    { name: 'every pod has both variables', fleet: podIdentityWith(() => {}) },
    {
      name: 'a container listed in skip-containers may lack them',
      fleet: podIdentityWith((h) => {
        h.cluster.kubernetes.pods = [];
        h.cluster.deployment('shop', 'api', 1, {
          serviceAccountName: 'api',
          containers: ['app', 'sidecar'],
          envContainers: ['app'],
          extraEnv: { ...POD_IDENTITY_ENV },
          annotations: { 'eks.amazonaws.com/skip-containers': 'sidecar' },
        });
      }),
    },
    {
      name: 'pods of a ServiceAccount without association are not judged',
      fleet: podIdentityWith((h) => {
        h.cluster.deployment('shop', 'web', 1, { serviceAccountName: 'default' });
      }),
    },
  ],
  fail: [
    {
      name: 'pods created before the association (no variable at all)',
      fleet: podIdentityWith((h) => {
        h.cluster.kubernetes.pods = [];
        h.cluster.deployment('shop', 'api', 3, { serviceAccountName: 'api' });
      }),
      expect: [API],
      mentions: ['3 of 3 pod(s)', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', 'rollout restart deployment/api'],
    },
    {
      name: 'one variable only, in one pod of two',
      fleet: podIdentityWith((h) => {
        h.cluster.pod('shop', 'api-manual', {
          serviceAccountName: 'api',
          owner: { kind: 'ReplicaSet', name: h.pods[0]?.owner?.name ?? '' },
          labels: h.pods[0]?.labels ?? {},
          extraEnv: URI_ONLY,
        });
      }),
      expect: [API],
      mentions: ['1 of 3 pod(s)', 'app: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'],
      absent: ['app: AWS_CONTAINER_CREDENTIALS_FULL_URI'],
    },
    {
      name: 'an init container without them counts',
      fleet: podIdentityWith((h) => {
        h.cluster.kubernetes.pods = [];
        h.cluster.pod('shop', 'api-bare', {
          serviceAccountName: 'api',
          initContainers: ['migrate'],
          envContainers: ['app'],
          extraEnv: { ...POD_IDENTITY_ENV },
        });
      }),
      expect: [{ ...API, workload: { kind: 'Pod', name: 'api-bare' } }],
      mentions: ['migrate: AWS_CONTAINER_CREDENTIALS_FULL_URI'],
    },
  ],
  notEvaluated: [
    {
      name: 'the ServiceAccount also has the IRSA annotation (IRSA-021 reports it)',
      fleet: podIdentityWith((h) => {
        (h.serviceAccount.annotations as Record<string, string>)['eks.amazonaws.com/role-arn'] = h.role.arn;
        h.cluster.kubernetes.pods = [];
        h.cluster.deployment('shop', 'api', 1, { serviceAccountName: 'api' });
      }),
      expect: [API],
    },
    {
      name: 'ServiceAccounts were not collected',
      fleet: podIdentityWith((h) => {
        h.cluster.kubernetes.serviceAccounts = null;
        h.cluster.kubernetes.pods = [];
        h.cluster.deployment('shop', 'api', 1, { serviceAccountName: 'api' });
      }),
      expect: [API],
    },
  ],
});

describe('the snapshot keeps the Pod Identity variables', () => {
  it('parses their values as written (they are not credentials)', () => {
    const env = Object.entries(POD_IDENTITY_ENV).map(([name, value]) => ({ name, value }));
    const parsed = parseKubernetesFile(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { namespace: 'shop', name: 'api-0' },
            spec: { serviceAccountName: 'api', containers: [{ name: 'app', env }] },
            status: { phase: 'Running' },
          },
        ],
      }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const container = parsed.value.pods?.[0]?.containers[0];
    for (const [name, value] of Object.entries(POD_IDENTITY_ENV))
      expect(container?.env.get(name)).toBe(value);
  });
});
