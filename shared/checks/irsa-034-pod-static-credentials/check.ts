import type { Workload } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { Cluster, Container, EnvSource } from '../../model/fleet.ts';
import { sh, shellWord } from '../../sinks/shell.ts';
import { resultsFor, workloadSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';
import {
  mentionsStaticCredentials,
  POD_MENTIONS_STATIC_CREDENTIALS,
  podsWith,
  restartCommand,
  STATIC_CREDENTIAL_VARIABLES,
  unskippedContainers,
} from '../workloads.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-034',
  name: 'pod-static-credentials',
  title: 'Containers set static AWS credentials in their environment',
  severity: 'high',
  scope: 'workload',
  risk: 'Every AWS SDK takes AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment before web identity: the IRSA role is never used, and long-lived keys sit in or beside the pod spec.',
  remediation:
    'Remove the variables from the workload (the role of its service account takes over), give the role what the keys were for, then deactivate the access key in IAM.',
  references: [
    'https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html',
    'https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html',
  ],
};

const results = resultsFor(metadata);

const REFERENCE_KINDS: ReadonlySet<string> = new Set(['secretKeyRef', 'configMapKeyRef']);

/** Workload kinds whose pod template `kubectl set env` changes (the pods are then replaced). */
const TEMPLATED: Record<string, string> = {
  Deployment: 'deployment',
  StatefulSet: 'statefulset',
  DaemonSet: 'daemonset',
  CronJob: 'cronjob',
};

/** How a source is named in a finding: `literal`, or `secretKeyRef NAME/KEY`; never a value. */
export function describeSource(source: EnvSource): string {
  if (!REFERENCE_KINDS.has(source.kind)) return source.kind;
  return `${source.kind} ${source.name ?? '?'}/${source.key ?? '?'}`;
}

interface Setting {
  readonly container: string;
  readonly variable: string;
  readonly source: string;
}

const NOTHING_SET = { sets: [], notJudged: [] } as const;

/**
 * The static credential variables a container sets (a non-empty literal, or a required Secret or
 * ConfigMap reference), and those not judged (an `optional: true` reference: whether the object
 * exists is unknown without reading it; another `valueFrom` kind such as `fieldRef`).
 */
function settingsOf(container: Container): { sets: readonly Setting[]; notJudged: readonly Setting[] } {
  // Nearly every container sets neither variable: answer it without building anything.
  if (!mentionsStaticCredentials(container)) return NOTHING_SET;
  const sets: Setting[] = [];
  const notJudged: Setting[] = [];
  for (const variable of STATIC_CREDENTIAL_VARIABLES) {
    const source = container.sources.get(variable);
    if (!source) continue;
    const setting = { container: container.name, variable, source: describeSource(source) };
    const judged = source.kind === 'literal' || (REFERENCE_KINDS.has(source.kind) && !source.optional);
    (judged ? sets : notJudged).push(setting);
  }
  return { sets, notJudged };
}

/** One entry per container, variable and source over the workload's pods. */
function distinct(settings: readonly Setting[]): Setting[] {
  const byKey = new Map<string, Setting>();
  for (const s of settings) byKey.set(`${s.container}\u0000${s.variable}\u0000${s.source}`, s);
  return [...byKey.values()];
}

/** `container app sets AWS_ACCESS_KEY_ID (literal) and AWS_SECRET_ACCESS_KEY (secretKeyRef aws/secret)` */
function describeSettings(settings: readonly Setting[]): string {
  const byContainer = new Map<string, Setting[]>();
  for (const s of settings) byContainer.set(s.container, [...(byContainer.get(s.container) ?? []), s]);
  return [...byContainer.entries()]
    .map(
      ([container, list]) =>
        `container ${container} sets ${list.map((s) => `${s.variable} (${s.source})`).join(' and ')}`,
    )
    .join('; ');
}

/**
 * The fix: first the role the pods will use instead (the one the webhook injected, else an IRSA
 * role to annotate), then the variables removed from the pod template (AWS_SESSION_TOKEN too where
 * the container sets it), or, for a workload without a template kubectl can change, from its
 * manifest; last, the keys retired, which the auditor never saw.
 */
function remediationFor(
  cluster: Cluster,
  workload: Workload,
  settings: readonly Setting[],
  roleArns: readonly string[],
): string {
  const byContainer = new Map<string, Set<string>>();
  for (const s of settings) {
    byContainer.set(s.container, (byContainer.get(s.container) ?? new Set()).add(s.variable));
  }
  const secrets = new Set<string>();
  for (const pod of workload.pods) {
    for (const c of pod.containers) {
      const variables = byContainer.get(c.name);
      if (!variables) continue;
      if (c.sources.has('AWS_SESSION_TOKEN')) variables.add('AWS_SESSION_TOKEN');
      for (const variable of STATIC_CREDENTIAL_VARIABLES) {
        const source = c.sources.get(variable);
        if (source?.kind === 'secretKeyRef' && !source.optional && source.name) secrets.add(source.name);
      }
    }
  }
  const lines: string[] = [];
  if (roleArns.length > 0) {
    lines.push(
      `# first grant ${roleArns.map((arn) => shellWord(arn)).join(', ')} what the keys were for: the pods use it once they are gone`,
    );
  } else {
    lines.push(
      sh`# first give service account ${workload.serviceAccountName} an IRSA role with what the keys were for:`,
      sh`kubectl --context ${cluster.name} annotate serviceaccount -n ${workload.namespace} ${workload.serviceAccountName} eks.amazonaws.com/role-arn=ROLE_ARN`,
    );
  }
  const resource = TEMPLATED[workload.kind];
  if (resource) {
    for (const [container, variables] of byContainer) {
      // The variable names are this check's constants, never a value from the cluster.
      const removals = [...variables].map((v) => `${v}-`).join(' ');
      lines.push(
        `${sh`kubectl --context ${cluster.name} set env ${resource}/${workload.name} -n ${workload.namespace} -c ${container}`} ${removals}`,
      );
    }
  } else {
    for (const [container, variables] of byContainer) {
      lines.push(
        `# remove ${[...variables].join(', ')} ${sh`from container ${container} in the manifest of ${workload.kind} ${workload.name}, then:`}`,
      );
    }
    lines.push(restartCommand(cluster, workload));
  }
  lines.push(
    '# then deactivate the access key in IAM: aws iam update-access-key --status Inactive --user-name USER --access-key-id KEY',
  );
  for (const secret of secrets) {
    lines.push(
      sh`# and, once nothing else reads it: kubectl --context ${cluster.name} delete secret -n ${workload.namespace} ${secret}`,
    );
  }
  return lines.join('\n');
}

/** IRSA-034: no container of a running pod takes static AWS credentials from its environment. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'Pod'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      for (const workload of context.workloads(cluster)) {
        const subject = workloadSubject(cluster, workload);
        // Built only once a container mentions a static credential variable: nearly no workload does.
        let failing: string[] | null = null;
        let sets: Setting[] | null = null;
        let notJudged: Setting[] | null = null;
        let roleArns: Set<string> | null = null;
        // Only a pod with a container that mentions a static credential variable has any to judge.
        for (const pod of podsWith(workload, POD_MENTIONS_STATIC_CREDENTIALS) ?? []) {
          let podSets = false;
          for (const container of unskippedContainers(pod)) {
            const found = settingsOf(container);
            if (found === NOTHING_SET) continue;
            if (found.notJudged.length > 0) {
              notJudged ??= [];
              for (const variable of found.notJudged) notJudged.push(variable);
            }
            if (found.sets.length === 0) continue;
            podSets = true;
            sets ??= [];
            for (const set of found.sets) sets.push(set);
            const roleArn = container.env.get('AWS_ROLE_ARN');
            if (roleArn) {
              roleArns ??= new Set();
              roleArns.add(roleArn);
            }
          }
          if (podSets) {
            failing ??= [];
            failing.push(pod.name);
          }
        }
        const unjudged = notJudged === null ? [] : distinct(notJudged);
        const noted =
          unjudged.length > 0
            ? ` (not judged: ${unjudged.map((s) => `${s.variable} of container ${s.container} from ${s.source}`).join(', ')})`
            : '';
        if (sets === null || failing === null) {
          out.push(
            results.pass(
              subject,
              `no container of ${workload.kind} ${workload.name} sets static AWS credentials${noted}`,
              unjudged.length > 0 ? { notJudged: unjudged } : undefined,
            ),
          );
          continue;
        }
        const settings = distinct(sets);
        const arns = roleArns === null ? [] : [...roleArns];
        const effect =
          arns.length > 0
            ? `every AWS SDK takes them before web identity, so the IRSA role ${arns.join(', ')} is never used`
            : `every AWS SDK takes them before web identity: long-lived keys instead of the role of a service account`;
        out.push(
          results.fail(
            subject,
            `${failing.length} of ${workload.pods.length} pod(s) of ${workload.kind} ${workload.namespace}/${workload.name}: ${describeSettings(settings)}; ${effect}${noted}.`,
            {
              pods: failing,
              credentials: settings,
              ...(arns.length > 0 ? { roleArn: arns } : {}),
              ...(unjudged.length > 0 ? { notJudged: unjudged } : {}),
            },
            remediationFor(cluster, workload, settings, arns),
          ),
        );
      }
    }
    return out;
  },
};
