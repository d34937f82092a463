import { describeCheck } from '../../testing/check-harness.ts';
import { podIdentityWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };

/** The healthy Pod Identity setup with its association naming `roleArn` instead. */
const naming = (roleArn: string | null) =>
  podIdentityWith((h) => {
    h.cluster.cluster.podIdentityAssociations = [];
    h.cluster.podIdentity('shop', 'api', roleArn);
  });

describeCheck(check, {
  pass: [
    { name: 'the role exists', fleet: podIdentityWith(() => {}) },
    {
      name: 'the role exists under a path (the path is not part of the name)',
      fleet: naming('arn:aws:iam::111122223333:role/team/a/demo-api-pod-identity'),
    },
  ],
  fail: [
    {
      name: 'the role was deleted',
      fleet: naming('arn:aws:iam::111122223333:role/demo-api-old'),
      expect: [API],
      mentions: ['demo-api-old', '111122223333', 'update-pod-identity-association'],
    },
    {
      name: 'only the association of the missing role fails',
      fleet: podIdentityWith((h) => {
        h.cluster.serviceAccount('jobs', 'nightly');
        h.cluster.podIdentity('jobs', 'nightly', 'arn:aws:iam::111122223333:role/nightly');
      }),
      expect: [{ cluster: 'demo', namespace: 'jobs', serviceAccount: 'nightly' }],
    },
  ],
  notEvaluated: [
    {
      name: 'the role is in an account not audited',
      fleet: naming('arn:aws:iam::999999999999:role/x'),
      expect: [API],
    },
    {
      name: "the account's iam.json could not be read",
      fleet: podIdentityWith((h) => {
        h.account.iam = null;
      }),
      expect: [API],
    },
    { name: 'no role ARN in the association', fleet: naming(null), expect: [API] },
    { name: 'not a role ARN', fleet: naming('arn:aws:iam::111122223333:user/api'), expect: [API] },
  ],
});
