import { reads } from '../../engine/coverage.ts';
import { sh } from '../../sinks/shell.ts';
import {
  associationId,
  associationRole,
  forEachAssociation,
  POD_IDENTITY_REFERENCE,
} from '../pod-identity.ts';
import { resultsFor } from '../results.ts';
import type { Check, CheckMetadata } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'PODID-002',
  name: 'pod-identity-role-missing',
  title: 'The EKS Pod Identity association names a role that does not exist',
  severity: 'critical',
  scope: 'service-account',
  risk: 'The role was deleted (or never created) after the association: the Pod Identity agent gets no credentials for the ServiceAccount, and every AWS call of its pods fails.',
  remediation:
    'Recreate the role with the Pod Identity trust policy, or point the association at an existing role (aws eks update-pod-identity-association --role-arn).',
  references: [POD_IDENTITY_REFERENCE, 'https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html'],
};

const results = resultsFor(metadata);

/** PODID-002: the role an association names exists in its account (unaudited account: not evaluated). */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: [...reads('cluster', 'pod-identity-associations'), ...reads('account', 'iam')],
  evaluate(context) {
    return forEachAssociation(context, results, (cluster, association, subject) => {
      const role = associationRole(context, association);
      if (role === null)
        return results.notEvaluated(
          subject,
          `the association's role ARN ${association.roleArn ?? '(none)'} is not a role ARN`,
        );
      if (role.kind === 'unaudited') return results.notEvaluated(subject, role.why);
      const evidence = { roleArn: association.roleArn, associationArn: association.associationArn };
      if (role.kind === 'found') return results.pass(subject, `role ${role.role.name} exists`, evidence);
      return results.fail(
        subject,
        `The EKS Pod Identity association of ${association.namespace}/${association.serviceAccount} in ${cluster.name} names role ${role.roleName}, which does not exist in account ${role.accountId}.`,
        evidence,
        sh`# recreate the role with the Pod Identity trust (pods.eks.amazonaws.com: sts:AssumeRole, sts:TagSession), or use an existing one:\naws eks update-pod-identity-association --cluster-name ${cluster.name} --region ${cluster.region} --association-id ${associationId(association)} --role-arn ROLE_ARN`,
      );
    });
  },
};
