import { trustAttributionCheck } from '../trust-attribution.ts';

/** IRSA-014: the `:aud` condition admits the audience the pod's token carries. */
export const check = trustAttributionCheck({
  id: 'IRSA-014',
  name: 'trust-audience-mismatch',
  title: "The trust policy's :aud condition does not admit the token's audience",
  severity: 'high',
  scope: 'service-account',
  risk: 'Tokens carry aud=sts.amazonaws.com (or the SA audience); a different :aud value (e.g. "") denies every assume.',
  remediation: 'Set the :aud condition to sts.amazonaws.com (or the audience the service account requests).',
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html'],
});
