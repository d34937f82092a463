/**
 * A worker thread of page-decoder-pool.ts: decodes Kubernetes list pages off the main thread.
 * From the sources it is loaded by page-decoder.worker.mjs (which registers tsx first); the build
 * (scripts/build.ts) bundles it as dist/page-decoder.worker.mjs, beside the pool's code.
 */
import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { decodePageItems, encodeLines, type PageLines } from './kubernetes-pages.ts';
import type { DecodeTask } from './page-decoder-pool.ts';

// On Linux a priority set for "process 0" applies to the calling thread only: this decode thread
// yields to the collector's own thread when the cores are busy (the pool passes 0 elsewhere).
const nice: number = workerData?.nice ?? 0;
if (nice > 0) {
  try {
    setPriority(0, nice);
  } catch {
    // Not allowed here (a sandbox without setpriority): decode at the process's priority.
  }
}

/**
 * Piscina's task: `{ kind, body }`, the body's ArrayBuffer transferred, not copied. The lines go
 * back as UTF-8 bytes, transferred too: on the collector's thread they stay outside its heap, in
 * one piece per page, until they are written (structured-cloned text would be copied into that
 * heap, then joined and encoded again to be written).
 */
export default function decode(task: DecodeTask) {
  // Written pages' bytes, sent back to be freed with this thread's garbage (PageDecoder.release).
  if ('release' in task) return null;
  const { kind, body } = task;
  const page = decodePageItems(kind, new Uint8Array(body));
  // Each item's line encoded into one ArrayBuffer of its own (never a pooled one), so it can move.
  const lines = encodeLines(page.lines);
  const value: PageLines = { ...page, lines };
  return move({ [transferableSymbol]: lines.buffer, [valueSymbol]: value } as never);
}
