/**
 * A worker thread of page-decoder-pool.ts: decodes Kubernetes list pages off the main thread.
 * From the sources it is loaded by page-decoder.worker.mjs (which registers tsx first); the build
 * (scripts/build.ts) bundles it as dist/page-decoder.worker.mjs, beside the pool's code.
 */
import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import type { KubernetesKind } from '../model/fleet.ts';
import { decodePage } from './kubernetes-pages.ts';

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

/** Piscina's task: `{ kind, body }`, the body's ArrayBuffer transferred, not copied. */
export default function decode({ kind, body }: { kind: KubernetesKind; body: ArrayBuffer }) {
  return decodePage(kind, new Uint8Array(body));
}
