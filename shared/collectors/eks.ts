/** EKS reads per region: the clusters (ListClusters, DescribeCluster) and their Pod Identity associations. */
import {
  DescribeClusterCommand,
  DescribePodIdentityAssociationCommand,
  type EKSClient,
  paginateListClusters,
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
