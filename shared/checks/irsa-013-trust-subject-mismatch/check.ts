import { trustAttributionCheck } from '../trust-attribution.ts';

/** IRSA-013: a statement trusting the provider admits `system:serviceaccount:<ns>:<name>` in its `:sub` condition. */
export const check = trustAttributionCheck({
  id: 'IRSA-013',
  name: 'trust-subject-mismatch',
  title: "The trust policy's :sub condition does not admit this service account",
  severity: 'critical',
  scope: 'service-account',
  risk: 'A typo in the namespace or name makes every AssumeRoleWithWebIdentity of these pods fail with AccessDenied.',
  remediation: 'Fix the :sub condition to system:serviceaccount:<namespace>:<name>.',
  references: [
    'https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html',
    'https://repost.aws/knowledge-center/eks-pods-iam-role-service-accounts',
  ],
});
