/**
 * Worker threads that parse and trim Kubernetes list pages (Piscina), so that on a machine with
 * more than one core the JSON of 600,000 pods is not decoded on the thread that also drives every
 * request. The page bodies are transferred to the workers, not copied; only the trimmed lines
 * come back.
 *
 * The decode threads run at a lower OS priority (nice 10, on Linux): the collector never waits on
 * a pod page's decoding to make its next request, so decoding is the work that can wait. When the
 * cores are busy, the thread that drives the requests goes first, and the pages decode in the
 * time the collector spends waiting on the network (its policy lookups). The pages the collector
 * does wait on (ServiceAccounts) are not sent here: see startKubernetesCollection.
 *
 * For the CLI and the benchmark. The worker is `page-decoder.worker.mjs` beside this module's code:
 * in the sources a loader that registers tsx, in the build (dist/) the bundled worker itself.
 * The bundled Lambda functions do not use it: they decode on their one thread (kubernetes-pages.ts).
 */
import { Piscina } from 'piscina';
import type { KubernetesKind } from '../model/fleet.ts';
import { defaultDecodeThreads } from './collection-defaults.ts';
import { type DecodedPage, inlinePageDecoder, type PageDecoder, type PageLines } from './kubernetes-pages.ts';

/** A decode thread's task: a page to decode, or written pages' bytes to free (PageDecoder.release). */
export type DecodeTask =
  | { readonly kind: KubernetesKind; readonly body: ArrayBuffer }
  | { readonly release: readonly ArrayBuffer[] };

export interface PageDecoderPool extends PageDecoder {
  /** Threads decoding pages; 0 when pages are decoded on the calling thread. */
  readonly threads: number;
  close(): Promise<void>;
}

export interface PageDecoderPoolOptions {
  /**
   * The decode threads' nice value (0 to 19; Linux only, elsewhere the threads keep the process's
   * priority, because there setting it would renice the whole process). Default 10.
   */
  readonly nice?: number;
  /**
   * Told what went wrong with the decode threads, once per distinct message: they could not start
   * (the pages are then decoded on the calling thread), or one failed between pages (Piscina
   * starts another). Without it, such a failure is not reported.
   */
  readonly onProblem?: (message: string) => void;
  /** The decode threads' module (default: `page-decoder.worker.mjs` beside this code). */
  readonly workerUrl?: URL;
}

/** The decode threads' default nice value: below the collector's own thread, above idle. */
const DECODE_NICE = 10;

/**
 * The young generation of each decode thread's heap, in MB. A page is parsed, trimmed and dropped
 * within one task, so its objects die young whatever the size (a page's text, 300 KB and more, is
 * a large object anyway); V8's default (up to 48 MB a thread on Node 20, more on Node 24) only
 * lets each thread's heap, and the process's RSS, grow with the fleet's pages. 8 MB rather than
 * 16: on Node 24, 328 and 329 MB of collector peak RSS against 356 and 359 MB, the CPU time the
 * same within the runs' spread (README, Performance).
 */
export const DECODE_YOUNG_GENERATION_MB = 8;

/** The default number of decode threads (collection-defaults.ts). */
export { defaultDecodeThreads };

/** A pool of `threads` decoding threads; with 0, a decoder on the calling thread. */
export function createPageDecoderPool(
  threads = defaultDecodeThreads(),
  options: PageDecoderPoolOptions = {},
): PageDecoderPool {
  if (!Number.isInteger(threads) || threads < 0) {
    throw new RangeError(`decode threads must be a whole number from 0, not ${threads}`);
  }
  const nice = options.nice ?? DECODE_NICE;
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
    throw new RangeError(`the decode threads' nice value must be a whole number from 0 to 19, not ${nice}`);
  }
  if (threads === 0) return { ...inlinePageDecoder, threads: 0, close: async () => {} };
  const pool = new Piscina<DecodeTask, DecodedPage | null>({
    filename: (options.workerUrl ?? new URL('./page-decoder.worker.mjs', import.meta.url)).href,
    minThreads: threads,
    maxThreads: threads,
    // Read by each worker when it starts (page-decoder.worker.mjs).
    workerData: { nice: process.platform === 'linux' ? nice : 0 },
    // No per-task timing histogram: nothing reads it.
    recordTiming: false,
    resourceLimits: { maxYoungGenerationSizeMb: DECODE_YOUNG_GENERATION_MB },
  });
  // Tasks not yet answered. Piscina reports an answer that comes after `destroy()` as an 'error'
  // event, which with no listener throws: the process (or the collection thread) dies at the end
  // of a collection whose last written pages were handed back just before the pool closed.
  // close() waits for them instead.
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(task: Promise<T>): Promise<T> => {
    const settled: Promise<unknown> = task.then(
      () => inFlight.delete(settled),
      () => inFlight.delete(settled),
    );
    inFlight.add(settled);
    return task;
  };
  const told = new Set<string>();
  const report = (message: string) => {
    if (told.has(message)) return;
    told.add(message);
    options.onProblem?.(message);
  };
  const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));
  // Whether the threads can run at all, asked once before the first page is sent: when they cannot
  // start (their module missing from a broken install, no memory for a thread), Piscina stops
  // making them and the pages sent to it would wait for ever. They are then decoded here.
  let state: 'starting' | 'started' | 'inline' = 'starting';
  // Piscina reports a decode thread that failed with no page in hand as an 'error' event, which
  // with no listener would be thrown and end the collection: a thread that could not start, or
  // one that died between pages (which Piscina replaces). While the threads start, what the first
  // task's answer says is reported instead, unless they started after all.
  pool.on('error', (error: unknown) => {
    const problem = `a page decode thread failed: ${reason(error)}`;
    if (state === 'started') report(problem);
    else if (state === 'starting') void ready.then(() => state === 'started' && report(problem));
  });
  const ready: Promise<void> = track(pool.run({ release: [] })).then(
    () => {
      state = 'started';
    },
    (error: unknown) => {
      state = 'inline';
      report(
        `the page decode threads could not start (${reason(error)}): pages are decoded on the collection thread`,
      );
    },
  );
  const send = (kind: KubernetesKind, body: Uint8Array): Promise<PageLines> => {
    if (state === 'inline') return inlinePageDecoder.decode(kind, body);
    // The body must own its whole buffer to be transferred (getPage allocates it so).
    const buffer =
      body.byteOffset === 0 &&
      body.byteLength === body.buffer.byteLength &&
      body.buffer instanceof ArrayBuffer
        ? body.buffer
        : body.slice().buffer;
    return track(pool.run({ kind, body: buffer }, { transferList: [buffer] }) as Promise<DecodedPage>);
  };
  return {
    threads,
    decode(kind, body) {
      return state === 'starting' ? ready.then(() => send(kind, body)) : send(kind, body);
    },
    release(lines) {
      // Only bytes that own their whole buffer (as a decode thread's are), each once.
      const buffers = [
        ...new Set(
          lines.flatMap((chunk) =>
            typeof chunk !== 'string' &&
            chunk.byteLength > 0 &&
            chunk.byteOffset === 0 &&
            chunk.byteLength === chunk.buffer.byteLength &&
            chunk.buffer instanceof ArrayBuffer
              ? [chunk.buffer]
              : [],
          ),
        ),
      ];
      if (buffers.length === 0 || state === 'inline') return;
      // A task that does nothing: the transfer moves the bytes to the thread that frees them.
      void track(pool.run({ release: buffers }, { transferList: buffers })).catch(() => {});
    },
    async close() {
      // Each task settles within a page's decoding: nothing on a decode thread waits on anything.
      while (inFlight.size > 0) await Promise.all(inFlight);
      await pool.destroy();
    },
  };
}
