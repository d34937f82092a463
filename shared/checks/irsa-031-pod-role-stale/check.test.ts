import { describe, expect, it } from 'vitest';
import { ROLE_ARN_ANNOTATION } from '../../engine/audit-context.ts';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { type HealthyIrsa, healthyIrsa, oidcIdFor } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const OLD_ROLE = 'arn:aws:iam::111122223333:role/demo-api-old';
const API = {
  accountId: '111122223333',
  region: 'us-west-2',
  cluster: 'demo',
  namespace: 'shop',
  serviceAccount: 'api',
};

/** The healthy fleet after `change` (its api pods were mutated with role demo-api). */
function fleet(change: (h: HealthyIrsa) => void) {
  return () => {
    const h = healthyIrsa();
    change(h);
    return h.fleet.build();
  };
}

function reannotate(h: HealthyIrsa, roleArn: string): void {
  Object.assign(h.serviceAccount, {
    annotations: { ...h.serviceAccount.annotations, [ROLE_ARN_ANNOTATION]: roleArn },
  });
}

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA (injected role equals the annotation)', fleet: () => healthyIrsa().fleet.build() },
    {
      name: 'unmutated pods carry no role to compare (IRSA-030 reports them)',
      fleet: fleet((h) => h.cluster.deployment('shop', 'batch', 2, { serviceAccountName: 'api' })),
    },
    {
      name: 'pods of an SA without annotation are not judged',
      fleet: fleet((h) =>
        h.cluster.pod('shop', 'legacy', { serviceAccountName: 'default', mutatedWith: OLD_ROLE }),
      ),
    },
  ],
  fail: [
    {
      name: 'the annotation changed after the Deployment started: one finding for the workload',
      fleet: fleet((h) => reannotate(h, OLD_ROLE)),
      expect: [{ ...API, workload: { kind: 'Deployment', name: 'api' } }],
      mentions: [OLD_ROLE, 'demo-api', 'rollout restart deployment/api -n shop', 'Deployment shop/api'],
    },
    {
      name: 'pods still running with an older role',
      fleet: fleet((h) => {
        h.cluster.pod('shop', 'old-shell', { serviceAccountName: 'api', mutatedWith: OLD_ROLE });
        h.cluster.pod('shop', 'old-job-x', {
          serviceAccountName: 'api',
          mutatedWith: OLD_ROLE,
          owner: { kind: 'Job', name: 'old-job' },
        });
      }),
      expect: [
        { ...API, workload: { kind: 'Pod', name: 'old-shell' } },
        { ...API, workload: { kind: 'Job', name: 'old-job' } },
      ],
    },
    {
      name: 'a Deployment with one stale pod among current ones',
      fleet: fleet((h) => {
        const [stale] = h.pods;
        if (stale) {
          Object.assign(stale, {
            containers: stale.containers.map((c) => ({
              ...c,
              env: new Map([...c.env, ['AWS_ROLE_ARN', OLD_ROLE]]),
            })),
          });
        }
      }),
      expect: [{ ...API, workload: { kind: 'Deployment', name: 'api' } }],
      mentions: ['1 pod(s)', `"pods":["api-${oidcIdFor('shop/api').slice(0, 10).toLowerCase()}-p0"]`],
    },
  ],
});

describe('IRSA-031 workload identity', () => {
  it('names the Deployment, not its ReplicaSet', () => {
    const failures = runCheck(check, fleet((h) => reannotate(h, OLD_ROLE))()).filter(
      (r) => r.status === 'fail',
    );
    expect(failures.map((f) => f.workload)).toEqual([{ kind: 'Deployment', name: 'api' }]);
  });
});

describe('without ServiceAccounts', () => {
  it('is not evaluated for the workloads of a cluster whose ServiceAccounts were not collected', () => {
    const model = fleet((h) => {
      h.cluster.kubernetes.serviceAccounts = null;
    })();
    const about = runCheck(check, model).filter((r) => r.workload?.name === 'api');
    expect(about.map((r) => r.status)).toEqual(['not-evaluated']);
  });
});
