import { clusterPodIdentityWebhooks, WEBHOOKS_NOT_COLLECTED } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import {
  describeSelector,
  type KnownLabels,
  namespaceByName,
  type Requirement,
  requirementsOf,
  requirementsVerdict,
  type SelectorVerdict,
  selectorVerdict,
  shownLabels,
} from '../../engine/label-selector.ts';
import type { MutatingWebhook, Namespace, Pod } from '../../model/fleet.ts';
import { sh, shellWord } from '../../sinks/shell.ts';
import { resultsFor, serviceAccountSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-063',
  name: 'webhook-selector-excludes',
  title:
    "The pod identity webhook's namespaceSelector or objectSelector excludes an annotated service account's pods",
  severity: 'high',
  scope: 'service-account',
  risk: 'The API server never sends these pods to the webhook: they start without AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the token volume and use the node role, although the service account asks for an IAM role. IRSA-030 stays silent on pods that carry the skip label.',
  remediation:
    'Remove the label that excludes the pods from the pod template (e.g. eks.amazonaws.com/skip-pod-identity-webhook) and roll the workload, or widen the selector of a self-managed webhook; if the pods are meant to skip IRSA, remove the role-arn annotation.',
  references: [
    'https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#matching-requests-namespaceselector',
    'https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
    'https://github.com/aws/amazon-eks-pod-identity-webhook',
  ],
};

const results = resultsFor(metadata);

function and(a: SelectorVerdict, b: SelectorVerdict): SelectorVerdict {
  if (a === 'no-match' || b === 'no-match') return 'no-match';
  return a === 'unknown' || b === 'unknown' ? 'unknown' : 'match';
}

/**
 * Whether the webhooks select the pod, given their verdicts on its namespace and the requirements
 * of their objectSelectors (both in the webhooks' order). A pod reaches the webhook when any pod
 * identity webhook selects both its namespace and it: `match` if one does, else `unknown` if one
 * may, else `no-match`. Without a list of the webhooks' verdicts: this runs for every running pod
 * of an annotated ServiceAccount.
 */
function podVerdict(
  objectRequirements: readonly (readonly Requirement[])[],
  namespaceVerdicts: readonly SelectorVerdict[],
  pod: Pod,
): SelectorVerdict {
  let unknown = false;
  for (let i = 0; i < objectRequirements.length; i++) {
    const namespaceVerdict = namespaceVerdicts[i] ?? 'unknown';
    if (namespaceVerdict === 'no-match') continue;
    const verdict = and(
      namespaceVerdict,
      requirementsVerdict(objectRequirements[i] as readonly Requirement[], {
        labels: pod.labels,
        complete: true,
      }),
    );
    if (verdict === 'match') return 'match';
    if (verdict === 'unknown') unknown = true;
  }
  return unknown ? 'unknown' : 'no-match';
}

/** The pods among `pods` on which the webhooks' verdict is `verdict`, in their order. */
function podsJudged(
  objectRequirements: readonly (readonly Requirement[])[],
  namespaceVerdicts: readonly SelectorVerdict[],
  pods: readonly Pod[],
  verdict: SelectorVerdict,
): Pod[] {
  const out: Pod[] = [];
  for (const pod of pods)
    if (podVerdict(objectRequirements, namespaceVerdicts, pod) === verdict) out.push(pod);
  return out;
}

/** What the webhooks make of one namespace, the same for each of its ServiceAccounts. */
interface NamespaceFacts {
  /** The namespace as the namespace list has it, if it does. */
  readonly listed: Namespace | undefined;
  /** Why its labels may not all be known. */
  readonly unknownLabels: string;
  /** Each webhook's namespaceSelector on it, in the webhooks' order. */
  readonly verdicts: readonly SelectorVerdict[];
  /** Whether no webhook's namespaceSelector selects it. */
  readonly excluded: boolean;
  /** Its labels as shown in evidence, null when not listed. */
  readonly shown: Record<string, string> | null;
}

/** The namespace's facts, worked out once per namespace of the cluster (`seen`). */
function namespaceFacts(
  index: ReadonlyMap<string, Namespace> | null,
  webhooks: readonly MutatingWebhook[],
  namespace: string,
  seen: Map<string, NamespaceFacts>,
): NamespaceFacts {
  const known = seen.get(namespace);
  if (known) return known;
  // The namespace's labels, all of them where the namespace list has it; else only its name.
  const listed = index?.get(namespace);
  const labels: KnownLabels = listed ? { labels: listed.labels, complete: true } : namespaceByName(namespace);
  const verdicts: SelectorVerdict[] = [];
  for (const w of webhooks) verdicts.push(selectorVerdict(w.namespaceSelector ?? EMPTY, labels));
  const facts: NamespaceFacts = {
    listed,
    unknownLabels:
      index === null
        ? 'namespace labels are not in the snapshot (collected before they were kept)'
        : `namespace ${namespace} is not in the snapshot's namespace list`,
    verdicts,
    excluded: verdicts.every(isNoMatch),
    shown: listed ? shownLabels(listed.labels) : null,
  };
  seen.set(namespace, facts);
  return facts;
}

function isNoMatch(verdict: SelectorVerdict): boolean {
  return verdict === 'no-match';
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * IRSA-063: the pod identity webhook selects the namespace and the running pods of every
 * annotated ServiceAccount. A namespaceSelector is judged on the namespace's labels where the
 * snapshot has the namespace list; without it (an older snapshot) only on
 * `kubernetes.io/metadata.name` (every namespace carries its name there) or when it is empty, and
 * not evaluated otherwise. The objectSelector is judged on the labels of the SA's
 * running pods; with none running, only an empty objectSelector decides.
 */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'ServiceAccount', 'Pod', 'MutatingWebhookConfiguration', 'Namespace'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const links = context.serviceAccountLinks(cluster);
      if (links.length === 0) continue;
      const located = clusterPodIdentityWebhooks(cluster);
      const webhooks = located ? located.map((l) => l.webhook) : [];
      if (located && webhooks.length === 0) continue; // IRSA-003 reports the missing webhook.
      const unrecorded = webhooks.filter((w) => w.namespaceSelector === null || w.objectSelector === null);
      const unrecordedReason = `the snapshot does not record the namespaceSelector and objectSelector of webhook ${unrecorded.map((w) => w.name).join(', ')} (collected before they were kept)`;
      const namespaces = cluster.kubernetes?.namespaces ?? null;
      const namespaceIndex = namespaces ? new Map(namespaces.map((n) => [n.name, n])) : null;
      // The selectors as shown, the same for every ServiceAccount of the cluster.
      const selectors = webhooks.map((w) => ({
        webhook: w.name,
        namespaceSelector: describeSelector(w.namespaceSelector ?? EMPTY),
        objectSelector: describeSelector(w.objectSelector ?? EMPTY),
      }));
      const objectRequirements = webhooks.map((w) => requirementsOf(w.objectSelector ?? EMPTY));
      const namespacesSeen = new Map<string, NamespaceFacts>();
      for (const { serviceAccount: sa } of links) {
        const subject = serviceAccountSubject(cluster, sa);
        if (!located) {
          out.push(results.notEvaluated(subject, WEBHOOKS_NOT_COLLECTED));
          continue;
        }
        if (unrecorded.length > 0) {
          out.push(results.notEvaluated(subject, unrecordedReason));
          continue;
        }
        const {
          listed,
          unknownLabels,
          verdicts: namespaceVerdicts,
          excluded: namespaceExcluded,
          shown: namespaceShown,
        } = namespaceFacts(namespaceIndex, webhooks, sa.namespace, namespacesSeen);
        const running = context.runningPodsOf(cluster, sa.namespace, sa.name);
        const excluded = namespaceExcluded
          ? (running ?? NONE)
          : podsJudged(objectRequirements, namespaceVerdicts, running ?? NONE, 'no-match');
        const evidence = {
          webhooks: selectors,
          namespaceLabels: namespaceShown,
          runningPods: running?.length ?? null,
          excludedPods: excluded.map((p) => ({ pod: p.name, labels: shownLabels(p.labels) })),
        };
        if (namespaceExcluded || excluded.length > 0) {
          // With the namespace's labels known, a matchLabels selector is met by labelling the namespace.
          const labelFixes =
            namespaceExcluded && listed
              ? webhooks.flatMap((w) => {
                  const selector = w.namespaceSelector;
                  if (!selector || selector.matchExpressions.length > 0) return [];
                  const missing = Object.entries(selector.matchLabels).filter(
                    ([k, v]) => listed.labels[k] !== v,
                  );
                  if (missing.length === 0) return [];
                  const overwrite = missing.some(([k]) => Object.hasOwn(listed.labels, k))
                    ? ' --overwrite'
                    : '';
                  return [
                    `${sh`kubectl --context ${cluster.name} label namespace ${sa.namespace}`} ${missing.map(([k, v]) => shellWord(`${k}=${v}`)).join(' ')}${overwrite}   # what the namespaceSelector of ${shellWord(w.name)} asks for`,
                  ];
                })
              : [];
          const nsFixes = namespaceExcluded
            ? located.map(
                ({ webhook: w, configuration }) =>
                  sh`kubectl --context ${cluster.name} edit mutatingwebhookconfiguration ${configuration}   # namespaceSelector of ${w.name} excludes namespace ${sa.namespace}`,
              )
            : [];
          // A workload's pods share its ServiceAccount: only the ServiceAccount's own can hold them.
          const excludedSet = new Set(excluded);
          const workloads = context
            .workloadsOfServiceAccount(cluster, sa.namespace, sa.name)
            .filter((wl) => wl.pods.some((p) => excludedSet.has(p)))
            .map((wl) =>
              wl.kind === 'Pod'
                ? sh`# bare pod ${wl.name}: its labels were judged at admission; recreate it from its manifest without the excluded labels`
                : sh`kubectl --context ${cluster.name} -n ${sa.namespace} edit ${wl.kind.toLowerCase()} ${wl.name}   # drop the pod template labels the objectSelector excludes, then the new pods are mutated`,
            );
          const annotation = sh`# or, if these pods are meant to skip IRSA: kubectl --context ${cluster.name} -n ${sa.namespace} annotate serviceaccount ${sa.name} eks.amazonaws.com/role-arn-`;
          out.push(
            results.fail(
              subject,
              namespaceExcluded
                ? `The pod identity webhook's namespaceSelector on cluster ${cluster.name} excludes namespace ${sa.namespace}: pods of annotated service account ${sa.name} are never mutated (${selectors.map((s) => `${s.webhook}: ${s.namespaceSelector}`).join('; ')}).`
                : `The pod identity webhook's objectSelector on cluster ${cluster.name} excludes ${excluded.length} running pod(s) of annotated service account ${sa.namespace}/${sa.name} (${excluded.map((p) => p.name).join(', ')}; ${selectors.map((s) => `${s.webhook}: ${s.objectSelector}`).join('; ')}).`,
              evidence,
              [
                ...labelFixes,
                ...(labelFixes.length > 0 ? nsFixes.map((f) => `# or: ${f}`) : nsFixes),
                ...(workloads.length > 0
                  ? workloads
                  : namespaceExcluded
                    ? []
                    : [sh`kubectl --context ${cluster.name} -n ${sa.namespace} get pods --show-labels`]),
                annotation,
              ].join('\n'),
            ),
          );
          continue;
        }
        if (namespaceVerdicts.every((v) => v !== 'match')) {
          out.push(
            results.notEvaluated(
              subject,
              `${unknownLabels}, and the webhook's namespaceSelector needs more than kubernetes.io/metadata.name to decide namespace ${sa.namespace}`,
              evidence,
            ),
          );
          continue;
        }
        if (!running) {
          out.push(
            results.notEvaluated(
              subject,
              'Pods were not collected: the objectSelector cannot be judged',
              evidence,
            ),
          );
          continue;
        }
        if (running.length === 0) {
          const allPods = webhooks.some(
            (w, i) =>
              namespaceVerdicts[i] === 'match' &&
              selectorVerdict(w.objectSelector ?? EMPTY, { labels: {}, complete: false }) === 'match',
          );
          out.push(
            allPods
              ? results.pass(
                  subject,
                  `the pod identity webhook selects namespace ${sa.namespace} and every pod`,
                  evidence,
                )
              : results.notEvaluated(
                  subject,
                  'no running pod of this service account to judge the objectSelector against',
                  evidence,
                ),
          );
          continue;
        }
        const undecided = podsJudged(objectRequirements, namespaceVerdicts, running, 'unknown');
        out.push(
          undecided.length > 0
            ? results.notEvaluated(
                subject,
                `whether the webhook selects pod(s) ${undecided.map((p) => p.name).join(', ')} depends on namespace labels: ${unknownLabels}`,
                evidence,
              )
            : results.pass(
                subject,
                `the pod identity webhook selects namespace ${sa.namespace} and all ${running.length} running pod(s) of ${sa.name}`,
                evidence,
              ),
        );
      }
    }
    return out;
  },
};

const EMPTY = { matchLabels: {}, matchExpressions: [] } as const;
