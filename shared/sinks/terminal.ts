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
