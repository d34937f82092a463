/**
 * Defaults of live collection that the CLI shows in its help: here, in a module that imports
 * nothing heavy, so that building the CLI's commands does not load the Kubernetes client or the
 * worker pool (kubernetes.ts and page-decoder-pool.ts re-export them).
 */
import { availableParallelism } from 'node:os';

/**
 * A cluster's deadline, 5 minutes. Large enough for a very large healthy cluster: 100,000 pods are
 * 200 pages of 500, one after the other on one connection, and a page of 500 pods takes an API
 * server well under a second to list and send (300 s leaves 1.5 s a page). Small enough for the
 * auditor Lambda (15 minutes, one account per invocation, 4 clusters of an account at once, see
 * collect-fleet.ts): a wave of 4 clusters that stall after the TLS handshake costs 5 minutes, so up
 * to 8 such clusters in one account still leave 5 minutes for the rest of it. Endpoints that never
 * complete a handshake (black-holed, private) cost only the connect bound, and private-only
 * endpoints are not dialled at all (collect-fleet.ts).
 */
export const DEFAULT_CLUSTER_DEADLINE_MS = 300_000;

/**
 * As many threads as cores, at most 4; 0 on one core. Not one fewer than the cores: the main
 * thread mostly waits on the network, and a page that waits for a busy decoder holds up its
 * cluster's next page (measured in bench/collection.bench.ts: on 2 cores, 2 threads beat 1).
 */
export function defaultDecodeThreads(cores = availableParallelism()): number {
  return cores <= 1 ? 0 : Math.min(4, cores);
}
