import { describe, expect, it } from 'vitest';
import { ROLE_ARN_ANNOTATION, SKIP_CONTAINERS_ANNOTATION } from '../../engine/audit-context.ts';
import type { Pod, ServiceAccount } from '../../model/fleet.ts';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import {
  base64,
  type HealthyIrsa,
  healthyIrsa,
  healthyWith,
  oidcIdFor,
  type PodOptions,
} from '../../testing/fleet-builder.ts';
import { CLUSTER_CA_B_PEM } from '../../testing/test-certificates.ts';
import { check } from './check.ts';

const WORKER = {
  accountId: '111122223333',
  region: 'us-west-2',
  cluster: 'demo',
  namespace: 'shop',
  serviceAccount: 'worker',
};
const HASH = oidcIdFor('shop/worker').slice(0, 10).toLowerCase();

type Setup = (h: HealthyIrsa, worker: ServiceAccount, mutated: PodOptions) => void;

/** The healthy fleet plus SA shop/worker annotated with the demo role; `setup` adds its pods. */
function fleet(setup: Setup) {
  return () => {
    const h = healthyIrsa();
    const worker = h.cluster.serviceAccount('shop', 'worker', { [ROLE_ARN_ANNOTATION]: h.role.arn });
    setup(h, worker, { serviceAccountName: 'worker', mutatedWith: h.role.arn });
    return h.fleet.build();
  };
}

/** Unmutated pods of shop/worker owned by `owner` (null: bare pods). */
function unmutated(
  owner: { kind: string; name: string } | null,
  names: string[],
  extra: Partial<PodOptions> = {},
) {
  return fleet((h) => {
    for (const name of names) h.cluster.pod('shop', name, { serviceAccountName: 'worker', owner, ...extra });
  });
}

function stripEnv(pod: Pod, container: string): void {
  Object.assign(pod, {
    containers: pod.containers.map((c) => (c.name === container ? { ...c, env: new Map() } : c)),
  });
}

function dropTokenVolume(pod: Pod): void {
  Object.assign(pod, { volumes: pod.volumes.filter((v) => v.name !== 'aws-iam-token') });
}

const deploymentWorker = [{ ...WORKER, workload: { kind: 'Deployment', name: 'worker' } }];

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA', fleet: () => healthyIrsa().fleet.build() },
    {
      name: 'Succeeded and Failed pods are ignored',
      fleet: fleet((h) => {
        h.cluster.pod('shop', 'done', { serviceAccountName: 'worker', phase: 'Succeeded' });
        h.cluster.pod('shop', 'crashed', { serviceAccountName: 'worker', phase: 'Failed' });
      }),
    },
    {
      name: 'a container named in skip-containers is ignored',
      fleet: fleet((h, _sa, mutated) => {
        const pod = h.cluster.pod('shop', 'w', {
          ...mutated,
          containers: ['app', 'sidecar', 'proxy'],
          annotations: { [SKIP_CONTAINERS_ANNOTATION]: 'sidecar, proxy' },
        });
        stripEnv(pod, 'sidecar');
        stripEnv(pod, 'proxy');
      }),
    },
    {
      name: 'containers served by EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI) are ignored',
      fleet: unmutated(null, ['w'], {
        extraEnv: { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials' },
      }),
    },
    {
      name: 'pods of an SA without the role-arn annotation are ignored',
      fleet: healthyWith((h) => {
        h.cluster.deployment('shop', 'plain', 3, { serviceAccountName: 'default' });
      }),
    },
    {
      name: 'a projected serviceAccountToken with an audience counts as the token volume',
      fleet: fleet((h, _sa, mutated) => {
        const pod = h.cluster.pod('shop', 'w', mutated);
        Object.assign(pod, {
          volumes: pod.volumes.map((v) => (v.name === 'aws-iam-token' ? { ...v, name: 'custom-token' } : v)),
        });
      }),
    },
  ],
  fail: [
    {
      name: 'a Deployment of 40 unmutated replicas is one finding naming its pods',
      fleet: fleet((h) => h.cluster.deployment('shop', 'worker', 40, { serviceAccountName: 'worker' })),
      expect: deploymentWorker,
      mentions: [
        'Deployment shop/worker',
        `worker-${HASH}-p0`,
        `worker-${HASH}-p39`,
        '40 of 40',
        'kubectl --context demo rollout restart deployment/worker -n shop',
      ],
    },
    {
      name: 'only the unmutated pods of a Deployment are listed',
      fleet: fleet((h, _sa, mutated) => {
        const [first] = h.cluster.deployment('shop', 'worker', 3, mutated);
        if (first) dropTokenVolume(first);
      }),
      expect: deploymentWorker,
      mentions: ['1 of 3', `worker-${HASH}-p0`],
    },
    {
      name: 'StatefulSet',
      fleet: unmutated({ kind: 'StatefulSet', name: 'db' }, ['db-0', 'db-1']),
      expect: [{ ...WORKER, workload: { kind: 'StatefulSet', name: 'db' } }],
      mentions: ['StatefulSet shop/db', 'db-0', 'db-1', 'rollout restart statefulset/db -n shop'],
    },
    {
      name: 'DaemonSet',
      fleet: unmutated({ kind: 'DaemonSet', name: 'agent' }, ['agent-x1', 'agent-x2']),
      expect: [{ ...WORKER, workload: { kind: 'DaemonSet', name: 'agent' } }],
      mentions: ['DaemonSet shop/agent', 'rollout restart daemonset/agent -n shop'],
    },
    {
      name: 'Job',
      fleet: unmutated({ kind: 'Job', name: 'migrate' }, ['migrate-abcde']),
      expect: [{ ...WORKER, workload: { kind: 'Job', name: 'migrate' } }],
      mentions: ['Job shop/migrate', 'migrate-abcde'],
    },
    {
      name: 'CronJob (through its Job <cron>-29000000)',
      fleet: unmutated({ kind: 'Job', name: 'nightly-29000000' }, [
        'nightly-29000000-a',
        'nightly-29000000-b',
      ]),
      expect: [{ ...WORKER, workload: { kind: 'CronJob', name: 'nightly' } }],
      mentions: ['CronJob shop/nightly', 'nightly-29000000-a', 'nightly-29000000-b'],
    },
    {
      name: 'bare Pods are one workload each',
      fleet: unmutated(null, ['debug', 'shell']),
      expect: [
        { ...WORKER, workload: { kind: 'Pod', name: 'debug' } },
        { ...WORKER, workload: { kind: 'Pod', name: 'shell' } },
      ],
    },
    {
      name: 'an init container without the injected env',
      fleet: fleet((h, _sa, mutated) =>
        stripEnv(h.cluster.pod('shop', 'w', { ...mutated, initContainers: ['init'] }), 'init'),
      ),
      expect: [{ ...WORKER, workload: { kind: 'Pod', name: 'w' } }],
      mentions: ['init: AWS_ROLE_ARN', 'init: AWS_WEB_IDENTITY_TOKEN_FILE'],
    },
    {
      name: 'a container not in skip-containers without the injected env',
      fleet: fleet((h, _sa, mutated) => {
        const pod = h.cluster.pod('shop', 'w', {
          ...mutated,
          containers: ['app', 'sidecar'],
          annotations: { [SKIP_CONTAINERS_ANNOTATION]: 'proxy' },
        });
        stripEnv(pod, 'sidecar');
      }),
      expect: [{ ...WORKER, workload: { kind: 'Pod', name: 'w' } }],
      mentions: ['sidecar: AWS_ROLE_ARN'],
    },
    {
      name: 'only AWS_WEB_IDENTITY_TOKEN_FILE missing',
      fleet: fleet((h, _sa, mutated) => {
        const pod = h.cluster.pod('shop', 'w', mutated);
        Object.assign(pod, {
          containers: pod.containers.map((c) => {
            const env = new Map(c.env);
            env.delete('AWS_WEB_IDENTITY_TOKEN_FILE');
            return { ...c, env };
          }),
        });
      }),
      expect: [{ ...WORKER, workload: { kind: 'Pod', name: 'w' } }],
      mentions: ['app: AWS_WEB_IDENTITY_TOKEN_FILE'],
    },
    {
      name: 'a mutated pod without the aws-iam-token volume',
      fleet: fleet((h, _sa, mutated) => dropTokenVolume(h.cluster.pod('shop', 'w', mutated))),
      expect: [{ ...WORKER, workload: { kind: 'Pod', name: 'w' } }],
      mentions: ['volume aws-iam-token'],
    },
    {
      // The healthy api pods were mutated at 2025-06-01: older unmutated pods predate the annotation.
      name: 'pods older than mutated pods of the cluster predate the annotation',
      fleet: fleet((h) =>
        h.cluster.deployment('shop', 'worker', 2, {
          serviceAccountName: 'worker',
          creationTimestamp: '2025-05-01T00:00:00Z',
        }),
      ),
      expect: deploymentWorker,
      mentions: ['predate the annotation', '"cause":"predates-annotation"'],
    },
    {
      name: 'pods created before the annotation was written (managedFields) predate it',
      fleet: fleet((h, worker) => {
        Object.assign(worker, { roleArnAnnotatedAt: '2025-07-01T00:00:00Z' });
        h.cluster.deployment('shop', 'worker', 2, { serviceAccountName: 'worker' });
      }),
      expect: deploymentWorker,
      mentions: ['predate the annotation', '2025-07-01T00:00:00Z'],
    },
    {
      name: 'pods created after the annotation was written mean the webhook is failing',
      fleet: fleet((h, worker) => {
        Object.assign(worker, { roleArnAnnotatedAt: '2025-05-01T00:00:00Z' });
        h.cluster.deployment('shop', 'worker', 2, { serviceAccountName: 'worker' });
      }),
      expect: deploymentWorker,
      mentions: ['webhook is failing', '"cause":"webhook-failing"'],
    },
    {
      name: 'a webhook caBundle that does not hold the cluster CA means the webhook is failing',
      fleet: fleet((h) => {
        h.cluster.kubernetes.webhookConfigurations = [];
        h.cluster.webhook(base64(CLUSTER_CA_B_PEM));
        h.cluster.deployment('shop', 'worker', 2, {
          serviceAccountName: 'worker',
          creationTimestamp: '2025-05-01T00:00:00Z',
        });
      }),
      expect: deploymentWorker,
      mentions: ['webhook is failing', 'IRSA-004', 'rollout restart deployment/worker -n shop'],
    },
    {
      name: 'a missing webhook means the webhook is failing',
      fleet: fleet((h) => {
        h.cluster.kubernetes.webhookConfigurations = [];
        h.cluster.deployment('shop', 'worker', 1, { serviceAccountName: 'worker' });
      }),
      expect: deploymentWorker,
      mentions: ['webhook is failing'],
    },
  ],
});

// The harness compares subjects with a key-allowlist replacer that drops nested fields, so the
// workload {kind, name} is asserted here directly.
describe('IRSA-030 workload identity', () => {
  it.each([
    [
      { kind: 'ReplicaSet', name: `worker-${HASH}` },
      { kind: 'Deployment', name: 'worker' },
    ],
    [
      { kind: 'StatefulSet', name: 'db' },
      { kind: 'StatefulSet', name: 'db' },
    ],
    [
      { kind: 'DaemonSet', name: 'agent' },
      { kind: 'DaemonSet', name: 'agent' },
    ],
    [
      { kind: 'Job', name: 'migrate' },
      { kind: 'Job', name: 'migrate' },
    ],
    [
      { kind: 'Job', name: 'nightly-29000000' },
      { kind: 'CronJob', name: 'nightly' },
    ],
    [null, { kind: 'Pod', name: 'p-0' }],
  ])('pods owned by %j are workload %j', (owner, workload) => {
    const build = fleet((h) => {
      for (const i of [0, 1]) {
        h.cluster.pod('shop', `p-${i}`, {
          serviceAccountName: 'worker',
          owner,
          labels: owner?.kind === 'ReplicaSet' ? { 'pod-template-hash': HASH } : {},
        });
      }
    });
    const failures = runCheck(check, build()).filter((r) => r.status === 'fail');
    expect(failures.map((f) => f.workload)).toContainEqual(workload);
    expect(failures).toHaveLength(owner === null ? 2 : 1);
  });
});

describe('without ServiceAccounts', () => {
  it('is not evaluated for the workloads of a cluster whose ServiceAccounts were not collected', () => {
    // ServiceAccounts were not collected (AUDIT-003): whether the SA is annotated is unknown.
    const model = fleet((h) => {
      h.cluster.deployment('shop', 'worker', 2, { serviceAccountName: 'worker' });
      h.cluster.kubernetes.serviceAccounts = null;
    })();
    const about = runCheck(check, model).filter((r) => r.workload?.name === 'worker');
    expect(about.map((r) => r.status)).toEqual(['not-evaluated']);
  });
});
