import { clusterSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'AUDIT-002',
  name: 'cluster-unreachable',
  title: 'The Kubernetes API could not be reached or refused the auditor',
  severity: 'high',
  scope: 'cluster',
  risk: 'The in-cluster links (ServiceAccounts, webhook, pods) of this cluster are unaudited; only the AWS-side checks ran.',
  remediation:
    'Give the audit role an EKS access entry with the auditor ClusterRole, and make the endpoint reachable (public, or private from the auditor network).',
  references: [
    'https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html',
    'https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html',
  ],
};

const results = resultsFor(metadata);

const ADVICE: Record<string, string> = {
  Unauthorized: 'the audit role has no access entry (or the token was refused)',
  Forbidden: 'the audit role is not bound to the auditor ClusterRole',
  TLS: "the API server's certificate does not verify against the cluster CA",
  ECONNREFUSED: 'nothing listens at the endpoint',
  ETIMEDOUT: 'the endpoint did not answer (private endpoint, or a network path is missing)',
};

/** AUDIT-002: the cluster's Kubernetes API answered the auditor. */
export const check: Check = {
  metadata,
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const subject = clusterSubject(cluster);
      const failure = cluster.collectionErrors.find((e) => !e.kind);
      if (!failure) {
        if (cluster.kubernetes)
          out.push(results.pass(subject, `the Kubernetes API of ${cluster.name} answered`));
        continue;
      }
      const advice = ADVICE[failure.code] ?? 'see the error';
      out.push(
        results.fail(
          subject,
          `The Kubernetes API of cluster ${cluster.name} could not be audited (${failure.code}: ${failure.message}); ${advice}. The AWS-side checks still ran.`,
          { api: failure.api, code: failure.code, error: failure.message },
          `aws eks create-access-entry --cluster-name ${cluster.name} --region ${cluster.region} --principal-arn AUDIT_ROLE_ARN --kubernetes-groups irsa-auditor\n` +
            `irsa-audit enroll --cluster ${cluster.name} --region ${cluster.region} --dry-run   # shows every step`,
        ),
      );
    }
    return out;
  },
};
