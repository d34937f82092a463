import { reads } from '../../engine/coverage.ts';
import { parseArn } from '../../policy/irsa-trust.ts';
import {
  assessPodIdentityTrust,
  POD_IDENTITY_PRINCIPAL,
  type PodIdentityRequest,
  podIdentityTrustStatement,
} from '../../policy/pod-identity-trust.ts';
import { sh } from '../../sinks/shell.ts';
import { forEachAssociation, foundAssociationRole, POD_IDENTITY_REFERENCE } from '../pod-identity.ts';
import { resultsFor } from '../results.ts';
import type { Check, CheckMetadata } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'PODID-001',
  name: 'pod-identity-trust-invalid',
  title:
    'The role of the EKS Pod Identity association does not trust pods.eks.amazonaws.com for sts:AssumeRole and sts:TagSession',
  severity: 'critical',
  scope: 'service-account',
  risk: 'The EKS Auth API cannot assume the role for the association: every pod of the ServiceAccount gets no credentials from the Pod Identity agent, and its AWS SDK fails (or falls back to the node role).',
  remediation:
    'Add an Allow statement for the service principal pods.eks.amazonaws.com with both sts:AssumeRole and sts:TagSession to the role trust policy, with conditions the association satisfies, and remove any Deny that matches it.',
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html', POD_IDENTITY_REFERENCE],
};

const results = resultsFor(metadata);

/** PODID-001: the associated role's trust admits Pod Identity's AssumeRole and TagSession for this association. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  // The association's role lives in the cluster's account.
  reads: [...reads('cluster', 'pod-identity-associations'), ...reads('account', 'iam')],
  evaluate(context) {
    return forEachAssociation(context, results, (cluster, association, subject) => {
      const role = foundAssociationRole(context, association, subject, results);
      if (!('kind' in role)) return role;
      if (!role.role.trust.ok)
        return results.notEvaluated(subject, `the trust policy of ${role.role.name} cannot be parsed`);
      const partition = parseArn(role.role.arn)?.partition || 'aws';
      const request: PodIdentityRequest = {
        clusterArn:
          cluster.info?.arn ??
          `arn:${partition}:eks:${cluster.region}:${cluster.accountId}:cluster/${cluster.name}`,
        clusterName: cluster.name,
        namespace: association.namespace,
        serviceAccount: association.serviceAccount,
        accountId: cluster.accountId,
      };
      const verdict = assessPodIdentityTrust(role.role.trust.policy, request);
      const evidence = {
        role: role.role.arn,
        associationArn: association.associationArn,
        principal: POD_IDENTITY_PRINCIPAL,
        sessionTags: {
          'eks-cluster-arn': request.clusterArn,
          'eks-cluster-name': request.clusterName,
          'kubernetes-namespace': request.namespace,
          'kubernetes-service-account': request.serviceAccount,
        },
      };
      if (verdict.result === 'admitted')
        return results.pass(
          subject,
          `role ${role.role.name} trusts ${POD_IDENTITY_PRINCIPAL} for this association`,
          evidence,
        );
      if (verdict.result === 'undetermined') {
        return results.notEvaluated(
          subject,
          `the trust of ${role.role.name} turns on ${verdict.unknownKeys.join(', ')}, whose value the audit cannot know`,
          evidence,
        );
      }
      const why =
        verdict.deniedBy.length > 0
          ? `a Deny statement (${verdict.deniedBy.map((s) => s.sid ?? `#${s.index}`).join(', ')}) matches ${verdict.missing.join(' and ')}`
          : `no Allow statement for ${POD_IDENTITY_PRINCIPAL} admits ${verdict.missing.join(' and ')} with this association's session tags`;
      const file = `trust-${role.role.name}.json`;
      return results.fail(
        subject,
        `Role ${role.role.name}, associated with ${association.namespace}/${association.serviceAccount} in ${cluster.name} through EKS Pod Identity, does not trust it: ${why}.`,
        {
          ...evidence,
          notAdmitted: verdict.missing,
          denyStatements: verdict.deniedBy.map((s) => s.sid ?? s.index),
        },
        sh`aws iam get-role --role-name ${role.role.name} --query Role.AssumeRolePolicyDocument > ${file}\n# add this statement (and drop any Deny that matches it), then:\n# ${JSON.stringify(podIdentityTrustStatement(request))}\naws iam update-assume-role-policy --role-name ${role.role.name} --policy-document ${`file://${file}`}`,
      );
    });
  },
};
