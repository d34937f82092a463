/** Where a report goes: stdout, or the file `-o` names (written whole, then said on stderr). */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CommandIo } from './check.ts';

export class OutputError extends Error {
  override readonly name = 'OutputError';
}

export async function emitReport(text: string, output: string | undefined, io: CommandIo): Promise<void> {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  if (output === undefined || output === '-') {
    io.stdout(body);
    return;
  }
  const path = resolve(io.cwd, output);
  try {
    await writeFile(path, body);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new OutputError(`cannot write the report to ${path} (${code})`);
  }
  io.stderr(`wrote ${path}\n`);
}
