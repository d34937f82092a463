/**
 * The IRSA chain of a ServiceAccount, as the HTML report draws it: the cluster's OIDC provider in
 * IAM, the role's trust (and permissions), the ServiceAccount's annotations, the pod identity
 * webhook, the pods it mutates. Each check breaks one link (docs/checks.md); an AUDIT-00x
 * finding means the audit could not look, so a link it covers is "not looked", never "no finding".
 * Pure: findings in, chains out.
 */
import type { ReportedFinding } from './report.ts';

export const CHAIN_LINKS = ['provider', 'role', 'serviceAccount', 'webhook', 'pods'] as const;
export type ChainLink = (typeof CHAIN_LINKS)[number];

export const LINK_LABELS: Record<ChainLink, string> = {
  provider: 'OIDC provider',
  role: 'IAM role trust',
  serviceAccount: 'ServiceAccount',
  webhook: 'Pod identity webhook',
  pods: 'Pods',
};

/** The link a check breaks; `not-looked` for the coverage checks (AUDIT-00x); null if none. */
export function linkOfCheck(checkId: string): ChainLink | 'not-looked' | null {
  if (/^AUDIT-\d{3}$/.test(checkId)) return 'not-looked';
  // EKS Pod Identity: the association's role (its trust, existence, policies), its ServiceAccount, its pods.
  const podIdentity = /^PODID-(\d{3})$/.exec(checkId);
  if (podIdentity) {
    const n = Number(podIdentity[1]);
    if (n === 1 || n === 2 || n === 6) return 'role';
    if (n === 3) return 'serviceAccount';
    if (n === 5) return 'pods';
    // 004: the Pod Identity agent plays the webhook's part: the cluster-side piece pods depend on.
    if (n === 4) return 'webhook';
    return null;
  }
  const match = /^IRSA-(\d{3})$/.exec(checkId);
  if (!match) return null;
  const n = Number(match[1]);
  if (n === 1 || n === 2 || n === 50) return 'provider';
  // 040: the live probe's AssumeRoleWithWebIdentity fails at the role; 051: a role's stale trust.
  if ((n >= 11 && n <= 18) || n === 22 || n === 23 || n === 40 || n === 51) return 'role';
  // 021: the ServiceAccount also has an EKS Pod Identity association.
  if (n === 10 || n === 19 || n === 20 || n === 21) return 'serviceAccount';
  // 062: it fails open; 063: its selectors leave the SA's namespace or pods out; 064: its Service has no ready endpoint.
  if (n === 3 || n === 4 || n === 62 || n === 63 || n === 64) return 'webhook';
  if (n >= 30 && n <= 34) return 'pods';
  // 060/061: the node role the cluster's pods fall back to when their injection fails (IMDS reachable, excess).
  if (n === 60 || n === 61) return 'pods';
  return null;
}

export type LinkState = 'broken' | 'not-looked' | 'no-finding';

export interface ChainLinkView {
  readonly link: ChainLink;
  readonly state: LinkState;
  /** The check ids that break the link, or that say the audit could not look at it. */
  readonly checkIds: readonly string[];
}

export interface ChainView {
  /** `namespace/name`, or null for every ServiceAccount of the cluster. */
  readonly namespace: string | null;
  readonly serviceAccount: string | null;
  readonly links: readonly ChainLinkView[];
}

const sameCluster = (a: ReportedFinding, b: ReportedFinding) =>
  a.accountId === b.accountId && a.region === b.region && a.cluster === b.cluster;

/**
 * Whether a coverage finding concerns the cluster of `place`: one of the cluster, or one of its
 * account, but for an unusable snapshot file (AUDIT-004, the file in `resource`) of another
 * cluster (its evidence, or its directory `ACCOUNT/REGION/CLUSTER/kubernetes.json`).
 */
function gapCovers(gap: ReportedFinding, place: ReportedFinding): boolean {
  if (sameCluster(gap, place)) return true;
  if (gap.cluster !== null || gap.accountId !== place.accountId) return false;
  // AUDIT-004 says the file's cluster in its evidence (a stored finding has none: its path says it).
  const evidence = gap.evidence as { region?: unknown; cluster?: unknown } | undefined;
  if (typeof evidence?.cluster === 'string')
    return evidence.cluster === place.cluster && evidence.region === place.region;
  const file = gap.resource?.replace(/\\/g, '/').split('/') ?? [];
  if (file.length >= 4 && file[file.length - 4] === gap.accountId)
    return file[file.length - 3] === place.region && file[file.length - 2] === place.cluster;
  return true;
}

const unique = (ids: readonly string[]) => [...new Set(ids)].sort();

/**
 * The chains of one cluster's failing ServiceAccounts: `group` is the cluster's findings, `all`
 * every finding of the report (an account's AUDIT-001 is not in its clusters' groups). A cluster
 * whose provider or webhook is broken but no ServiceAccount of it fails gets one chain for every
 * ServiceAccount of the cluster.
 */
export function chainsOfCluster(
  group: readonly ReportedFinding[],
  all: readonly ReportedFinding[],
): ChainView[] {
  const first = group[0];
  if (!first?.cluster) return [];
  const failing = group.filter((f) => f.status === 'fail');
  // Cluster-wide findings (no ServiceAccount, no role): they break the link for every SA of it.
  const clusterWide = failing.filter(
    (f) => f.serviceAccount === null && f.roleName === null && f.workload === null,
  );
  // Could the audit look? A coverage finding of the cluster, or of its account (no cluster).
  const gaps = all.filter(
    (f) => f.status === 'fail' && linkOfCheck(f.checkId) === 'not-looked' && gapCovers(f, first),
  );
  const subjects = new Map<string, { namespace: string | null; serviceAccount: string | null }>();
  for (const f of failing) {
    if (f.serviceAccount === null) continue;
    subjects.set(JSON.stringify([f.namespace, f.serviceAccount]), {
      namespace: f.namespace,
      serviceAccount: f.serviceAccount,
    });
  }
  const clusterBroken = clusterWide.some((f) => {
    const link = linkOfCheck(f.checkId);
    return link !== null && link !== 'not-looked';
  });
  if (subjects.size === 0 && clusterBroken)
    subjects.set('cluster', { namespace: null, serviceAccount: null });

  return [...subjects.values()].map((subject) => {
    const own = group.filter(
      (f) => f.serviceAccount === subject.serviceAccount && f.namespace === subject.namespace,
    );
    const links = CHAIN_LINKS.map((link): ChainLinkView => {
      const breaking = [...own.filter((f) => f.status === 'fail'), ...clusterWide].filter(
        (f) => linkOfCheck(f.checkId) === link,
      );
      if (breaking.length > 0)
        return { link, state: 'broken', checkIds: unique(breaking.map((f) => f.checkId)) };
      const unlooked = own.filter((f) => f.status === 'not-evaluated' && linkOfCheck(f.checkId) === link);
      if (unlooked.length > 0 || gaps.length > 0)
        return {
          link,
          state: 'not-looked',
          checkIds: unique([...unlooked, ...gaps].map((f) => f.checkId)),
        };
      return { link, state: 'no-finding', checkIds: [] };
    });
    return { ...subject, links };
  });
}
