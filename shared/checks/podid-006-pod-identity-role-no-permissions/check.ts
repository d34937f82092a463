import { reads } from '../../engine/coverage.ts';
import { sh } from '../../sinks/shell.ts';
import { forEachAssociation, foundAssociationRole, POD_IDENTITY_REFERENCE } from '../pod-identity.ts';
import { resultsFor } from '../results.ts';
import type { Check, CheckMetadata } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'PODID-006',
  name: 'pod-identity-role-no-permissions',
  title: 'The role of the EKS Pod Identity association has no attached and no inline policy',
  severity: 'medium',
  scope: 'service-account',
  risk: 'The pods get credentials for the role, but every AWS call they make is AccessDenied.',
  remediation: 'Attach the policy the workload needs to the role.',
  references: [POD_IDENTITY_REFERENCE],
};

const results = resultsFor(metadata);

/** PODID-006: the associated role has at least one attached or inline policy (as IRSA-018 for an annotation). */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  // The association's role lives in the cluster's account; a failed policy read of any of its roles counts.
  reads: [...reads('cluster', 'pod-identity-associations'), ...reads('account', 'iam', 'role-policies')],
  evaluate(context) {
    return forEachAssociation(context, results, (cluster, association, subject) => {
      const role = foundAssociationRole(context, association, subject, results);
      if (!('kind' in role)) return role;
      const policies = role.account.iam?.rolePolicies.get(role.role.name);
      if (!policies)
        return results.notEvaluated(
          subject,
          `the policies of role ${role.role.name} are not in the snapshot`,
        );
      const evidence = {
        role: role.role.arn,
        associationArn: association.associationArn,
        attachedPolicies: policies.attached.map((p) => p.arn),
        inlinePolicies: policies.inline,
      };
      if (policies.attached.length + policies.inline.length > 0)
        return results.pass(subject, `role ${role.role.name} has policies`, evidence);
      return results.fail(
        subject,
        `Role ${role.role.name}, associated with ${association.namespace}/${association.serviceAccount} in ${cluster.name} through EKS Pod Identity, has no attached and no inline policy.`,
        evidence,
        sh`aws iam attach-role-policy --role-name ${role.role.name} --policy-arn POLICY_ARN`,
      );
    });
  },
};
