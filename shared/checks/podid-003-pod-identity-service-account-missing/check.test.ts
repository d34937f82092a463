import { describeCheck } from '../../testing/check-harness.ts';
import { podIdentityWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };

describeCheck(check, {
  pass: [
    { name: 'the ServiceAccount exists', fleet: podIdentityWith(() => {}) },
    {
      name: 'an association for an SA that also has the IRSA annotation (IRSA-021, not this check)',
      fleet: podIdentityWith((h) => {
        (h.serviceAccount.annotations as Record<string, string>)['eks.amazonaws.com/role-arn'] = h.role.arn;
      }),
    },
  ],
  fail: [
    {
      name: 'the ServiceAccount was deleted',
      fleet: podIdentityWith((h) => {
        h.cluster.kubernetes.serviceAccounts =
          h.cluster.kubernetes.serviceAccounts?.filter((sa) => sa.name !== 'api') ?? null;
      }),
      expect: [API],
      mentions: [
        'ServiceAccount api does not exist in namespace shop',
        'create serviceaccount',
        'delete-pod-identity-association',
      ],
      absent: ['create namespace'],
    },
    {
      name: 'a typo in the ServiceAccount name (names are case-sensitive)',
      fleet: podIdentityWith((h) => {
        h.cluster.cluster.podIdentityAssociations = [];
        h.cluster.podIdentity('shop', 'API', h.role.arn);
      }),
      expect: [{ ...API, serviceAccount: 'API' }],
    },
    {
      name: 'the namespace does not exist: a ServiceAccount of that name in another namespace does not count',
      fleet: podIdentityWith((h) => {
        h.cluster.podIdentity('shopp', 'api', h.role.arn);
      }),
      expect: [{ ...API, namespace: 'shopp' }],
      mentions: ['namespace shopp does not exist', 'create namespace'],
    },
    {
      name: 'a namespace with no ServiceAccount listed exists by the namespace list: no `create namespace`',
      fleet: podIdentityWith((h) => {
        h.cluster.namespace('shop');
        h.cluster.namespace('batch');
        h.cluster.podIdentity('batch', 'loader', h.role.arn);
      }),
      expect: [{ ...API, namespace: 'batch', serviceAccount: 'loader' }],
      mentions: ['ServiceAccount loader does not exist in namespace batch', '"namespaceExists":true'],
      absent: ['create namespace'],
    },
    {
      name: 'with the namespace list, a missing namespace is said from it',
      fleet: podIdentityWith((h) => {
        h.cluster.namespace('shop');
        h.cluster.podIdentity('shopp', 'api', h.role.arn);
      }),
      expect: [{ ...API, namespace: 'shopp' }],
      mentions: ['namespace shopp does not exist.', 'create namespace shopp'],
      absent: ['not even default'],
    },
    {
      name: 'a name with shell metacharacters is quoted in the fix',
      fleet: podIdentityWith((h) => {
        h.cluster.podIdentity('shop', 'api;reboot', h.role.arn);
      }),
      expect: [{ ...API, serviceAccount: 'api;reboot' }],
      mentions: ["'api;reboot'"],
    },
  ],
  notEvaluated: [
    {
      name: 'ServiceAccounts were not collected',
      fleet: podIdentityWith((h) => {
        h.cluster.kubernetes.serviceAccounts = null;
      }),
      expect: [API],
    },
    {
      name: 'the Kubernetes data is missing',
      fleet: podIdentityWith((h) => {
        h.cluster.cluster.kubernetes = null;
      }),
      expect: [API],
    },
  ],
});
