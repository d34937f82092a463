/**
 * Fixtures of the node-role exposure checks (IRSA-060, IRSA-061): the healthy IRSA setup of
 * fleet-builder.ts plus one managed node group, `general`, on launch template `lt-0a1b2c3d4e5f60001`
 * version 3 (the default: IMDSv2 required, hop limit 1), whose node role `demo-nodes` holds the
 * three worker-node managed policies. A fixture then changes exactly one thing.
 */
import type { Fleet, NodeGroup, Role } from '../model/fleet.ts';
import { type HealthyIrsa, healthyIrsa } from './fleet-builder.ts';

export const TEMPLATE_ID = 'lt-0a1b2c3d4e5f60001';

export const EC2_TRUST = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

export const WORKER_POLICY_ARNS = [
  'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
  'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
  'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
];

export const SECURE = { httpTokens: 'required', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' };

export interface HealthyNodes extends HealthyIrsa {
  nodeRole: Role;
}

export function healthyNodes(): HealthyNodes {
  const h = healthyIrsa();
  const nodeRole = h.account.role('demo-nodes', EC2_TRUST, { attached: [...WORKER_POLICY_ARNS] });
  h.cluster.nodeGroup('general', nodeRole.arn, { id: TEMPLATE_ID, name: 'demo-general', version: '3' });
  h.cluster.launchTemplateVersion(TEMPLATE_ID, 3, SECURE, { name: 'demo-general', defaultVersion: true });
  return { ...h, nodeRole };
}

/** A fixture: {@link healthyNodes}, changed by `mutate`. */
export function nodesWith(mutate: (h: HealthyNodes) => void): () => Fleet {
  return () => {
    const h = healthyNodes();
    mutate(h);
    return h.fleet.build();
  };
}

/** Points node group `name` at another launch template (null: EKS generated its own). */
export function useLaunchTemplate(
  h: HealthyNodes,
  name: string,
  launchTemplate: NodeGroup['launchTemplate'],
): void {
  const group = h.cluster.nodeGroups.described.get(name);
  if (!group) throw new Error(`no node group ${name}`);
  h.cluster.nodeGroups.described.set(name, { ...group, launchTemplate });
}

/** Gives the node role `demo-nodes` these policies (null: none in the snapshot) instead of the worker-node ones. */
export function setNodeRolePolicies(
  h: HealthyNodes,
  policies: { attached?: string[]; inline?: string[] } | null,
): void {
  const iam = h.account.iam;
  if (!iam) throw new Error('no iam');
  iam.roles = iam.roles.filter((r) => r.name !== 'demo-nodes');
  iam.rolePolicies.delete('demo-nodes');
  h.account.role('demo-nodes', EC2_TRUST, policies);
}
