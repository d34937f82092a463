import { describe } from 'vitest';
import { describeCheck } from '../../testing/check-harness.ts';
import { type HealthyIrsa, healthyIrsa } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };
const POD_IDENTITY_ENV = { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials' };

/** An EKS Pod Identity association of the demo cluster for `namespace/serviceAccount`. */
function associate(h: HealthyIrsa, namespace: string, serviceAccount: string) {
  h.cluster.cluster.podIdentityAssociations?.push({
    namespace,
    serviceAccount,
    roleArn: 'arn:aws:iam::111122223333:role/demo-api-pod-identity',
    associationArn: 'arn:aws:eks:us-west-2:111122223333:podidentityassociation/demo/a-0123456789abcdef0',
  });
}

/** healthyIrsa() (two IRSA pods of shop/api) changed by `change`. */
function variant(change: (h: HealthyIrsa) => void) {
  return () => {
    const h = healthyIrsa();
    change(h);
    return h.fleet.build();
  };
}

/** Replaces the pods of shop/api with `count` pods served by EKS Pod Identity. */
function podIdentityPods(h: HealthyIrsa, count: number) {
  h.cluster.kubernetes.pods = [];
  h.cluster.deployment('shop', 'api', count, { serviceAccountName: 'api', extraEnv: POD_IDENTITY_ENV });
}

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA setup, no association', fleet: () => healthyIrsa().fleet.build() },
    {
      name: 'an association for another SA of the namespace',
      fleet: variant((h) => associate(h, 'shop', 'worker')),
    },
    {
      name: 'an association for the same name in another namespace',
      fleet: variant((h) => associate(h, 'billing', 'api')),
    },
  ],
  fail: [
    {
      name: 'association for the same SA; the pods use EKS Pod Identity',
      fleet: variant((h) => {
        associate(h, 'shop', 'api');
        podIdentityPods(h, 3);
      }),
      expect: [API],
      mentions: ['3 pod(s) use EKS Pod Identity', '0 pod(s) use IRSA'],
    },
    {
      name: 'association for the same SA; the pods use IRSA',
      fleet: variant((h) => associate(h, 'shop', 'api')),
      expect: [API],
      mentions: ['0 pod(s) use EKS Pod Identity', '2 pod(s) use IRSA', 'demo-api-pod-identity'],
    },
    {
      name: 'association for the same SA; no pod runs',
      fleet: variant((h) => {
        associate(h, 'shop', 'api');
        h.cluster.kubernetes.pods = [];
      }),
      expect: [API],
      mentions: ['no running pod'],
    },
    {
      name: 'a webhook-mutated pod that also carries the Pod Identity variable counts as Pod Identity',
      fleet: variant((h) => {
        associate(h, 'shop', 'api');
        h.cluster.pod('shop', 'api-bare', {
          serviceAccountName: 'api',
          mutatedWith: h.role.arn,
          extraEnv: POD_IDENTITY_ENV,
        });
      }),
      expect: [API],
      mentions: ['1 pod(s) use EKS Pod Identity', '2 pod(s) use IRSA'],
    },
    {
      name: 'only the SA with an association fails',
      fleet: variant((h) => {
        h.cluster.serviceAccount('shop', 'worker', { 'eks.amazonaws.com/role-arn': h.role.arn });
        associate(h, 'shop', 'worker');
      }),
      expect: [{ cluster: 'demo', namespace: 'shop', serviceAccount: 'worker' }],
    },
  ],
  notEvaluated: [
    {
      name: 'pod-identity-associations.json is unreadable',
      fleet: variant((h) => {
        h.cluster.cluster.podIdentityAssociations = null;
      }),
      expect: [API],
    },
  ],
});

describe('only running pods count for the mechanism in use', () => {
  describeCheck(check, {
    pass: [{ name: 'healthy', fleet: () => healthyIrsa().fleet.build() }],
    fail: [
      {
        name: 'finished Pod Identity pods beside the two running IRSA pods',
        fleet: variant((h) => {
          associate(h, 'shop', 'api');
          h.cluster.pod('shop', 'api-done', {
            serviceAccountName: 'api',
            extraEnv: POD_IDENTITY_ENV,
            phase: 'Succeeded',
          });
          h.cluster.pod('shop', 'api-failed', {
            serviceAccountName: 'api',
            extraEnv: POD_IDENTITY_ENV,
            phase: 'Failed',
          });
        }),
        expect: [API],
        mentions: ['0 pod(s) use EKS Pod Identity', '2 pod(s) use IRSA'],
      },
    ],
  });
});
