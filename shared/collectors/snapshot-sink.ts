/**
 * Where the collector's snapshot files go. The collector hands each file to a sink as soon as it is
 * complete (a cluster's kubernetes.json once its last page is decoded, an account's iam.json once
 * its policies are read) and keeps nothing of it afterwards, so what a collection holds is bounded
 * by the clusters in flight, not by the fleet:
 *
 * - `directorySink(dir)`: each file written under `dir`, atomically (a temporary file beside it,
 *   then renamed over it), so a reader never sees half a file and a collection stopped half way
 *   leaves complete files only (`irsa-audit collect --out`, `check --live`);
 * - `memorySink()`: every file kept in a map, as the collector returned them before sinks (the
 *   pipeline's auditor, one account at a time, and the tests).
 *
 * The paths are built from names the accounts and clusters give (an account id, a region, a
 * cluster name): untrusted text. The directory sink writes only below its directory, refusing any
 * path that could lead out of it.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Relative path -> file text. */
export type SnapshotFiles = Map<string, string>;

/**
 * A file's content: its text, or the pieces to write one after the other (text, or UTF-8 bytes):
 * a cluster's kubernetes.json is its pages' lines as the decode threads sent them, never joined.
 */
export type SnapshotContent = string | readonly (string | Uint8Array)[];

/** The content as one text. */
export function contentText(content: SnapshotContent): string {
  if (typeof content === 'string') return content;
  return content.map((part) => (typeof part === 'string' ? part : bufferOf(part).toString('utf8'))).join('');
}

/** A view of the bytes as a Buffer, not a copy. */
const bufferOf = (part: Uint8Array) => Buffer.from(part.buffer, part.byteOffset, part.byteLength);

export interface SnapshotSink {
  /**
   * Keeps one complete file of the snapshot, `relative` being its path in the snapshot
   * (`<account>/<region>/<cluster>/kubernetes.json`, docs/fleet-format.md). The collector calls
   * it once per path; the CLI writes its `collection.json` twice (collect-live.ts).
   * Rejects when the file could not be kept (the collector records that, and goes on).
   */
  write(relative: string, content: SnapshotContent): Promise<void>;
}

/** A sink that keeps every file in memory. */
export interface MemorySink extends SnapshotSink {
  readonly files: SnapshotFiles;
}

export function memorySink(): MemorySink {
  const files: SnapshotFiles = new Map();
  return {
    files,
    async write(relative, content) {
      files.set(relative, contentText(content));
    },
  };
}

/** Thrown for a path a directory sink will not write: it names the path and the rule. */
export class SnapshotPathError extends Error {
  override readonly name = 'SnapshotPathError';
}

/** Why `relative` cannot be a path below a snapshot directory, or null. */
export function snapshotPathProblem(relative: string): string | null {
  if (relative.length === 0) return 'the path is empty';
  if (relative.length > 1024) return `the path is ${relative.length} characters long (at most 1,024)`;
  for (const segment of relative.split('/')) {
    if (segment === '' || segment === '.' || segment === '..')
      return `"${segment}" is not a file or folder name (an absolute path, "//", "." or "..")`;
    // A backslash is a separator on Windows; NUL ends a path in the system call; a name longer
    // than 255 bytes is refused by the file systems.
    if (/[\\\0]/.test(segment)) return 'a name holds a backslash or a NUL character';
    if (Buffer.byteLength(segment) > 255) return 'a name is longer than 255 bytes';
  }
  return null;
}

/** A sink that writes below `dir` (created as needed), each file atomically. */
export interface DirectorySink extends SnapshotSink {
  readonly dir: string;
}

export function directorySink(dir: string): DirectorySink {
  let serial = 0;
  // Folders this sink has made (or found): a cluster's files share one, and a fleet's collection
  // writes thousands of files. One that disappears while the sink writes is made again.
  const made = new Set<string>();
  const makeFolder = async (folder: string) => {
    await mkdir(folder, { recursive: true });
    made.add(folder);
  };
  const openIn = async (folder: string, temporary: string) => {
    if (!made.has(folder)) await makeFolder(folder);
    try {
      return await open(temporary, 'w');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await makeFolder(folder);
      return await open(temporary, 'w');
    }
  };
  return {
    dir,
    async write(relative, content) {
      const problem = snapshotPathProblem(relative);
      if (problem) throw new SnapshotPathError(`not written: ${JSON.stringify(relative)}: ${problem}`);
      const path = join(dir, relative);
      const folder = dirname(path);
      // Hidden, and unique in this process: the snapshot loader never reads it, and two writes of
      // one path never share it.
      const temporary = join(folder, `.${basename(path)}.${process.pid}.${++serial}.tmp`);
      try {
        const file = await openIn(folder, temporary);
        try {
          // The pieces in one writev (bytes as they are), not joined into one string first.
          const buffers = (typeof content === 'string' ? [content] : content).map((part) =>
            typeof part === 'string' ? Buffer.from(part, 'utf8') : bufferOf(part),
          );
          let written = 0;
          const total = buffers.reduce((n, b) => n + b.byteLength, 0);
          while (written < total) {
            const { bytesWritten } = await file.writev(remaining(buffers, written));
            written += bytesWritten;
          }
        } finally {
          await file.close();
        }
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true }).catch(() => {});
        throw error;
      }
    },
  };
}

/** The buffers past the first `skip` bytes (a writev that wrote part of them goes on from there). */
function remaining(buffers: readonly Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  let offset = skip;
  for (const buffer of buffers) {
    if (offset >= buffer.byteLength) offset -= buffer.byteLength;
    else {
      rest.push(offset > 0 ? buffer.subarray(offset) : buffer);
      offset = 0;
    }
  }
  return rest;
}

/** A file the sink could not keep, and why. */
export interface UnwrittenFile {
  readonly path: string;
  readonly message: string;
}

/**
 * The collector's side of a sink: hands each file over, notes the paths kept and the files that
 * could not be, and knows when every hand-over is over. Never rejects.
 */
export class SnapshotWriter {
  /** The paths kept, in the order they were kept. */
  readonly paths: string[] = [];
  readonly unwritten: UnwrittenFile[] = [];
  readonly #sink: SnapshotSink;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(sink: SnapshotSink) {
    this.#sink = sink;
  }

  /** Hands one file to the sink: resolves to null once it is kept, or to why it could not be. */
  write(relative: string, content: SnapshotContent): Promise<string | null> {
    let handed: Promise<void>;
    try {
      handed = this.#sink.write(relative, content);
    } catch (error) {
      handed = Promise.reject(error);
    }
    const done = handed.then(
      () => {
        this.paths.push(relative);
        return null;
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.unwritten.push({ path: relative, message });
        return message;
      },
    );
    this.#pending.add(done);
    void done.then(() => this.#pending.delete(done));
    return done;
  }

  /** Resolves once every file handed over so far is kept or has failed. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}
