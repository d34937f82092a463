import { operationOf } from '../../engine/coverage.ts';
import type { Cluster, CollectionError } from '../../model/fleet.ts';
import { kubernetesApiAdvice } from '../coverage-advice.ts';
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
    'Make the endpoint reachable from where the auditor runs (DNS, network path, private endpoint) and give the audit role an EKS access entry with the auditor ClusterRole; the finding names which.',
  references: [
    'https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html',
    'https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html',
  ],
};

const results = resultsFor(metadata);

/** The error that says the cluster's Kubernetes API as a whole could not be read, if any. */
export function kubernetesApiFailure(cluster: Cluster): CollectionError | undefined {
  return cluster.collectionErrors.find((e) => {
    if (e.kind) return false;
    const api = operationOf(e.api);
    // Older snapshots recorded a cluster without endpoint as a DescribeCluster error on the cluster.
    return (
      api === 'k8s' || api.startsWith('k8s:') || (api === 'eks:DescribeCluster' && e.code === 'NoEndpoint')
    );
  });
}

function hostOf(endpoint: string | null | undefined): string | null {
  if (!endpoint) return null;
  try {
    return new URL(endpoint).host;
  } catch {
    return null;
  }
}

/** AUDIT-002: the cluster's Kubernetes API answered the auditor. */
export const check: Check = {
  metadata,
  reads: [],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const subject = clusterSubject(cluster);
      if (
        cluster.collectionErrors.some(
          (e) => operationOf(e.api) === 'eks:DescribeCluster' && e.code !== 'NoEndpoint',
        )
      ) {
        out.push(
          results.notEvaluated(
            subject,
            `cluster ${cluster.name} could not be described, so its Kubernetes API was not tried (AUDIT-003)`,
          ),
        );
        continue;
      }
      const failure = kubernetesApiFailure(cluster);
      if (!failure) {
        if (cluster.kubernetes)
          out.push(results.pass(subject, `the Kubernetes API of ${cluster.name} answered`));
        continue;
      }
      const advice = kubernetesApiAdvice(failure, {
        accountId: cluster.accountId,
        region: cluster.region,
        cluster: cluster.name,
        host: hostOf(cluster.info?.endpoint),
      });
      out.push(
        results.fail(
          subject,
          `The Kubernetes API of cluster ${cluster.name} could not be read (${advice.summary}): ${advice.cause}. The AWS-side checks still ran.`,
          {
            api: failure.api,
            code: failure.code,
            class: failure.class ?? null,
            status: failure.status ?? null,
            error: failure.message,
          },
          advice.fix,
        ),
      );
    }
    return out;
  },
};
