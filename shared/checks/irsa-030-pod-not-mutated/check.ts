import {
  type AuditContext,
  podIdentityWebhooks,
  ROLE_ARN_ANNOTATION,
  type Workload,
} from '../../engine/audit-context.ts';
import { sameCertificate } from '../../engine/certificates.ts';
import { reads } from '../../engine/coverage.ts';
import type { Cluster, Pod } from '../../model/fleet.ts';
import { resultsFor, workloadSubject } from '../results.ts';
import type { Check, CheckMetadata } from '../types.ts';
import {
  hasTokenVolume,
  irsaContainers,
  newestMutatedPod,
  POD_LACKS_INJECTION,
  perWorkloadWithServiceAccount,
  podNames,
  podsWith,
  restartCommand,
} from '../workloads.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-030',
  name: 'pod-not-mutated',
  title: 'Pods of an IRSA service account run without the injected credentials',
  severity: 'high',
  scope: 'workload',
  risk: 'Without AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the token volume the SDK silently uses the node role: wrong permissions, or AccessDenied.',
  remediation:
    'Restart pods that predate the annotation; if new pods stay unmutated, repair the webhook first (IRSA-003/004).',
  references: [
    'https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html',
    'https://repost.aws/knowledge-center/eks-pods-iam-role-service-accounts',
  ],
};

const results = resultsFor(metadata);

/** What a pod flagged POD_LACKS_INJECTION (workloads.ts) lacks. */
function missingInjection(pod: Pod): string[] {
  const containers = irsaContainers(pod);
  const missing: string[] = [];
  for (const c of containers) {
    if (!c.env.has('AWS_ROLE_ARN')) missing.push(`${c.name}: AWS_ROLE_ARN`);
    if (!c.env.has('AWS_WEB_IDENTITY_TOKEN_FILE')) missing.push(`${c.name}: AWS_WEB_IDENTITY_TOKEN_FILE`);
  }
  if (!hasTokenVolume(pod)) missing.push('volume aws-iam-token');
  return missing;
}

/** Whether the cluster's webhook is visibly broken (missing, or its caBundle does not hold the cluster CA). */
function webhookBroken(context: AuditContext, cluster: Cluster): boolean {
  const configurations = cluster.kubernetes?.webhookConfigurations;
  if (!configurations) return false;
  const webhooks = podIdentityWebhooks(configurations);
  if (webhooks.length === 0) return true;
  const ca = context.clusterCertificateAuthority(cluster);
  if (!ca.ok) return false;
  return webhooks.some((w) => {
    const bundle = context.webhookCaBundle(w);
    return !bundle.ok || !bundle.certificates.some((c) => ca.certificates.some((x) => sameCertificate(c, x)));
  });
}

type Cause = 'predates-annotation' | 'webhook-failing' | 'unknown';

/**
 * Why the pods were not mutated. The annotation's write time (managedFields) settles it; else a
 * broken webhook explains it; else mutated pods created after these show the webhook works now.
 */
function causeOf(
  cluster: Cluster,
  brokenWebhook: () => boolean,
  workload: Workload,
  failing: readonly Pod[],
  annotatedAt: string | null,
  mutatedSince: () => string | null,
): { cause: Cause; why: string } {
  const newest =
    failing
      .map((p) => p.creationTimestamp ?? '')
      .sort()
      .pop() ?? '';
  if (annotatedAt && newest) {
    return newest < annotatedAt
      ? {
          cause: 'predates-annotation',
          why: `the pods were created before the annotation was set (${annotatedAt})`,
        }
      : {
          cause: 'webhook-failing',
          why: `the pods were created after the annotation was set (${annotatedAt})`,
        };
  }
  if (brokenWebhook())
    return { cause: 'webhook-failing', why: 'the pod identity webhook is missing or its caBundle is wrong' };
  const mutated = newest ? mutatedSince() : null;
  if (mutated && mutated > newest) {
    return {
      cause: 'predates-annotation',
      why: `the webhook mutated pods created later (${mutated}) in ${cluster.name}`,
    };
  }
  return {
    cause: 'unknown',
    why: `no evidence of when ${workload.namespace}/${workload.serviceAccountName} was annotated`,
  };
}

/** IRSA-030: every container of a pod of an annotated SA carries the injected env, and the pod the token volume. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'Pod', 'ServiceAccount'),
  evaluate(context) {
    return perWorkloadWithServiceAccount(context, results, (cluster) => {
      let webhookState: boolean | undefined;
      // Certificate parsing is costly: judge the webhook once per cluster, and only if needed.
      const brokenWebhook = () => {
        webhookState ??= webhookBroken(context, cluster);
        return webhookState;
      };
      // The newest mutated pod of the cluster: a walk over every pod, made only once a workload
      // fails and neither the annotation's time nor the webhook explains it (a healthy cluster,
      // the common case, never needs it).
      let latestMutatedState: string | null | undefined;
      const latestMutated = () => {
        if (latestMutatedState !== undefined) return latestMutatedState;
        let latest: string | null = null;
        for (const w of context.workloads(cluster)) {
          // Taken with the pods' facts, which this check works out for every workload anyway.
          const created = newestMutatedPod(w);
          if (created !== null && (latest === null || created > latest)) latest = created;
        }
        latestMutatedState = latest;
        return latest;
      };
      return (workload) => {
        const sa = workload.serviceAccount;
        const roleArn = sa?.annotations[ROLE_ARN_ANNOTATION];
        if (!sa || !roleArn?.trim()) return null; // no IRSA expected (or IRSA-033)
        const subject = workloadSubject(cluster, workload);
        const pods = podsWith(workload, POD_LACKS_INJECTION);
        if (pods === null) {
          return results.pass(
            subject,
            `the pods of ${workload.kind} ${workload.name} carry the IRSA injection`,
          );
        }
        const { cause, why } = causeOf(
          cluster,
          brokenWebhook,
          workload,
          pods,
          sa.roleArnAnnotatedAt,
          latestMutated,
        );
        const advice =
          cause === 'webhook-failing'
            ? 'the webhook is failing: repair it (IRSA-003/004), then restart'
            : cause === 'predates-annotation'
              ? 'they predate the annotation: restart them'
              : 'restart them; if new pods are still not mutated, the webhook is failing';
        return results.fail(
          subject,
          `${pods.length} of ${workload.pods.length} pod(s) of ${workload.kind} ${workload.namespace}/${workload.name} (service account ${workload.serviceAccountName}, role ${roleArn}) run without the IRSA injection and use the node role; ${advice}.`,
          {
            pods: podNames(pods),
            missing: missingInjection(pods[0] as Pod),
            cause,
            why,
            podCreated: pods.map((p) => p.creationTimestamp),
          },
          cause === 'webhook-failing'
            ? `# fix the webhook first (see IRSA-003 / IRSA-004 for ${cluster.name}), then:\n${restartCommand(cluster, workload)}`
            : restartCommand(cluster, workload),
        );
      };
    });
  },
};
