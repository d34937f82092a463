import { reads } from '../../engine/coverage.ts';
import type { Cluster, ClusterNodeGroups, NodeGroup } from '../../model/fleet.ts';
import { sh } from '../../sinks/shell.ts';
import {
  imdsVerdict,
  LAUNCH_TEMPLATE_REFERENCE,
  NODE_IMDS_REFERENCE,
  nodeGroupSubject,
  nodeRoleOf,
  perNodeGroup,
  resolveLaunchTemplateVersion,
  templateLabel,
} from '../node-groups.ts';
import { resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-060',
  name: 'node-imds-reachable',
  title:
    "A managed node group's launch template lets pods reach the node's instance metadata (IMDSv1, or hop limit above 1)",
  severity: 'high',
  scope: 'node-group',
  risk: "Any pod on those nodes can read the node role's credentials from 169.254.169.254: a pod whose IRSA injection failed silently runs as the node, and a compromised pod gets everything the node role holds.",
  remediation:
    'Give the pods that need AWS their own role (IRSA or Pod Identity), then require IMDSv2 with a hop limit of 1 in a new launch template version and roll the node group to it.',
  references: [NODE_IMDS_REFERENCE, LAUNCH_TEMPLATE_REFERENCE],
};

const results = resultsFor(metadata);

/** The fix: a new version of the template with IMDSv2 required and hop limit 1, and the node group on it. */
function remediation(
  cluster: Cluster,
  nodeGroup: NodeGroup,
  template: NonNullable<NodeGroup['launchTemplate']>,
  version: number,
): string {
  const data = JSON.stringify({
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
  });
  const which = template.id
    ? sh`--launch-template-id ${template.id}`
    : sh`--launch-template-name ${template.name ?? 'LAUNCH_TEMPLATE'}`;
  const reference = template.id ? sh`id=${template.id}` : sh`name=${template.name ?? 'LAUNCH_TEMPLATE'}`;
  return [
    '# 1. give every pod that calls AWS its own role first (IRSA or Pod Identity): with the metadata',
    '#    blocked, a pod that used the node role gets no credentials',
    `${sh`aws ec2 create-launch-template-version --region ${cluster.region}`} ${which} ${sh`--source-version ${version} --version-description ${'IMDSv2 required, hop limit 1'} --launch-template-data ${data} --query LaunchTemplateVersion.VersionNumber`}`,
    '# 2. roll the node group to the version it printed (its nodes are replaced):',
    `${sh`aws eks update-nodegroup-version --cluster-name ${cluster.name} --nodegroup-name ${nodeGroup.name} --region ${cluster.region} --launch-template`} ${reference},version=NEW_VERSION`,
  ].join('\n');
}

/** IRSA-060's verdict on one described node group: the launch template version it runs. */
function judge(cluster: Cluster, nodeGroups: ClusterNodeGroups, name: string, group: NodeGroup): CheckResult {
  const role = nodeRoleOf(group)?.name ?? null;
  const subject = nodeGroupSubject(cluster, name, role);
  const template = group.launchTemplate;
  const evidence: Record<string, unknown> = {
    nodegroup: name,
    nodeRole: group.nodeRole,
    amiType: group.amiType,
  };
  if (template === null) {
    return results.notEvaluated(
      subject,
      `node group ${name} has no launch template of its own: EKS generated one, whose metadata options DescribeNodegroup does not show (not seen; on a node: aws ec2 describe-instances --filters Name=tag:eks:nodegroup-name,Values=${name} --query 'Reservations[].Instances[].MetadataOptions')`,
      { ...evidence, launchTemplate: null },
    );
  }
  const version = resolveLaunchTemplateVersion(nodeGroups, template);
  const asked = template.version ?? '$Default';
  const label = templateLabel(template);
  if (version === null) {
    return results.notEvaluated(
      subject,
      `version ${asked} of launch template ${label} is not in the snapshot`,
      {
        ...evidence,
        launchTemplate: template,
      },
    );
  }
  const judged = {
    ...evidence,
    launchTemplate: { ...template, resolvedVersion: version.versionNumber },
    metadataOptions: version.metadataOptions,
  };
  const runs = `launch template ${label} version ${version.versionNumber}${/^\d+$/.test(asked) ? '' : ` (${asked})`}`;
  const verdict = imdsVerdict(version.metadataOptions);
  if (verdict.kind === 'disabled') {
    return results.pass(subject, `${runs} disables the metadata endpoint (HttpEndpoint disabled)`, judged);
  } else if (verdict.kind === 'blocked') {
    return results.pass(
      subject,
      `${runs} requires IMDSv2 with hop limit 1: pods on the pod network cannot reach the metadata (hostNetwork pods still can)`,
      judged,
    );
  } else if (verdict.kind === 'unknown') {
    return results.notEvaluated(
      subject,
      `${runs} does not set ${verdict.missing.join(' and ')}: EC2 applies the AMI's and the account's IMDS defaults, which the snapshot does not hold`,
      judged,
    );
  } else {
    return results.fail(
      subject,
      `Node group ${name} of cluster ${cluster.name} runs ${runs}, which lets pods reach the node's instance metadata: ${verdict.reasons.join('; ')}. Any pod there can take the node role${role ? ` ${role}` : ''}'s credentials.`,
      { ...judged, reasons: verdict.reasons },
      remediation(cluster, group, template, version.versionNumber),
    );
  }
}

/** IRSA-060: pods on a managed node group cannot reach the node's instance metadata. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  // The pods (to tell a Fargate-only cluster) are read only where no node group exists; a pod list
  // that could not be read leaves that result not evaluated by the check itself.
  reads: reads('cluster', 'cluster', 'node-groups', 'launch-templates'),
  evaluate(context) {
    return perNodeGroup(
      context,
      results,
      {
        autoMode: (cluster) => ({
          message: `Cluster ${cluster.name} has no managed node group and runs on EKS Auto Mode: not exposed (EKS sets the nodes' metadata options: IMDSv2 required, hop limit 1)`,
          evidence: { autoMode: true, nodegroups: [] },
        }),
        fargate: (cluster, pods) => ({
          message: `Cluster ${cluster.name} has no managed node group and its ${pods} running pod(s) all run on Fargate: not exposed (a Fargate pod has no node instance metadata)`,
          evidence: { fargatePods: pods, nodegroups: [] },
        }),
        unknownEvidence: { nodegroups: [] },
      },
      judge,
    );
  },
};
