/**
 * Worker threads that parse and trim Kubernetes list pages (Piscina), so that on a machine with
 * more than one core the JSON of 600,000 pods is not decoded on the thread that also drives every
 * request. The page bodies are transferred to the workers, not copied; only the trimmed lines
 * come back. Waiting pages are decoded in two lanes: ServiceAccount pages, which the collector
 * waits on, before pod pages, which it does not (see startKubernetesCollection).
 *
 * For the CLI and the benchmark, which run from the TypeScript sources (the worker registers tsx).
 * The bundled Lambda functions do not use it: they decode on their one thread (kubernetes-pages.ts).
 */
import { availableParallelism } from 'node:os';
import { Piscina, type PiscinaTask, queueOptionsSymbol, type TaskQueue } from 'piscina';
import type { KubernetesKind } from '../model/fleet.ts';
import { type DecodedPage, inlinePageDecoder, type PageDecoder } from './kubernetes-pages.ts';

export interface PageDecoderPool extends PageDecoder {
  /** Threads decoding pages; 0 when pages are decoded on the calling thread. */
  readonly threads: number;
  close(): Promise<void>;
}

/**
 * As many threads as cores, at most 4; 0 on one core. Not one fewer than the cores: the main
 * thread mostly waits on the network, and a page that waits for a busy decoder holds up its
 * cluster's next page (measured in bench/collection.bench.ts: on 2 cores, 2 threads beat 1).
 */
export function defaultDecodeThreads(cores = availableParallelism()): number {
  return cores <= 1 ? 0 : Math.min(4, cores);
}

/**
 * The kinds the collector waits on before it goes on with a cluster: the ServiceAccounts name the
 * roles whose policies it looks up. Their pages are decoded before any pod page that waits.
 */
const FIRST: ReadonlySet<KubernetesKind> = new Set(['ServiceAccount']);

const isFirst = (task: PiscinaTask) =>
  (task[queueOptionsSymbol] as { first?: boolean } | null)?.first === true;

/** Piscina's queue of waiting tasks in two lanes, each in order: the FIRST kinds, then the others. */
export class TwoLaneQueue implements TaskQueue {
  private readonly first: PiscinaTask[] = [];
  private readonly others: PiscinaTask[] = [];

  get size(): number {
    return this.first.length + this.others.length;
  }

  push(task: PiscinaTask): void {
    (isFirst(task) ? this.first : this.others).push(task);
  }

  unshift(task: PiscinaTask): void {
    (isFirst(task) ? this.first : this.others).unshift(task);
  }

  shift(): PiscinaTask | null {
    return this.first.shift() ?? this.others.shift() ?? null;
  }

  remove(task: PiscinaTask): void {
    const lane = isFirst(task) ? this.first : this.others;
    const index = lane.indexOf(task);
    if (index >= 0) lane.splice(index, 1);
  }
}

/** A pool of `threads` decoding threads; with 0, a decoder on the calling thread. */
export function createPageDecoderPool(threads = defaultDecodeThreads()): PageDecoderPool {
  if (!Number.isInteger(threads) || threads < 0) {
    throw new RangeError(`decode threads must be a whole number from 0, not ${threads}`);
  }
  if (threads === 0) return { ...inlinePageDecoder, threads: 0, close: async () => {} };
  const pool = new Piscina<{ kind: KubernetesKind; body: ArrayBuffer }, DecodedPage>({
    filename: new URL('./page-decoder.worker.mjs', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // No per-task timing histogram: nothing reads it.
    recordTiming: false,
    taskQueue: new TwoLaneQueue(),
    // A task that found every thread busy goes back to the head of its lane, not the tail.
    stricterFIFO: true,
  });
  return {
    threads,
    decode(kind, body) {
      // The body must own its whole buffer to be transferred (getPage allocates it so).
      const buffer =
        body.byteOffset === 0 &&
        body.byteLength === body.buffer.byteLength &&
        body.buffer instanceof ArrayBuffer
          ? body.buffer
          : body.slice().buffer;
      // The queue options stay here: a symbol-keyed property is not sent to the worker.
      const task = { kind, body: buffer, [queueOptionsSymbol]: { first: FIRST.has(kind) } };
      return pool.run(task, { transferList: [buffer] });
    },
    close: () => pool.destroy(),
  };
}
