/**
 * Reads a fleet snapshot directory into the fleet model. A broken file never stops the load:
 * it becomes an input error (AUDIT-004) naming the file and field, and the rest is loaded.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Account, Cluster, Fleet, InputError } from '../model/fleet.ts';
import {
  type Parsed,
  parseClusterFile,
  parseIamFile,
  parseKubernetesFile,
  parsePodIdentityAssociationsFile,
} from './parse-files.ts';

const ACCOUNT_DIR = /^\d{12}$/;

/** Raised when the fleet directory as a whole cannot be used (exit code 2 in the CLI). */
export class FleetDirectoryError extends Error {
  override readonly name = 'FleetDirectoryError';
}

export interface LoadProgress {
  readonly accountId: string;
  readonly region: string;
  readonly cluster: string;
  readonly loaded: number;
}

export interface LoadOptions {
  /** Called after each cluster is loaded (for progress output on long runs). */
  readonly onCluster?: (progress: LoadProgress) => void;
}

async function listDirectories(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

type FileRead = { ok: true; text: string } | { ok: false; missing: boolean; message: string };

async function readText(path: string): Promise<FileRead> {
  try {
    return { ok: true, text: await readFile(path, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, missing: true, message: 'the file is missing' };
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, missing: false, message: `the file cannot be read: ${detail}` };
  }
}

/** Loads the fleet snapshot at `fleetDir`. */
export async function loadFleet(fleetDir: string, options: LoadOptions = {}): Promise<Fleet> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(fleetDir)).isDirectory();
  } catch {
    throw new FleetDirectoryError(`fleet directory not found: ${fleetDir}`);
  }
  if (!isDirectory) throw new FleetDirectoryError(`not a directory: ${fleetDir}`);
  const accountIds = (await listDirectories(fleetDir)).filter((name) => ACCOUNT_DIR.test(name));
  if (accountIds.length === 0) {
    throw new FleetDirectoryError(
      `no account directories in ${fleetDir}: expected folders named by 12-digit AWS account ids (see docs/fleet-format.md)`,
    );
  }
  const inputErrors: InputError[] = [];
  const accounts: Account[] = [];
  let loaded = 0;

  /** Reads and parses one file; a problem is recorded as an input error and yields undefined. */
  async function load<T>(
    relative: string,
    where: Pick<InputError, 'accountId' | 'region' | 'cluster'>,
    parse: (text: string) => Parsed<T>,
    optional = false,
  ): Promise<T | undefined | 'absent'> {
    const read = await readText(join(fleetDir, relative));
    if (!read.ok) {
      if (read.missing && optional) return 'absent';
      inputErrors.push({ ...where, file: relative, field: null, message: read.message });
      return undefined;
    }
    const parsed = parse(read.text);
    if (parsed.ok) return parsed.value;
    inputErrors.push({ ...where, file: relative, ...parsed.problem });
    return undefined;
  }

  for (const accountId of accountIds) {
    const iam = await load(`${accountId}/iam.json`, { accountId, region: null, cluster: null }, (text) =>
      parseIamFile(text, accountId),
    );
    const regions = await listDirectories(join(fleetDir, accountId));
    const clusters: Cluster[] = [];
    for (const region of regions) {
      for (const name of await listDirectories(join(fleetDir, accountId, region))) {
        const base = `${accountId}/${region}/${name}`;
        const where = { accountId, region, cluster: name };
        const info = await load(`${base}/cluster.json`, where, parseClusterFile);
        const kubernetes = await load(`${base}/kubernetes.json`, where, parseKubernetesFile);
        const associations = await load(
          `${base}/pod-identity-associations.json`,
          where,
          parsePodIdentityAssociationsFile,
          true,
        );
        clusters.push({
          accountId,
          region,
          name,
          info: info === undefined || info === 'absent' ? null : info,
          kubernetes: kubernetes === undefined || kubernetes === 'absent' ? null : kubernetes,
          podIdentityAssociations: associations === 'absent' ? [] : (associations ?? null),
        });
        options.onCluster?.({ accountId, region, cluster: name, loaded: ++loaded });
      }
    }
    accounts.push({
      accountId,
      iam: iam === undefined || iam === 'absent' ? null : iam,
      regions,
      clusters,
    });
  }
  return { accounts, inputErrors };
}
