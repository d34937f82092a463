/**
 * EC2 reads per account and region: the launch template versions the clusters' managed node groups
 * run (IRSA-060). One ec2:DescribeLaunchTemplateVersions per template, with every version the node
 * groups name at once (numbers, `$Default`, `$Latest`).
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { loadEc2Sdk } from './aws-clients.ts';

/** A launch template as a node group names it: by id, else by name. */
export interface LaunchTemplateRef {
  readonly id?: string;
  readonly name?: string;
}

/**
 * `LaunchTemplateVersions` items (as `aws ec2 describe-launch-template-versions` prints them) of the
 * given versions of one template, following NextToken. Each version is answered once, however many
 * node groups name it.
 */
export async function describeLaunchTemplateVersions(
  ec2: EC2Client,
  template: LaunchTemplateRef,
  versions: readonly string[],
): Promise<Record<string, unknown>[]> {
  // Loaded on first use, as the client is.
  const { DescribeLaunchTemplateVersionsCommand } = await loadEc2Sdk();
  const items: Record<string, unknown>[] = [];
  let nextToken: string | undefined;
  do {
    const response = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        ...(template.id ? { LaunchTemplateId: template.id } : { LaunchTemplateName: template.name }),
        Versions: [...versions],
        NextToken: nextToken,
      }),
    );
    for (const version of response.LaunchTemplateVersions ?? []) items.push({ ...version });
    nextToken = response.NextToken || undefined;
  } while (nextToken);
  return items;
}
