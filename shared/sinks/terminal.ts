/**
 * The terminal sink (the CLI's table output, `history`, progress lines): control characters
 * (ANSI escape sequences: clear screen, window title, colours, hyperlinks) and bidirectional or
 * invisible formatting characters are shown escaped, `\x1b` or `\u202e`, never written raw; long
 * runs are cut, saying so (untrusted.ts). Colour is the renderer's own, added after.
 */
import { visible } from './untrusted.ts';

/** A message or a fix: newlines and tabs kept, everything else made visible. */
export function forTerminal(text: string): string {
  return visible(text);
}

/** A name or any one-line field: newlines too are shown as `\x0a`. */
export function forTerminalLine(text: string): string {
  return visible(text, { oneLine: true });
}

/** The fields whose text keeps its lines (a finding's message and fix); every other is one line. */
const MULTILINE_FIELDS: ReadonlySet<string> = new Set(['message', 'remediation', 'fix']);

/**
 * A copy of a record for a renderer that prints its fields: every string in it, at any depth, made
 * safe for the terminal (one line, but for `message`/`remediation`). Keys are the record's own.
 */
export function terminalSafe<T>(value: T, key = ''): T {
  if (typeof value === 'string')
    return (MULTILINE_FIELDS.has(key) ? forTerminal(value) : forTerminalLine(value)) as T;
  if (Array.isArray(value)) return value.map((item) => terminalSafe(item, key)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(value)) out[k] = terminalSafe(item, k);
    return out as T;
  }
  return value;
}
