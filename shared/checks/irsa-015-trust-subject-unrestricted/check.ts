import { reads } from '../../engine/coverage.ts';
import { foreignIssuerConditions, subjectRestriction } from '../../policy/irsa-trust.ts';
import { sh } from '../../sinks/shell.ts';
import { resultsFor, roleSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-015',
  name: 'trust-subject-unrestricted',
  title: 'The role trusts every service account of the cluster',
  severity: 'critical',
  scope: 'role',
  risk: 'Without a strict :sub condition any pod in the cluster, in any namespace, can assume the role and use its permissions.',
  remediation:
    'Add a StringEquals condition on <issuer>:sub naming the one service account that needs the role.',
  references: [
    'https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html',
    'https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html',
  ],
};

const results = resultsFor(metadata);

/** IRSA-015: every Allow statement for an EKS cluster's provider has a strict `:sub` condition. */
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
        // A statement keyed on another issuer can never match (IRSA-017), so it is not unrestricted.
        const open = grants.filter(
          (g) => foreignIssuerConditions(g).length === 0 && subjectRestriction(g).kind === 'unrestricted',
        );
        const evidence = {
          role: role.arn,
          statements: open.map((g) => ({
            index: g.statement.index,
            provider: g.providerArn,
            subConditions: subjectRestriction(g).subConditions.map((c) => ({
              operator: c.operator,
              values: c.values,
            })),
          })),
        };
        out.push(
          open.length === 0
            ? results.pass(subject, `role ${role.name} restricts :sub for ${cluster.name}`)
            : results.fail(
                subject,
                `Role ${role.name} lets any service account of cluster ${cluster.name} assume it: no strict :sub condition in ${open.map((g) => `Statement[${g.statement.index}]`).join(', ')}.`,
                evidence,
                sh`aws iam get-role --role-name ${role.name} --query Role.AssumeRolePolicyDocument > trust-${role.name}.json\n# add "StringEquals": {"${open[0]?.issuer ?? 'ISSUER'}:sub": "system:serviceaccount:NAMESPACE:NAME"} to the statement, then:\naws iam update-assume-role-policy --role-name ${role.name} --policy-document file://trust-${role.name}.json`,
              ),
        );
      }
    }
    return out;
  },
};
