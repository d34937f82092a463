import { describe, expect, it } from 'vitest';
import {
  type DescribedCluster,
  type NetworkRoute,
  networkFor,
  partMessage,
  routeClusters,
} from './routing.ts';
import { parseWorkMessage, type WorkMessage } from './work-message.ts';

const CORE: NetworkRoute = { name: 'core', queueUrl: 'https://q/core', vpcIds: ['vpc-0aaaaaaaaaaaaaaa1'] };
const EDGE: NetworkRoute = {
  name: 'edge',
  queueUrl: 'https://q/edge',
  vpcIds: ['vpc-0bbbbbbbbbbbbbbb2', 'vpc-0ccccccccccccccc3'],
};

function described(
  region: string,
  name: string,
  vpc: { vpcId?: string; public?: boolean; private?: boolean; cidrs?: string[] } = {},
): DescribedCluster {
  return {
    region,
    name,
    cluster: {
      name,
      resourcesVpcConfig: {
        ...(vpc.vpcId ? { vpcId: vpc.vpcId } : {}),
        endpointPublicAccess: vpc.public ?? true,
        endpointPrivateAccess: vpc.private ?? false,
        publicAccessCidrs: vpc.cidrs ?? (vpc.public === false ? [] : ['0.0.0.0/0']),
      },
    },
  };
}

describe('networkFor: which network must audit a cluster', () => {
  const networks = [CORE, EDGE];

  it('a private-only cluster goes to the network that reaches its VPC', () => {
    const c = described('eu-west-1', 'a', { vpcId: 'vpc-0ccccccccccccccc3', public: false, private: true });
    expect(networkFor(c.cluster, { networks })?.name).toBe('edge');
  });

  it('a private-only cluster no network reaches stays with the lead (which reports it as AUDIT-002)', () => {
    const c = described('eu-west-1', 'a', { vpcId: 'vpc-0ddddddddddddddd4', public: false, private: true });
    expect(networkFor(c.cluster, { networks })).toBeNull();
  });

  it('a public cluster stays with the lead, even when a network reaches its VPC', () => {
    const c = described('eu-west-1', 'a', { vpcId: 'vpc-0aaaaaaaaaaaaaaa1', public: true, private: true });
    expect(networkFor(c.cluster, { networks })).toBeNull();
  });

  it("public CIDRs that exclude the hub's egress send a cluster with a private endpoint to a network", () => {
    const c = described('eu-west-1', 'a', {
      vpcId: 'vpc-0aaaaaaaaaaaaaaa1',
      public: true,
      private: true,
      cidrs: ['203.0.113.0/24'],
    });
    expect(networkFor(c.cluster, { networks, egressAddresses: ['198.51.100.7'] })?.name).toBe('core');
    // The egress is admitted: the lead reads it over the public endpoint.
    expect(networkFor(c.cluster, { networks, egressAddresses: ['203.0.113.9'] })).toBeNull();
    // Egress unknown: nothing says it is excluded.
    expect(networkFor(c.cluster, { networks })).toBeNull();
  });

  it('public CIDRs that exclude the egress, with the private endpoint off, leave it to the lead (AUDIT-002 PublicCidrs)', () => {
    const c = described('eu-west-1', 'a', {
      vpcId: 'vpc-0aaaaaaaaaaaaaaa1',
      public: true,
      private: false,
      cidrs: ['203.0.113.0/24'],
    });
    expect(networkFor(c.cluster, { networks, egressAddresses: ['198.51.100.7'] })).toBeNull();
  });

  it('a description without a VPC id goes nowhere', () => {
    const c = described('eu-west-1', 'a', { public: false, private: true });
    expect(networkFor(c.cluster, { networks })).toBeNull();
  });
});

describe('routeClusters: the lead and its parts', () => {
  const publicClusters = (region: string, names: string[]) => names.map((n) => described(region, n));

  it('an account within clustersPerUnit is audited by its lead alone', () => {
    const decision = routeClusters(publicClusters('eu-west-1', ['a', 'b', 'c']), {
      networks: [CORE],
      clustersPerUnit: 3,
    });
    expect([...decision.here].sort()).toEqual(['eu-west-1/a', 'eu-west-1/b', 'eu-west-1/c']);
    expect(decision.parts).toEqual([]);
  });

  it('beyond clustersPerUnit: the lead keeps the first by region and name, the rest go per region in parts of at most that many', () => {
    const clusters = [
      ...publicClusters('us-east-1', ['z', 'y', 'x']),
      ...publicClusters('eu-west-1', ['c', 'a', 'b', 'd']),
    ];
    const decision = routeClusters(clusters, { networks: [], clustersPerUnit: 2 });
    expect([...decision.here]).toEqual(['eu-west-1/a', 'eu-west-1/b']);
    expect(decision.parts).toEqual([
      { id: 'eu-west-1#1', region: 'eu-west-1', clusters: ['c', 'd'], network: null },
      { id: 'us-east-1#1', region: 'us-east-1', clusters: ['x', 'y'], network: null },
      { id: 'us-east-1#2', region: 'us-east-1', clusters: ['z'], network: null },
    ]);
    // Every cluster is audited exactly once.
    const audited = [
      ...decision.here,
      ...decision.parts.flatMap((p) => p.clusters.map((c) => `${p.region}/${c}`)),
    ];
    expect(audited.sort()).toEqual(clusters.map((c) => `${c.region}/${c.name}`).sort());
  });

  it("a network's clusters go to it in parts per region, and do not count against the lead's share", () => {
    const privateIn = (region: string, name: string, vpcId: string) =>
      described(region, name, { vpcId, public: false, private: true });
    const clusters = [
      privateIn('eu-west-1', 'p1', 'vpc-0aaaaaaaaaaaaaaa1'),
      privateIn('eu-west-1', 'p2', 'vpc-0aaaaaaaaaaaaaaa1'),
      privateIn('eu-west-1', 'p3', 'vpc-0bbbbbbbbbbbbbbb2'),
      privateIn('us-east-1', 'p4', 'vpc-0aaaaaaaaaaaaaaa1'),
      ...publicClusters('eu-west-1', ['q1']),
    ];
    const decision = routeClusters(clusters, { networks: [CORE, EDGE], clustersPerUnit: 1 });
    expect([...decision.here]).toEqual(['eu-west-1/q1']);
    expect(decision.parts).toEqual([
      { id: 'core@eu-west-1#1', region: 'eu-west-1', clusters: ['p1'], network: 'core' },
      { id: 'core@eu-west-1#2', region: 'eu-west-1', clusters: ['p2'], network: 'core' },
      { id: 'edge@eu-west-1#1', region: 'eu-west-1', clusters: ['p3'], network: 'edge' },
      { id: 'core@us-east-1#1', region: 'us-east-1', clusters: ['p4'], network: 'core' },
    ]);
  });

  it('the same clusters in any order give the same parts (a re-delivered lead sends the same ids)', () => {
    const clusters = publicClusters('eu-west-1', ['e', 'd', 'c', 'b', 'a']);
    const one = routeClusters(clusters, { networks: [], clustersPerUnit: 2 });
    const two = routeClusters([...clusters].reverse(), { networks: [], clustersPerUnit: 2 });
    expect(two).toEqual(one);
  });
});

describe('partMessage', () => {
  const lead: WorkMessage = {
    version: 1,
    runId: '2026-11-22T02:00Z',
    runAt: '2026-11-22T02:00:00.000Z',
    accountId: '111122223333',
  };

  it('is a valid work message for the part, and parses back the same', () => {
    const message = partMessage(lead, {
      id: 'core@eu-west-1#2',
      region: 'eu-west-1',
      clusters: ['prod', 'batch'],
      network: 'core',
    });
    expect(parseWorkMessage(JSON.stringify(message))).toEqual(message);
    expect(message).toMatchObject({
      accountId: '111122223333',
      regions: ['eu-west-1'],
      part: { id: 'core@eu-west-1#2', clusters: ['prod', 'batch'], network: 'core' },
    });
  });

  it('a part message with a bad cluster name or id is refused, naming the field', () => {
    const bad = { ...lead, part: { id: 'eu-west-1#1', region: 'eu-west-1', clusters: ['$(reboot)'] } };
    expect(() => parseWorkMessage(JSON.stringify(bad))).toThrow(/part\.clusters\.0/);
    const badId = { ...lead, part: { id: '../x', region: 'eu-west-1', clusters: ['prod'] } };
    expect(() => parseWorkMessage(JSON.stringify(badId))).toThrow(/part\.id/);
  });
});
