import { reads } from '../../engine/coverage.ts';
import { sh } from '../../sinks/shell.ts';
import { resultsFor, workloadSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';
import { podNames } from '../workloads.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-033',
  name: 'pod-service-account-missing',
  title: "The pods' service account no longer exists",
  severity: 'high',
  scope: 'workload',
  risk: 'Running pods keep the identity they started with, but new pods cannot be created, and the IRSA configuration of the deleted account is gone.',
  remediation:
    'Recreate the service account (with its role-arn annotation) or point the workload at an existing one.',
  references: ['https://repost.aws/knowledge-center/eks-pods-iam-role-service-accounts'],
};

const results = resultsFor(metadata);

/** IRSA-033: the service account of every running pod exists. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'Pod', 'ServiceAccount'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const accounts = context.serviceAccountIndex(cluster);
      for (const workload of context.workloads(cluster)) {
        const subject = workloadSubject(cluster, workload);
        if (accounts === null) {
          out.push(results.notEvaluated(subject, 'ServiceAccounts were not collected'));
        } else if (workload.serviceAccount !== undefined) {
          out.push(results.pass(subject, `service account ${workload.serviceAccountName} exists`));
        } else {
          out.push(
            results.fail(
              subject,
              `${workload.kind} ${workload.namespace}/${workload.name} runs ${workload.pods.length} pod(s) as service account ${workload.serviceAccountName}, which does not exist in ${cluster.name}.`,
              { pods: podNames(workload.pods), serviceAccount: workload.serviceAccountName },
              sh`kubectl --context ${cluster.name} create serviceaccount -n ${workload.namespace} ${workload.serviceAccountName}\nkubectl --context ${cluster.name} annotate serviceaccount -n ${workload.namespace} ${workload.serviceAccountName} eks.amazonaws.com/role-arn=ROLE_ARN   # if it used IRSA`,
            ),
          );
        }
      }
    }
    return out;
  },
};
