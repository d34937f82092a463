/**
 * Shared by the workload checks: the walk over workloads and their ServiceAccounts, how a
 * workload is restarted and which containers IRSA must reach.
 */
import {
  type AuditContext,
  ROLE_ARN_ANNOTATION,
  SKIP_CONTAINERS_ANNOTATION,
  type Workload,
} from '../engine/audit-context.ts';
import type { Cluster, Container, Pod } from '../model/fleet.ts';
import { sh, shellWord } from '../sinks/shell.ts';
import { type ResultBuilder, workloadSubject } from './results.ts';
import type { CheckResult } from './types.ts';

/**
 * The walk of the checks that judge a workload against its ServiceAccount (IRSA-030, 031, 032):
 * on a cluster whose ServiceAccounts were not collected, every workload is not evaluated; else
 * `judge` judges each workload, null meaning no result for it (its ServiceAccount asks nothing of
 * the check), given what `perCluster` (when given) works out once for the cluster.
 *
 * `judge` and `perCluster` are functions of the check's module, not closures made in `evaluate`:
 * V8 holds the code it optimised for a function expression only while one of its closures lives,
 * so a closure made anew in each audit loses that code with the audit's garbage and is compiled
 * again in the next audit of a warm process (shapes.ts; test/warm-audits.test.ts).
 */
export function perWorkloadWithServiceAccount<S = undefined>(
  context: AuditContext,
  results: ResultBuilder,
  judge: (cluster: Cluster, workload: Workload, state: S) => CheckResult | null,
  perCluster?: (context: AuditContext, cluster: Cluster) => S,
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
    const state = perCluster ? perCluster(context, cluster) : (undefined as S);
    for (const workload of context.workloads(cluster)) {
      const result = judge(cluster, workload, state);
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
  return withoutPodIdentity(unskippedContainers(pod));
}

/** The containers not served by EKS Pod Identity (the list itself when none is). */
function withoutPodIdentity(containers: readonly Container[]): readonly Container[] {
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

/** The pod label that makes the webhook leave a pod alone. */
export const SKIP_POD_LABEL = 'eks.amazonaws.com/skip-pod-identity-webhook';

/** Whether the webhook injected both web-identity variables into the container. */
export const injected = (c: Container) =>
  c.env.has('AWS_ROLE_ARN') && c.env.has('AWS_WEB_IDENTITY_TOKEN_FILE');

/** The variables that make an SDK take static credentials from the environment. */
export const STATIC_CREDENTIAL_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

/** Whether the container sets (or names a source for) a static credential variable. */
export function mentionsStaticCredentials(container: Container): boolean {
  for (const variable of STATIC_CREDENTIAL_VARIABLES) if (container.sources.has(variable)) return true;
  return false;
}

/** {@link podFacts}: a pod the webhook did not skip lacks what its IRSA containers need (IRSA-030). */
export const POD_LACKS_INJECTION = 1;
/** {@link podFacts}: a container runs with a role other than the one its ServiceAccount names now (IRSA-031). */
export const POD_ROLE_STALE = 2;
/** {@link podFacts}: a container the webhook does not skip mentions a static credential variable (IRSA-034). */
export const POD_MENTIONS_STATIC_CREDENTIALS = 4;
/** {@link podFacts}: the webhook mutated the pod, {@link isMutated} (IRSA-030's newest mutated pod). */
export const POD_MUTATED = 8;

/** What {@link podFacts} works out for a workload, once per audit. */
interface WorkloadFacts {
  readonly bits: Uint8Array;
  /** The newest creationTimestamp of the workload's mutated pods (null: none, or none with one). */
  readonly newestMutated: string | null;
}

const facts = new WeakMap<Workload, WorkloadFacts>();

/**
 * What IRSA-030, 031 and 034 ask of each pod of the workload, as bits (index = the pod's in
 * `workload.pods`), worked out in one walk over its containers by whichever check asks first.
 * Each of the three walked every pod's containers before, and at fleet size those walks wait on
 * memory, not on the work. Keyed by the audit's own Workload objects: nothing outlives the audit.
 */
export function podFacts(workload: Workload): Uint8Array {
  return factsOf(workload).bits;
}

/**
 * The newest creation time among the workload's mutated pods ({@link POD_MUTATED}), or null:
 * taken in the same walk as {@link podFacts}, so that IRSA-030's newest mutated pod of a cluster
 * is a look at each workload, not at each pod again.
 */
export function newestMutatedPod(workload: Workload): string | null {
  return factsOf(workload).newestMutated;
}

function factsOf(workload: Workload): WorkloadFacts {
  let known = facts.get(workload);
  if (known === undefined) {
    const current = workload.serviceAccount?.annotations[ROLE_ARN_ANNOTATION];
    const bits = new Uint8Array(workload.pods.length);
    let newestMutated: string | null = null;
    for (let i = 0; i < workload.pods.length; i++) {
      const pod = workload.pods[i] as Pod;
      const podBits = factsOfPod(pod, current);
      bits[i] = podBits;
      const created = pod.creationTimestamp;
      if ((podBits & POD_MUTATED) !== 0 && created && (newestMutated === null || created > newestMutated)) {
        newestMutated = created;
      }
    }
    known = { bits, newestMutated };
    facts.set(workload, known);
  }
  return known;
}

function factsOfPod(pod: Pod, currentRoleArn: string | undefined): number {
  let bits = 0;
  for (const c of pod.containers) {
    // An env value is a string or null (valueFrom): undefined only when the variable is absent.
    const roleArn = c.env.get('AWS_ROLE_ARN');
    if (roleArn === undefined) continue;
    bits |= POD_MUTATED;
    if (currentRoleArn !== undefined && roleArn !== null && roleArn !== currentRoleArn) {
      bits |= POD_ROLE_STALE;
      break;
    }
  }
  const unskipped = unskippedContainers(pod);
  if (unskipped.some(mentionsStaticCredentials)) bits |= POD_MENTIONS_STATIC_CREDENTIALS;
  if (lacksInjection(pod, withoutPodIdentity(unskipped))) bits |= POD_LACKS_INJECTION;
  return bits;
}

/**
 * Whether a pod the webhook did not skip lacks the variables of an IRSA container (`irsa`: its
 * {@link irsaContainers}) or the token volume.
 */
function lacksInjection(pod: Pod, irsa: readonly Container[]): boolean {
  if (pod.labels[SKIP_POD_LABEL] !== undefined) return false;
  if (irsa.length === 0) return false;
  return !(irsa.every(injected) && hasTokenVolume(pod));
}

/** The workload's pods whose {@link podFacts} hold `bit`, in order; null when none does. */
export function podsWith(workload: Workload, bit: number): Pod[] | null {
  const bits = podFacts(workload);
  let pods: Pod[] | null = null;
  for (let i = 0; i < bits.length; i++) {
    if (((bits[i] as number) & bit) === 0) continue;
    pods ??= [];
    pods.push(workload.pods[i] as Pod);
  }
  return pods;
}
