import { describe, expect, it } from 'vitest';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { healthyIrsa } from '../../testing/fleet-builder.ts';
import {
  nodesWith,
  SECURE,
  setNodeRolePolicies,
  TEMPLATE_ID,
  useLaunchTemplate,
  WORKER_POLICY_ARNS,
} from '../../testing/node-fixtures.ts';
import { check } from './check.ts';

const GENERAL = { cluster: 'demo', resource: 'nodegroup/general', roleName: 'demo-nodes' };
const CLUSTER = { cluster: 'demo', resource: undefined };

/** The node role `demo-nodes` with these policies instead of the worker-node ones. */
function nodeRolePolicies(policies: { attached?: string[]; inline?: string[] } | null) {
  return nodesWith((h) => setNodeRolePolicies(h, policies));
}

describeCheck(check, {
  pass: [
    { name: 'the three worker-node managed policies', fleet: nodesWith(() => {}) },
    {
      name: 'the pull-only registry policy and the Auto Mode minimal worker policy',
      fleet: nodeRolePolicies({
        attached: [
          'arn:aws:iam::aws:policy/AmazonEKSWorkerNodeMinimalPolicy',
          'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly',
        ],
      }),
    },
    {
      name: 'no managed node group, EKS Auto Mode',
      fleet: () => {
        const h = healthyIrsa();
        h.cluster.nodeGroups;
        h.cluster.autoMode();
        return h.fleet.build();
      },
    },
  ],
  fail: [
    {
      name: 'AmazonS3FullAccess attached, on nodes whose metadata pods reach',
      fleet: nodesWith((h) => {
        setNodeRolePolicies(h, {
          attached: [...WORKER_POLICY_ARNS, 'arn:aws:iam::aws:policy/AmazonS3FullAccess'],
        });
        h.cluster.nodeGroups.launchTemplateVersions.length = 0;
        h.cluster.launchTemplateVersion(
          TEMPLATE_ID,
          3,
          { ...SECURE, httpTokens: 'optional' },
          { defaultVersion: true },
        );
      }),
      expect: [GENERAL],
      mentions: [
        'AmazonS3FullAccess (aws-managed)',
        'pods on these nodes reach the metadata (IRSA-060)',
        'aws iam detach-role-policy --role-name demo-nodes --policy-arn arn:aws:iam::aws:policy/AmazonS3FullAccess',
      ],
      absent: ['AmazonEKSWorkerNodePolicy --'],
    },
    {
      name: 'a customer-managed policy named like the worker policy is not the worker policy',
      fleet: nodeRolePolicies({ attached: [...WORKER_POLICY_ARNS.slice(1), 'AmazonEKSWorkerNodePolicy'] }),
      expect: [GENERAL],
      mentions: [
        'AmazonEKSWorkerNodePolicy (customer-managed, contents not read)',
        'today only hostNetwork pods',
      ],
    },
    {
      name: 'an inline policy',
      fleet: nodeRolePolicies({ attached: [...WORKER_POLICY_ARNS], inline: ['read-secrets'] }),
      expect: [GENERAL],
      mentions: [
        'read-secrets (inline)',
        'aws iam delete-role-policy --role-name demo-nodes --policy-name read-secrets',
      ],
    },
    {
      name: 'AmazonSSMManagedInstanceCore: every SSM parameter of the account',
      fleet: nodeRolePolicies({
        attached: [...WORKER_POLICY_ARNS, 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore'],
      }),
      expect: [GENERAL],
      mentions: ['ssm:GetParameter'],
    },
    {
      name: 'a node group on EKS-generated launch template: the role is still judged',
      fleet: nodesWith((h) => {
        useLaunchTemplate(h, 'general', null);
        setNodeRolePolicies(h, { attached: [...WORKER_POLICY_ARNS], inline: ['extra'] });
      }),
      expect: [GENERAL],
      mentions: ['is not known (IRSA-060)'],
    },
  ],
  notEvaluated: [
    {
      name: "the node role's policies are not in the snapshot",
      fleet: nodeRolePolicies(null),
      expect: [GENERAL],
    },
    {
      name: 'the node role does not exist',
      fleet: nodesWith((h) => {
        const iam = h.account.iam;
        if (iam) iam.roles = iam.roles.filter((r) => r.name !== 'demo-nodes');
      }),
      expect: [GENERAL],
    },
    {
      name: 'nodegroups.json absent',
      fleet: () => healthyIrsa().fleet.build(),
      expect: [CLUSTER],
    },
    {
      name: 'no managed node group, pods not on Fargate (self-managed nodes)',
      fleet: () => {
        const h = healthyIrsa();
        h.cluster.nodeGroups;
        return h.fleet.build();
      },
      expect: [CLUSTER],
    },
  ],
});

describe('IRSA-061 evidence', () => {
  it('lists the worker-node policies held and each excess one with its kind', () => {
    const fleet = nodeRolePolicies({
      attached: [...WORKER_POLICY_ARNS, 'arn:aws:iam::aws:policy/AmazonS3FullAccess', 'team-extra'],
    })();
    const [result] = runCheck(check, fleet);
    expect(result?.evidence.workerNodePolicies).toEqual([
      'AmazonEKSWorkerNodePolicy',
      'AmazonEC2ContainerRegistryReadOnly',
      'AmazonEKS_CNI_Policy',
    ]);
    expect(result?.evidence.excessAttached).toEqual([
      { name: 'AmazonS3FullAccess', arn: 'arn:aws:iam::aws:policy/AmazonS3FullAccess', kind: 'aws-managed' },
      { name: 'team-extra', arn: 'arn:aws:iam::111122223333:policy/team-extra', kind: 'customer-managed' },
    ]);
  });
});
