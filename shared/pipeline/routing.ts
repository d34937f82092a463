/**
 * Which auditor function audits which cluster of an account (README, "Fan-out arithmetic";
 * docs/deploy.md, "Private clusters").
 *
 * The planner sends one message per account to the hub's default auditor: the account's *lead*
 * unit. The lead reads the account's IAM (once per run: it shares it as the account's view), lists
 * and describes every cluster, and then splits the account's clusters:
 *
 * - a cluster whose API only a network auditor can reach (the public endpoint is off, or its public
 *   access CIDRs exclude the hub's egress and its private endpoint is on) goes to the network whose
 *   `reachesVpcIds` holds the cluster's VPC; when no network reaches it, the lead keeps it and the
 *   collector reports it as AUDIT-002, naming the VPC and the setting that would reach it;
 * - of the clusters the lead can reach, it keeps the first `clustersPerUnit` (by region, then
 *   name) and forwards the rest, per region, in parts of at most `clustersPerUnit`, to its own queue;
 * - a network's clusters go likewise in parts of at most `clustersPerUnit` per region.
 *
 * A part audits only its clusters, with the account's IAM from the lead's view (never listed
 * again), and records only their units; the lead records the account's own unit and its clusters.
 * The run's digest waits for every part the leads planned (finding-store.ts, completePart).
 */
import { z } from 'zod';
import { cidrsExcludeAll } from '../collectors/public-access.ts';
import type { WorkMessage } from './work-message.ts';

/** What the default auditor knows of each network auditor (the AUDIT_NETWORKS variable). */
export const networkRoutesSchema = z.array(
  z.object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, 'a network name is lower-case letters, digits and -'),
    queueUrl: z.string().min(1),
    vpcIds: z.array(z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'expected a VPC id such as vpc-0abc12345')),
  }),
);

export type NetworkRoute = z.infer<typeof networkRoutesSchema>[number];

/** The default for `clustersPerUnit` (hub config; AUDIT_CLUSTERS_PER_UNIT). */
export const DEFAULT_CLUSTERS_PER_UNIT = 40;

export interface RoutingOptions {
  readonly networks: readonly NetworkRoute[];
  readonly clustersPerUnit: number;
  /** The collector's egress addresses (AUDIT_EGRESS_IPS): public CIDRs that exclude them route to a network. */
  readonly egressAddresses?: readonly string[];
}

/** One described cluster of the account, as the lead sees it. */
export interface DescribedCluster {
  readonly region: string;
  readonly name: string;
  /** DescribeCluster's `cluster`. */
  readonly cluster: Record<string, unknown>;
}

/** A part the lead forwards: one region's clusters for one function. */
export interface PartPlan {
  /** Unique within the account's run: `<region>#<n>` or `<network>@<region>#<n>`. */
  readonly id: string;
  readonly region: string;
  readonly clusters: readonly string[];
  /** The network auditor that audits it; null: the default auditor (the lead's own queue). */
  readonly network: string | null;
}

export interface RoutingDecision {
  /** `region/name` of the clusters the lead audits itself. */
  readonly here: ReadonlySet<string>;
  readonly parts: readonly PartPlan[];
}

interface VpcConfig {
  vpcId?: string;
  endpointPublicAccess?: boolean;
  endpointPrivateAccess?: boolean;
  publicAccessCidrs?: string[];
}

const vpcOf = (cluster: Record<string, unknown>) =>
  (cluster.resourcesVpcConfig as VpcConfig | undefined) ?? {};

/**
 * The network that must audit a cluster, or null when the lead (outside every VPC) can: only a
 * cluster the lead cannot reach and whose private endpoint a network reaches goes to a network.
 */
export function networkFor(
  cluster: Record<string, unknown>,
  options: Pick<RoutingOptions, 'networks' | 'egressAddresses'>,
): NetworkRoute | null {
  const vpc = vpcOf(cluster);
  const publicOff = vpc.endpointPublicAccess === false;
  const needsNetwork =
    publicOff ||
    (vpc.endpointPrivateAccess === true &&
      cidrsExcludeAll(vpc.publicAccessCidrs ?? [], options.egressAddresses ?? []));
  if (!needsNetwork || !vpc.vpcId) return null;
  return options.networks.find((n) => n.vpcIds.includes(vpc.vpcId as string)) ?? null;
}

const byPlace = (a: DescribedCluster, b: DescribedCluster) =>
  a.region < b.region ? -1 : a.region > b.region ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** Splits the account's clusters between the lead and its parts (the module comment gives the rule). */
export function routeClusters(
  clusters: readonly DescribedCluster[],
  options: RoutingOptions,
): RoutingDecision {
  const limit = Math.max(1, Math.floor(options.clustersPerUnit));
  const here = new Set<string>();
  const byTarget = new Map<string, { network: string | null; region: string; names: string[] }>();
  const sorted = [...clusters].sort(byPlace);
  const forward = (network: string | null, c: DescribedCluster) => {
    const key = `${network ?? ''}@${c.region}`;
    const entry = byTarget.get(key) ?? { network, region: c.region, names: [] };
    entry.names.push(c.name);
    byTarget.set(key, entry);
  };
  for (const c of sorted) {
    const network = networkFor(c.cluster, options);
    if (network) forward(network.name, c);
    else if (here.size < limit) here.add(`${c.region}/${c.name}`);
    else forward(null, c);
  }
  const parts: PartPlan[] = [];
  for (const { network, region, names } of byTarget.values()) {
    for (let i = 0, n = 1; i < names.length; i += limit, n++) {
      parts.push({
        id: `${network ? `${network}@` : ''}${region}#${n}`,
        region,
        clusters: names.slice(i, i + limit),
        network,
      });
    }
  }
  return { here, parts };
}

/** The work message of a part: the lead's message, narrowed to the part. */
export function partMessage(lead: WorkMessage, part: PartPlan): WorkMessage {
  return {
    version: 1,
    runId: lead.runId,
    runAt: lead.runAt,
    accountId: lead.accountId,
    regions: [part.region],
    part: {
      id: part.id,
      region: part.region,
      clusters: [...part.clusters],
      ...(part.network ? { network: part.network } : {}),
    },
  };
}
