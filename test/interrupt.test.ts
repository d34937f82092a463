/**
 * An interrupted live collection leaves nothing of the fleet behind it: end to end, the real CLI
 * collecting from the emulator over real HTTP(S) on loopback, stopped by a signal in the middle.
 * Before cli/interrupt.ts, Node's default exit left `check --live`'s temporary snapshot (roles,
 * trust policies, pods) and the collection's scratch folder under TMPDIR.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
/** Slow answers, so that the collection is still running when the signal comes. */
const LATENCY_MS = 250;

let emulator: Emulator;
let scratch: string;

beforeAll(async () => {
  emulator = await startEmulator({ fleetDir: FLEET, faults: { latencyMs: LATENCY_MS } });
  scratch = mkdtempSync(join(tmpdir(), 'irsa-interrupt-'));
});
afterAll(async () => {
  await emulator?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  readonly child: ChildProcess;
  readonly done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** The CLI with `args`, its TMPDIR `tmp`, against the emulator. */
function start(args: string[], tmp: string): Run {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/irsa-audit.mjs'), ...args], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...emulator.env,
      TMPDIR: tmp,
      NO_COLOR: '1',
      NODE_NO_WARNINGS: '1',
      IRSA_AUDIT_NODE_NOTICE: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('close', (status, signal) => resolve({ status, signal, stderr })),
  );
  return { child, done };
}

/** The auditor's own folders under `tmp` (tsx, running the sources, keeps a cache there too). */
const ours = (tmp: string) => readdirSync(tmp).filter((name) => name.startsWith('irsa-audit-'));

/** Waits until `ready` holds, polling; fails after `ms`. */
async function until(ready: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const LIVE = ['--organization', '--role-name', 'irsa-auditor', '-q'];

describe('an interrupted live collection', () => {
  it('check --live: Ctrl-C removes the temporary snapshot and the scratch folder, and exits 130', {
    timeout: 60_000,
  }, async () => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const run = start(['check', '--live', ...LIVE], tmp);
    // The snapshot folder has its first files, and the scratch folder is made: collecting.
    const snapshot = () => ours(tmp).find((name) => name.startsWith('irsa-audit-live-'));
    await until(() => {
      const live = snapshot();
      return (
        live !== undefined &&
        ours(tmp).some((name) => name.startsWith('irsa-audit-iam-')) &&
        readdirSync(join(tmp, live)).length > 0
      );
    }, 'the collection to write its first files');
    run.child.kill('SIGINT');
    const { status, stderr } = await run.done;
    expect(status, stderr).toBe(130);
    expect(stderr).toContain('irsa-audit: interrupted (SIGINT)');
    expect(ours(tmp)).toEqual([]);
  });

  it('check --live --keep-snapshot: a kill keeps the folder, says it is incomplete, and exits 143', {
    timeout: 60_000,
  }, async () => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const kept = join(scratch, 'kept');
    const run = start(['check', '--live', ...LIVE, '--keep-snapshot', kept], tmp);
    // An account's folder, beside the collection's own marker: collecting.
    await until(
      () => existsSync(kept) && readdirSync(kept).some((name) => /^\d{12}$/.test(name)),
      'the first account folder',
    );
    run.child.kill('SIGTERM');
    const { status, stderr } = await run.done;
    expect(status, stderr).toBe(143);
    expect(stderr).toContain(`the snapshot in ${kept} is incomplete (the collection was interrupted)`);
    expect(readdirSync(kept).length).toBeGreaterThan(0);
    expect(ours(tmp)).toEqual([]);
    // Audited later, the snapshot says it is incomplete: AUDIT-004 on collection.json, exit 2.
    const later = start(['check', kept, '--format', 'json', '-q'], tmp);
    let stdout = '';
    later.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const audit = await later.done;
    expect(audit.status, audit.stderr).toBe(2);
    const invalid = JSON.parse(stdout).findings.filter(
      (f: { checkId: string; status: string }) => f.checkId === 'AUDIT-004' && f.status === 'fail',
    );
    // Beside what the files it has lack (an account whose iam.json was still to come).
    expect(invalid.map((f: { resource: string }) => f.resource)).toContain('collection.json');
  });
});
