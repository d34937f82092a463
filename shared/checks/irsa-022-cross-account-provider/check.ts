import { reads } from '../../engine/coverage.ts';
import { parseArn } from '../../policy/irsa-trust.ts';
import { sh } from '../../sinks/shell.ts';
import { resultsFor, serviceAccountSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-022',
  name: 'cross-account-provider',
  title: "The role's account has no OIDC provider for this cluster's issuer",
  severity: 'high',
  scope: 'service-account',
  risk: 'For a role in another account, STS looks the provider up in the role account; without it every assume fails.',
  remediation: "Create an IAM OIDC provider for the cluster's issuer in the role's account.",
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/cross-account-access.html'],
};

const results = resultsFor(metadata);

/** IRSA-022: a role in another account than the cluster has that account's OIDC provider for the cluster's issuer. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: [...reads('cluster', 'cluster', 'ServiceAccount'), ...reads('role', 'iam')],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const issuer = context.issuerOf(cluster);
      for (const link of context.serviceAccountLinks(cluster)) {
        const sa = link.serviceAccount;
        const subject = serviceAccountSubject(cluster, sa);
        if (link.role === null) {
          out.push(results.notEvaluated(subject, 'the role-arn annotation is malformed (IRSA-010)'));
          continue;
        }
        const roleAccountId = parseArn(link.roleArn)?.accountId ?? '';
        if (roleAccountId === cluster.accountId) {
          out.push(results.pass(subject, 'the role is in the cluster account', { roleArn: link.roleArn }));
          continue;
        }
        const roleAccount = context.account(roleAccountId);
        if (!roleAccount?.iam) {
          out.push(
            results.notEvaluated(
              subject,
              `account ${roleAccountId} is not audited or its IAM data is unreadable`,
            ),
          );
          continue;
        }
        if (issuer === null) {
          out.push(results.notEvaluated(subject, `cluster.json of ${cluster.name} gives no OIDC issuer`));
          continue;
        }
        const provider = context.providerFor(roleAccount, issuer);
        const evidence = { roleArn: link.roleArn, roleAccount: roleAccountId, issuer: `https://${issuer}` };
        out.push(
          provider
            ? results.pass(subject, `account ${roleAccountId} has provider ${provider.arn}`, evidence)
            : results.fail(
                subject,
                `Service account ${sa.namespace}/${sa.name} in ${cluster.name} uses role ${link.roleArn} in account ${roleAccountId}, which has no IAM OIDC provider for the cluster's issuer.`,
                evidence,
                sh`# in account ${roleAccountId}:\naws iam create-open-id-connect-provider --url https://${issuer} --client-id-list sts.amazonaws.com`,
              ),
        );
      }
    }
    return out;
  },
};
