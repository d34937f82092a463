/**
 * The collection itself, as `collect` and `check --live` run it on their collection thread
 * (collection-worker.ts): the live options made into the collector's, the decode threads, and the
 * files written to a directory as each is complete.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CollectSummary, collectFleet } from '#shared/collectors/collect-fleet.ts';
import { createPageDecoderPool } from '#shared/collectors/page-decoder-pool.ts';
import { directorySink } from '#shared/collectors/snapshot-sink.ts';
import { COLLECTION_MARKER } from '#shared/snapshot/load-fleet.ts';
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
  const startedAt = new Date().toISOString();
  // Marked `collecting` until every file is written: a snapshot whose collection never ended
  // (interrupted, killed, failed) says so to the audit that reads it (load-fleet.ts).
  await writeMarker(dir, { status: 'collecting', startedAt });
  const decoder = createPageDecoderPool(live.threads);
  try {
    const summary = await collectFleet(
      {
        ...options,
        kubernetes: { ...options.kubernetes, decoder },
        ...(scratch === undefined ? {} : { scratchDirectory: scratch }),
      },
      directorySink(dir),
    );
    await writeMarker(dir, { status: 'complete', startedAt, finishedAt: new Date().toISOString() });
    return summary;
  } finally {
    await decoder.close();
  }
}

/** `collection.json` at the top of the snapshot, replaced whole (written aside, then renamed). */
async function writeMarker(dir: string, marker: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, COLLECTION_MARKER);
  const temporary = join(dir, `.${COLLECTION_MARKER}.${process.pid}.tmp`);
  await writeFile(temporary, `${JSON.stringify(marker, null, 2)}\n`);
  await rename(temporary, path);
}
