import { reads } from '../../engine/coverage.ts';
import { sh } from '../../sinks/shell.ts';
import { resultsFor, serviceAccountSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-011',
  name: 'role-missing',
  title: 'The annotated IAM role does not exist',
  severity: 'critical',
  scope: 'service-account',
  risk: 'AssumeRoleWithWebIdentity fails with AccessDenied: the pods have no AWS credentials.',
  remediation:
    'Create the role (with a trust for this service account) or annotate the service account with an existing role.',
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/security-iam-troubleshoot.html'],
};

const results = resultsFor(metadata);

/** IRSA-011: the role named by the annotation exists in its account (when that account is audited). */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: [...reads('cluster', 'ServiceAccount'), ...reads('role', 'iam')],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      for (const link of context.serviceAccountLinks(cluster)) {
        const sa = link.serviceAccount;
        const subject = serviceAccountSubject(cluster, sa);
        const role = link.role;
        if (role === null)
          out.push(results.notEvaluated(subject, 'the role-arn annotation is malformed (IRSA-010)'));
        else if (role.kind === 'unaudited') out.push(results.notEvaluated(subject, role.why));
        else if (role.kind === 'found') {
          out.push(results.pass(subject, `role ${role.role.name} exists`, { roleArn: link.roleArn }));
        } else {
          out.push(
            results.fail(
              subject,
              `Service account ${sa.namespace}/${sa.name} in ${cluster.name} is annotated with role ${role.roleName}, which does not exist in account ${role.accountId}.`,
              { roleArn: link.roleArn, account: role.accountId },
              sh`eksctl create iamserviceaccount --cluster ${cluster.name} --region ${cluster.region} --namespace ${sa.namespace} --name ${sa.name} --role-name ${role.roleName} --attach-policy-arn POLICY_ARN --override-existing-serviceaccounts --approve`,
            ),
          );
        }
      }
    }
    return out;
  },
};
