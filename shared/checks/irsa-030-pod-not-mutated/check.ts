import {
  AuditContext,
  podIdentityWebhooks,
  ROLE_ARN_ANNOTATION,
  type Workload,
} from '../../engine/audit-context.ts';
import { sameCertificate } from '../../engine/certificates.ts';
import { reads } from '../../engine/coverage.ts';
import { keepShape, NO_CLUSTER, NO_FLEET } from '../../engine/shapes.ts';
import type { Cluster, Pod } from '../../model/fleet.ts';
import { resultsFor, workloadSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';
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
 * What IRSA-030 works out about a cluster, once and only if a failing workload needs it. A class
 * of the module, not closures made in `evaluate`: see perWorkloadWithServiceAccount.
 */
class ClusterFacts {
  private webhookBroken: boolean | undefined;
  private latestMutated: string | null | undefined;

  constructor(
    private readonly context: AuditContext,
    readonly cluster: Cluster,
  ) {}

  /** Whether the webhook is visibly broken. Certificate parsing is costly: judged once, if needed. */
  brokenWebhook(): boolean {
    this.webhookBroken ??= webhookBroken(this.context, this.cluster);
    return this.webhookBroken;
  }

  /**
   * The newest mutated pod of the cluster: a walk over every workload, made only once a workload
   * fails and neither the annotation's time nor the webhook explains it (a healthy cluster, the
   * common case, never needs it). Taken with the pods' facts, which this check works out for
   * every workload anyway.
   */
  newestMutated(): string | null {
    if (this.latestMutated !== undefined) return this.latestMutated;
    let latest: string | null = null;
    for (const w of this.context.workloads(this.cluster)) {
      const created = newestMutatedPod(w);
      if (created !== null && (latest === null || created > latest)) latest = created;
    }
    this.latestMutated = latest;
    return latest;
  }
}

function clusterFacts(context: AuditContext, cluster: Cluster): ClusterFacts {
  return new ClusterFacts(context, cluster);
}

/** The latest creation time of the pods, '' when none records one. */
function newestCreated(pods: readonly Pod[]): string {
  let newest = '';
  for (const pod of pods) {
    const created = pod.creationTimestamp ?? '';
    if (created > newest) newest = created;
  }
  return newest;
}

/**
 * Why the pods were not mutated. The annotation's write time (managedFields) settles it; else a
 * broken webhook explains it; else mutated pods created after these show the webhook works now.
 */
function causeOf(
  facts: ClusterFacts,
  workload: Workload,
  failing: readonly Pod[],
  annotatedAt: string | null,
): { cause: Cause; why: string } {
  const newest = newestCreated(failing);
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
  if (facts.brokenWebhook())
    return { cause: 'webhook-failing', why: 'the pod identity webhook is missing or its caBundle is wrong' };
  const mutated = newest ? facts.newestMutated() : null;
  if (mutated && mutated > newest) {
    return {
      cause: 'predates-annotation',
      why: `the webhook mutated pods created later (${mutated}) in ${facts.cluster.name}`,
    };
  }
  return {
    cause: 'unknown',
    why: `no evidence of when ${workload.namespace}/${workload.serviceAccountName} was annotated`,
  };
}

/** IRSA-030's verdict on one workload. */
function judgeWorkload(cluster: Cluster, workload: Workload, facts: ClusterFacts): CheckResult | null {
  const sa = workload.serviceAccount;
  const roleArn = sa?.annotations[ROLE_ARN_ANNOTATION];
  if (!sa || !roleArn?.trim()) return null; // no IRSA expected (or IRSA-033)
  const subject = workloadSubject(cluster, workload);
  const pods = podsWith(workload, POD_LACKS_INJECTION);
  if (pods === null) {
    return results.pass(subject, `the pods of ${workload.kind} ${workload.name} carry the IRSA injection`);
  }
  const { cause, why } = causeOf(facts, workload, pods, sa.roleArnAnnotatedAt);
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
}

/** IRSA-030: every container of a pod of an annotated SA carries the injected env, and the pod the token volume. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'Pod', 'ServiceAccount'),
  evaluate(context) {
    return perWorkloadWithServiceAccount(context, results, judgeWorkload, clusterFacts);
  },
};

// The layout of ClusterFacts outlives every audit (shapes.ts).
keepShape(new ClusterFacts(new AuditContext(NO_FLEET, new Date(0)), NO_CLUSTER));
