import { describe, expect, it } from 'vitest';
import { ROLE_ARN_ANNOTATION, STS_REGIONAL_ANNOTATION } from '../../engine/audit-context.ts';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { type HealthyIrsa, healthyIrsa, type PodOptions } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const SHOP = { accountId: '111122223333', region: 'us-west-2', cluster: 'demo', namespace: 'shop' };

/**
 * The healthy fleet plus SA shop/<name> annotated with the demo role and
 * sts-regional-endpoints `value`, used by a 2-pod Deployment <name> built with `pods`.
 */
function regional(workloads: { name: string; value: string; pods: Partial<PodOptions> }[]) {
  return () => {
    const h: HealthyIrsa = healthyIrsa();
    for (const { name, value, pods } of workloads) {
      h.cluster.serviceAccount('shop', name, {
        [ROLE_ARN_ANNOTATION]: h.role.arn,
        [STS_REGIONAL_ANNOTATION]: value,
      });
      h.cluster.deployment('shop', name, 2, { serviceAccountName: name, mutatedWith: h.role.arn, ...pods });
    }
    return h.fleet.build();
  };
}

const noRegional = { regionalEndpoints: false };

describeCheck(check, {
  pass: [
    {
      name: 'mutated pods with AWS_STS_REGIONAL_ENDPOINTS=regional',
      fleet: regional([{ name: 'w', value: 'true', pods: {} }]),
    },
    {
      name: 'unmutated pods are IRSA-030 alone',
      fleet: regional([{ name: 'w', value: 'true', pods: { mutatedWith: false } }]),
    },
    {
      name: 'pods with AWS_CONTAINER_CREDENTIALS_FULL_URI only (no AWS_ROLE_ARN) are not judged',
      fleet: regional([
        { name: 'w', value: 'true', pods: {} },
        {
          name: 'pi',
          value: 'true',
          pods: {
            mutatedWith: false,
            extraEnv: { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials' },
          },
        },
      ]),
    },
  ],
  fail: [
    {
      name: 'SA asks for regional endpoints ("true"), mutated pods lack the variable',
      fleet: regional([{ name: 'w', value: 'true', pods: noRegional }]),
      expect: [{ ...SHOP, serviceAccount: 'w', workload: { kind: 'Deployment', name: 'w' } }],
      mentions: [
        'AWS_STS_REGIONAL_ENDPOINTS=regional',
        'sts-regional-endpoints=true',
        'rollout restart deployment/w -n shop',
      ],
    },
    {
      name: 'every Go true spelling asks; "false" (and other false spellings) is ignored',
      fleet: regional([
        { name: 'a', value: '1', pods: noRegional },
        { name: 'b', value: 'TRUE', pods: noRegional },
        { name: 'c', value: 'false', pods: noRegional },
        { name: 'd', value: '0', pods: noRegional },
        { name: 'e', value: 'yes', pods: noRegional },
      ]),
      expect: [
        { ...SHOP, serviceAccount: 'a' },
        { ...SHOP, serviceAccount: 'b' },
      ],
    },
    {
      name: 'a value other than "regional" does not count',
      fleet: regional([
        { name: 'w', value: 'true', pods: { extraEnv: { AWS_STS_REGIONAL_ENDPOINTS: 'legacy' } } },
      ]),
      expect: [{ ...SHOP, serviceAccount: 'w' }],
      mentions: ['2 pod(s)'],
    },
  ],
});

describe('IRSA-032 scope', () => {
  it('gives no result for an SA whose annotation is "false"', () => {
    const results = runCheck(check, regional([{ name: 'w', value: 'false', pods: noRegional }])());
    expect(results).toEqual([]);
  });
});

describe('without ServiceAccounts', () => {
  it('is not evaluated for the workloads of a cluster whose ServiceAccounts were not collected', () => {
    const model = regional([{ name: 'w', value: 'true', pods: noRegional }])();
    const cluster = model.accounts[0]?.clusters[0];
    if (cluster?.kubernetes) Object.assign(cluster.kubernetes, { serviceAccounts: null });
    const about = runCheck(check, model).filter((r) => r.workload?.name === 'w');
    expect(about.map((r) => r.status)).toEqual(['not-evaluated']);
  });
});
