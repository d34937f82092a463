/** Shared by the workload checks: how a workload is restarted and which containers IRSA must reach. */
import { SKIP_CONTAINERS_ANNOTATION, type Workload } from '../engine/audit-context.ts';
import type { Cluster, Container, Pod } from '../model/fleet.ts';
import { sh, shellWord } from '../sinks/shell.ts';

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
