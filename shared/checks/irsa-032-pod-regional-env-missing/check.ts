import { STS_REGIONAL_ANNOTATION, type Workload } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { Cluster, Pod } from '../../model/fleet.ts';
import { GO_TRUE } from '../irsa-019-sts-regional-endpoints-invalid/check.ts';
import { resultsFor, workloadSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';
import { perWorkloadWithServiceAccount, podNames, restartCommand } from '../workloads.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-032',
  name: 'pod-regional-env-missing',
  title: 'Pods lack AWS_STS_REGIONAL_ENDPOINTS=regional that their service account asks for',
  severity: 'low',
  scope: 'workload',
  risk: 'The SDK calls the global STS endpoint: more latency, a single-region dependency, and shorter session tokens.',
  remediation: 'Restart the workload so the webhook injects the variable.',
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/configure-sts-endpoint.html'],
};

const results = resultsFor(metadata);

/** Whether a pod has a container the webhook mutated without AWS_STS_REGIONAL_ENDPOINTS=regional. */
function lacksRegionalEnv(pod: Pod): boolean {
  for (const c of pod.containers) {
    if (c.env.has('AWS_ROLE_ARN') && c.env.get('AWS_STS_REGIONAL_ENDPOINTS') !== 'regional') return true;
  }
  return false;
}

/** IRSA-032's verdict on one workload (of the module, not a closure per audit: workloads.ts). */
function judgeWorkload(cluster: Cluster, workload: Workload): CheckResult | null {
  const asks = workload.serviceAccount?.annotations[STS_REGIONAL_ANNOTATION];
  if (asks === undefined || !GO_TRUE.has(asks)) return null;
  const subject = workloadSubject(cluster, workload);
  const lacking = workload.pods.filter(lacksRegionalEnv);
  return lacking.length === 0
    ? results.pass(subject, `pods of ${workload.kind} ${workload.name} use regional STS`)
    : results.fail(
        subject,
        `${lacking.length} pod(s) of ${workload.kind} ${workload.namespace}/${workload.name} lack AWS_STS_REGIONAL_ENDPOINTS=regional although service account ${workload.serviceAccountName} sets ${STS_REGIONAL_ANNOTATION}=${asks}.`,
        { pods: podNames(lacking), annotation: asks },
        restartCommand(cluster, workload),
      );
}

/** IRSA-032: mutated pods of an SA that asks for regional STS carry AWS_STS_REGIONAL_ENDPOINTS=regional. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'Pod', 'ServiceAccount'),
  evaluate(context) {
    return perWorkloadWithServiceAccount(context, results, judgeWorkload);
  },
};
