/**
 * The XML sink (JUnit reports): a value is always character data, in an element or a quoted
 * attribute. XML 1.0 forbids most control characters even as character references (`&#x1b;` is
 * not well-formed), so dangerous characters are shown escaped as the terminal shows them (`\x1b`,
 * `\u202e`; untrusted.ts), as are the two non-characters U+FFFE and U+FFFF; then the characters
 * XML gives meaning to are escaped. Long runs are cut, saying so.
 */
import { escapeCode, visible } from './untrusted.ts';

/** Characters XML 1.0 does not allow that `visible` leaves (it handles controls and lone surrogates). */
const NON_CHARACTERS = /[\uFFFE\uFFFF]/g;

/** `&`, `<` and `>` (so that `]]>` cannot appear either): what element content needs. */
function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Element content's escapes, and both quotes: what a quoted attribute value needs. */
function escapeAttribute(text: string): string {
  return escapeText(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Element content: newlines and tabs kept, every other control character shown escaped. */
export function forXmlText(text: string): string {
  return escapeText(visible(text).replace(NON_CHARACTERS, escapeCode));
}

/**
 * An attribute value (to be written inside double quotes): one line, as a parser would fold a
 * newline in an attribute to a space anyway; a newline is shown as `\x0a`.
 */
export function forXmlAttribute(text: string): string {
  return escapeAttribute(visible(text, { oneLine: true }).replace(NON_CHARACTERS, escapeCode));
}

/** Whether a text holds only characters XML 1.0 allows (a test of what this sink writes). */
export function isXmlChars(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(
    text,
  );
}
