import { describe, expect, it } from 'vitest';
import { parseAddonsFile } from '../../snapshot/parse-files.ts';
import { describeCheck } from '../../testing/check-harness.ts';
import { healthyIrsa, podIdentityWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const DEMO = { cluster: 'demo', namespace: null };

describeCheck(check, {
  pass: [
    { name: 'associations and the ACTIVE add-on', fleet: podIdentityWith(() => {}) },
    {
      name: 'no association: no agent needed, even without addons.json',
      fleet: () => healthyIrsa().fleet.build(),
    },
    {
      name: 'the agent installed without the add-on (its DaemonSet pods run in kube-system)',
      fleet: podIdentityWith((h) => {
        h.cluster.agentAddon(null);
        h.cluster.pod('kube-system', 'eks-pod-identity-agent-7xk2p', {
          serviceAccountName: 'default',
          owner: { kind: 'DaemonSet', name: 'eks-pod-identity-agent' },
        });
      }),
    },
  ],
  fail: [
    {
      name: 'associations but no agent add-on',
      fleet: podIdentityWith((h) => {
        h.cluster.agentAddon(null);
      }),
      expect: [DEMO],
      mentions: ['no eks-pod-identity-agent add-on', 'create-addon --cluster-name demo --region us-west-2'],
    },
    {
      name: 'the add-on DEGRADED, with its health issue',
      fleet: podIdentityWith((h) => {
        h.cluster.agentAddon('DEGRADED', ['InsufficientNumberOfReplicas: The add-on is unhealthy']);
      }),
      expect: [DEMO],
      mentions: ['DEGRADED', 'InsufficientNumberOfReplicas', 'update-addon'],
      absent: ['delete-addon'],
    },
    {
      name: 'the add-on CREATE_FAILED: recreate it',
      fleet: podIdentityWith((h) => {
        h.cluster.agentAddon('CREATE_FAILED');
      }),
      expect: [DEMO],
      mentions: ['CREATE_FAILED', 'delete-addon'],
    },
    {
      name: 'a finished agent pod does not count as a running agent',
      fleet: podIdentityWith((h) => {
        h.cluster.agentAddon(null);
        h.cluster.pod('kube-system', 'eks-pod-identity-agent-old', {
          serviceAccountName: 'default',
          phase: 'Failed',
        });
      }),
      expect: [DEMO],
    },
  ],
  notEvaluated: [
    {
      name: 'addons.json absent (an older snapshot): never failed',
      fleet: podIdentityWith((h) => {
        h.cluster.cluster.addons = null;
      }),
      expect: [DEMO],
    },
    {
      name: 'the agent listed but not described',
      fleet: podIdentityWith((h) => {
        h.cluster.cluster.addons = { names: ['eks-pod-identity-agent'], described: new Map() };
      }),
      expect: [DEMO],
    },
    {
      name: 'pod-identity-associations.json unreadable',
      fleet: podIdentityWith((h) => {
        h.cluster.cluster.podIdentityAssociations = null;
      }),
      expect: [DEMO],
    },
  ],
});

describe('addons.json', () => {
  it('reads list-addons names and the describe-addon outputs, extra fields ignored', () => {
    const parsed = parseAddonsFile(
      JSON.stringify({
        addons: ['eks-pod-identity-agent', 'vpc-cni'],
        described: [
          {
            addon: {
              addonName: 'eks-pod-identity-agent',
              clusterName: 'demo',
              status: 'DEGRADED',
              addonVersion: 'v1.3.4-eksbuild.1',
              health: { issues: [{ code: 'AccessDenied', message: 'no', resourceIds: ['x'] }] },
              tags: {},
            },
          },
        ],
      }),
    );
    expect(parsed.ok && parsed.value.described.get('eks-pod-identity-agent')).toEqual({
      name: 'eks-pod-identity-agent',
      status: 'DEGRADED',
      version: 'v1.3.4-eksbuild.1',
      issues: ['AccessDenied: no'],
    });
  });

  it('refuses a file without the add-on names', () => {
    expect(parseAddonsFile(JSON.stringify({ described: [] })).ok).toBe(false);
  });
});
