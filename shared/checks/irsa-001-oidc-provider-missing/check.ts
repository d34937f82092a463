import { reads } from '../../engine/coverage.ts';
import { sh } from '../../sinks/shell.ts';
import { clusterSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-001',
  name: 'oidc-provider-missing',
  title: "No IAM OIDC provider for the cluster's issuer",
  severity: 'critical',
  scope: 'cluster',
  risk: 'STS cannot verify any service account token of this cluster: every IRSA pod fails to assume its role (InvalidIdentityToken) or falls back to the node role.',
  remediation: "Create the IAM OIDC provider for the cluster's issuer in the cluster's account.",
  references: [
    'https://docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html',
    'https://repost.aws/knowledge-center/eks-pods-iam-role-service-accounts',
  ],
};

const results = resultsFor(metadata);

/** IRSA-001: the cluster's account has an IAM OIDC provider whose Url is the cluster's issuer. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: [...reads('cluster', 'cluster'), ...reads('account', 'iam')],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const subject = clusterSubject(cluster);
      const issuer = context.issuerOf(cluster);
      const account = context.account(cluster.accountId);
      if (issuer === null) {
        out.push(results.notEvaluated(subject, `cluster.json of ${cluster.name} gives no OIDC issuer`));
      } else if (!account?.iam) {
        out.push(
          results.notEvaluated(subject, `the IAM data of account ${cluster.accountId} could not be read`),
        );
      } else {
        const provider = context.providerFor(account, issuer);
        const evidence = {
          issuer: `https://${issuer}`,
          providers: account.iam.providers.map((p) => p.url),
        };
        out.push(
          provider
            ? results.pass(
                subject,
                `IAM OIDC provider ${provider.arn} matches the issuer of ${cluster.name}`,
                evidence,
              )
            : results.fail(
                subject,
                `Account ${cluster.accountId} has no IAM OIDC provider for the issuer of cluster ${cluster.name} (https://${issuer}).`,
                evidence,
                sh`eksctl utils associate-iam-oidc-provider --cluster ${cluster.name} --region ${cluster.region} --approve`,
              ),
        );
      }
    }
    return out;
  },
};
