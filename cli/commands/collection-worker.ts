/**
 * The collection thread started by collection-thread.ts: runs `collectLive` with the options, the
 * directory and the progress setting it was given, and posts back its progress lines, then the
 * summary or what went wrong. From the sources it is loaded by collection.worker.mjs (which
 * registers tsx first); the build (scripts/build.ts) bundles it as dist/collection.worker.mjs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { collectLive } from './collect-live.ts';
import type { CollectionThreadData, CollectionThreadMessage } from './collection-thread.ts';

if (!parentPort) throw new Error('collection-worker.ts runs as a worker thread (collection-thread.ts)');
const port = parentPort;
const post = (message: CollectionThreadMessage) => port.postMessage(message);
const { live, progress, dir, scratch } = workerData as CollectionThreadData;

try {
  const summary = await collectLive(
    live,
    { stderr: (text) => post({ kind: 'stderr', text }), progress },
    dir,
    scratch,
  );
  post({ kind: 'done', summary });
} catch (error) {
  const failure = error instanceof Error ? error : new Error(String(error));
  post({ kind: 'failed', name: failure.name, message: failure.message, stack: failure.stack });
}
