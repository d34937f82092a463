import { type AuditContext, ROLE_ARN_ANNOTATION, type Workload } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { Cluster, Pod, PodIdentityAssociation } from '../../model/fleet.ts';
import { POD_IDENTITY_REFERENCE } from '../pod-identity.ts';
import { resultsFor, workloadSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';
import { podNames, restartCommand, SKIP_POD_LABEL, unskippedContainers } from '../workloads.ts';

export const metadata: CheckMetadata = {
  id: 'PODID-005',
  name: 'pod-identity-pod-not-injected',
  title:
    'Pods of a ServiceAccount with an EKS Pod Identity association run without the Pod Identity variables',
  severity: 'high',
  scope: 'workload',
  risk: 'Without AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE the SDK never asks the Pod Identity agent: it uses the node role (wrong permissions) or finds no credentials. Pods created before the association are never changed by it.',
  remediation:
    'Restart the workload so that its new pods get the variables; if new pods still lack them, check the EKS Pod Identity agent (PODID-004) and the pod identity webhook.',
  references: [
    POD_IDENTITY_REFERENCE,
    'https://docs.aws.amazon.com/eks/latest/userguide/pod-id-configure-pods.html',
  ],
};

const results = resultsFor(metadata);
export const POD_IDENTITY_VARIABLES = [
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
] as const;

/** `container: VARIABLE` for each variable a container of the pod lacks (skipped containers aside). */
function missingVariables(pod: Pod): string[] {
  if (pod.labels[SKIP_POD_LABEL] !== undefined) return [];
  const missing: string[] = [];
  for (const container of unskippedContainers(pod))
    for (const variable of POD_IDENTITY_VARIABLES)
      if (!container.env.has(variable)) missing.push(`${container.name}: ${variable}`);
  return missing;
}

/**
 * The workloads whose ServiceAccount has an association, each once, in the associations' order
 * (the report orders findings itself): a look per association in the audit's index, not a key
 * string made and hashed per workload of the cluster.
 */
function associatedWorkloads(
  context: AuditContext,
  cluster: Cluster,
  associations: readonly PodIdentityAssociation[],
): Iterable<Workload> {
  const found = new Set<Workload>();
  for (const { namespace, serviceAccount } of associations) {
    for (const workload of context.workloadsOfServiceAccount(cluster, namespace, serviceAccount)) {
      found.add(workload);
    }
  }
  return found;
}

/** PODID-005: every running pod of an associated ServiceAccount carries the two Pod Identity variables. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  // ServiceAccount: an SA with the IRSA annotation as well is IRSA-021's, not judged here.
  reads: reads('cluster', 'pod-identity-associations', 'Pod', 'ServiceAccount'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const associations = cluster.podIdentityAssociations;
      if (!associations || associations.length === 0) continue;
      const accounts = context.serviceAccountIndex(cluster);
      for (const workload of associatedWorkloads(context, cluster, associations)) {
        const key = `${workload.namespace}/${workload.serviceAccountName}`;
        const subject = workloadSubject(cluster, workload);
        if (accounts === null) {
          out.push(results.notEvaluated(subject, 'ServiceAccounts were not collected'));
          continue;
        }
        if (accounts.get(key)?.annotations[ROLE_ARN_ANNOTATION] !== undefined) {
          out.push(
            results.notEvaluated(
              subject,
              `${key} also has the IRSA annotation: IRSA-021 reports which mechanism its pods use`,
            ),
          );
          continue;
        }
        const failing = workload.pods
          .map((pod) => ({ pod, missing: missingVariables(pod) }))
          .filter((p) => p.missing.length > 0);
        if (failing.length === 0) {
          out.push(
            results.pass(
              subject,
              `every pod of ${workload.kind} ${workload.name} has the Pod Identity variables`,
            ),
          );
          continue;
        }
        const oldest = failing
          .map((f) => f.pod.creationTimestamp ?? '')
          .filter(Boolean)
          .sort()[0];
        out.push(
          results.fail(
            subject,
            `${failing.length} of ${workload.pods.length} pod(s) of ${workload.kind} ${workload.namespace}/${workload.name} run as ${workload.serviceAccountName}, which has an EKS Pod Identity association in ${cluster.name}, without ${failing[0]?.missing.join(', ')}${failing.length > 1 ? ' (and others)' : ''}: they were created before the association (or not mutated); restart them.`,
            {
              pods: podNames(failing.map((f) => f.pod)),
              missing: Object.fromEntries(failing.map((f) => [f.pod.name, f.missing])),
              oldestPodCreatedAt: oldest ?? null,
            },
            restartCommand(cluster, workload),
          ),
        );
      }
    }
    return out;
  },
};
