import { describeCheck } from '../../testing/check-harness.ts';
import { healthyWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

describeCheck(check, {
  pass: [{ name: 'an account that was collected', fleet: healthyWith(() => {}) }],
  fail: [
    {
      name: 'the audit role could not be assumed',
      fleet: healthyWith((h) => {
        h.account.iam = null;
        h.account.collectionErrors.push({
          api: 'sts:AssumeRole',
          code: 'AccessDenied',
          message: 'not authorized',
        });
      }),
      expect: [{ accountId: '111122223333', cluster: null }],
      mentions: ['sts:AssumeRole denied (AccessDenied', 'arn:aws:iam::111122223333:role/'],
    },
    {
      name: 'EKS listing was denied in one region, another account is fine',
      fleet: healthyWith((h) => {
        h.fleet.account('444455556666');
        h.account.collectionErrors.push({
          api: 'eks:ListClusters',
          code: 'AccessDeniedException',
          message: 'eu-west-1',
        });
      }),
      expect: [{ accountId: '111122223333' }],
    },
  ],
});
