import { describeCheck } from '../../testing/check-harness.ts';
import { podIdentityWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };

describeCheck(check, {
  pass: [
    { name: 'one attached policy', fleet: podIdentityWith(() => {}) },
    {
      name: 'only an inline policy',
      fleet: podIdentityWith(() => {}, { policies: { inline: ['s3-read'] } }),
    },
    {
      name: 'only an AWS-managed policy',
      fleet: podIdentityWith(() => {}, {
        policies: { attached: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'] },
      }),
    },
  ],
  fail: [
    {
      name: 'no attached and no inline policy',
      fleet: podIdentityWith(() => {}, { policies: { attached: [], inline: [] } }),
      expect: [API],
      mentions: ['demo-api-pod-identity', 'attach-role-policy'],
    },
    {
      name: 'the IRSA role of the SA has policies, the associated role has none',
      fleet: podIdentityWith(
        (h) => {
          const irsa = h.account.role('demo-api-irsa', {}, { attached: ['app-policy'] });
          (h.serviceAccount.annotations as Record<string, string>)['eks.amazonaws.com/role-arn'] = irsa.arn;
        },
        { policies: { attached: [] } },
      ),
      expect: [API],
    },
  ],
  notEvaluated: [
    {
      name: 'the role policies are not in the snapshot',
      fleet: podIdentityWith(() => {}, { policies: null }),
      expect: [API],
    },
    {
      name: 'the role does not exist (PODID-002)',
      fleet: podIdentityWith((h) => {
        h.cluster.cluster.podIdentityAssociations = [];
        h.cluster.podIdentity('shop', 'api', 'arn:aws:iam::111122223333:role/gone');
      }),
      expect: [API],
    },
  ],
});
