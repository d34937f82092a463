import { reads } from '../../engine/coverage.ts';
import { wildcardMatch } from '../../policy/evaluate.ts';
import {
  foreignIssuerConditions,
  type ProviderGrant,
  serviceAccountSubject,
  subjectRestriction,
} from '../../policy/irsa-trust.ts';
import { sh } from '../../sinks/shell.ts';
import { resultsFor, roleSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-016',
  name: 'trust-subject-wildcard',
  title: 'The role trusts service accounts by a wildcard pattern',
  severity: 'medium',
  scope: 'role',
  risk: 'Every current and future service account matching the pattern can assume the role; a new SA in a matching namespace silently gains its permissions.',
  remediation: 'Replace the StringLike pattern with StringEquals on the exact service accounts.',
  references: ['https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html'],
};

const results = resultsFor(metadata);
const MAX_LISTED = 50;

/**
 * The wildcard `sub` patterns of the grants that condition no other issuer (IRSA-017 judges those).
 * A loop of the module, not callbacks made in `evaluate` for each role (see checks/workloads.ts).
 */
function wildcardPatternsOf(grants: readonly ProviderGrant[]): string[] {
  const patterns: string[] = [];
  for (const g of grants) {
    if (foreignIssuerConditions(g).length > 0) continue;
    // A loop, not a spread: a hostile trust may hold more values than a call takes arguments.
    for (const pattern of subjectRestriction(g).wildcardPatterns) patterns.push(pattern);
  }
  return patterns;
}

/** IRSA-016: no `:sub` value under StringLike contains `*` or `?`; lists the service accounts a pattern admits. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  // Its findings are per role and cluster: which cluster a provider is, is read from the clusters of the region.
  reads: [...reads('account', 'iam'), ...reads('region', 'cluster-list', 'cluster')],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const role of context.roles) {
      for (const [cluster, grants] of context.roleGrantsByCluster(role)) {
        const subject = roleSubject(role.accountId, role.name, cluster);
        const patterns = wildcardPatternsOf(grants);
        if (patterns.length === 0) {
          out.push(
            results.pass(subject, `role ${role.name} names exact service accounts for ${cluster.name}`),
          );
          continue;
        }
        const admitted = (cluster.kubernetes?.serviceAccounts ?? [])
          .filter((sa) =>
            patterns.some((p) => wildcardMatch(p, serviceAccountSubject(sa.namespace, sa.name))),
          )
          .map((sa) => `${sa.namespace}/${sa.name}`);
        out.push(
          results.fail(
            subject,
            `Role ${role.name} trusts service accounts of cluster ${cluster.name} by pattern ${patterns.map((p) => JSON.stringify(p)).join(', ')}, ${
              cluster.kubernetes?.serviceAccounts != null
                ? `admitting ${admitted.length} existing service account(s)`
                : `admitting service accounts that could not be listed (the ServiceAccounts of ${cluster.name} were not read: AUDIT-002/003)`
            }.`,
            {
              role: role.arn,
              patterns,
              admittedServiceAccounts: admitted.slice(0, MAX_LISTED),
              admittedCount: admitted.length,
              serviceAccountsCollected: cluster.kubernetes?.serviceAccounts != null,
            },
            sh`aws iam get-role --role-name ${role.name} --query Role.AssumeRolePolicyDocument > trust-${role.name}.json\n# replace the StringLike :sub pattern by StringEquals on: ${
              admitted
                .slice(0, 5)
                .map((a) => `system:serviceaccount:${a.replace('/', ':')}`)
                .join(', ') || 'the service accounts that need the role'
            }\naws iam update-assume-role-policy --role-name ${role.name} --policy-document file://trust-${role.name}.json`,
          ),
        );
      }
    }
    return out;
  },
};
