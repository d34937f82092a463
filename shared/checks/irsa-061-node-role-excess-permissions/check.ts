import type { AuditContext } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { Cluster, ClusterNodeGroups, NodeGroup } from '../../model/fleet.ts';
import { sh } from '../../sinks/shell.ts';
import {
  imdsVerdict,
  NODE_IMDS_REFERENCE,
  NODE_ROLE_REFERENCE,
  nodeGroupSubject,
  nodeRoleOf,
  perNodeGroup,
  resolveLaunchTemplateVersion,
} from '../node-groups.ts';
import { resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-061',
  name: 'node-role-excess-permissions',
  title: 'The node role of a managed node group holds more than the worker-node managed policies',
  severity: 'medium',
  scope: 'node-group',
  risk: 'Whatever the node role holds, every pod that reaches the node\'s instance metadata gets (IRSA-060, and hostNetwork pods always): a pod whose IRSA injection failed works "by accident" with it, and a compromised pod gets it all.',
  remediation:
    'Move the extra permissions to roles of the pods that need them (IRSA or Pod Identity), then detach them from the node role.',
  references: [NODE_ROLE_REFERENCE, NODE_IMDS_REFERENCE],
};

/**
 * The AWS-managed policies a node needs (the EKS user guide's node role; the CNI policy where the
 * VPC CNI still uses the node role; Auto Mode's minimal worker policy). Matched by ARN, AWS-managed
 * only: a customer-managed policy of the same name is not one of them.
 */
export const WORKER_NODE_POLICIES: readonly string[] = [
  'AmazonEKSWorkerNodePolicy',
  'AmazonEKSWorkerNodeMinimalPolicy',
  'AmazonEC2ContainerRegistryReadOnly',
  'AmazonEC2ContainerRegistryPullOnly',
  'AmazonEKS_CNI_Policy',
];

/** Why a policy commonly attached to node roles is still counted: what a pod would get from it. */
const NOTES: Readonly<Record<string, string>> = {
  AmazonSSMManagedInstanceCore:
    'ssm:GetParameter and ssm:GetParameters on every parameter of the account, and Session Manager channels',
};

const results = resultsFor(metadata);

function awsManagedName(arn: string): string | null {
  return /^arn:[^:]+:iam::aws:policy\/(?:.*\/)?([^/]+)$/.exec(arn)?.[1] ?? null;
}

/** Whether pods reach this node group's metadata, as IRSA-060 judges it, in words. */
function reach(nodeGroups: ClusterNodeGroups, group: NodeGroup): string {
  const template = group.launchTemplate;
  const version = template ? resolveLaunchTemplateVersion(nodeGroups, template) : null;
  if (!version) return 'whether pods on the pod network reach the metadata is not known (IRSA-060)';
  const verdict = imdsVerdict(version.metadataOptions);
  if (verdict.kind === 'reachable') return 'pods on these nodes reach the metadata (IRSA-060)';
  if (verdict.kind === 'blocked')
    return 'today only hostNetwork pods reach the metadata (IMDSv2, hop limit 1)';
  if (verdict.kind === 'disabled') return 'the metadata endpoint is disabled on these nodes';
  return 'whether pods on the pod network reach the metadata is not known (IRSA-060)';
}

function judge(
  context: AuditContext,
  cluster: Cluster,
  nodeGroups: ClusterNodeGroups,
  name: string,
  group: NodeGroup,
): CheckResult {
  const role = nodeRoleOf(group);
  const subject = nodeGroupSubject(cluster, name, role?.name ?? null);
  if (role === null)
    return results.notEvaluated(
      subject,
      `node group ${name} names no node role ARN (${group.nodeRole ?? 'none'})`,
    );
  const resolved = context.resolveRole(role.arn);
  if (resolved.kind === 'unaudited') return results.notEvaluated(subject, resolved.why);
  if (resolved.kind === 'missing')
    return results.notEvaluated(
      subject,
      `node role ${role.name} is not among the roles of account ${role.accountId}`,
    );
  const policies = resolved.account.iam?.rolePolicies.get(role.name);
  if (!policies)
    return results.notEvaluated(subject, `the policies of node role ${role.name} are not in the snapshot`);
  const worker: string[] = [];
  const excess: { name: string; arn: string; kind: 'aws-managed' | 'customer-managed'; note?: string }[] = [];
  for (const policy of policies.attached) {
    const managed = awsManagedName(policy.arn);
    if (managed !== null && WORKER_NODE_POLICIES.includes(managed)) worker.push(managed);
    else
      excess.push({
        name: policy.name,
        arn: policy.arn,
        kind: managed === null ? 'customer-managed' : 'aws-managed',
        ...(managed !== null && NOTES[managed] ? { note: NOTES[managed] } : {}),
      });
  }
  const evidence = {
    nodegroup: name,
    nodeRole: role.arn,
    workerNodePolicies: worker,
    excessAttached: excess,
    inlinePolicies: policies.inline,
  };
  if (excess.length === 0 && policies.inline.length === 0)
    return results.pass(
      subject,
      `node role ${role.name} holds only worker-node managed policies${worker.length ? ` (${worker.join(', ')})` : ''}`,
      evidence,
    );
  const listed = [
    ...excess.map(
      (p) =>
        `${p.name} (${p.kind}${p.note ? `: ${p.note}` : p.kind === 'customer-managed' ? ', contents not read' : ''})`,
    ),
    ...policies.inline.map((p) => `${p} (inline)`),
  ];
  const fix = [
    '# 1. give the pods that use these permissions their own role (IRSA or Pod Identity) first',
    ...excess.map((p) => sh`aws iam detach-role-policy --role-name ${role.name} --policy-arn ${p.arn}`),
    ...policies.inline.map((p) => sh`aws iam delete-role-policy --role-name ${role.name} --policy-name ${p}`),
  ].join('\n');
  return results.fail(
    subject,
    `Node role ${role.name} of node group ${name} (cluster ${cluster.name}) holds more than the worker-node managed policies: ${listed.join(', ')}. Every pod that reaches the node's instance metadata gets them; ${reach(nodeGroups, group)}.`,
    evidence,
    fix,
  );
}

/** IRSA-061: a managed node group's node role holds only the worker-node managed policies. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  // The node role's policies: those of the role the result names (subject-role), in its account.
  reads: [...reads('cluster', 'cluster', 'node-groups'), ...reads('subject-role', 'iam', 'role-policies')],
  evaluate(context) {
    return perNodeGroup(
      context,
      results,
      {
        autoMode: (cluster) => ({
          message: `Cluster ${cluster.name} has no managed node group and runs on EKS Auto Mode: pods cannot reach its node role (IMDSv2, hop limit 1, set by EKS)`,
          evidence: { autoMode: true },
        }),
        fargate: (cluster, pods) => ({
          message: `Cluster ${cluster.name} runs its pods on Fargate only: no node role is reachable from them`,
          evidence: { fargatePods: pods },
        }),
      },
      (cluster, nodeGroups, name, group) => judge(context, cluster, nodeGroups, name, group),
    );
  },
};
