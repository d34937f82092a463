import { operationOf } from '../../engine/coverage.ts';
import type { CollectionError } from '../../model/fleet.ts';
import { awsFailureAdvice } from '../coverage-advice.ts';
import { accountSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'AUDIT-001',
  name: 'account-unreachable',
  title: 'The audit role could not be assumed, or IAM/EKS listing failed',
  severity: 'high',
  scope: 'account',
  risk: 'The audit could not look into the account: its clusters and roles are unaudited, not clean.',
  remediation:
    'Deploy the read-only audit role in the account (member stack), check its trust (hub role, ExternalId) and its permissions.',
  references: ['https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html'],
};

const results = resultsFor(metadata);

/**
 * The reads without which the account as a whole is unaudited: the role itself, its IAM listing,
 * its regions and its clusters. A failed read of one cluster or one role inside a reachable
 * account is AUDIT-003 (or AUDIT-002 for a cluster's Kubernetes API), never this.
 */
const ACCOUNT_LISTINGS: ReadonlySet<string> = new Set([
  'sts:AssumeRole',
  'iam:ListRoles',
  'iam:ListOpenIDConnectProviders',
  'iam:GetOpenIDConnectProvider',
  'account:ListRegions',
  'eks:ListClusters',
]);

/** Whether an account-level error is one of the account's listings (or an operation this version does not know). */
export function isAccountListing(error: CollectionError): boolean {
  const api = operationOf(error.api);
  if (ACCOUNT_LISTINGS.has(api)) return true;
  return !/^(eks:DescribeCluster|eks:ListPodIdentityAssociations|eks:DescribePodIdentityAssociation|eks:ListAddons|eks:DescribeAddon|eks:ListNodegroups|eks:DescribeNodegroup|ec2:DescribeLaunchTemplateVersions|iam:ListAttachedRolePolicies|iam:ListRolePolicies|iam:GetRolePolicy|iam:GetPolicy|iam:GetPolicyVersion|iam:GetAccountAuthorizationDetails|k8s)/.test(
    api,
  );
}

/** AUDIT-001: the live collection reached the account (AssumeRole, IAM and EKS listing succeeded). */
export const check: Check = {
  metadata,
  reads: [],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const account of context.accounts) {
      const subject = accountSubject(account.accountId);
      const errors = account.collectionErrors.filter(isAccountListing);
      if (errors.length === 0) {
        out.push(results.pass(subject, `account ${account.accountId} was assumed and listed`));
        continue;
      }
      const advice = errors.map((error) =>
        awsFailureAdvice(error, { accountId: account.accountId, region: error.region ?? null }),
      );
      out.push(
        results.fail(
          subject,
          `Account ${account.accountId} could not be fully audited: ${errors
            .map(
              (error, i) =>
                `${advice[i]?.summary}${error.region ? ` in ${error.region}` : ''}; ${advice[i]?.cause}`,
            )
            .join('. ')}.`,
          { errors },
          [...new Set(advice.map((a) => a.fix))].join('\n'),
        ),
      );
    }
    return out;
  },
};
