/**
 * End to end over real HTTP(S) on loopback: the emulator serves examples/fleet as the AWS and
 * Kubernetes APIs; the real SDK clients and the real Kubernetes client collect it; the checks
 * must find exactly what they find on the directory. Then faults: throttling, 5xx, expired
 * continue tokens, an unreachable cluster, a refused token, a denied account.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import { type CollectOptions, collectFleet } from '#shared/collectors/collect-fleet.ts';
import { growableBuffer } from '#shared/collectors/kubernetes.ts';
import { inlinePageDecoder, type PageDecoder } from '#shared/collectors/kubernetes-pages.ts';
import { createPageDecoderPool } from '#shared/collectors/page-decoder-pool.ts';
import { type Finding, runAudit } from '#shared/engine/run-audit.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import { memorySource } from '#shared/snapshot/snapshot-source.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { type ExpectedFinding, identity, REPO_ROOT, runCliAsync } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
const expected: ExpectedFinding[] = JSON.parse(
  readFileSync(join(FLEET, 'expected-findings.json'), 'utf8'),
).findings;
const NOW = new Date('2026-06-01T00:00:00Z');

let emulator: Emulator;
const savedEnv = { ...process.env };
const scratch = mkdtempSync(join(tmpdir(), 'irsa-live-'));

beforeAll(async () => {
  emulator = await startEmulator({ fleetDir: FLEET });
  Object.assign(process.env, emulator.env);
});
afterAll(async () => {
  await emulator?.stop();
  process.env = savedEnv;
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.setFaults({});
  emulator.resetCounts();
});

const ORGANIZATION: CollectOptions = {
  accounts: { kind: 'organization' },
  auditRole: { roleName: 'irsa-auditor' },
  kubernetes: { backoffMs: 5, pageSize: 7 },
};

async function liveFindings(options: CollectOptions = ORGANIZATION): Promise<Finding[]> {
  const { files } = await collectFleet(options);
  const fleet = await loadFleet(memorySource(files));
  expect(fleet.inputErrors).toEqual([]);
  return runAudit(fleet, { now: NOW }).findings.filter((f) => f.status === 'fail');
}

const ids = (findings: readonly ExpectedFinding[]) => findings.map(identity).sort();

/** Waits until `condition` holds, at most `ms`; says whether it held. */
async function waitUntil(condition: () => boolean, ms = 2_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return condition();
}

/** A decoder that holds the first pod page it gets until `condition` holds (at most 2 s). */
function holdingFirstPodPage(condition: () => boolean): { decoder: PageDecoder; heldUntil: () => number } {
  let pods = 0;
  let heldUntil = 0;
  const decoder: PageDecoder = {
    async decode(kind, body) {
      if (kind === 'Pod' && pods++ === 0 && (await waitUntil(condition))) heldUntil++;
      return inlinePageDecoder.decode(kind, body);
    },
  };
  return { decoder, heldUntil: () => heldUntil };
}

describe('live collection through the emulator', () => {
  it('finds exactly what the checks find on the snapshot directory', async () => {
    expect(ids(await liveFindings())).toEqual(ids(expected));
  });

  it("reads the Pod Identity associations' roles, their policies and the agent add-on: every PODID check judges ml-platform", async () => {
    const { files } = await collectFleet(ORGANIZATION);
    const fleet = await loadFleet(memorySource(files));
    const podid = runAudit(fleet, { now: NOW }).findings.filter(
      (f) => f.checkId.startsWith('PODID-') && f.cluster === 'ml-platform',
    );
    // data/feature-store also has the IRSA annotation: IRSA-021's, by design.
    expect(podid.filter((f) => f.status === 'not-evaluated').map((f) => `${f.checkId} ${f.message}`)).toEqual(
      [
        'PODID-005 not evaluated: data/feature-store also has the IRSA annotation: IRSA-021 reports which mechanism its pods use',
      ],
    );
    expect(new Set(podid.map((f) => f.checkId))).toEqual(
      new Set(['PODID-001', 'PODID-002', 'PODID-003', 'PODID-004', 'PODID-005', 'PODID-006']),
    );
    const counts = emulator.requestCounts();
    expect(counts['eks:DescribePodIdentityAssociation']).toBe(2);
    expect(counts['eks:ListAddons']).toBe(5);
    // Described only where the agent is listed.
    expect(counts['eks:DescribeAddon']).toBe(1);
  });

  it("reads the self-hosted webhook's Service and EndpointSlices (one GET and one list, only there) and every namespace: IRSA-062/063/064 on batch found live", async () => {
    const { files } = await collectFleet(ORGANIZATION);
    const fleet = await loadFleet(memorySource(files));
    const webhook = runAudit(fleet, { now: NOW }).findings.filter(
      (f) => ['IRSA-062', 'IRSA-063', 'IRSA-064'].includes(f.checkId) && f.status === 'fail',
    );
    expect(
      webhook.map((f) => `${f.checkId} ${f.cluster} ${f.namespace ?? ''}/${f.serviceAccount ?? ''}`).sort(),
    ).toEqual([
      'IRSA-062 batch /',
      'IRSA-063 batch reports/month-end',
      'IRSA-063 checkout checkout/receipts',
      'IRSA-064 batch /',
    ]);
    const batch = fleet.accounts.flatMap((a) => a.clusters).find((c) => c.name === 'batch');
    expect(
      batch?.kubernetes?.services?.map((s) => `${s.namespace}/${s.name} ${JSON.stringify(s.selector)}`),
    ).toEqual(['irsa-system/pod-identity-webhook {"app":"pod-identity-webhook"}']);
    expect(batch?.kubernetes?.endpointSlices?.flatMap((s) => s.endpoints.map((e) => e.ready))).toEqual([
      false,
      false,
    ]);
    expect(batch?.kubernetes?.namespaces?.find((n) => n.name === 'etl')?.labels).toEqual({
      'kubernetes.io/metadata.name': 'etl',
      'irsa.data.example.com/inject': 'enabled',
    });
    const counts = emulator.requestCounts();
    // Only batch's webhook is called through a Service: one GET of it, one list of its slices.
    expect(
      Object.entries(counts)
        .filter(([k]) => /:(services|endpointslices)$/.test(k))
        .sort(),
    ).toEqual([
      ['k8s:batch:endpointslices', 1],
      ['k8s:batch:services', 1],
    ]);
    for (const cluster of ['payments', 'checkout', 'batch', 'legacy', 'ml-platform'])
      expect(counts[`k8s:${cluster}:namespaces`], cluster).toBe(
        Math.ceil(
          (fleet.accounts.flatMap((a) => a.clusters).find((c) => c.name === cluster)?.kubernetes?.namespaces
            ?.length ?? 0) / 7,
        ),
      );
  });

  it('a denied EndpointSlice read is AUDIT-003 naming it, and IRSA-064 is not evaluated there', async () => {
    emulator.setFaults({ failures: { 'k8s:batch:endpointslices': 'denied' } });
    const denied = runAudit(await loadFleet(memorySource((await collectFleet(ORGANIZATION)).files)), {
      now: NOW,
    }).findings.filter((f) => f.cluster === 'batch');
    expect(denied.find((f) => f.checkId === 'IRSA-064')?.status).toBe('not-evaluated');
    expect(denied.find((f) => f.checkId === 'IRSA-064')?.message).toContain(
      'k8s:endpointslices failed on cluster batch',
    );
    const audit = denied.find((f) => f.checkId === 'AUDIT-003' && f.status === 'fail');
    expect(audit?.message).toContain('EndpointSlice list (k8s:endpointslices.discovery.k8s.io) denied');
    expect(audit?.remediation).toContain('auth can-i list endpointslices.discovery.k8s.io');
  });

  it('writes the same snapshot when worker threads decode the pages', async () => {
    const inline = (await collectFleet(ORGANIZATION)).files;
    const decoder = createPageDecoderPool(2);
    try {
      const threaded = (
        await collectFleet({ ...ORGANIZATION, kubernetes: { ...ORGANIZATION.kubernetes, decoder } })
      ).files;
      expect([...threaded.keys()].sort()).toEqual([...inline.keys()].sort());
      for (const [path, text] of inline) expect(threaded.get(path), path).toBe(text);
      expect([...inline.keys()].filter((path) => path.endsWith('kubernetes.json')).length).toBeGreaterThan(0);
    } finally {
      await decoder.close();
    }
  });

  it('writes the same snapshot where no growable page buffer can be reserved (pages kept as chunks)', async () => {
    // A bound beyond the address space V8 reserves for a resizable buffer: every page falls back.
    const maxPageBytes = 2 ** 40;
    expect(growableBuffer(maxPageBytes)).toBeUndefined();
    expect(growableBuffer(1024 * 1024)?.resizable).toBe(true);
    const growable = (await collectFleet(ORGANIZATION)).files;
    const decoder = createPageDecoderPool(2);
    try {
      for (const kubernetes of [
        { ...ORGANIZATION.kubernetes, maxPageBytes },
        { ...ORGANIZATION.kubernetes, maxPageBytes, decoder },
      ]) {
        const chunked = (await collectFleet({ ...ORGANIZATION, kubernetes })).files;
        expect([...chunked.keys()].sort()).toEqual([...growable.keys()].sort());
        for (const [path, text] of growable) expect(chunked.get(path), path).toBe(text);
      }
    } finally {
      await decoder.close();
    }
  });

  it("reads the node groups, each launch template once and the node roles' policy names: IRSA-060/061 judge every cluster", async () => {
    const { files } = await collectFleet(ORGANIZATION);
    const fleet = await loadFleet(memorySource(files));
    const node = runAudit(fleet, { now: NOW })
      .findings.filter((f) => f.checkId === 'IRSA-060' || f.checkId === 'IRSA-061')
      .map((f) => `${f.checkId} ${f.cluster} ${f.resource ?? 'cluster'} ${f.status}`)
      .sort();
    expect(node).toEqual([
      // EKS generated batch/general's launch template: not seen, never a pass.
      'IRSA-060 batch nodegroup/general not-evaluated',
      // batch/spot runs batch-spot's $Latest (version 2 of 2).
      'IRSA-060 batch nodegroup/spot pass',
      'IRSA-060 checkout nodegroup/general fail',
      'IRSA-060 legacy nodegroup/general pass',
      'IRSA-060 ml-platform cluster pass',
      'IRSA-060 payments nodegroup/general pass',
      'IRSA-061 batch nodegroup/general pass',
      'IRSA-061 batch nodegroup/spot pass',
      'IRSA-061 checkout nodegroup/general fail',
      'IRSA-061 legacy nodegroup/general pass',
      'IRSA-061 ml-platform cluster pass',
      'IRSA-061 payments nodegroup/general pass',
    ]);
    const counts = emulator.requestCounts();
    // The lower bound: one list per cluster, one describe per node group, one read per template.
    expect(counts['eks:ListNodegroups']).toBe(5);
    expect(counts['eks:DescribeNodegroup']).toBe(5);
    expect(counts['ec2:DescribeLaunchTemplateVersions']).toBe(4);
    // The node roles' names are read (not their documents), each once.
    const iam = JSON.parse(files.get('210987654321/iam.json') ?? '{}');
    expect(
      iam.RolePolicies['checkout-node-role'].AttachedPolicies.map(
        (p: { PolicyName: string }) => p.PolicyName,
      ),
    ).toContain('AmazonS3FullAccess');
    expect(iam.RolePolicies['checkout-node-role'].RolePolicyList).toBeUndefined();
    // Only the metadata options of a launch template version are kept (never its UserData).
    const checkout = JSON.parse(files.get('210987654321/eu-west-1/checkout/nodegroups.json') ?? '{}');
    expect(Object.keys(checkout.launchTemplateVersions[0].LaunchTemplateData)).toEqual(['MetadataOptions']);
  });

  it('a denied ec2:DescribeLaunchTemplateVersions leaves IRSA-060 not evaluated on that cluster, never passed', async () => {
    const { files: before } = await collectFleet(ORGANIZATION);
    const paymentsTemplate = JSON.parse(before.get('210987654321/eu-west-1/payments/nodegroups.json') ?? '{}')
      .launchTemplateVersions[0].LaunchTemplateId as string;
    emulator.setFaults({
      failures: { [`ec2:DescribeLaunchTemplateVersions@${paymentsTemplate}`]: 'denied' },
    });
    const { files } = await collectFleet(ORGANIZATION);
    const results = runAudit(await loadFleet(memorySource(files)), { now: NOW }).findings.filter(
      (f) =>
        f.cluster === 'payments' &&
        (f.checkId === 'IRSA-060' || (f.checkId.startsWith('AUDIT-') && f.status === 'fail')),
    );
    expect(results.map((f) => `${f.checkId} ${f.status}`).sort()).toEqual([
      'AUDIT-003 fail',
      'IRSA-060 not-evaluated',
    ]);
    expect(results.find((f) => f.checkId === 'AUDIT-003')?.message).toContain(
      'ec2:DescribeLaunchTemplateVersions',
    );
  });

  it("sets each account's IAM aside on disk between the two passes, writes the same iam.json, and leaves no trace", async () => {
    const tmp = process.env.TMPDIR;
    const aside = mkdtempSync(join(scratch, 'tmp-'));
    const iamFiles = (files: Map<string, string>) =>
      [...files].filter(([path]) => path.endsWith('/iam.json')).sort(([a], [b]) => (a < b ? -1 : 1));
    try {
      // A TMPDIR that is a file: nothing can be set aside, every account's IAM stays in memory.
      process.env.TMPDIR = join(FLEET, 'README.md');
      const inMemory = await collectFleet(ORGANIZATION);
      process.env.TMPDIR = aside;
      const setAside = await collectFleet(ORGANIZATION);
      expect(iamFiles(setAside.files).length).toBe(2);
      expect(iamFiles(setAside.files)).toEqual(iamFiles(inMemory.files));
      // No collection error either way, and nothing left where it was set aside.
      expect([...setAside.files.keys()].filter((path) => path.endsWith('collection-errors.json'))).toEqual(
        [...inMemory.files.keys()].filter((path) => path.endsWith('collection-errors.json')),
      );
      expect(readdirSync(aside)).toEqual([]);
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }
  });

  it("sets the IAM aside in the caller's scratch folder when given one, and leaves the folder empty", async () => {
    const folder = mkdtempSync(join(scratch, 'scratch-'));
    const written: string[] = [];
    const watcher = watch(folder, (_event, name) => {
      if (name) written.push(name);
    });
    try {
      const given = await collectFleet({ ...ORGANIZATION, scratchDirectory: folder });
      const own = await collectFleet(ORGANIZATION);
      const iam = (files: Map<string, string>) =>
        [...files].filter(([path]) => path.endsWith('/iam.json')).sort(([a], [b]) => (a < b ? -1 : 1));
      expect(iam(given.files)).toEqual(iam(own.files));
      // Both accounts' IAM went through the folder; none of it stays, and the folder is the caller's.
      expect(new Set(written)).toEqual(new Set(['1.json', '2.json']));
      expect(readdirSync(folder)).toEqual([]);
      // One account: its second pass follows its first at once, nothing waits on disk.
      written.length = 0;
      const single = await collectFleet({
        ...ORGANIZATION,
        accounts: { kind: 'list', accountIds: ['210987654321'] },
        scratchDirectory: folder,
      });
      expect(iam(single.files).map(([path]) => path)).toEqual(['210987654321/iam.json']);
      expect(written).toEqual([]);
    } finally {
      watcher.close();
    }
  });

  it('lists IAM once per account and pages Kubernetes lists', async () => {
    await liveFindings();
    const counts = emulator.requestCounts();
    expect(counts['sts:AssumeRole']).toBe(2);
    expect(counts['iam:ListRoles']).toBe(2);
    expect(counts['iam:ListOpenIDConnectProviders']).toBe(2);
    expect(counts['eks:ListClusters']).toBe(2);
    expect(counts['eks:DescribeCluster']).toBe(5);
    // pageSize 7: ml-platform's pods need several pages; every page is one request.
    expect(counts['k8s:ml-platform:pods']).toBeGreaterThan(1);
    expect(counts['iam:GetRole']).toBeUndefined();
  });

  /** ml-platform alone: 15 pods, in pages of 4. */
  const ML_PLATFORM: CollectOptions = {
    accounts: { kind: 'list', accountIds: ['345678901234'] },
    auditRole: { roleName: 'irsa-auditor' },
    regions: ['us-east-1'],
    kubernetes: { backoffMs: 5, pageSize: 4 },
  };
  const podsOf = (files: Map<string, string>) =>
    JSON.parse(files.get('345678901234/us-east-1/ml-platform/kubernetes.json') ?? '{}').items.filter(
      (item: { kind: string }) => item.kind === 'Pod',
    ).length;

  it("requests a list's next page while the current page is still being decoded", async () => {
    const requested = () => emulator.requestCounts()['k8s:ml-platform:pods'] ?? 0;
    const late: number[] = [];
    let podPages = 0;
    // Holds each pod page that has a next one until the emulator has seen that next page's request.
    const waiting: PageDecoder = {
      async decode(kind, body) {
        const decoded = await inlinePageDecoder.decode(kind, body);
        if (kind !== 'Pod') return decoded;
        const page = ++podPages;
        if (decoded.continue) {
          const deadline = Date.now() + 2_000;
          while (requested() <= page && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
          if (requested() <= page) late.push(page);
        }
        return decoded;
      },
    };
    const { files } = await collectFleet({
      ...ML_PLATFORM,
      kubernetes: { ...ML_PLATFORM.kubernetes, decoder: waiting },
    });
    expect(podPages).toBe(4);
    expect(late).toEqual([]);
    expect(requested()).toBe(4);
    expect(podsOf(files)).toBe(15);
  });

  it("opens one full TLS handshake per cluster: the second connection resumes the first's session", async () => {
    await collectFleet(ORGANIZATION);
    const handshakes = (kind: string) =>
      Object.entries(emulator.handshakeCounts())
        .filter(([key]) => key.endsWith(`:${kind}`))
        .map(([key, n]) => [key.split(':')[0], n]);
    const clusters = ['batch', 'checkout', 'legacy', 'ml-platform', 'payments'];
    expect(Object.fromEntries(handshakes('full'))).toEqual(Object.fromEntries(clusters.map((c) => [c, 1])));
    // Every cluster has lists on a second connection (pageSize 7: the pods take several pages).
    expect(
      handshakes('resumed')
        .map(([cluster]) => cluster)
        .sort(),
    ).toEqual(clusters);
  });

  it('lets the full decode overrule the continue token read from the head', async () => {
    // A decoder that finds no continue token on the first pod page: the list ends there.
    const ending: PageDecoder = {
      async decode(kind, body) {
        const decoded = await inlinePageDecoder.decode(kind, body);
        return kind === 'Pod' ? { ...decoded, continue: undefined } : decoded;
      },
    };
    const { files } = await collectFleet({
      ...ML_PLATFORM,
      kubernetes: { ...ML_PLATFORM.kubernetes, decoder: ending },
    });
    expect(podsOf(files)).toBe(4);
  });

  it("continues from the full decode's continue token when the head named another page", async () => {
    // The real tokens of ml-platform's pod pages, in order.
    const tokens: (string | undefined)[] = [];
    const recording: PageDecoder = {
      async decode(kind, body) {
        const decoded = await inlinePageDecoder.decode(kind, body);
        if (kind === 'Pod') tokens.push(decoded.continue);
        return decoded;
      },
    };
    await collectFleet({ ...ML_PLATFORM, kubernetes: { ...ML_PLATFORM.kubernetes, decoder: recording } });
    expect(tokens).toHaveLength(4);
    // Now the first page's decode names the third page: the second (requested from the head) is dropped.
    let first = true;
    const skipping: PageDecoder = {
      async decode(kind, body) {
        const decoded = await inlinePageDecoder.decode(kind, body);
        if (kind !== 'Pod' || !first) return decoded;
        first = false;
        return { ...decoded, continue: tokens[1] };
      },
    };
    emulator.resetCounts();
    const { files } = await collectFleet({
      ...ML_PLATFORM,
      kubernetes: { ...ML_PLATFORM.kubernetes, decoder: skipping },
    });
    expect(podsOf(files)).toBe(15 - 4);
    // The four pages by their heads, then the third and fourth again from the decode's token.
    expect(emulator.requestCounts()['k8s:ml-platform:pods']).toBe(6);
  });

  it("frees a cluster's slot once its pages are in: the next cluster is listed while the pods still decode", async () => {
    const clustersListed = () =>
      new Set(
        Object.keys(emulator.requestCounts())
          .filter((key) => key.startsWith('k8s:'))
          .map((key) => key.split(':')[1]),
      ).size;
    // Holds the first cluster's first pod page until a second cluster's lists have been requested.
    const holding = holdingFirstPodPage(() => clustersListed() >= 2);
    const findings = await liveFindings({
      ...ORGANIZATION,
      accountConcurrency: 1,
      clusterConcurrency: 1,
      totalClusterConcurrency: 1,
      kubernetes: { ...ORGANIZATION.kubernetes, decoder: holding.decoder },
    });
    expect(holding.heldUntil()).toBe(1);
    expect(ids(findings)).toEqual(ids(expected));
  });

  it("reads a cluster's ServiceAccounts itself, never behind the decoder's backlog", async () => {
    // A decoder that holds every page it gets until the account's policy lookups have begun:
    // they begin only once the ServiceAccounts (which name the roles) are read.
    const lookups = () => emulator.requestCounts()['iam:ListAttachedRolePolicies'] ?? 0;
    const kinds = new Set<string>();
    let heldUntilLookups = 0;
    const backlogged: PageDecoder = {
      async decode(kind, body) {
        kinds.add(kind);
        if (await waitUntil(() => lookups() > 0)) heldUntilLookups++;
        return inlinePageDecoder.decode(kind, body);
      },
    };
    const { files } = await collectFleet({
      ...ML_PLATFORM,
      kubernetes: { ...ML_PLATFORM.kubernetes, decoder: backlogged },
    });
    expect(kinds.has('ServiceAccount')).toBe(false);
    expect(kinds.has('Pod')).toBe(true);
    expect(heldUntilLookups).toBeGreaterThan(0);
    expect(podsOf(files)).toBe(15);
  });

  it("frees an account's slot once its policies are read: the next account lists while its pods still decode", async () => {
    // Holds the first pod page until a second account has been assumed.
    const holding = holdingFirstPodPage(() => (emulator.requestCounts()['sts:AssumeRole'] ?? 0) >= 2);
    const findings = await liveFindings({
      ...ORGANIZATION,
      accountConcurrency: 1,
      kubernetes: { ...ORGANIZATION.kubernetes, decoder: holding.decoder },
    });
    expect(holding.heldUntil()).toBe(1);
    expect(ids(findings)).toEqual(ids(expected));
  });

  it('keeps at most pageSlots pages waiting to be decoded', async () => {
    let waiting = 0;
    let most = 0;
    const slow: PageDecoder = {
      async decode(kind, body) {
        most = Math.max(most, ++waiting);
        await new Promise((r) => setTimeout(r, 30));
        waiting--;
        return inlinePageDecoder.decode(kind, body);
      },
    };
    const { files } = await collectFleet({
      ...ML_PLATFORM,
      kubernetes: { ...ML_PLATFORM.kubernetes, decoder: slow, pageSlots: pLimit(2) },
    });
    expect(most).toBe(2);
    expect(podsOf(files)).toBe(15);
  });

  it('retries throttling and server errors, AWS and Kubernetes, and completes the audit', async () => {
    emulator.setFaults({
      throttle: { 'iam:ListRoles': 1, 'eks:DescribeCluster': 1, 'k8s:batch:pods': 2 },
      serverErrors: { 'eks:ListClusters': 1, 'k8s:checkout:serviceaccounts': 2 },
      expireContinue: { 'k8s:ml-platform:pods': 1 },
    });
    expect(ids(await liveFindings())).toEqual(ids(expected));
    const counts = emulator.requestCounts();
    expect(counts['iam:ListRoles']).toBeGreaterThanOrEqual(3);
    expect(counts['k8s:batch:pods']).toBeGreaterThanOrEqual(3);
  });

  it('reports an unreachable cluster as AUDIT-002, keeps its AWS-side checks and the other clusters', async () => {
    emulator.setFaults({ unreachableClusters: ['checkout'] });
    const findings = await liveFindings();
    const checkout = findings.filter((f) => f.cluster === 'checkout');
    // Its node group's exposure (IRSA-060/061) is read from EKS, EC2 and IAM: it stands.
    expect(checkout.map((f) => f.checkId)).toEqual(['AUDIT-002', 'IRSA-060', 'IRSA-061']);
    expect(checkout[0]?.evidence).toMatchObject({ code: 'ECONNREFUSED' });
    const others = expected.filter((f) => f.cluster !== 'checkout');
    expect(ids(findings.filter((f) => f.cluster !== 'checkout'))).toEqual(ids(others));
  });

  it.each([
    ['cut off mid-JSON', 'malformedLists', (kind: string) => `${kind} list page is not JSON`],
    [
      'whose item has a field of a type the API server never gives it',
      'misshapenLists',
      (kind: string) =>
        `item 6 of the ${kind} list page is not shaped as a ${kind} \\(a field has a type the API server never gives it: .+\\)`,
    ],
  ] as const)(
    'reports list pages %s as AUDIT-003 naming the list, and audits the rest',
    async (_, fault, says) => {
      // ServiceAccount pages are read on the collector's thread, pod pages by the decoder (threads here).
      emulator.setFaults({ [fault]: ['k8s:checkout:serviceaccounts', 'k8s:batch:pods'] });
      const decoder = createPageDecoderPool(1);
      try {
        const findings = await liveFindings({
          ...ORGANIZATION,
          kubernetes: { ...ORGANIZATION.kubernetes, decoder },
        });
        for (const [cluster, kind, page] of [
          [
            'checkout',
            'ServiceAccount',
            new RegExp(`${says('ServiceAccount')}.*\\(/api/v1/serviceaccounts\\)`),
          ],
          ['batch', 'Pod', new RegExp(`${says('Pod')}.*\\(/api/v1/pods\\)`)],
        ] as const) {
          // One list failed by itself while the API answered the others: a failed read in the cluster.
          const coverage = findings.filter((f) => f.cluster === cluster && f.checkId.startsWith('AUDIT-'));
          expect(
            coverage.map((f) => f.checkId),
            cluster,
          ).toEqual(['AUDIT-003']);
          expect(coverage[0]?.evidence).toMatchObject({
            notCollected: [kind],
            failed: [{ code: 'MalformedList', class: 'malformed' }],
          });
          expect(coverage[0]?.message).toMatch(page);
          // What does not read that kind is found as without the fault; what reads it is not evaluated.
          const readsKind = (checkId: string) =>
            CATALOGUE.find((c) => c.metadata.id === checkId)?.reads.some((r) => r.input === kind) ?? false;
          expect(
            ids(findings.filter((f) => f.cluster === cluster && !f.checkId.startsWith('AUDIT-'))),
            cluster,
          ).toEqual(ids(expected.filter((f) => f.cluster === cluster && !readsKind(f.checkId))));
        }
        const others = expected.filter((f) => f.cluster !== 'checkout' && f.cluster !== 'batch');
        expect(ids(findings.filter((f) => f.cluster !== 'checkout' && f.cluster !== 'batch'))).toEqual(
          ids(others),
        );
      } finally {
        await decoder.close();
      }
    },
  );

  it('reports a refused token (no access entry) clearly, without the token', async () => {
    emulator.setFaults({ forbiddenClusters: ['legacy'] });
    const findings = await liveFindings();
    const audit = findings.find((f) => f.checkId === 'AUDIT-002');
    expect(audit).toMatchObject({ cluster: 'legacy', evidence: { code: 'Unauthorized' } });
    expect(audit?.message).toMatch(/no access entry/);
    expect(JSON.stringify(audit)).not.toMatch(/k8s-aws-v1\./);
    // IRSA-001 is AWS-side: it still fires for legacy.
    expect(findings.some((f) => f.checkId === 'IRSA-001' && f.cluster === 'legacy')).toBe(true);
  });

  it('reports an account whose audit role cannot be assumed as AUDIT-001 and audits the others', async () => {
    emulator.setFaults({ deniedAccounts: ['345678901234'] });
    const findings = await liveFindings();
    expect(findings.filter((f) => f.accountId === '345678901234').map((f) => f.checkId)).toEqual([
      'AUDIT-001',
    ]);
    const others = expected.filter((f) => f.accountId !== '345678901234');
    // IRSA-022 of the denied account's cluster cannot be seen; everything of 210987654321 is there.
    expect(ids(findings.filter((f) => f.accountId !== '345678901234'))).toEqual(ids(others));
  });
});

describe('the CLI against the emulator', () => {
  const env = () => ({ ...emulator.env, NODE_NO_WARNINGS: '1' });

  it('check --live gives the same findings as check on the directory', async () => {
    const run = await runCliAsync(
      ['check', '--live', '--organization', '--role-name', 'irsa-auditor', '--format', 'json', '-q'],
      { env: env() },
    );
    expect(run.status).toBe(0);
    const live = JSON.parse(run.stdout).findings.filter((f: { status: string }) => f.status === 'fail');
    expect(ids(live)).toEqual(ids(expected));
  });

  it('check --live finds IRSA-023 from the permission documents it reads, and a denied read is not a pass', async () => {
    const irsa023 = async () => {
      const run = await runCliAsync(
        [
          'check',
          '--live',
          '--organization',
          '--role-name',
          'irsa-auditor',
          '--check',
          'IRSA-023,AUDIT-003',
          '--include-passed',
          '--format',
          'json',
          '-q',
        ],
        { env: env() },
      );
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout).findings as {
        checkId: string;
        status: string;
        cluster: string;
        namespace: string | null;
        serviceAccount: string | null;
        message: string;
        remediation: string | null;
      }[];
    };
    const at = (f: { cluster: string; namespace: string | null; serviceAccount: string | null }) =>
      `${f.cluster}/${f.namespace}/${f.serviceAccount}`;
    const findings = await irsa023();
    const failed = findings.filter((f) => f.checkId === 'IRSA-023' && f.status === 'fail');
    expect(failed.map(at)).toEqual(['ml-platform/notebooks/jupyter']);
    expect(failed[0]?.message).toContain('s3:ListBucket on arn:aws:s3:::acme-ml-notebooks/*');
    expect(failed[0]?.message).toMatch(/judged by @cloud-copilot\/iam-data \d/);
    expect(failed[0]?.remediation).toContain(
      '{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::acme-ml-notebooks"}',
    );
    // Every other annotated ServiceAccount's documents were read and judged, but the malformed ARN's.
    const notEvaluated = findings.filter((f) => f.checkId === 'IRSA-023' && f.status === 'not-evaluated');
    expect(notEvaluated.map(at)).toEqual(['legacy/orders/order-sync']);
    expect(findings.filter((f) => f.checkId === 'IRSA-023' && f.status === 'pass').length).toBeGreaterThan(
      10,
    );

    // The workspace policy's document cannot be read: not evaluated, saying why, and AUDIT-003 names the read.
    emulator.setFaults({ failures: { 'iam:GetPolicyVersion@notebooks-s3-workspace': 'denied' } });
    const denied = await irsa023();
    const jupyter = denied.find((f) => f.checkId === 'IRSA-023' && at(f) === 'ml-platform/notebooks/jupyter');
    expect(jupyter?.status).toBe('not-evaluated');
    expect(jupyter?.message).toContain('iam:GetPolicyVersion');
    const coverage = denied.filter((f) => f.checkId === 'AUDIT-003' && f.status === 'fail');
    expect(coverage.map((f) => f.message).join('\n')).toContain('iam:GetPolicyVersion');
  });

  it('check --live finds IRSA-034 from the Secret references the collector keeps (names, never values)', async () => {
    const run = await runCliAsync(
      [
        'check',
        '--live',
        '--organization',
        '--role-name',
        'irsa-auditor',
        '--check',
        'IRSA-034',
        '--include-passed',
        '--format',
        'json',
        '-q',
      ],
      { env: env() },
    );
    expect(run.status, run.stderr).toBe(0);
    type LiveFinding = {
      checkId: string;
      status: string;
      cluster: string;
      namespace: string;
      workload: { kind: string; name: string } | null;
      message: string;
      evidence: Record<string, unknown>;
      remediation: string | null;
    };
    const findings: LiveFinding[] = JSON.parse(run.stdout).findings;
    expect(new Set(findings.map((f) => f.checkId))).toEqual(new Set(['IRSA-034']));
    const failed = findings.filter((f) => f.status === 'fail');
    expect(failed.map((f) => [f.cluster, f.namespace, f.workload])).toEqual([
      ['batch', 'etl', { kind: 'Deployment', name: 'reporter' }],
    ]);
    const [reporter] = failed;
    expect(reporter?.message).toContain('AWS_ACCESS_KEY_ID (secretKeyRef reporter-aws-keys/access-key-id)');
    expect(reporter?.message).toContain('arn:aws:iam::210987654321:role/batch-reporter is never used');
    expect(reporter?.evidence.credentials).toEqual([
      {
        container: 'reporter',
        variable: 'AWS_ACCESS_KEY_ID',
        source: 'secretKeyRef reporter-aws-keys/access-key-id',
      },
      {
        container: 'reporter',
        variable: 'AWS_SECRET_ACCESS_KEY',
        source: 'secretKeyRef reporter-aws-keys/secret-access-key',
      },
    ]);
    expect(reporter?.remediation).toContain(
      'kubectl --context batch set env deployment/reporter -n etl -c reporter AWS_ACCESS_KEY_ID- AWS_SECRET_ACCESS_KEY-',
    );
    // Every other workload of the fleet was judged, and passed.
    expect(findings.filter((f) => f.status === 'pass').length).toBeGreaterThan(10);
    expect(findings.filter((f) => f.status === 'not-evaluated')).toEqual([]);
  });

  it('collect writes a snapshot that check reads back to the same findings', async () => {
    const out = join(scratch, 'collected');
    const collect = await runCliAsync(
      ['collect', '--out', out, '--organization', '--role-name', 'irsa-auditor', '-q'],
      {
        env: env(),
      },
    );
    expect(collect.status).toBe(0);
    expect(collect.stderr).toMatch(/wrote \d+ files for 2 account\(s\) and 5 cluster\(s\)/);
    const check = await runCliAsync(['check', out, '--format', 'json']);
    const findings = JSON.parse(check.stdout).findings.filter((f: { status: string }) => f.status === 'fail');
    expect(ids(findings)).toEqual(ids(expected));
  });

  it('collects with the pages decoded on the main thread (--threads 0), and refuses a bad thread count', async () => {
    const out = join(scratch, 'collected-inline');
    const collect = await runCliAsync(
      ['collect', '--out', out, '--organization', '--role-name', 'irsa-auditor', '--threads', '0', '-q'],
      { env: env() },
    );
    expect(collect.status).toBe(0);
    const check = await runCliAsync(['check', out, '--format', 'json']);
    const findings = JSON.parse(check.stdout).findings.filter((f: { status: string }) => f.status === 'fail');
    expect(ids(findings)).toEqual(ids(expected));
    const bad = await runCliAsync(['collect', '--out', out, '--threads', 'two'], { env: env() });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--threads.*whole number from 0 to 32/);
  });

  it('refuses --accounts without --role-name', async () => {
    const run = await runCliAsync(['collect', '--out', join(scratch, 'x'), '--accounts', '210987654321'], {
      env: env(),
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/needs --role-name/);
  });
});
