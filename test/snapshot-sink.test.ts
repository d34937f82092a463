/**
 * The collector hands each snapshot file to a sink as soon as it is complete and keeps nothing:
 * end to end over real HTTP(S) on loopback against the emulator serving examples/fleet. A
 * cluster's files reach the sink while the rest of the fleet is still being read; the directory
 * sink writes exactly what the in-memory collection holds; a file that cannot be written, or a
 * cluster that cannot be read, half way through the fleet leaves the files already written intact,
 * is never a pass, and the rest of the fleet is audited. Then `check --live` through the CLI: its
 * temporary snapshot is removed, `--keep-snapshot` keeps it.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CollectOptions, collectFleet, NOT_WRITTEN_CODE } from '#shared/collectors/collect-fleet.ts';
import type { PageDecoder } from '#shared/collectors/kubernetes-pages.ts';
import { createPageDecoderPool } from '#shared/collectors/page-decoder-pool.ts';
import { directorySink, type SnapshotSink, snapshotPathProblem } from '#shared/collectors/snapshot-sink.ts';
import { runAudit } from '#shared/engine/run-audit.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { type ExpectedFinding, identity, REPO_ROOT, runCliAsync } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
const expected: ExpectedFinding[] = JSON.parse(
  readFileSync(join(FLEET, 'expected-findings.json'), 'utf8'),
).findings;
const NOW = new Date('2026-06-01T00:00:00Z');
const ACCOUNT = '210987654321';
const CLUSTERS = 5;

let emulator: Emulator;
const savedEnv = { ...process.env };
const scratch = mkdtempSync(join(tmpdir(), 'irsa-sink-'));
let serial = 0;
const freshDir = () => join(scratch, `snapshot-${++serial}`);

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

/** One account and one cluster at a time: the order in which files reach the sink is then plain. */
const ONE_AT_A_TIME: CollectOptions = {
  accounts: { kind: 'organization' },
  auditRole: { roleName: 'irsa-auditor' },
  accountConcurrency: 1,
  clusterConcurrency: 1,
  totalClusterConcurrency: 1,
  kubernetes: { backoffMs: 5, pageSize: 7 },
};

/** Every file under `dir`, by its path relative to `dir` with `/` separators. */
function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path).split('\\').join('/'), readFileSync(path, 'utf8'));
  }
  return files;
}

const ids = (findings: readonly ExpectedFinding[]) => findings.map(identity).sort();

/** Waits until `condition` holds, at most `ms`; says whether it held. */
async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return condition();
}

describe('the collector streams the snapshot to its sink', () => {
  it("hands each cluster's files over as the cluster finishes, not at the end, each once and as the memory collection holds them", async () => {
    const reference = (await collectFleet(ONE_AT_A_TIME)).files;
    const kubernetesFiles = [...reference.keys()].filter((p) => p.endsWith('/kubernetes.json'));
    expect(kubernetesFiles).toHaveLength(CLUSTERS);
    const others = kubernetesFiles.filter((p) => !p.includes('/ml-platform/'));

    const dir = freshDir();
    const disk = directorySink(dir);
    // Files handed to the sink and clusters said collected, in the order they happened.
    const events: { file?: string; collected?: string }[] = [];
    const sink: SnapshotSink = {
      async write(path, content) {
        events.push({ file: path });
        await disk.write(path, content);
      },
    };
    // The pod pages are decoded on a thread of their own (their lines reach the sink as bytes), but
    // ml-platform's (the only cluster with a "notebooks" namespace) wait until every other cluster's
    // kubernetes.json is in the sink: a collector that kept its files to the end would never get there.
    const pool = createPageDecoderPool(1);
    let gateHeld = 0;
    let gateTimedOut = 0;
    const decoder: PageDecoder = {
      async decode(kind, body) {
        if (kind === 'Pod' && Buffer.from(body).includes('"notebooks"')) {
          gateHeld++;
          const inSink = () => others.every((path) => events.some((e) => e.file === path));
          if (!(await waitUntil(inSink, 15_000))) gateTimedOut++;
        }
        return pool.decode(kind, body);
      },
    };
    const summary = await collectFleet(
      {
        ...ONE_AT_A_TIME,
        kubernetes: { ...ONE_AT_A_TIME.kubernetes, decoder },
        onProgress: (p) => {
          if (p.phase === 'cluster') events.push({ collected: `${p.accountId}/${p.region}/${p.cluster}/` });
        },
      },
      sink,
    ).finally(() => pool.close());
    expect(gateHeld).toBeGreaterThan(0);
    expect(gateTimedOut).toBe(0);

    // Each cluster's files were all handed over before the collector said the cluster was collected.
    const collected = events.flatMap((e, index) => (e.collected ? [{ cluster: e.collected, index }] : []));
    expect(collected).toHaveLength(CLUSTERS);
    for (const { cluster, index } of collected) {
      const files = events.flatMap((e, at) => (e.file?.startsWith(cluster) ? [at] : []));
      expect(files.length, cluster).toBeGreaterThanOrEqual(3);
      expect(Math.max(...files), cluster).toBeLessThan(index);
    }
    const received = events.flatMap((e) => (e.file ? [e.file] : []));
    expect([...received].sort()).toEqual([...reference.keys()].sort());
    expect(new Set(received).size).toBe(received.length);
    expect([...summary.paths].sort()).toEqual([...reference.keys()].sort());
    expect(summary.unwritten).toEqual([]);
    // Written as the memory collection (pages decoded on this thread) holds them, byte for byte,
    // and no temporary file left.
    expect(filesUnder(dir)).toEqual(reference);

    // A directory check of what was written finds what the fleet's expected findings say.
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toEqual([]);
    const failing = runAudit(fleet, { now: NOW }).findings.filter((f) => f.status === 'fail');
    expect(ids(failing)).toEqual(ids(expected));
  });

  it('a file not written and a cluster not read half way leave the files written intact, are never a pass, and the rest is audited', async () => {
    const reference = (await collectFleet(ONE_AT_A_TIME)).files;
    const lost = `${ACCOUNT}/eu-west-1/checkout/kubernetes.json`;
    // batch cannot be reached; checkout's kubernetes.json meets a full disk.
    emulator.setFaults({ unreachableClusters: ['batch'] });
    const dir = freshDir();
    const disk = directorySink(dir);
    const before: string[] = [];
    let failedAt: Map<string, string> | undefined;
    const sink: SnapshotSink = {
      async write(path, text) {
        if (path === lost) {
          // What was written so far must stay as it is, whatever follows (leaving out the files
          // being written at this moment: their temporary files, hidden).
          failedAt = new Map(
            [...filesUnder(dir)].filter(([path]) => !path.split('/').pop()?.startsWith('.')),
          );
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        before.push(path);
        await disk.write(path, text);
      },
    };
    const summary = await collectFleet(ONE_AT_A_TIME, sink);

    expect(summary.unwritten).toEqual([{ path: lost, message: 'ENOSPC: no space left on device, write' }]);
    expect(failedAt?.size).toBeGreaterThan(0);
    const after = filesUnder(dir);
    for (const [path, text] of failedAt ?? []) expect(after.get(path), path).toBe(text);
    expect(after.has(lost)).toBe(false);

    // The cluster records the file it could not keep as a failed read of its Kubernetes API.
    const checkoutErrors = JSON.parse(
      after.get(`${ACCOUNT}/eu-west-1/checkout/collection-errors.json`) ?? '{}',
    );
    expect(checkoutErrors.errors).toEqual([
      expect.objectContaining({ api: 'k8s', code: NOT_WRITTEN_CODE, class: 'error' }),
    ]);
    expect(checkoutErrors.errors[0].message).toContain(
      `the snapshot file ${lost} could not be written: ENOSPC`,
    );

    // Every cluster but the two is written as in the fault-free collection.
    // (The account's iam.json lacks the policies of the roles only batch's ServiceAccounts name.)
    const untouched = [...reference.keys()].filter(
      (p) =>
        !p.includes('/eu-west-1/checkout/') &&
        !p.includes('/eu-west-1/batch/') &&
        p !== `${ACCOUNT}/iam.json`,
    );
    expect(untouched.length).toBeGreaterThan(10);
    for (const path of untouched) expect(after.get(path), path).toBe(reference.get(path));

    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toEqual([]);
    const findings = runAudit(fleet, { now: NOW }).findings;
    // Neither cluster passes anything read from its Kubernetes API: not evaluated, and AUDIT-002 says why.
    const kubernetesChecks = new Set(['IRSA-003', 'IRSA-013', 'IRSA-030', 'IRSA-031', 'IRSA-033']);
    for (const cluster of ['checkout', 'batch']) {
      const here = findings.filter((f) => f.cluster === cluster && kubernetesChecks.has(f.checkId));
      expect(here.length, cluster).toBeGreaterThan(0);
      expect(
        here.filter((f) => f.status === 'pass'),
        cluster,
      ).toEqual([]);
      const audit = findings.filter(
        (f) => f.cluster === cluster && f.checkId === 'AUDIT-002' && f.status === 'fail',
      );
      expect(audit, cluster).toHaveLength(1);
    }
    const checkoutAudit = findings.find((f) => f.cluster === 'checkout' && f.checkId === 'AUDIT-002');
    expect(checkoutAudit?.message).toContain('could not be written');
    // The rest of the fleet: exactly its expected findings.
    const elsewhere = (f: ExpectedFinding) => f.cluster !== 'checkout' && f.cluster !== 'batch';
    const failing = findings.filter((f) => f.status === 'fail' && elsewhere(f) && f.checkId !== 'AUDIT-002');
    expect(ids(failing)).toEqual(ids(expected.filter(elsewhere)));
  });
});

describe('the directory sink', () => {
  it('writes below its directory only, refusing a path that could lead out of it', async () => {
    const dir = freshDir();
    const sink = directorySink(dir);
    for (const path of [
      '../outside.json',
      '/etc/passwd',
      'a//b.json',
      'a/./b.json',
      'a\\..\\b.json',
      'a\0b',
      '',
    ]) {
      await expect(sink.write(path, 'x'), JSON.stringify(path)).rejects.toThrow(/not written: /);
      expect(snapshotPathProblem(path), JSON.stringify(path)).not.toBeNull();
    }
    expect(readdirSync(scratch)).not.toContain('outside.json');
    await sink.write('111122223333/us-east-1/prod_1-a/kubernetes.json', '{}\n');
    expect(filesUnder(dir)).toEqual(new Map([['111122223333/us-east-1/prod_1-a/kubernetes.json', '{}\n']]));
  });

  it('replaces a file whole, and leaves nothing behind when a write fails', async () => {
    const dir = freshDir();
    const sink = directorySink(dir);
    await sink.write('111122223333/iam.json', 'old\n');
    await sink.write('111122223333/iam.json', 'new\n');
    expect(filesUnder(dir)).toEqual(new Map([['111122223333/iam.json', 'new\n']]));
    // A folder where the file should go: the rename fails, the temporary file is removed.
    mkdirSync(join(dir, '111122223333', 'collection-errors.json'));
    await expect(sink.write('111122223333/collection-errors.json', '{}\n')).rejects.toThrow();
    expect(readdirSync(join(dir, '111122223333')).sort()).toEqual(['collection-errors.json', 'iam.json']);
  });

  it('makes a folder once for its files, and again if it disappears while the sink writes', async () => {
    const dir = freshDir();
    const sink = directorySink(dir);
    await sink.write('111122223333/us-east-1/a/cluster.json', '1\n');
    await sink.write('111122223333/us-east-1/a/kubernetes.json', '2\n');
    rmSync(join(dir, '111122223333'), { recursive: true });
    await sink.write('111122223333/us-east-1/a/eks.json', '3\n');
    expect(filesUnder(dir)).toEqual(new Map([['111122223333/us-east-1/a/eks.json', '3\n']]));
  });
});

describe('check --live through the CLI', () => {
  const live = ['check', '--live', '--organization', '--role-name', 'irsa-auditor', '--format', 'json', '-q'];

  it('collects into a temporary directory and removes it; --keep-snapshot keeps a snapshot that check reads alike', async () => {
    const temporary = freshDir();
    mkdirSync(temporary);
    const env = { ...emulator.env, NODE_NO_WARNINGS: '1', TMPDIR: temporary };
    const run = await runCliAsync(live, { env });
    expect(run.status, run.stderr).toBe(0);
    const failing = JSON.parse(run.stdout).findings.filter((f: { status: string }) => f.status === 'fail');
    expect(ids(failing)).toEqual(ids(expected));
    expect(readdirSync(temporary).filter((name) => name.startsWith('irsa-audit-live-'))).toEqual([]);

    const kept = freshDir();
    const keep = await runCliAsync([...live, '--keep-snapshot', kept], { env });
    expect(keep.status, keep.stderr).toBe(0);
    expect(JSON.parse(keep.stdout).findings).toEqual(JSON.parse(run.stdout).findings);
    expect([...filesUnder(kept).keys()].filter((p) => p.endsWith('/kubernetes.json'))).toHaveLength(CLUSTERS);
    // The collection marked its snapshot complete once every file was written.
    expect(JSON.parse(filesUnder(kept).get('collection.json') ?? '{}')).toMatchObject({ status: 'complete' });
    const again = await runCliAsync(['check', kept, '--format', 'json', '-q'], { env });
    expect(again.status, again.stderr).toBe(0);
    expect(ids(JSON.parse(again.stdout).findings)).toEqual(ids(expected));
  });

  it('refuses --keep-snapshot into a directory that is not empty, and without --live', async () => {
    const used = freshDir();
    mkdirSync(used);
    writeFileSync(join(used, 'stale.json'), '{}');
    const env = { ...emulator.env, NODE_NO_WARNINGS: '1' };
    const refused = await runCliAsync([...live, '--keep-snapshot', used], { env });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`--keep-snapshot: ${used} is not empty`);
    expect(emulator.requestCounts()['sts:AssumeRole'] ?? 0).toBe(0);
    const withoutLive = await runCliAsync(['check', FLEET, '--keep-snapshot', freshDir()], { env });
    expect(withoutLive.status).toBe(2);
    expect(withoutLive.stderr).toContain('--keep-snapshot needs --live');
  });
});
