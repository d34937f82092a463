/** EKS reads per region: the clusters (ListClusters, DescribeCluster) and their Pod Identity associations. */
import {
  DescribeClusterCommand,
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
