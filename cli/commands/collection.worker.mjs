// The collection thread of collection-thread.ts when the project runs from its TypeScript
// sources: it registers the same loader (tsx), then runs the thread itself (collection-worker.ts).
// The build bundles collection-worker.ts under this file's name beside the CLI (scripts/build.ts).
import { register } from 'tsx/esm/api';

register();
await import('./collection-worker.ts');
