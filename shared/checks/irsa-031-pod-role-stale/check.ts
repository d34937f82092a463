import { ROLE_ARN_ANNOTATION, type Workload } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { Cluster } from '../../model/fleet.ts';
import { resultsFor, workloadSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';
import {
  POD_ROLE_STALE,
  perWorkloadWithServiceAccount,
  podNames,
  podsWith,
  restartCommand,
} from '../workloads.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-031',
  name: 'pod-role-stale',
  title: "Pods run with a role other than their service account's current annotation",
  severity: 'high',
  scope: 'workload',
  risk: 'The annotation changed after the pods started: they still assume the old role, with its permissions.',
  remediation: 'Restart the workload so the webhook injects the current role.',
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html'],
};

const results = resultsFor(metadata);

/** IRSA-031's verdict on one workload (of the module, not a closure per audit: workloads.ts). */
function judgeWorkload(cluster: Cluster, workload: Workload): CheckResult | null {
  const current = workload.serviceAccount?.annotations[ROLE_ARN_ANNOTATION];
  if (current === undefined) return null;
  const subject = workloadSubject(cluster, workload);
  const stale = podsWith(workload, POD_ROLE_STALE);
  if (stale === null) {
    return results.pass(subject, `pods of ${workload.kind} ${workload.name} use the current role`);
  }
  const injected = [
    ...new Set(
      stale.flatMap((p) => p.containers.map((c) => c.env.get('AWS_ROLE_ARN')).filter((v) => v != null)),
    ),
  ];
  return results.fail(
    subject,
    `${stale.length} pod(s) of ${workload.kind} ${workload.namespace}/${workload.name} run with role ${injected.join(', ')} but service account ${workload.serviceAccountName} now names ${current}.`,
    { pods: podNames(stale), injectedRoleArn: injected, annotatedRoleArn: current },
    restartCommand(cluster, workload),
  );
}

/** IRSA-031: the AWS_ROLE_ARN injected into a pod equals its SA's current role-arn annotation. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'Pod', 'ServiceAccount'),
  evaluate(context) {
    return perWorkloadWithServiceAccount(context, results, judgeWorkload);
  },
};
