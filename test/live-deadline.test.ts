/**
 * A cluster whose API endpoint never answers must not hold the collection: end to end over real
 * HTTPS on loopback, the emulator's silent cluster (accepts TCP, no TLS handshake) and stalled
 * cluster (TLS done, request read, never answered) each end as one `k8s` Timeout error of that
 * cluster within its deadline, while the other clusters of the account are collected fully. A
 * cluster whose public endpoint is off is not dialled at all unless the collector is told it runs
 * where private endpoints are reachable.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CollectOptions, collectFleet } from '#shared/collectors/collect-fleet.ts';
import type { CollectionError } from '#shared/model/fleet.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { REPO_ROOT, runCliAsync } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
/** The account of checkout, with three other clusters in the same region. */
const ACCOUNT = '210987654321';
const REGION = 'eu-west-1';
const OTHERS = ['batch', 'legacy', 'payments'];
/** Short, so a test that waits for it stays short; the slack covers the other clusters and the machine. */
const DEADLINE_MS = 1_500;
const SLACK_MS = 1_500;

let emulator: Emulator;
const savedEnv = { ...process.env };

beforeAll(async () => {
  emulator = await startEmulator({ fleetDir: FLEET });
  Object.assign(process.env, emulator.env);
});
afterAll(async () => {
  await emulator?.stop();
  process.env = savedEnv;
});
beforeEach(() => {
  emulator.setFaults({});
  emulator.resetCounts();
});

const ACCOUNT_ONLY: CollectOptions = {
  accounts: { kind: 'list', accountIds: [ACCOUNT] },
  auditRole: { roleName: 'irsa-auditor' },
  regions: [REGION],
  kubernetes: { backoffMs: 5, pageSize: 7, deadlineMs: DEADLINE_MS },
};

/** Collects, timing it; returns the files and the wall time in ms. */
async function timedCollect(options: CollectOptions): Promise<{ files: Map<string, string>; ms: number }> {
  const started = performance.now();
  const { files } = await collectFleet(options);
  return { files, ms: performance.now() - started };
}

function clusterErrors(files: Map<string, string>, cluster: string): CollectionError[] | undefined {
  const text = files.get(`${ACCOUNT}/${REGION}/${cluster}/collection-errors.json`);
  return text === undefined ? undefined : JSON.parse(text).errors;
}

/** The other clusters of the account: listed completely, no error. */
function expectOthersCollected(files: Map<string, string>): void {
  for (const cluster of OTHERS) {
    expect(files.has(`${ACCOUNT}/${REGION}/${cluster}/kubernetes.json`), cluster).toBe(true);
    expect(clusterErrors(files, cluster), cluster).toBeUndefined();
  }
}

/** Waits until `condition` holds, at most `ms`; says whether it held. */
async function waitUntil(condition: () => boolean, ms = 2_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return condition();
}

const k8sRequests = (cluster: string) =>
  Object.entries(emulator.requestCounts())
    .filter(([key]) => key.startsWith(`k8s:${cluster}:`))
    .reduce((n, [, count]) => n + count, 0);

describe("the collection's own deadline (the auditor function's time)", () => {
  it('gives each cluster at most the time left, and records the clusters it could not reach as not read', async () => {
    // One cluster at a time, two that never answer and a long per-cluster deadline: without the
    // collection's stopAt this takes 2 x 60 s; with it, about the 2.5 s it was given.
    emulator.setFaults({ stalledClusters: ['batch', 'checkout'] });
    const budget = 2_500;
    const { files, ms } = await timedCollect({
      ...ACCOUNT_ONLY,
      clusterConcurrency: 1,
      kubernetes: { ...ACCOUNT_ONLY.kubernetes, deadlineMs: 60_000 },
      stopAt: Date.now() + budget,
    });
    console.info(`two stalled clusters, 2.5 s left for the collection: it took ${Math.round(ms)} ms`);
    expect(ms).toBeLessThan(budget + SLACK_MS);
    // Clusters are collected in name order: batch used the time, the others came too late.
    expect(clusterErrors(files, 'batch')?.map((e) => [e.api, e.code])).toEqual([['k8s', 'Timeout']]);
    // Its deadline was the time left when its turn came (at most the 2.5 s given, not 60 s).
    const within = Number(
      /^no answer within (\d+(?:\.\d+)?) s/.exec(clusterErrors(files, 'batch')?.[0]?.message ?? '')?.[1],
    );
    expect(within).toBeGreaterThan(0);
    expect(within).toBeLessThanOrEqual(2.5);
    expect(ms).toBeGreaterThan(budget - 1_100);
    for (const cluster of ['checkout', 'legacy', 'payments']) {
      const [error] = clusterErrors(files, cluster) ?? [];
      expect(error, cluster).toMatchObject({ api: 'k8s', code: 'Timeout', class: 'unreachable' });
      expect(error?.message, cluster).toContain("the audit's time ran out");
      expect(k8sRequests(cluster), cluster).toBe(0);
    }
    // The AWS side of every cluster was still read.
    for (const cluster of ['batch', ...OTHERS])
      expect(files.has(`${ACCOUNT}/${REGION}/${cluster}/cluster.json`)).toBe(true);
  });
});

describe("public access CIDRs and the collector's egress", () => {
  it('does not dial a cluster whose public access CIDRs exclude the egress address, and says why', async () => {
    emulator.setFaults({ publicAccessCidrs: { checkout: ['10.0.0.0/8', '192.0.2.0/24'] } });
    const { files } = await timedCollect({ ...ACCOUNT_ONLY, egressAddresses: ['203.0.113.7'] });
    const [error] = clusterErrors(files, 'checkout') ?? [];
    expect(error).toMatchObject({ api: 'k8s', code: 'PublicCidrs', class: 'unreachable' });
    expect(error?.message).toContain('10.0.0.0/8, 192.0.2.0/24');
    expect(error?.message).toContain('203.0.113.7');
    expect(k8sRequests('checkout')).toBe(0);
    expectOthersCollected(files);
  });

  it('dials it when an egress address is inside the CIDRs, or when the egress is not known', async () => {
    emulator.setFaults({ publicAccessCidrs: { checkout: ['10.0.0.0/8', '203.0.113.0/24'] } });
    const inside = await timedCollect({ ...ACCOUNT_ONLY, egressAddresses: ['198.51.100.1', '203.0.113.7'] });
    expect(clusterErrors(inside.files, 'checkout')).toBeUndefined();
    emulator.setFaults({ publicAccessCidrs: { checkout: ['10.0.0.0/8'] } });
    const unknown = await timedCollect(ACCOUNT_ONLY);
    expect(clusterErrors(unknown.files, 'checkout')).toBeUndefined();
  });
});

describe('a deadline per cluster', () => {
  it('ends a silent cluster (no TLS handshake) at its deadline, as one k8s Timeout error', async () => {
    emulator.setFaults({ silentClusters: ['checkout'] });
    const { files, ms } = await timedCollect(ACCOUNT_ONLY);
    console.info(`silent cluster, deadline ${DEADLINE_MS} ms: collection took ${Math.round(ms)} ms`);
    expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(ms).toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS);
    const errors = clusterErrors(files, 'checkout');
    expect(errors).toHaveLength(1);
    expect(errors?.[0]).toMatchObject({ api: 'k8s', code: 'Timeout', class: 'unreachable' });
    expect(errors?.[0]?.message).toMatch(/^no answer within 1\.5 s \(TLS handshake\)$/);
    expect(files.has(`${ACCOUNT}/${REGION}/checkout/kubernetes.json`)).toBe(false);
    expect(files.has(`${ACCOUNT}/${REGION}/checkout/cluster.json`)).toBe(true);
    expectOthersCollected(files);
    // Every connection to the silent endpoint was closed by the collector.
    expect(await waitUntil(() => (emulator.openConnections().checkout ?? 0) === 0)).toBe(true);
  });

  it('fails a stalled TCP connect or TLS handshake after the connect bound, long before the deadline', async () => {
    emulator.setFaults({ silentClusters: ['checkout'] });
    const { files, ms } = await timedCollect({
      ...ACCOUNT_ONLY,
      kubernetes: { ...ACCOUNT_ONLY.kubernetes, deadlineMs: 20_000, connectTimeoutMs: 300 },
    });
    console.info(`silent cluster, connect bound 300 ms: collection took ${Math.round(ms)} ms`);
    expect(ms).toBeLessThanOrEqual(300 + SLACK_MS);
    expect(clusterErrors(files, 'checkout')).toEqual([
      {
        api: 'k8s',
        code: 'Timeout',
        class: 'unreachable',
        message: 'no answer within 0.3 s (TLS handshake)',
      },
    ]);
    expectOthersCollected(files);
  });

  it('ends a stalled cluster (requests read, never answered) at its deadline, without retrying', async () => {
    emulator.setFaults({ stalledClusters: ['checkout'] });
    const { files, ms } = await timedCollect(ACCOUNT_ONLY);
    console.info(`stalled cluster, deadline ${DEADLINE_MS} ms: collection took ${Math.round(ms)} ms`);
    expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(ms).toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS);
    const errors = clusterErrors(files, 'checkout');
    expect(errors).toHaveLength(1);
    expect(errors?.[0]).toMatchObject({ api: 'k8s', code: 'Timeout', class: 'unreachable' });
    // The pod list goes first, alone, on the first connection: it was what was waiting.
    expect(errors?.[0]?.message).toMatch(/^no answer within 1\.5 s \(response of pods\b.*\)$/);
    expect(emulator.requestCounts()['k8s:checkout:pods']).toBe(1);
    expectOthersCollected(files);
    expect(await waitUntil(() => (emulator.openConnections().checkout ?? 0) === 0)).toBe(true);
  });

  it('does not retry a request that timed out: one stall costs one timeout, not six', async () => {
    emulator.setFaults({ stalledClusters: ['checkout'] });
    const { files, ms } = await timedCollect({
      ...ACCOUNT_ONLY,
      kubernetes: { ...ACCOUNT_ONLY.kubernetes, deadlineMs: 20_000, timeoutMs: 300 },
    });
    console.info(`stalled cluster, request timeout 300 ms: collection took ${Math.round(ms)} ms`);
    expect(ms).toBeLessThanOrEqual(300 + SLACK_MS);
    expect(clusterErrors(files, 'checkout')).toEqual([
      {
        api: 'k8s',
        code: 'Timeout',
        class: 'unreachable',
        message: 'no answer within 0.3 s (response of pods)',
      },
    ]);
    expect(emulator.requestCounts()['k8s:checkout:pods']).toBe(1);
    expectOthersCollected(files);
  });
});

describe('private endpoints', () => {
  it('does not dial a cluster whose public endpoint is off, and says why at once', async () => {
    emulator.setFaults({ privateClusters: ['checkout'], silentClusters: ['checkout'] });
    const { files, ms } = await timedCollect(ACCOUNT_ONLY);
    expect(ms).toBeLessThan(DEADLINE_MS);
    expect(k8sRequests('checkout')).toBe(0);
    expect(emulator.openConnections().checkout ?? 0).toBe(0);
    const errors = clusterErrors(files, 'checkout');
    expect(errors).toHaveLength(1);
    expect(errors?.[0]).toMatchObject({ api: 'k8s', code: 'PrivateEndpoint', class: 'unreachable' });
    expect(errors?.[0]?.message).toMatch(/public endpoint is off/);
    expect(errors?.[0]?.message).toMatch(/--private-endpoints-reachable/);
    expect(files.has(`${ACCOUNT}/${REGION}/checkout/cluster.json`)).toBe(true);
    expectOthersCollected(files);
  });

  it('dials it when told that private endpoints are reachable from where it runs', async () => {
    emulator.setFaults({ privateClusters: ['checkout'] });
    const { files } = await timedCollect({ ...ACCOUNT_ONLY, privateEndpoints: 'dial' });
    expect(k8sRequests('checkout')).toBeGreaterThan(0);
    expect(clusterErrors(files, 'checkout')).toBeUndefined();
    expect(files.has(`${ACCOUNT}/${REGION}/checkout/kubernetes.json`)).toBe(true);
    expectOthersCollected(files);
  });

  it('dials the sample clusters by default (the emulator serves their public endpoint)', async () => {
    const { files } = await timedCollect(ACCOUNT_ONLY);
    expect(clusterErrors(files, 'checkout')).toBeUndefined();
    expectOthersCollected(files);
  });
});

describe('the CLI: such a cluster is AUDIT-002', () => {
  const env = () => ({ ...emulator.env, NODE_NO_WARNINGS: '1' });
  const live = ['check', '--live', '--accounts', ACCOUNT, '--role-name', 'irsa-auditor', '--regions', REGION];
  const failing = async (args: string[]) => {
    const run = await runCliAsync([...live, ...args, '--format', 'json', '-q'], { env: env() });
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout).findings.filter(
      (f: { status: string; checkId: string }) => f.status === 'fail' && f.checkId.startsWith('AUDIT-'),
    ) as { checkId: string; cluster: string; status: string }[];
  };
  const audits = (findings: { checkId: string; cluster: string }[]) =>
    findings.map((f) => `${f.checkId} ${f.cluster}`).sort();

  it('reports a silent, a stalled and a private-only cluster as AUDIT-002, the others audited', async () => {
    emulator.setFaults({
      silentClusters: ['checkout'],
      stalledClusters: ['batch'],
      privateClusters: ['legacy'],
    });
    const started = performance.now();
    const findings = await failing(['--cluster-deadline', '1.5']);
    console.info(`CLI, deadline 1.5 s: check --live took ${Math.round(performance.now() - started)} ms`);
    expect(audits(findings)).toEqual(['AUDIT-002 batch', 'AUDIT-002 checkout', 'AUDIT-002 legacy']);
    expect(k8sRequests('legacy')).toBe(0);
  });

  it('dials a private-only cluster with --private-endpoints-reachable', async () => {
    emulator.setFaults({ privateClusters: ['legacy'] });
    const findings = await failing(['--private-endpoints-reachable']);
    expect(audits(findings)).toEqual([]);
    expect(k8sRequests('legacy')).toBeGreaterThan(0);
  });

  it('refuses a cluster deadline that is not a positive number of seconds', async () => {
    const run = await runCliAsync([...live, '--cluster-deadline', 'soon'], { env: env() });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--cluster-deadline/);
  });
});
