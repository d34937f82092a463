import { describe, expect, it } from 'vitest';
import { parseNodegroupsFile } from '../../snapshot/parse-files.ts';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { healthyIrsa } from '../../testing/fleet-builder.ts';
import { nodesWith, SECURE, TEMPLATE_ID, useLaunchTemplate } from '../../testing/node-fixtures.ts';
import { check } from './check.ts';

const GENERAL = { cluster: 'demo', resource: 'nodegroup/general' };
const CLUSTER = { cluster: 'demo', resource: undefined };

describeCheck(check, {
  pass: [
    {
      name: 'IMDSv2 required with hop limit 1 (the default version, pinned as 3)',
      fleet: nodesWith(() => {}),
    },
    {
      name: 'the metadata endpoint disabled, even with IMDSv1 allowed',
      fleet: nodesWith((h) => {
        h.cluster.nodeGroups.launchTemplateVersions.length = 0;
        h.cluster.launchTemplateVersion(
          TEMPLATE_ID,
          3,
          { httpTokens: 'optional', httpPutResponseHopLimit: 2, httpEndpoint: 'disabled' },
          { defaultVersion: true },
        );
      }),
    },
    {
      name: 'version 3 pinned: a worse $Latest (5) is not what the node group runs',
      fleet: nodesWith((h) => {
        h.cluster.launchTemplateVersion(TEMPLATE_ID, 5, { ...SECURE, httpTokens: 'optional' });
      }),
    },
    {
      name: 'no managed node group, EKS Auto Mode: not exposed',
      fleet: () => {
        const h = healthyIrsa();
        h.cluster.nodeGroups; // nodegroups.json read, no node group listed
        h.cluster.autoMode();
        return h.fleet.build();
      },
    },
    {
      name: 'no managed node group, every running pod on Fargate: not exposed',
      fleet: () => {
        const h = healthyIrsa();
        h.cluster.nodeGroups;
        for (const pod of h.pods)
          (pod.labels as Record<string, string>)['eks.amazonaws.com/fargate-profile'] = 'fp-default';
        return h.fleet.build();
      },
    },
  ],
  fail: [
    {
      name: 'IMDSv1 allowed with hop limit 1: the token-less request is not hop-limited',
      fleet: nodesWith((h) => {
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
        'IMDSv1 is allowed',
        'demo-nodes',
        'create-launch-template-version --region us-west-2 --launch-template-id lt-0a1b2c3d4e5f60001 --source-version 3',
        'update-nodegroup-version --cluster-name demo --nodegroup-name general',
      ],
      absent: ['HttpPutResponseHopLimit is'],
    },
    {
      name: 'IMDSv2 required but hop limit 2',
      fleet: nodesWith((h) => {
        h.cluster.nodeGroups.launchTemplateVersions.length = 0;
        h.cluster.launchTemplateVersion(
          TEMPLATE_ID,
          3,
          { ...SECURE, httpPutResponseHopLimit: 2 },
          { defaultVersion: true },
        );
      }),
      expect: [GENERAL],
      mentions: ['HttpPutResponseHopLimit is 2'],
      absent: ['IMDSv1 is allowed'],
    },
    {
      name: 'hop limit 3 alone decides, HttpTokens unset (v1 or v2, pods get through)',
      fleet: nodesWith((h) => {
        h.cluster.nodeGroups.launchTemplateVersions.length = 0;
        h.cluster.launchTemplateVersion(
          TEMPLATE_ID,
          3,
          { httpTokens: null, httpPutResponseHopLimit: 3, httpEndpoint: null },
          { defaultVersion: true },
        );
      }),
      expect: [GENERAL],
    },
    {
      name: '$Latest resolves to the highest version read (5, IMDSv1), not the default (3)',
      fleet: nodesWith((h) => {
        useLaunchTemplate(h, 'general', { id: TEMPLATE_ID, name: 'demo-general', version: '$Latest' });
        h.cluster.launchTemplateVersion(TEMPLATE_ID, 5, { ...SECURE, httpTokens: 'optional' });
      }),
      expect: [GENERAL],
      mentions: ['version 5 ($Latest)'],
    },
    {
      name: 'no version named: the default (4, hop limit 2), not the latest (5, secure)',
      fleet: nodesWith((h) => {
        useLaunchTemplate(h, 'general', { id: TEMPLATE_ID, name: null, version: null });
        h.cluster.nodeGroups.launchTemplateVersions.length = 0;
        h.cluster.launchTemplateVersion(
          TEMPLATE_ID,
          4,
          { ...SECURE, httpPutResponseHopLimit: 2 },
          { defaultVersion: true },
        );
        h.cluster.launchTemplateVersion(TEMPLATE_ID, 5, SECURE);
      }),
      expect: [GENERAL],
      mentions: ['version 4 ($Default)'],
    },
    {
      name: 'a template named by name only: matched by name, fixed by name',
      fleet: nodesWith((h) => {
        useLaunchTemplate(h, 'general', { id: null, name: 'gpu-nodes', version: '1' });
        h.cluster.launchTemplateVersion(
          'lt-0ffffffffffffffff',
          1,
          { ...SECURE, httpTokens: 'optional' },
          { name: 'gpu-nodes' },
        );
      }),
      expect: [GENERAL],
      mentions: ['--launch-template-name gpu-nodes', 'name=gpu-nodes,version=NEW_VERSION'],
    },
    {
      name: 'two node groups: only the exposed one fails',
      fleet: nodesWith((h) => {
        h.cluster.nodeGroup('batch', h.nodeRole.arn, { id: 'lt-0b0b0b0b0b0b0b0b0', version: '1' });
        h.cluster.launchTemplateVersion('lt-0b0b0b0b0b0b0b0b0', 1, { ...SECURE, httpPutResponseHopLimit: 2 });
      }),
      expect: [{ cluster: 'demo', resource: 'nodegroup/batch' }],
    },
  ],
  notEvaluated: [
    {
      name: 'nodegroups.json absent (an older snapshot): never failed',
      fleet: () => healthyIrsa().fleet.build(),
      expect: [CLUSTER],
    },
    {
      name: 'no launch template of its own: EKS generated one, not seen',
      fleet: nodesWith((h) => {
        useLaunchTemplate(h, 'general', null);
      }),
      expect: [GENERAL],
    },
    {
      name: 'IMDSv2 required, hop limit not set (the AMI and account defaults decide)',
      fleet: nodesWith((h) => {
        h.cluster.nodeGroups.launchTemplateVersions.length = 0;
        h.cluster.launchTemplateVersion(
          TEMPLATE_ID,
          3,
          { ...SECURE, httpPutResponseHopLimit: null },
          { defaultVersion: true },
        );
      }),
      expect: [GENERAL],
    },
    {
      name: 'the version sets no metadata options at all',
      fleet: nodesWith((h) => {
        h.cluster.nodeGroups.launchTemplateVersions.length = 0;
        h.cluster.launchTemplateVersion(TEMPLATE_ID, 3, null, { defaultVersion: true });
      }),
      expect: [GENERAL],
    },
    {
      name: 'the named version is not in the snapshot',
      fleet: nodesWith((h) => {
        h.cluster.nodeGroups.launchTemplateVersions.length = 0;
        h.cluster.launchTemplateVersion(TEMPLATE_ID, 2, SECURE, { defaultVersion: true });
      }),
      expect: [GENERAL],
    },
    {
      name: 'listed but not described',
      fleet: nodesWith((h) => {
        h.cluster.nodeGroups.names.push('spot');
      }),
      expect: [{ cluster: 'demo', resource: 'nodegroup/spot' }],
    },
    {
      name: 'no managed node group, no Auto Mode, pods not on Fargate: self-managed nodes, not visible',
      fleet: () => {
        const h = healthyIrsa();
        h.cluster.nodeGroups;
        return h.fleet.build();
      },
      expect: [CLUSTER],
    },
    {
      name: 'no managed node group and the pods could not be read',
      fleet: () => {
        const h = healthyIrsa();
        h.cluster.nodeGroups;
        h.cluster.kubernetes.pods = null;
        return h.fleet.build();
      },
      expect: [CLUSTER],
    },
  ],
});

describe('IRSA-060 messages', () => {
  it('a pass on hop limit 1 says hostNetwork pods still reach the metadata', () => {
    const [result] = runCheck(check, nodesWith(() => {})());
    expect(result?.status).toBe('pass');
    expect(result?.message).toContain('hostNetwork pods still can');
  });

  it('the Fargate-only pass says not exposed; one pod off Fargate makes it not evaluated', () => {
    const h = healthyIrsa();
    h.cluster.nodeGroups;
    const [first, second] = h.pods;
    (first?.labels as Record<string, string>)['eks.amazonaws.com/fargate-profile'] = 'fp';
    const [result] = runCheck(check, h.fleet.build());
    expect(result?.status).toBe('not-evaluated');
    expect(result?.message).toContain(`shop/${second?.name}`);
  });
});

describe('nodegroups.json', () => {
  it('reads the node groups and the launch template versions, extra fields ignored', () => {
    const parsed = parseNodegroupsFile(
      JSON.stringify({
        nodegroups: ['general'],
        described: [
          {
            nodegroup: {
              nodegroupName: 'general',
              nodeRole: 'arn:aws:iam::111122223333:role/demo-nodes',
              launchTemplate: { id: TEMPLATE_ID, name: 'demo-general', version: '3' },
              scalingConfig: { minSize: 1 },
            },
          },
        ],
        launchTemplateVersions: [
          {
            LaunchTemplateId: TEMPLATE_ID,
            VersionNumber: 3,
            DefaultVersion: true,
            LaunchTemplateData: { MetadataOptions: { HttpTokens: 'optional' }, ImageId: 'ami-1' },
          },
        ],
      }),
    );
    expect(parsed.ok && parsed.value.described.get('general')?.launchTemplate).toEqual({
      id: TEMPLATE_ID,
      name: 'demo-general',
      version: '3',
    });
    expect(parsed.ok && parsed.value.launchTemplateVersions[0]?.metadataOptions).toEqual({
      httpTokens: 'optional',
      httpPutResponseHopLimit: null,
      httpEndpoint: null,
    });
  });

  it('refuses a node group name EKS would never return, naming the field', () => {
    const parsed = parseNodegroupsFile(JSON.stringify({ nodegroups: ['$(reboot)'] }));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problem.field).toBe('nodegroups[0]');
  });
});
