// A worker thread of page-decoder-pool.ts: decodes Kubernetes list pages off the main thread.
// The project runs from its TypeScript sources, so the worker registers the same loader (tsx)
// before it imports them.
import { register } from 'tsx/esm/api';

register();
const { decodePage } = await import('./kubernetes-pages.ts');

/** Piscina's task: `{ kind, body }`, the body's ArrayBuffer transferred, not copied. */
export default function decode({ kind, body }) {
  return decodePage(kind, new Uint8Array(body));
}
