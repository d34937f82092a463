/**
 * The live collection on its own thread (collection-thread.ts), against the emulator serving
 * examples/fleet over real HTTP(S) on loopback: the thread writes the snapshot the calling thread
 * would, its progress reaches the caller's stderr, and what goes wrong in it comes back named.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../emulator/index.ts';
import { REPO_ROOT } from '../../test/support/run-cli.ts';
import { collectLive } from './collect-live.ts';
import {
  COLLECTION_OLD_GENERATION_MB,
  collectInThread,
  defaultOldGenerationMb,
  defaultYoungGenerationMb,
} from './collection-thread.ts';
import { LiveOptionsError } from './errors.ts';

let emulator: Emulator;
const savedEnv = { ...process.env };
const scratch = mkdtempSync(join(tmpdir(), 'irsa-thread-'));
const ORGANIZATION = { organization: true, roleName: 'irsa-auditor' } as const;

beforeAll(async () => {
  emulator = await startEmulator({ fleetDir: join(REPO_ROOT, 'examples/fleet') });
  // The thread starts with a copy of this environment: the emulator's endpoints and credentials.
  Object.assign(process.env, emulator.env, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
});
afterAll(async () => {
  await emulator?.stop();
  process.env = savedEnv;
  rmSync(scratch, { recursive: true, force: true });
});

/** The files under `dir`, relative to it, sorted. */
const filesUnder = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();

describe('collectInThread', () => {
  it('writes the snapshot collectLive writes on the calling thread, and relays its progress', {
    timeout: 60_000,
  }, async () => {
    const inThread = join(scratch, 'thread');
    const lines: string[] = [];
    const summary = await collectInThread(
      ORGANIZATION,
      { stderr: (t) => lines.push(t), progress: true },
      inThread,
    );
    const here = join(scratch, 'here');
    const direct = await collectLive(ORGANIZATION, { stderr: () => {}, progress: false }, here);
    expect(summary.accounts).toBe(2);
    expect(summary.clusters).toBe(5);
    expect(summary.unwritten).toEqual([]);
    expect([...summary.paths].sort()).toEqual([...direct.paths].sort());
    expect(filesUnder(inThread)).toEqual(filesUnder(here));
    // The progress the collection reports, one line per event, through the terminal sink.
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.every((line) => line.endsWith('\n'))).toBe(true);
    expect(lines.join('')).toMatch(/^\d{12}\/[a-z0-9-]+\/[^:\n]+: /m);
  });

  it('refuses bad options before any thread starts, with the same LiveOptionsError', () => {
    expect(() =>
      collectInThread(
        { organization: true, accounts: ['111122223333'] },
        { stderr: () => {}, progress: false },
        scratch,
      ),
    ).toThrow(LiveOptionsError);
    expect(() =>
      collectInThread({ accounts: ['111122223333'] }, { stderr: () => {}, progress: false }, scratch),
    ).toThrow(/needs --role-name/);
  });

  it("throws what the thread's collection threw, by name and message", async () => {
    // A decode thread count the pool refuses: thrown in the thread, when the collection starts.
    const failure = collectInThread(
      { ...ORGANIZATION, threads: -1 },
      { stderr: () => {}, progress: false },
      join(scratch, 'never'),
    );
    await expect(failure).rejects.toMatchObject({
      name: 'RangeError',
      message: expect.stringMatching(/decode threads must be a whole number from 0, not -1/),
    });
  });

  it('runs the thread within its heap limits, and says so when the collection outgrows them', {
    timeout: 60_000,
  }, async () => {
    const failure = collectInThread(
      ORGANIZATION,
      { stderr: () => {}, progress: false },
      join(scratch, 'small'),
      { oldGenerationMb: 4 },
    );
    await expect(failure).rejects.toThrow(
      /^the collection ran out of memory \(its heap may grow to 4 MB\): collect fewer accounts and clusters at once \(--concurrency\)$/,
    );
  });

  it('limits the old generation to 2,000 MB, or to the heap limit this process has where that is less', () => {
    expect(COLLECTION_OLD_GENERATION_MB).toBe(2000);
    const processLimitMb = Math.floor(getHeapStatistics().heap_size_limit / 1048576);
    expect(defaultOldGenerationMb()).toBe(Math.min(2000, processLimitMb));
  });

  it("sizes the young generation by V8's version: 48 MB on Node 20's V8 11, 16 MB from V8 12 (Node 22, 24)", () => {
    expect(defaultYoungGenerationMb('11.3.244.8-node.38')).toBe(48);
    expect(defaultYoungGenerationMb('12.4.254.21-node.57')).toBe(16);
    expect(defaultYoungGenerationMb('13.6.233.17-node.63')).toBe(16);
    // A version it cannot read gets the larger, Node 20's: the collection is not slowed by a guess.
    expect(defaultYoungGenerationMb('unknown')).toBe(48);
    expect(defaultYoungGenerationMb()).toBe(defaultYoungGenerationMb(process.versions.v8));
  });

  it('refuses heap limits that are not whole numbers of MB', () => {
    const io = { stderr: () => {}, progress: false };
    expect(() => collectInThread(ORGANIZATION, io, scratch, { youngGenerationMb: 0 })).toThrow(
      /young generation must be a whole number of MB from 1, not 0/,
    );
    expect(() => collectInThread(ORGANIZATION, io, scratch, { oldGenerationMb: 1.5 })).toThrow(
      /old generation must be a whole number of MB from 1, not 1.5/,
    );
  });
});
