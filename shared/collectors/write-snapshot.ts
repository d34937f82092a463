/** Writes collected snapshot files under a directory (the only file output of the collector). */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SnapshotFiles } from './collect-fleet.ts';

export async function writeSnapshot(dir: string, files: SnapshotFiles): Promise<void> {
  for (const [relative, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const path = join(dir, relative);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
}
