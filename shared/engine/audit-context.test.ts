import { describe, expect, it } from 'vitest';
import type { Pod } from '../model/fleet.ts';
import { FIXTURE_NOW } from '../testing/check-harness.ts';
import { healthyIrsa } from '../testing/fleet-builder.ts';
import { AuditContext, workloadOf } from './audit-context.ts';

function pod(owner: Pod['owner'], labels: Record<string, string> = {}): Pod {
  return {
    namespace: 'ns',
    name: 'p-1',
    serviceAccountName: 'default',
    phase: 'Running',
    creationTimestamp: null,
    labels,
    annotations: {},
    owner,
    containers: [],
    volumes: [],
  };
}

describe('workloadOf', () => {
  it.each([
    ['a bare pod', null, {}, { kind: 'Pod', name: 'p-1' }],
    [
      'a mirror pod owned by its node',
      { kind: 'Node', name: 'ip-10-0-0-1' },
      {},
      { kind: 'Pod', name: 'p-1' },
    ],
    [
      'a Deployment through its ReplicaSet',
      { kind: 'ReplicaSet', name: 'api-7d9f8b6c5d' },
      { 'pod-template-hash': '7d9f8b6c5d' },
      { kind: 'Deployment', name: 'api' },
    ],
    [
      'a Deployment whose labels were trimmed',
      { kind: 'ReplicaSet', name: 'web-api-5c8bd96bf4' },
      {},
      { kind: 'Deployment', name: 'web-api' },
    ],
    [
      'a bare ReplicaSet (hash label does not match)',
      { kind: 'ReplicaSet', name: 'legacy-rs' },
      { 'pod-template-hash': 'zzz' },
      { kind: 'ReplicaSet', name: 'legacy-rs' },
    ],
    [
      'a CronJob through its Job',
      { kind: 'Job', name: 'nightly-29000000' },
      {},
      { kind: 'CronJob', name: 'nightly' },
    ],
    ['a plain Job', { kind: 'Job', name: 'migrate-db' }, {}, { kind: 'Job', name: 'migrate-db' }],
    ['a StatefulSet', { kind: 'StatefulSet', name: 'db' }, {}, { kind: 'StatefulSet', name: 'db' }],
  ])('%s', (_name, owner, labels, expected) => {
    expect(workloadOf(pod(owner, labels))).toEqual(expected);
  });
});

describe('AuditContext derivations', () => {
  const h = healthyIrsa();
  const fleet = h.fleet.build();
  const [cluster] = new AuditContext(fleet, FIXTURE_NOW).clusters;
  const role = h.role;
  if (!cluster) throw new Error('the healthy fleet has a cluster');
  const derive = (context: AuditContext) => ({
    index: context.serviceAccountIndex(cluster),
    links: context.serviceAccountLinks(cluster),
    workloads: context.workloads(cluster),
    grants: context.roleGrantsByCluster(role),
    ca: context.clusterCertificateAuthority(cluster),
  });

  it('works each one out once per audit and key, and anew in another audit', () => {
    const context = new AuditContext(fleet, FIXTURE_NOW);
    const first = derive(context);
    const second = derive(context);
    const other = derive(new AuditContext(fleet, FIXTURE_NOW));
    for (const key of Object.keys(first) as (keyof typeof first)[]) {
      expect(second[key], key).toBe(first[key]);
      expect(other[key], key).not.toBe(first[key]);
      expect(other[key], key).toEqual(first[key]);
    }
    // What each holds: the healthy fleet's one annotated ServiceAccount, its workload, its grant.
    expect(first.links.map((l) => l.serviceAccount.name)).toEqual([h.serviceAccount.name]);
    expect(first.index?.get(`${h.serviceAccount.namespace}/${h.serviceAccount.name}`)).toBe(
      first.links[0]?.serviceAccount,
    );
    expect(first.workloads.map((w) => [w.kind, w.serviceAccountName])).toEqual([
      ['Deployment', h.serviceAccount.name],
    ]);
    expect([...first.grants.keys()]).toEqual([cluster]);
  });

  it('decodes a certificate bundle once per content: the webhook holding the cluster CA, as on EKS', () => {
    const context = new AuditContext(fleet, FIXTURE_NOW);
    const webhook = cluster.kubernetes?.webhookConfigurations?.[0]?.webhooks[0];
    if (!webhook?.caBundle) throw new Error('the healthy webhook has a caBundle');
    expect(webhook.caBundle).toBe(cluster.info?.certificateAuthorityData);
    const ca = context.clusterCertificateAuthority(cluster);
    expect(ca.ok && ca.certificates.length).toBe(1);
    expect(context.webhookCaBundle(webhook)).toBe(ca);
    // Another bundle is its own decoding, and an empty one is not valid.
    expect(context.webhookCaBundle({ ...webhook, caBundle: 'bm90IGEgY2VydA==' })).toMatchObject({
      ok: false,
      problem: 'not-pem',
    });
    expect(context.webhookCaBundle({ ...webhook, caBundle: null })).toMatchObject({
      ok: false,
      problem: 'empty',
    });
  });

  it('holds no function of its own: a closure made per audit would be compiled into its callers and thrown away with it', () => {
    // See PerAudit and shapes.ts: V8's optimised callers embed the closure they call, and every
    // audit in the same process would then deoptimise them again.
    const context = new AuditContext(fleet, FIXTURE_NOW);
    derive(context);
    const own = Object.entries(context).filter(([, value]) => typeof value === 'function');
    expect(own.map(([key]) => key)).toEqual([]);
  });

  it('keeps one derivation per key: another cluster gets its own', () => {
    const two = healthyIrsa();
    two.account.cluster('second');
    const twoFleet = two.fleet.build();
    const context = new AuditContext(twoFleet, FIXTURE_NOW);
    const [a, b] = context.clusters;
    if (!a || !b) throw new Error('two clusters');
    expect(context.serviceAccountLinks(a)).not.toBe(context.serviceAccountLinks(b));
    expect(context.serviceAccountLinks(b)).toEqual([]);
  });
});
