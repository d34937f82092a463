/**
 * The live collection on a worker thread of its own, whose heap generations are bounded.
 *
 * Why a thread: the collection allocates about 2 GB for a fleet of 600,000 pods (most of it in
 * the AWS SDK's requests and answers), and much of it lives a network round trip or more, long
 * enough to be promoted. Left to itself, V8 sizes the heap of the thread that does this for
 * speed: on Node 24 (V8 13) the new space grew to 128 MB (32 MB on Node 20), and the old
 * generation to 134 MB for about 46 MB live. The collector's peak RSS was 465 to 524 MB on Node 24,
 * against 283 to 340 MB on Node 20 (README, Performance). Start flags (`--max-semi-space-size`)
 * would bound it only for those who pass them; a worker thread's `resourceLimits` bound it for
 * every start of the CLI, on every Node version.
 *
 * The thread gets plain data (the live options, the directory, whether to show progress) and
 * posts back plain data (its stderr lines, then the summary or its failure): credentials,
 * sockets and the decode threads all live in it, and end with it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { CollectSummary } from '#shared/collectors/collect-fleet.ts';
import { onInterrupt } from '../interrupt.ts';
import { LiveOptionsError } from './errors.ts';
import { type CollectIo, collectOptionsFrom, type LiveOptions } from './live-options.ts';

/**
 * The collection thread's young generation, in MB (V8's semi-spaces and new large object space
 * together), by the V8 the process runs on (`npm run bench:collect`, alternating, README,
 * Performance):
 * - V8 11 (Node 20): 48 MB, Node 20's own maximum. With 16 MB it took 3 to 10% more CPU time in
 *   alternating runs, for 20 MB less memory where it has 80 MB to spare.
 * - V8 12 and later (Node 22, 24): 16 MB. Left to itself, Node 24 let its new space alone grow
 *   to 128 MB; with 48 MB its collector peaked at 324 to 349 MB (eight runs), with 16 MB at 295
 *   to 331 MB (eight runs), its CPU time the same within the runs' spread (Node 22: 287 to 308
 *   MB, against 270 to 297).
 */
export const COLLECTION_YOUNG_GENERATION_MB = { v8Through11: 48, v8From12: 16 } as const;

/** The collection thread's young generation in MB on a V8 of `v8Version` (default: this process's). */
export function defaultYoungGenerationMb(v8Version: string = process.versions.v8): number {
  const major = Number.parseInt(v8Version, 10);
  return major >= 12 ? COLLECTION_YOUNG_GENERATION_MB.v8From12 : COLLECTION_YOUNG_GENERATION_MB.v8Through11;
}

/**
 * The collection thread's old generation limit, in MB: far above what it holds (about 50 MB live
 * with 16 clusters of 2,000 pods in flight), and below 2 GB, because with a large limit (2 GB and
 * more, on the machines measured) V8 lets the old generation grow to up to 4 times what survived
 * the last full collection before it collects again, and below it to at most 2 times
 * (heap-controller.cc, MaxGrowingFactor). On Node 24, with a 16 MB young generation, the
 * difference was 392 to 417 MB of peak RSS against 326 to 351 MB (one to four runs each).
 */
export const COLLECTION_OLD_GENERATION_MB = 2000;

/** What the collection thread is started with (workerData). */
export interface CollectionThreadData {
  readonly live: LiveOptions;
  readonly progress: boolean;
  readonly dir: string;
  /** The collection's private scratch folder, made here so that an interrupt can remove it. */
  readonly scratch?: string;
}

/** What the collection thread posts back. */
export type CollectionThreadMessage =
  | { readonly kind: 'stderr'; readonly text: string }
  | { readonly kind: 'done'; readonly summary: CollectSummary }
  | { readonly kind: 'failed'; readonly name: string; readonly message: string; readonly stack?: string };

export interface CollectionThreadOptions {
  /** The thread's young generation in MB (default {@link defaultYoungGenerationMb}). */
  readonly youngGenerationMb?: number;
  /** The thread's old generation limit in MB (default {@link defaultOldGenerationMb}). */
  readonly oldGenerationMb?: number;
}

/**
 * The collection thread's old generation limit, in MB: {@link COLLECTION_OLD_GENERATION_MB}, or
 * less where this process's own heap limit (V8's default for this machine) is less.
 */
export function defaultOldGenerationMb(): number {
  const processLimitMb = Math.floor(getHeapStatistics().heap_size_limit / 1048576);
  return Math.min(COLLECTION_OLD_GENERATION_MB, processLimitMb);
}

/**
 * `collectLive` (collect-live.ts) on a thread of its own: the same files in `dir`, the same progress on
 * `io.stderr`, the same summary. Bad options are refused here, before the thread starts, with the
 * same LiveOptionsError; an error the collection throws is thrown here with its name and message.
 * The collection's scratch folder (each account's IAM between the two passes) is made here, in a
 * private temporary folder: removed afterwards, and on an interrupt, once the thread is stopped
 * (cli/interrupt.ts), where the thread itself would leave it.
 */
export function collectInThread(
  live: LiveOptions,
  io: CollectIo,
  dir: string,
  options: CollectionThreadOptions = {},
): Promise<CollectSummary> {
  // Throws LiveOptionsError for bad options before any thread starts (what it would say is said by the thread).
  collectOptionsFrom(live, { stderr: () => {}, progress: false });
  const limits = threadLimits(options);
  return collectWithScratch(live, io, dir, limits);
}

/** The thread's young and old generation sizes in MB; a RangeError for one that is not a whole number from 1. */
function threadLimits(options: CollectionThreadOptions): { young: number; old: number } {
  const young = options.youngGenerationMb ?? defaultYoungGenerationMb();
  const old = options.oldGenerationMb ?? defaultOldGenerationMb();
  for (const [what, mb] of [
    ['young', young],
    ['old', old],
  ] as const) {
    if (!Number.isInteger(mb) || mb < 1)
      throw new RangeError(
        `the collection thread's ${what} generation must be a whole number of MB from 1, not ${mb}`,
      );
  }
  return { young, old };
}

async function collectWithScratch(
  live: LiveOptions,
  io: CollectIo,
  dir: string,
  limits: { young: number; old: number },
): Promise<CollectSummary> {
  // Where TMPDIR cannot take it, the collection keeps each account's IAM in memory instead.
  const scratch = await mkdtemp(join(tmpdir(), 'irsa-audit-iam-')).catch(() => undefined);
  let worker: Worker | undefined;
  const undo = onInterrupt({
    run: async () => {
      await worker?.terminate();
    },
    ...(scratch === undefined ? {} : { remove: scratch }),
  });
  try {
    return await runCollectionThread(
      { live, progress: io.progress, dir, ...(scratch ? { scratch } : {}) },
      io,
      limits,
      (started) => {
        worker = started;
      },
    );
  } finally {
    undo();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true }).catch(() => {});
  }
}

function runCollectionThread(
  data: CollectionThreadData,
  io: CollectIo,
  { young: youngGenerationMb, old: oldGenerationMb }: { young: number; old: number },
  started: (worker: Worker) => void,
): Promise<CollectSummary> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const worker = new Worker(new URL('./collection.worker.mjs', import.meta.url), {
      workerData: data,
      resourceLimits: {
        maxYoungGenerationSizeMb: youngGenerationMb,
        maxOldGenerationSizeMb: oldGenerationMb,
      },
    });
    started(worker);
    worker.on('message', (message: CollectionThreadMessage) => {
      if (message.kind === 'stderr') io.stderr(message.text);
      else if (message.kind === 'done') settle(() => resolve(message.summary));
      else settle(() => reject(rebuilt(message)));
    });
    worker.on('error', (error) =>
      settle(() =>
        reject(
          (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new Error(
                `the collection ran out of memory (its heap may grow to ${oldGenerationMb} MB): ` +
                  'collect fewer accounts and clusters at once (--concurrency)',
              )
            : error,
        ),
      ),
    );
    worker.on('exit', (code) =>
      settle(() => reject(new Error(`the collection thread stopped (exit code ${code}) before it finished`))),
    );
  });
}

/** The collection's error as the thread described it: a LiveOptionsError again where it was one. */
function rebuilt(failure: Extract<CollectionThreadMessage, { kind: 'failed' }>): Error {
  if (failure.name === 'LiveOptionsError') return new LiveOptionsError(failure.message);
  const error = new Error(failure.message);
  error.name = failure.name;
  if (failure.stack) error.stack = failure.stack;
  return error;
}
