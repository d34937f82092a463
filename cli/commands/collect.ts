/**
 * `irsa-audit collect --out DIR` and the live half of `irsa-audit check --live`: builds the
 * collection options from the command line and runs the collector with progress on stderr. The
 * files go to the directory as each is complete (snapshot-sink.ts): the collection never holds
 * the fleet, only the clusters in flight. The collector runs on a thread of its own
 * (collection-thread.ts, collect-live.ts): this module loads neither the AWS SDK nor the
 * Kubernetes client, so the CLI's own thread never does.
 */

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CollectSummary } from '#shared/collectors/collect-fleet.ts';
import { forTerminalLine } from '#shared/sinks/terminal.ts';
import { directorySource } from '#shared/snapshot/snapshot-source.ts';
import { onInterrupt } from '../interrupt.ts';
import { type CheckOptions, type CommandIo, EXIT_BAD_INPUT, runCheckCommand } from './check.ts';
import { collectInThread } from './collection-thread.ts';
import { LiveOptionsError } from './errors.ts';
import type { CollectIo, LiveOptions } from './live-options.ts';

export type { LiveOptions } from './live-options.ts';
export { LiveOptionsError };

/**
 * Says on stderr which files could not be written (a full disk, a name that is no file name):
 * the snapshot lacks them, which is bad input (exit 2) even where their reads are recorded as
 * failed. Returns whether there were any.
 */
export function reportUnwritten(
  summary: CollectSummary,
  dir: string,
  io: Pick<CollectIo, 'stderr'>,
): boolean {
  for (const file of summary.unwritten) {
    // The path holds names the clusters gave: through the terminal sink.
    io.stderr(`error: ${forTerminalLine(`${file.path}: not written to ${dir}: ${file.message}`)}\n`);
  }
  if (summary.unwritten.length > 0)
    io.stderr(
      `error: ${summary.unwritten.length} file(s) of the snapshot could not be written: it is incomplete\n`,
    );
  return summary.unwritten.length > 0;
}

/** What an interrupted collection into `dir` leaves: an incomplete snapshot, said so on stderr. */
function incompleteSnapshot(dir: string): string {
  return (
    `irsa-audit: the snapshot in ${forTerminalLine(dir)} is incomplete (the collection was interrupted): ` +
    'an account or cluster it had not reached would be missing from an audit of it, not reported; collect again'
  );
}

/**
 * The collection into `dir`; `kept` (the directory as the user named it), when the snapshot stays:
 * interrupted, the command then says it is incomplete.
 */
async function collectKept(
  live: LiveOptions,
  io: CollectIo,
  dir: string,
  kept: string | undefined,
): Promise<CollectSummary> {
  const undo = kept === undefined ? () => {} : onInterrupt({ say: incompleteSnapshot(kept) });
  try {
    return await collectInThread(live, io, dir);
  } finally {
    undo();
  }
}

export async function runCollectCommand(outDir: string, live: LiveOptions, io: CollectIo): Promise<number> {
  const result = await collectKept(live, io, outDir, outDir);
  io.stderr(
    `wrote ${result.paths.length} files for ${result.accounts} account(s) and ${result.clusters} cluster(s) to ${outDir}\n`,
  );
  return reportUnwritten(result, outDir, io) ? 2 : 0;
}

/**
 * A directory `check --live --keep-snapshot` may collect into: absent or empty. The audit reads all
 * of it, so a file left there by an earlier collection (a cluster since deleted) would be audited
 * as if it had just been read.
 */
async function assertFreshDirectory(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new LiveOptionsError(`--keep-snapshot: ${dir} is a file, not a directory`);
    throw error;
  }
  if (entries.length > 0)
    throw new LiveOptionsError(
      `--keep-snapshot: ${dir} is not empty (${entries.length} entries): give a new or empty directory, ` +
        'so that the audit reads only what this collection wrote',
    );
}

/**
 * `irsa-audit check --live`: collects into a directory, each file as soon as it is complete, then
 * checks that directory. The directory is a temporary one (under TMPDIR), removed afterwards,
 * unless `keep` names one: then it stays, a snapshot that `check DIR` reads again.
 */
export async function runLiveCheck(
  live: LiveOptions,
  keep: string | undefined,
  options: CheckOptions,
  io: CommandIo,
): Promise<number> {
  if (keep !== undefined) await assertFreshDirectory(keep);
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'irsa-audit-live-')));
  // Interrupted, the temporary snapshot (the fleet's roles, trust policies and pods) goes too.
  const undo = keep === undefined ? onInterrupt({ remove: dir }) : () => {};
  try {
    const summary = await collectKept(live, { stderr: io.stderr, progress: options.progress }, dir, keep);
    const incomplete = reportUnwritten(summary, dir, io);
    const code = await runCheckCommand(directorySource(dir, keep ?? 'live collection'), options, io);
    if (keep !== undefined && options.progress) io.stderr(`the snapshot is kept in ${keep}\n`);
    return incomplete ? EXIT_BAD_INPUT : code;
  } finally {
    undo();
    if (keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}
