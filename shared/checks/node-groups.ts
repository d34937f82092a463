/**
 * What the node-role exposure checks (IRSA-060, IRSA-061) share: each EKS managed node group of a
 * cluster as a subject (`nodegroup/<name>`), the launch template version it runs, and what a
 * cluster without managed node groups runs its pods on (EKS Auto Mode, Fargate, or nodes EKS does
 * not show: self-managed). docs/checks.md, "Node-role exposure", has the decisions.
 */
import { type AuditContext, isActivePod } from '../engine/audit-context.ts';
import type { Cluster, ClusterNodeGroups, LaunchTemplateVersion, NodeGroup } from '../model/fleet.ts';
import { parseRoleArn } from '../policy/aws-names.ts';
import { clusterSubject, type ResultBuilder } from './results.ts';
import type { CheckResult, Subject } from './types.ts';

export const NODE_IMDS_REFERENCE =
  'https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html#_restrict_access_to_the_instance_profile_assigned_to_the_worker_node';
export const LAUNCH_TEMPLATE_REFERENCE =
  'https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html';
export const NODE_ROLE_REFERENCE = 'https://docs.aws.amazon.com/eks/latest/userguide/create-node-role.html';

/** The label Fargate puts on every pod it runs (the profile that selected it). */
export const FARGATE_PROFILE_LABEL = 'eks.amazonaws.com/fargate-profile';

/** A node group as a result's subject: the cluster, the node group in `resource`, its node role. */
export function nodeGroupSubject(
  cluster: Cluster,
  nodeGroup: string,
  roleName: string | null = null,
): Subject {
  return { ...clusterSubject(cluster), roleName, resource: `nodegroup/${nodeGroup}` };
}

/** The node role's account and name, from its ARN; null when the ARN is absent or not a role's. */
export function nodeRoleOf(nodeGroup: NodeGroup): { accountId: string; name: string; arn: string } | null {
  const arn = nodeGroup.nodeRole;
  if (arn === null) return null;
  const parsed = parseRoleArn(arn);
  return parsed.ok ? { accountId: parsed.arn.accountId, name: parsed.arn.name, arn } : null;
}

/**
 * The launch template version a node group runs, as EC2 resolves what DescribeNodegroup names: a
 * version number is that version; `$Default` (or no version: EKS then uses the default) the one
 * marked `DefaultVersion`; `$Latest` the highest version number read for the template (the
 * collector asks for `$Latest` with the others, so the latest is among them). Null: not in the
 * snapshot.
 */
export function resolveLaunchTemplateVersion(
  nodeGroups: ClusterNodeGroups,
  template: NonNullable<NodeGroup['launchTemplate']>,
): LaunchTemplateVersion | null {
  const versions = nodeGroups.launchTemplateVersions.filter((v) =>
    template.id !== null ? v.templateId === template.id : v.templateName === template.name,
  );
  const wanted = template.version ?? '$Default';
  if (/^\d+$/.test(wanted)) return versions.find((v) => v.versionNumber === Number(wanted)) ?? null;
  if (wanted === '$Default') return versions.find((v) => v.defaultVersion) ?? null;
  if (wanted === '$Latest')
    return versions.reduce<LaunchTemplateVersion | null>(
      (latest, v) => (latest === null || v.versionNumber > latest.versionNumber ? v : latest),
      null,
    );
  return null;
}

/** The launch template's name for messages: `name (lt-id)`, or whichever is known. */
export function templateLabel(template: NonNullable<NodeGroup['launchTemplate']>): string {
  if (template.name && template.id) return `${template.name} (${template.id})`;
  return template.name ?? template.id ?? 'launch template';
}

/**
 * Whether pods can reach the instance metadata of nodes launched with these metadata options:
 * - `disabled`: HttpEndpoint disabled: no IMDS at all;
 * - `reachable`: IMDSv1 allowed (HttpTokens `optional`: a token-less GET, which no hop limit
 *   stops), or a PUT response hop limit above 1 (an IMDSv2 token crosses the pod network's hop):
 *   either alone decides;
 * - `blocked`: IMDSv2 required and hop limit 1: pods on the pod network get no token (pods with
 *   `hostNetwork: true` still do: they share the node's network namespace);
 * - `unknown`: a field that decides is not set in the template: EC2 then applies the AMI's
 *   (ImdsSupport) and the account's IMDS defaults, which the snapshot does not hold.
 */
export type ImdsVerdict =
  | { readonly kind: 'disabled' }
  | { readonly kind: 'reachable'; readonly reasons: readonly string[] }
  | { readonly kind: 'blocked' }
  | { readonly kind: 'unknown'; readonly missing: readonly string[] };

export function imdsVerdict(options: LaunchTemplateVersion['metadataOptions']): ImdsVerdict {
  if (options?.httpEndpoint === 'disabled') return { kind: 'disabled' };
  const tokens = options?.httpTokens ?? null;
  const hops = options?.httpPutResponseHopLimit ?? null;
  const reasons: string[] = [];
  if (tokens === 'optional')
    reasons.push(
      'IMDSv1 is allowed (HttpTokens optional): a token-less request from any pod gets the credentials',
    );
  if (hops !== null && hops > 1)
    reasons.push(
      `HttpPutResponseHopLimit is ${hops}: an IMDSv2 token reaches pods behind the node's network hop`,
    );
  if (reasons.length > 0) return { kind: 'reachable', reasons };
  const missing: string[] = [];
  if (tokens !== 'required') missing.push('HttpTokens');
  if (hops === null) missing.push('HttpPutResponseHopLimit');
  if (missing.length > 0) return { kind: 'unknown', missing };
  return { kind: 'blocked' };
}

/**
 * What a cluster without managed node groups runs its pods on:
 * - `auto-mode`: EKS Auto Mode (DescribeCluster `computeConfig.enabled`): its nodes are EC2 managed
 *   instances whose metadata options EKS sets (IMDSv2 required, hop limit 1), not the owner;
 * - `fargate`: every running pod carries Fargate's profile label: Fargate gives pods no instance
 *   metadata and no node role;
 * - `unseen`: pods run elsewhere (self-managed nodes, which EKS does not list), or the pods are
 *   unknown: nothing to judge, never a pass.
 */
export type NodelessCompute =
  | { readonly kind: 'auto-mode' }
  | { readonly kind: 'fargate'; readonly pods: number }
  | { readonly kind: 'unseen'; readonly why: string };

export function nodelessCompute(cluster: Cluster): NodelessCompute {
  if (cluster.info?.autoMode === true) return { kind: 'auto-mode' };
  const pods = cluster.kubernetes?.pods ?? null;
  if (pods === null)
    return {
      kind: 'unseen',
      why: 'no managed node group and no EKS Auto Mode, and the pods could not be read to tell whether they run on Fargate',
    };
  const running = pods.filter(isActivePod);
  const elsewhere = running.filter((p) => !(FARGATE_PROFILE_LABEL in p.labels));
  if (running.length > 0 && elsewhere.length === 0) return { kind: 'fargate', pods: running.length };
  if (running.length === 0)
    return {
      kind: 'unseen',
      why: 'no managed node group, no EKS Auto Mode and no running pod: what nodes the cluster has (self-managed ones) is not visible through EKS',
    };
  return {
    kind: 'unseen',
    why: `no managed node group and no EKS Auto Mode, yet ${elsewhere.length} running pod(s) are not on Fargate (e.g. ${elsewhere[0]?.namespace}/${elsewhere[0]?.name}): they run on self-managed nodes, which EKS does not list, so their metadata options and node role are not visible`,
  };
}

/** The node groups of a cluster in name order, each with its description (null: listed, not described). */
export function listedNodeGroups(nodeGroups: ClusterNodeGroups): { name: string; group: NodeGroup | null }[] {
  return [...nodeGroups.names]
    .sort()
    .map((name) => ({ name, group: nodeGroups.described.get(name) ?? null }));
}

/** What a node-role check says, in its own words, of a cluster that has no managed node group. */
export interface NodelessWording {
  /** The pass of a cluster on EKS Auto Mode. */
  readonly autoMode: (cluster: Cluster) => { message: string; evidence: Record<string, unknown> };
  /** The pass of a cluster whose running pods all run on Fargate. */
  readonly fargate: (
    cluster: Cluster,
    pods: number,
  ) => { message: string; evidence: Record<string, unknown> };
  /** The evidence of the not-evaluated result when what runs the pods is unknown. */
  readonly unknownEvidence?: Record<string, unknown>;
}

/**
 * The walk IRSA-060 and IRSA-061 share: per cluster, not evaluated without nodegroups.json; one
 * cluster-level result without managed node groups (Auto Mode and Fargate pass, anything else is
 * not evaluated); per node group, not evaluated when it was listed but not described, else the
 * check's `judge`. Node groups in name order.
 */
export function perNodeGroup(
  context: AuditContext,
  results: ResultBuilder,
  nodeless: NodelessWording,
  judge: (cluster: Cluster, nodeGroups: ClusterNodeGroups, name: string, group: NodeGroup) => CheckResult,
): CheckResult[] {
  const out: CheckResult[] = [];
  for (const cluster of context.clusters) {
    const nodeGroups = cluster.nodeGroups ?? null;
    if (nodeGroups === null) {
      out.push(results.notEvaluated(clusterSubject(cluster), 'nodegroups.json is absent or invalid'));
      continue;
    }
    if (nodeGroups.names.length === 0) {
      const compute = nodelessCompute(cluster);
      const subject = clusterSubject(cluster);
      if (compute.kind === 'auto-mode') {
        const { message, evidence } = nodeless.autoMode(cluster);
        out.push(results.pass(subject, message, evidence));
      } else if (compute.kind === 'fargate') {
        const { message, evidence } = nodeless.fargate(cluster, compute.pods);
        out.push(results.pass(subject, message, evidence));
      } else out.push(results.notEvaluated(subject, compute.why, nodeless.unknownEvidence));
      continue;
    }
    for (const { name, group } of listedNodeGroups(nodeGroups)) {
      out.push(
        group === null
          ? results.notEvaluated(
              nodeGroupSubject(cluster, name),
              `node group ${name} was listed but not described`,
            )
          : judge(cluster, nodeGroups, name, group),
      );
    }
  }
  return out;
}
