/**
 * Where a snapshot's files come from: a directory on disk (`irsa-audit check DIR`) or memory
 * (`irsa-audit check --live`, which collects and checks without writing files).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The file the CLI's collection writes at the top of a snapshot: its status (docs/fleet-format.md).
 * Here, not in the loader, so that the collection thread names it without loading the loader.
 */
export const COLLECTION_MARKER = 'collection.json';

export type FileRead = { ok: true; text: string } | { ok: false; missing: boolean; message: string };

export interface SnapshotSource {
  /** Names what the source is, for messages (`./fleet`, `live collection`). */
  readonly description: string;
  /** Whether the source exists at all (a missing directory is a usage error, not a finding). */
  exists(): Promise<boolean>;
  /** Sub-directory names of `path` (relative, `''` for the root), sorted, hidden ones left out. */
  listDirectories(path: string): Promise<string[]>;
  readText(path: string): Promise<FileRead>;
}

/** The snapshot directory `root`; `description` names it in messages (default: the path). */
export function directorySource(root: string, description = root): SnapshotSource {
  return {
    description,
    async exists() {
      try {
        return (await stat(root)).isDirectory();
      } catch {
        return false;
      }
    },
    async listDirectories(path) {
      const entries = await readdir(join(root, path), { withFileTypes: true });
      return entries
        .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
        .map((entry) => entry.name)
        .sort();
    },
    async readText(path) {
      try {
        return { ok: true, text: await readFile(join(root, path), 'utf8') };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return { ok: false, missing: true, message: 'the file is missing' };
        const detail = error instanceof Error ? error.message : String(error);
        return { ok: false, missing: false, message: `the file cannot be read: ${detail}` };
      }
    },
  };
}

/** A snapshot held in memory as relative path -> file text (what the collector produces). */
export function memorySource(
  files: ReadonlyMap<string, string>,
  description = 'live collection',
): SnapshotSource {
  return {
    description,
    async exists() {
      return true;
    },
    async listDirectories(path) {
      const prefix = path === '' ? '' : `${path}/`;
      const names = new Set<string>();
      for (const file of files.keys()) {
        if (!file.startsWith(prefix)) continue;
        const rest = file.slice(prefix.length).split('/');
        if (rest.length > 1 && rest[0] && !rest[0].startsWith('.')) names.add(rest[0]);
      }
      return [...names].sort();
    },
    async readText(path) {
      const text = files.get(path);
      return text === undefined
        ? { ok: false, missing: true, message: 'the file is missing' }
        : { ok: true, text };
    },
  };
}
