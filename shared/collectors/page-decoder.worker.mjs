// The worker thread of page-decoder-pool.ts when the project runs from its TypeScript sources:
// it registers the same loader (tsx), then loads the worker itself (page-decoder-worker.ts). The
// build bundles page-decoder-worker.ts under this file's name beside the pool (scripts/build.ts).
import { register } from 'tsx/esm/api';

register();
const worker = await import('./page-decoder-worker.ts');

export default worker.default;
