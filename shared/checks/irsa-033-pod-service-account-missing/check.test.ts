import { describe, expect, it } from 'vitest';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { type HealthyIrsa, healthyIrsa } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const SHOP = { accountId: '111122223333', region: 'us-west-2', cluster: 'demo', namespace: 'shop' };

function fleet(change: (h: HealthyIrsa) => void) {
  return () => {
    const h = healthyIrsa();
    change(h);
    return h.fleet.build();
  };
}

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA', fleet: () => healthyIrsa().fleet.build() },
    {
      name: 'unannotated SAs that exist pass too',
      fleet: fleet((h) => h.cluster.pod('shop', 'tool', { serviceAccountName: 'default' })),
    },
    {
      name: 'finished pods of a deleted SA are ignored',
      fleet: fleet((h) => {
        h.cluster.pod('shop', 'done', { serviceAccountName: 'ghost', phase: 'Succeeded' });
        h.cluster.pod('shop', 'crashed', { serviceAccountName: 'ghost', phase: 'Failed' });
      }),
    },
  ],
  fail: [
    {
      name: 'a Deployment of an annotated-then-deleted SA: one finding for the workload',
      fleet: fleet((h) =>
        h.cluster.deployment('shop', 'worker', 3, { serviceAccountName: 'ghost', mutatedWith: h.role.arn }),
      ),
      expect: [{ ...SHOP, serviceAccount: 'ghost', workload: { kind: 'Deployment', name: 'worker' } }],
      mentions: ['Deployment shop/worker', '3 pod(s)', 'create serviceaccount -n shop ghost'],
    },
    {
      name: 'any pod, unannotated and unmutated, one finding per workload',
      fleet: fleet((h) => {
        h.cluster.pod('shop', 'debug', { serviceAccountName: 'gone' });
        h.cluster.pod('batch', 'db-0', {
          serviceAccountName: 'gone',
          owner: { kind: 'StatefulSet', name: 'db' },
        });
      }),
      expect: [
        { ...SHOP, serviceAccount: 'gone', workload: { kind: 'Pod', name: 'debug' } },
        {
          ...SHOP,
          namespace: 'batch',
          serviceAccount: 'gone',
          workload: { kind: 'StatefulSet', name: 'db' },
        },
      ],
    },
    {
      name: 'an SA of the same name in another namespace does not count',
      fleet: fleet((h) => h.cluster.pod('billing', 'api-0', { serviceAccountName: 'api' })),
      expect: [{ ...SHOP, namespace: 'billing', serviceAccount: 'api' }],
    },
    {
      name: 'the SA the healthy Deployment uses was deleted',
      fleet: fleet((h) => {
        const accounts = h.cluster.kubernetes.serviceAccounts ?? [];
        accounts.splice(accounts.indexOf(h.serviceAccount), 1);
      }),
      expect: [{ ...SHOP, serviceAccount: 'api', workload: { kind: 'Deployment', name: 'api' } }],
      mentions: ['Deployment shop/api'],
    },
  ],
  notEvaluated: [
    {
      name: 'ServiceAccounts were not collected',
      fleet: fleet((h) => {
        h.cluster.kubernetes.serviceAccounts = null;
        h.cluster.pod('shop', 'debug', { serviceAccountName: 'gone' });
      }),
      expect: [
        { ...SHOP, serviceAccount: 'api', workload: { kind: 'Deployment', name: 'api' } },
        { ...SHOP, serviceAccount: 'gone', workload: { kind: 'Pod', name: 'debug' } },
      ],
    },
  ],
});

describe('IRSA-033 workload identity', () => {
  it('groups a CronJob run and a Deployment by their owners', () => {
    const model = fleet((h) => {
      h.cluster.deployment('shop', 'worker', 2, { serviceAccountName: 'ghost' });
      h.cluster.pod('shop', 'nightly-29000000-x', {
        serviceAccountName: 'ghost',
        owner: { kind: 'Job', name: 'nightly-29000000' },
      });
    })();
    const failures = runCheck(check, model).filter((r) => r.status === 'fail');
    expect(failures.map((f) => f.workload)).toEqual(
      expect.arrayContaining([
        { kind: 'Deployment', name: 'worker' },
        { kind: 'CronJob', name: 'nightly' },
      ]),
    );
    expect(failures).toHaveLength(2);
  });

  it('marks every workload not evaluated when ServiceAccounts were not collected', () => {
    const model = fleet((h) => {
      h.cluster.kubernetes.serviceAccounts = null;
    })();
    expect(runCheck(check, model).map((r) => [r.status, r.workload])).toEqual([
      ['not-evaluated', { kind: 'Deployment', name: 'api' }],
    ]);
  });
});
