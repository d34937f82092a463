/**
 * Shared by the workload checks: the walk over workloads and their ServiceAccounts, how a
 * workload is restarted and which containers IRSA must reach.
 */
import { type AuditContext, SKIP_CONTAINERS_ANNOTATION, type Workload } from '../engine/audit-context.ts';
import type { Cluster, Container, Pod } from '../model/fleet.ts';
import { sh, shellWord } from '../sinks/shell.ts';
import { type ResultBuilder, workloadSubject } from './results.ts';
import type { CheckResult } from './types.ts';

/**
 * The walk of the checks that judge a workload against its ServiceAccount (IRSA-030, 031, 032):
 * on a cluster whose ServiceAccounts were not collected, every workload is not evaluated; else
 * `judgeIn(cluster)` (once per cluster, for what a check works out per cluster) judges each
 * workload, null meaning no result for it (its ServiceAccount asks nothing of the check).
 */
export function perWorkloadWithServiceAccount(
  context: AuditContext,
  results: ResultBuilder,
  judgeIn: (cluster: Cluster) => (workload: Workload) => CheckResult | null,
): CheckResult[] {
  const out: CheckResult[] = [];
  for (const cluster of context.clusters) {
    if (context.serviceAccountIndex(cluster) === null) {
      for (const workload of context.workloads(cluster)) {
        out.push(
          results.notEvaluated(workloadSubject(cluster, workload), 'ServiceAccounts were not collected'),
        );
      }
      continue;
    }
    const judge = judgeIn(cluster);
    for (const workload of context.workloads(cluster)) {
      const result = judge(workload);
      if (result !== null) out.push(result);
    }
  }
  return out;
}

const RESTARTABLE: Record<string, string> = {
  Deployment: 'deployment',
  StatefulSet: 'statefulset',
  DaemonSet: 'daemonset',
};

/** The command that recreates the workload's pods (the webhook only mutates pods at creation). */
export function restartCommand(cluster: Cluster, workload: Workload): string {
  const resource = RESTARTABLE[workload.kind];
  const ctx = sh`kubectl --context ${cluster.name}`;
  if (resource) return `${ctx} rollout restart ${sh`${resource}/${workload.name} -n ${workload.namespace}`}`;
  if (workload.kind === 'CronJob')
    return `${sh`# the next run of cronjob/${workload.name} gets new pods; to replace running ones:`}\n${ctx} ${sh`delete pod -n ${workload.namespace}`} ${workload.pods.map((p) => shellWord(p.name)).join(' ')}`;
  return `${ctx} ${sh`delete pod -n ${workload.namespace}`} ${workload.pods.map((p) => shellWord(p.name)).join(' ')}   # then recreate them from their manifest`;
}

/**
 * The pod's containers (init ones included) minus those named in its `eks.amazonaws.com/skip-containers`.
 * Without that annotation (nearly every pod), the pod's own list: this runs for every pod of the fleet.
 */
export function unskippedContainers(pod: Pod): readonly Container[] {
  const annotation = pod.annotations[SKIP_CONTAINERS_ANNOTATION];
  if (annotation === undefined) return pod.containers;
  const skipped = new Set(
    annotation
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );
  return pod.containers.filter((c) => !skipped.has(c.name));
}

/** Containers the webhook must have injected: all but the skipped ones and those served by EKS Pod Identity. */
export function irsaContainers(pod: Pod): readonly Container[] {
  const containers = unskippedContainers(pod);
  return containers.some((c) => c.env.has('AWS_CONTAINER_CREDENTIALS_FULL_URI'))
    ? containers.filter((c) => !c.env.has('AWS_CONTAINER_CREDENTIALS_FULL_URI'))
    : containers;
}

/** Whether the pod has the projected web-identity token volume. */
export function hasTokenVolume(pod: Pod): boolean {
  return pod.volumes.some((v) => v.name === 'aws-iam-token' || v.tokenAudiences.some((a) => a !== ''));
}

/** Whether the webhook mutated the pod (some container carries AWS_ROLE_ARN). */
export function isMutated(pod: Pod): boolean {
  return pod.containers.some((c) => c.env.has('AWS_ROLE_ARN'));
}

export function podNames(pods: readonly Pod[]): string[] {
  return pods.map((p) => p.name);
}
