// A worker thread of page-decoder-pool.ts: decodes Kubernetes list pages off the main thread.
// The project runs from its TypeScript sources, so the worker registers the same loader (tsx)
// before it imports them.
import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

// On Linux a priority set for "process 0" applies to the calling thread only: this decode thread
// yields to the collector's own thread when the cores are busy (the pool passes 0 elsewhere).
const nice = workerData?.nice ?? 0;
if (nice > 0) {
  try {
    setPriority(0, nice);
  } catch {
    // Not allowed here (a sandbox without setpriority): decode at the process's priority.
  }
}

register();
const { decodePage } = await import('./kubernetes-pages.ts');

/** Piscina's task: `{ kind, body }`, the body's ArrayBuffer transferred, not copied. */
export default function decode({ kind, body }) {
  return decodePage(kind, new Uint8Array(body));
}
