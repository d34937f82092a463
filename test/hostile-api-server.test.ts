/**
 * A hostile or broken Kubernetes API server must not hold the collection, nor fill its memory (issue
 * 18): end to end over real HTTPS on loopback, the emulator's checkout cluster sends a page larger
 * than the byte bound, a page with more items than asked for, a list that never ends, a continue
 * token that comes back, an answer that trickles, an answer that stops halfway or never sends its
 * headers. Each ends that cluster as one error naming the bound, the value seen and the setting,
 * in bounded time; the other four clusters of the sample fleet are collected exactly as without
 * the fault, and the audit reports checkout as AUDIT-002 with the reason.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CollectOptions, collectFleet } from '#shared/collectors/collect-fleet.ts';
import type { KubernetesCollectOptions } from '#shared/collectors/kubernetes.ts';
import { runAudit } from '#shared/engine/run-audit.ts';
import type { CollectionError } from '#shared/model/fleet.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import { memorySource } from '#shared/snapshot/snapshot-source.ts';
import type { FaultOptions } from '../emulator/faults.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
const NOW = new Date('2026-06-01T00:00:00Z');
const HOSTILE = '210987654321/eu-west-1/checkout';
/** The other clusters of the sample fleet, in both accounts. */
const OTHERS = [
  '210987654321/eu-west-1/batch',
  '210987654321/eu-west-1/legacy',
  '210987654321/eu-west-1/payments',
  '345678901234/us-east-1/ml-platform',
];
/** Far beyond every bound under test: a cluster ended by its deadline has not been ended by its bound. */
const DEADLINE_MS = 8_000;
/** What the machine may add to a bound (TLS, the other clusters, a busy CI runner). */
const SLACK_MS = 2_000;

/**
 * Small bounds, so each test takes about a second: 3 items a page (checkout has 11 pods: 4 pages),
 * pages of 256 KiB at most, 20 pages a list, 4 KiB/s over windows of 0.5 s.
 */
const BOUNDS = {
  pageSize: 3,
  maxPageBytes: 256 * 1024,
  maxPagesPerList: 20,
  minBytesPerSecond: 4 * 1024,
  rateWindowMs: 500,
  timeoutMs: 2_000,
  headersTimeoutMs: 3_000,
} satisfies Omit<KubernetesCollectOptions, 'token'>;

const OPTIONS: CollectOptions = {
  accounts: { kind: 'organization' },
  auditRole: { roleName: 'irsa-auditor' },
  kubernetes: { backoffMs: 5, deadlineMs: DEADLINE_MS, ...BOUNDS },
};

let emulator: Emulator;
const savedEnv = { ...process.env };
/** The files of a collection without faults, with the same bounds. */
let baseline: Map<string, string>;

async function timedCollect(
  kubernetes: Partial<KubernetesCollectOptions> = {},
): Promise<{ files: Map<string, string>; ms: number }> {
  const started = performance.now();
  const { files } = await collectFleet({ ...OPTIONS, kubernetes: { ...OPTIONS.kubernetes, ...kubernetes } });
  return { files, ms: performance.now() - started };
}

beforeAll(async () => {
  emulator = await startEmulator({ fleetDir: FLEET });
  Object.assign(process.env, emulator.env);
  baseline = (await timedCollect()).files;
  for (const cluster of [HOSTILE, ...OTHERS]) {
    expect(baseline.has(`${cluster}/kubernetes.json`), cluster).toBe(true);
    expect(baseline.has(`${cluster}/collection-errors.json`), cluster).toBe(false);
  }
});
afterAll(async () => {
  await emulator?.stop();
  process.env = savedEnv;
});
beforeEach(() => {
  emulator.setFaults({});
  emulator.resetCounts();
});

function errorsOf(files: Map<string, string>, cluster: string): CollectionError[] | undefined {
  const text = files.get(`${cluster}/collection-errors.json`);
  return text === undefined ? undefined : JSON.parse(text).errors;
}

/**
 * Runs `faults` against checkout and asserts what every bound must give: one error of checkout,
 * the collection ended within `withinMs`, the other clusters as without the fault, and AUDIT-002
 * for checkout alone, naming the code and the message. Returns checkout's error and the fix
 * AUDIT-002 gives for it.
 */
async function hostile(
  label: string,
  faults: FaultOptions,
  expected: { api: string; code: string; class: string; message: RegExp; withinMs: number },
  kubernetes: Partial<KubernetesCollectOptions> = {},
): Promise<{ error: CollectionError; fix: string }> {
  emulator.setFaults(faults);
  const { files, ms } = await timedCollect(kubernetes);
  console.info(`${label}: the collection took ${Math.round(ms)} ms (bound ${expected.withinMs} ms)`);
  expect(ms).toBeLessThan(expected.withinMs);
  const errors = errorsOf(files, HOSTILE);
  expect(errors).toHaveLength(1);
  const [error] = errors as [CollectionError];
  expect(error).toMatchObject({ api: expected.api, code: expected.code, class: expected.class });
  expect(error.message).toMatch(expected.message);
  expect(files.has(`${HOSTILE}/kubernetes.json`)).toBe(false);
  expect(files.get(`${HOSTILE}/cluster.json`)).toBe(baseline.get(`${HOSTILE}/cluster.json`));
  for (const cluster of OTHERS) {
    expect(errorsOf(files, cluster), cluster).toBeUndefined();
    expect(files.get(`${cluster}/kubernetes.json`), cluster).toBe(baseline.get(`${cluster}/kubernetes.json`));
  }
  // The engine: AUDIT-002 for checkout, with the reason; no other cluster's API is in doubt.
  const fleet = await loadFleet(memorySource(files));
  expect(fleet.inputErrors).toEqual([]);
  const audit002 = runAudit(fleet, { now: NOW }).findings.filter(
    (f) => f.checkId === 'AUDIT-002' && f.status === 'fail',
  );
  expect(audit002.map((f) => `${f.accountId}/${f.region}/${f.cluster}`)).toEqual([HOSTILE]);
  const [finding] = audit002;
  expect(finding?.message).toContain(`${expected.code}: ${error.message}`);
  expect(finding?.evidence).toMatchObject({ api: expected.api, code: expected.code, class: expected.class });
  return { error, fix: finding?.remediation ?? '' };
}

const requests = (resource: string) => emulator.requestCounts()[`k8s:checkout:${resource}`];

describe('bounds on what a page holds', () => {
  it('stops reading a page at maxPageBytes, without buffering the rest (PageTooLarge)', async () => {
    // 32 MiB streamed by the emulator: a collector without the bound would read it all, and find
    // hundreds of items in the page (TooManyItems), not PageTooLarge.
    const { fix } = await hostile(
      'a 32 MiB page, maxPageBytes 256 KiB',
      { hugePages: { 'k8s:checkout:pods': 32 * 1024 * 1024 } },
      {
        api: 'k8s:pods',
        code: 'PageTooLarge',
        class: 'malformed',
        message:
          /^the pods page is larger than 256 KiB \(more than \d+ bytes received; maxPageBytes 262144\): not read further$/,
        withinMs: DEADLINE_MS - SLACK_MS,
      },
    );
    expect(fix).toContain("the collector's maxPageBytes");
    expect(requests('pods')).toBe(1);
  });

  it('ends a page with more items than asked for, beyond the tolerance (TooManyItems)', async () => {
    const { fix } = await hostile(
      'a page of 50 items for limit 3',
      { oversizedPages: { 'k8s:checkout:pods': 50 } },
      {
        api: 'k8s:pods',
        code: 'TooManyItems',
        class: 'malformed',
        message: /^a pods page has 50 items, more than 6 \(maxPageItems; the page asked for 3\)/,
        withinMs: DEADLINE_MS - SLACK_MS,
      },
    );
    expect(fix).toContain('the server ignores limit');
  });

  it('tolerates a page with up to twice the items asked for', async () => {
    emulator.setFaults({ oversizedPages: { 'k8s:checkout:pods': 6 } });
    const { files } = await timedCollect();
    expect(errorsOf(files, HOSTILE)).toBeUndefined();
  });
});

describe('bounds on how a list goes on', () => {
  it('stops following a list after maxPagesPerList pages (TooManyPages)', async () => {
    const { fix } = await hostile(
      'a list that never ends, maxPagesPerList 20',
      { endlessContinue: ['k8s:checkout:pods'] },
      {
        api: 'k8s:pods',
        code: 'TooManyPages',
        class: 'malformed',
        message: /^the pods list did not end after 20 pages \(maxPagesPerList 20, 3 items a page\)/,
        withinMs: DEADLINE_MS - SLACK_MS,
      },
    );
    // Exactly the bound: the 20th page's token is not followed.
    expect(requests('pods')).toBe(20);
    expect(fix).toContain("the collector's maxPagesPerList");
  });

  it('stops at the first continue token that comes back (ContinueLoop)', async () => {
    const { fix } = await hostile(
      'a continue token that repeats',
      { loopingContinue: ['k8s:checkout:pods'] },
      {
        api: 'k8s:pods',
        code: 'ContinueLoop',
        class: 'malformed',
        message: /^the pods list loops: page 2 gave the continue token page 1 gave/,
        withinMs: DEADLINE_MS - SLACK_MS,
      },
    );
    expect(requests('pods')).toBe(2);
    expect(fix).toContain('is misbehaving');
  });
});

describe('bounds in time of one request', () => {
  it('recognises an answer that trickles, below minBytesPerSecond in a window (Trickle)', async () => {
    // 64 bytes every 50 ms: 1.3 KB/s, a byte far more often than the idle bound (2 s) would see.
    const { fix } = await hostile(
      'a trickle of 1.3 KB/s, minimum 4 KiB/s over 0.5 s',
      { tricklingClusters: ['checkout'], trickle: { bytes: 64, everyMs: 50 } },
      {
        api: 'k8s:pods',
        code: 'Trickle',
        class: 'unreachable',
        message:
          /^the pods answer trickled: \d+ bytes in the last \d+(\.\d)? s \(\d+ bytes in \d+(\.\d)? s in all\), below 4 KiB\/s \(minBytesPerSecond 4096, rateWindowMs 500\)$/,
        withinMs: BOUNDS.rateWindowMs * 3 + SLACK_MS,
      },
    );
    expect(fix).toContain("the collector's minBytesPerSecond");
  });

  it('ends an answer whose body stops, at the idle bound (Timeout)', async () => {
    const { fix } = await hostile(
      'a body that pauses 5 s, timeoutMs 400',
      { tricklingClusters: ['checkout'], trickle: { bytes: 64, everyMs: 5_000 } },
      {
        api: 'k8s',
        code: 'Timeout',
        class: 'unreachable',
        message: /^no byte within 0\.4 s in the body of the pods answer, after \d+ bytes \(timeoutMs 400\)$/,
        withinMs: 400 * 3 + SLACK_MS,
      },
      { timeoutMs: 400 },
    );
    expect(requests('pods')).toBe(1);
    expect(fix).toContain('timeoutMs or headersTimeoutMs');
  });

  it('ends a request whose answer has no headers in time, whatever the idle bound (Timeout)', async () => {
    const { fix } = await hostile(
      'no headers, headersTimeoutMs 300',
      { stalledClusters: ['checkout'] },
      {
        api: 'k8s',
        code: 'Timeout',
        class: 'unreachable',
        message: /^no response headers within 0\.3 s \(response of pods; headersTimeoutMs 300\)$/,
        withinMs: 300 * 3 + SLACK_MS,
      },
      { headersTimeoutMs: 300, timeoutMs: 5_000 },
    );
    expect(fix).toContain('timeoutMs or headersTimeoutMs');
  });
});
