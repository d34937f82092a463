import { trustAttributionCheck } from '../trust-attribution.ts';

/** IRSA-012: some Allow statement grants sts:AssumeRoleWithWebIdentity to this cluster's provider in the role's account. */
export const check = trustAttributionCheck({
  id: 'IRSA-012',
  name: 'trust-provider-mismatch',
  title: "The role's trust policy does not trust this cluster's OIDC provider",
  severity: 'critical',
  scope: 'service-account',
  risk: 'AssumeRoleWithWebIdentity is denied (wrong account, region, OIDC id or action): the pods get AccessDenied.',
  remediation:
    "Add a statement for Federated = this cluster's provider ARN with sts:AssumeRoleWithWebIdentity.",
  references: [
    'https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html',
    'https://repost.aws/knowledge-center/eks-pods-iam-role-service-accounts',
  ],
});
