/**
 * The collection itself, as `collect` and `check --live` run it on their collection thread
 * (collection-worker.ts): the live options made into the collector's, the decode threads, and the
 * files written to a directory as each is complete.
 */
import { type CollectSummary, collectFleet } from '#shared/collectors/collect-fleet.ts';
import { createPageDecoderPool } from '#shared/collectors/page-decoder-pool.ts';
import { directorySink } from '#shared/collectors/snapshot-sink.ts';
import { forTerminalLine } from '#shared/sinks/terminal.ts';
import { COLLECTION_MARKER } from '#shared/snapshot/snapshot-source.ts';
import { type CollectIo, collectOptionsFrom, type LiveOptions } from './live-options.ts';

/**
 * Collects into the snapshot directory `dir` (created as needed), each file as soon as it is
 * complete, on the calling thread. The commands run it on a thread of their own (collectInThread).
 * `scratch`: the private folder for what the collection sets aside (CollectOptions.scratchDirectory).
 */
export async function collectLive(
  live: LiveOptions,
  io: CollectIo,
  dir: string,
  scratch?: string,
): Promise<CollectSummary> {
  const options = collectOptionsFrom(live, io);
  const sink = directorySink(dir);
  const startedAt = new Date().toISOString();
  // Marked `collecting` until every file is written: a snapshot whose collection never ended
  // (interrupted, killed, failed) says so to the audit that reads it (load-fleet.ts). The sink
  // replaces the file whole each time.
  const mark = (marker: Record<string, string>) =>
    sink.write(COLLECTION_MARKER, `${JSON.stringify(marker, null, 2)}\n`);
  await mark({ status: 'collecting', startedAt });
  const decoder = createPageDecoderPool(live.threads, {
    onProblem: (message) => io.stderr(`warning: ${forTerminalLine(message)}\n`),
  });
  try {
    const summary = await collectFleet(
      {
        ...options,
        kubernetes: { ...options.kubernetes, decoder },
        ...(scratch === undefined ? {} : { scratchDirectory: scratch }),
      },
      sink,
    );
    await mark({ status: 'complete', startedAt, finishedAt: new Date().toISOString() });
    return summary;
  } finally {
    await decoder.close();
  }
}
