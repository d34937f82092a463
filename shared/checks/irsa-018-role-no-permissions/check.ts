import { reads } from '../../engine/coverage.ts';
import { sh } from '../../sinks/shell.ts';
import { foundRole, resultsFor, serviceAccountSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-018',
  name: 'role-no-permissions',
  title: 'The role has no attached and no inline policy',
  severity: 'medium',
  scope: 'service-account',
  risk: 'The pod assumes the role but every AWS call is AccessDenied.',
  remediation: 'Attach the policy the workload needs to the role.',
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html'],
};

const results = resultsFor(metadata);

/** IRSA-018: the SA's role has at least one attached or inline policy (unknown permissions: not evaluated). */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: [...reads('cluster', 'ServiceAccount'), ...reads('role', 'iam', 'role-policies')],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      for (const link of context.serviceAccountLinks(cluster)) {
        const sa = link.serviceAccount;
        const subject = serviceAccountSubject(cluster, sa);
        const resolved = foundRole(link);
        if ('notEvaluated' in resolved) {
          out.push(results.notEvaluated(subject, resolved.notEvaluated));
          continue;
        }
        const role = resolved.found;
        const policies = role.account.iam?.rolePolicies.get(role.role.name);
        if (!policies) {
          out.push(
            results.notEvaluated(subject, `the policies of role ${role.role.name} are not in the snapshot`),
          );
          continue;
        }
        const evidence = {
          role: role.role.arn,
          attachedPolicies: policies.attached.map((p) => p.arn),
          inlinePolicies: policies.inline,
        };
        out.push(
          policies.attached.length + policies.inline.length > 0
            ? results.pass(subject, `role ${role.role.name} has policies`, evidence)
            : results.fail(
                subject,
                `Role ${role.role.name}, used by ${sa.namespace}/${sa.name} in ${cluster.name}, has no attached and no inline policy.`,
                evidence,
                sh`aws iam attach-role-policy --role-name ${role.role.name} --policy-arn POLICY_ARN`,
              ),
        );
      }
    }
    return out;
  },
};
