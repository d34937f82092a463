/**
 * `irsa-audit collect --out DIR` and the live half of `irsa-audit check --live`: builds the
 * collection options from the command line and runs the collector with progress on stderr. The
 * files go to the directory as each is complete (snapshot-sink.ts): the collection never holds
 * the fleet, only the clusters in flight.
 */

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccountSelection } from '#shared/collectors/accounts.ts';
import { type CollectOptions, type CollectSummary, collectFleet } from '#shared/collectors/collect-fleet.ts';
import { createPageDecoderPool } from '#shared/collectors/page-decoder-pool.ts';
import { directorySink } from '#shared/collectors/snapshot-sink.ts';
import { forTerminalLine } from '#shared/sinks/terminal.ts';
import { directorySource } from '#shared/snapshot/snapshot-source.ts';
import { type CheckOptions, type CommandIo, EXIT_BAD_INPUT, runCheckCommand } from './check.ts';
import { collectInThread } from './collection-thread.ts';
import { LiveOptionsError } from './errors.ts';

export interface LiveOptions {
  organization?: boolean;
  accounts?: string[];
  roleName?: string;
  externalId?: string;
  regions?: string[];
  concurrency?: number;
  /** Worker threads that decode Kubernetes list pages; default: one per core, at most 4 (none on one core). */
  threads?: number;
  /** The live probe IRSA-040: a TokenRequest and sts:AssumeRoleWithWebIdentity per annotated ServiceAccount. */
  probe?: boolean;
  /** Each cluster's deadline for its Kubernetes reads, in seconds (default: DEFAULT_CLUSTER_DEADLINE_MS). */
  clusterDeadlineSeconds?: number;
  /** The collector runs where private-only endpoints are reachable (inside the clusters' VPC): dial them. */
  privateEndpointsReachable?: boolean;
  /** Where this machine's traffic leaves from: clusters whose public access CIDRs exclude it are not dialled. */
  egressAddresses?: string[];
}

export { LiveOptionsError };

export interface CollectIo {
  stderr: (text: string) => void;
  progress: boolean;
}

/** Validates the live options: accounts from a list or the Organization need a role to assume in them. */
export function collectOptionsFrom(live: LiveOptions, io: CollectIo): CollectOptions {
  if (live.organization && live.accounts?.length) {
    throw new LiveOptionsError('give either --organization or --accounts, not both');
  }
  for (const id of live.accounts ?? []) {
    if (!/^\d{12}$/.test(id))
      throw new LiveOptionsError(`--accounts: "${id}" is not a 12-digit AWS account id`);
  }
  const accounts: AccountSelection = live.organization
    ? { kind: 'organization' }
    : live.accounts?.length
      ? { kind: 'list', accountIds: live.accounts }
      : { kind: 'current' };
  if (accounts.kind !== 'current' && !live.roleName) {
    throw new LiveOptionsError(
      'auditing other accounts needs --role-name, the read-only audit role to assume in each',
    );
  }
  const concurrency = live.concurrency ?? 4;
  if (live.probe) {
    io.stderr(
      'probe enabled (IRSA-040): one TokenRequest and one sts:AssumeRoleWithWebIdentity per annotated service account; ' +
        'needs create on serviceaccounts/token (deploy/kubernetes/irsa-auditor-rbac-probe.yaml, or irsa-audit enroll --probe). ' +
        'Tokens and credentials are never stored.\n',
    );
  }
  return {
    accounts,
    ...(live.roleName
      ? {
          auditRole: { roleName: live.roleName, ...(live.externalId ? { externalId: live.externalId } : {}) },
        }
      : {}),
    ...(live.regions?.length ? { regions: live.regions } : {}),
    accountConcurrency: concurrency,
    clusterConcurrency: concurrency,
    totalClusterConcurrency: concurrency * 4,
    ...(live.probe ? { probe: true } : {}),
    ...(live.clusterDeadlineSeconds === undefined
      ? {}
      : { kubernetes: { deadlineMs: Math.round(live.clusterDeadlineSeconds * 1000) } }),
    ...(live.privateEndpointsReachable ? { privateEndpoints: 'dial' as const } : {}),
    ...(live.egressAddresses?.length ? { egressAddresses: live.egressAddresses } : {}),
    onProgress: (p) => {
      if (!io.progress) return;
      const where = [p.accountId, p.region, p.cluster].filter(Boolean).join('/');
      // Names and error texts come from the accounts and clusters: through the terminal sink.
      io.stderr(`${forTerminalLine(`${where ? `${where}: ` : ''}${p.message}`)}\n`);
    },
  };
}

/**
 * Collects into the snapshot directory `dir` (created as needed), each file as soon as it is
 * complete, on the calling thread. The commands run it on a thread of their own (collectInThread).
 */
export async function collectLive(live: LiveOptions, io: CollectIo, dir: string): Promise<CollectSummary> {
  const options = collectOptionsFrom(live, io);
  const decoder = createPageDecoderPool(live.threads);
  try {
    return await collectFleet(
      { ...options, kubernetes: { ...options.kubernetes, decoder } },
      directorySink(dir),
    );
  } finally {
    await decoder.close();
  }
}

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

export async function runCollectCommand(outDir: string, live: LiveOptions, io: CollectIo): Promise<number> {
  const result = await collectInThread(live, io, outDir);
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
  try {
    const summary = await collectInThread(live, { stderr: io.stderr, progress: options.progress }, dir);
    const incomplete = reportUnwritten(summary, dir, io);
    const code = await runCheckCommand(directorySource(dir, keep ?? 'live collection'), options, io);
    if (keep !== undefined && options.progress) io.stderr(`the snapshot is kept in ${keep}\n`);
    return incomplete ? EXIT_BAD_INPUT : code;
  } finally {
    if (keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}
