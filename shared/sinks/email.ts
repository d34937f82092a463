/**
 * The email sink (plain-text email through SNS): text as the terminal shows it (untrusted.ts), and
 * web addresses in a value defanged (`hxxps://`), so that a mail client does not turn a value
 * into a link; the notification's own links are written by the template, not through here.
 */
import { visible } from './untrusted.ts';

/** `https://x` -> `hxxps://x` (and `ftp`, `file`...): shown, not linked. */
export function defangUrls(text: string): string {
  return text.replace(/\b(h)tt(ps?):\/\//gi, '$1xx$2://').replace(/\b(ftp|file|javascript|data):/gi, '$1[:]');
}

/** A finding's message, fix, or a name, for a plain-text email. */
export function forEmail(text: string, options: { oneLine?: boolean } = {}): string {
  return defangUrls(visible(text, options));
}
