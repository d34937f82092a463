/**
 * The HTML sink (reports): the five characters that HTML gives meaning to are escaped, so a value
 * is always text, in an element or a quoted attribute; dangerous characters shown escaped and long
 * runs cut (untrusted.ts).
 */
import { visible } from './untrusted.ts';

export function forHtml(text: string): string {
  return visible(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
