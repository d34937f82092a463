/** EKS reads per region: the clusters (ListClusters, DescribeCluster) and their Pod Identity associations. */
import {
  DescribeAddonCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  DescribePodIdentityAssociationCommand,
  type EKSClient,
  paginateListAddons,
  paginateListClusters,
  paginateListNodegroups,
  paginateListPodIdentityAssociations,
} from '@aws-sdk/client-eks';

export async function listClusters(eks: EKSClient): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListClusters({ client: eks, pageSize: 100 }, {}))
    names.push(...(page.clusters ?? []));
  return names.sort();
}

/** `aws eks describe-cluster` output: `{ cluster: {...} }`. */
export async function describeCluster(
  eks: EKSClient,
  name: string,
): Promise<{ cluster: Record<string, unknown> }> {
  const response = await eks.send(new DescribeClusterCommand({ name }));
  if (!response.cluster) throw new Error(`eks:DescribeCluster returned no cluster for ${name}`);
  return { cluster: response.cluster as Record<string, unknown> };
}

/** `{ associations: [...] }` of the cluster (summaries: namespace, serviceAccount, associationArn, associationId). */
export async function listPodIdentityAssociations(
  eks: EKSClient,
  clusterName: string,
): Promise<{ associations: Record<string, unknown>[] }> {
  const associations: Record<string, unknown>[] = [];
  for await (const page of paginateListPodIdentityAssociations(
    { client: eks, pageSize: 100 },
    { clusterName },
  )) {
    for (const a of page.associations ?? []) associations.push({ ...a });
  }
  return { associations };
}

/** How many DescribePodIdentityAssociation calls of one cluster run at once. */
const DESCRIBE_CONCURRENCY = 4;

/**
 * Adds to each listed association the role it names (`roleArn`, and `targetRoleArn` when set),
 * which only eks:DescribePodIdentityAssociation returns (PODID-001, 002, 006): one call per
 * association. An association whose describe failed keeps no role; its error is returned.
 */
export async function describePodIdentityAssociations(
  eks: EKSClient,
  clusterName: string,
  associations: Record<string, unknown>[],
): Promise<unknown[]> {
  const errors: unknown[] = [];
  const pending = associations.filter((a) => typeof a.associationId === 'string');
  const worker = async (): Promise<void> => {
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
      const association = next;
      try {
        const response = await eks.send(
          new DescribePodIdentityAssociationCommand({
            clusterName,
            associationId: association.associationId as string,
          }),
        );
        const described = response.association;
        if (described?.roleArn !== undefined) association.roleArn = described.roleArn;
        if (described?.targetRoleArn !== undefined) association.targetRoleArn = described.targetRoleArn;
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: DESCRIBE_CONCURRENCY }, worker));
  return errors;
}

export const POD_IDENTITY_AGENT_ADDON = 'eks-pod-identity-agent';

/**
 * `addons.json` of the cluster (docs/fleet-format.md): the add-on names (eks:ListAddons), and
 * eks:DescribeAddon of the Pod Identity agent only when it is listed (PODID-004).
 */
export async function listAddons(
  eks: EKSClient,
  clusterName: string,
): Promise<{ addons: string[]; described: { addon: Record<string, unknown> }[] }> {
  const addons: string[] = [];
  for await (const page of paginateListAddons({ client: eks, pageSize: 100 }, { clusterName }))
    addons.push(...(page.addons ?? []));
  const described: { addon: Record<string, unknown> }[] = [];
  if (addons.includes(POD_IDENTITY_AGENT_ADDON)) {
    try {
      const response = await eks.send(
        new DescribeAddonCommand({ clusterName, addonName: POD_IDENTITY_AGENT_ADDON }),
      );
      if (response.addon) described.push({ addon: { ...response.addon } as Record<string, unknown> });
    } catch (error) {
      throw new AddonDescribeError(error, { addons, described });
    }
  }
  return { addons, described };
}

/** DescribeAddon failed: the names were listed (they are kept), the agent's state is unknown. */
export class AddonDescribeError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly listed: { addons: string[]; described: { addon: Record<string, unknown> }[] },
  ) {
    super('eks:DescribeAddon failed');
  }
}

/** The managed node groups of a cluster: the names, and each one's DescribeNodegroup `nodegroup`. */
export interface ListedNodegroups {
  nodegroups: string[];
  described: { nodegroup: Record<string, unknown> }[];
}

/**
 * The cluster's EKS managed node groups (IRSA-060, 061): eks:ListNodegroups (paged), then
 * eks:DescribeNodegroup of each (its node role and launch template), a few at once. A node group
 * whose describe failed is left out of `described`; the first failure is returned with the rest.
 */
export async function listNodegroups(
  eks: EKSClient,
  clusterName: string,
): Promise<{ listed: ListedNodegroups; describeError: unknown }> {
  const nodegroups: string[] = [];
  for await (const page of paginateListNodegroups({ client: eks, pageSize: 100 }, { clusterName }))
    nodegroups.push(...(page.nodegroups ?? []));
  nodegroups.sort();
  const described = new Map<string, Record<string, unknown>>();
  let describeError: unknown;
  const pending = [...nodegroups];
  const worker = async (): Promise<void> => {
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
      const nodegroupName = next;
      try {
        const response = await eks.send(new DescribeNodegroupCommand({ clusterName, nodegroupName }));
        if (response.nodegroup)
          described.set(nodegroupName, { ...response.nodegroup } as Record<string, unknown>);
      } catch (error) {
        describeError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: DESCRIBE_CONCURRENCY }, worker));
  return {
    listed: {
      nodegroups,
      described: nodegroups.flatMap((name) => {
        const nodegroup = described.get(name);
        return nodegroup ? [{ nodegroup }] : [];
      }),
    },
    describeError,
  };
}
