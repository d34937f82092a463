/**
 * The HTML sink (reports): the five characters that HTML gives meaning to are escaped, so a value
 * is always text, in an element or a quoted attribute; dangerous characters shown escaped and long
 * runs cut (untrusted.ts).
 *
 * A document is built with the {@link html} tagged template: the literal parts are the renderer's
 * own markup, and every interpolated value goes through {@link forHtml} unless it is a fragment
 * the template itself built ({@link SafeHtml}). So a renderer never concatenates a value into
 * markup: `` html`<td>${sa.name}</td>` `` is a cell whose text is the name, whatever it holds.
 * Values belong in element content or in a double-quoted attribute, never in a tag or attribute
 * name, an unquoted attribute, a URL attribute, `<style>` or `<script>`.
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

/** Markup built by {@link html} (or a renderer's constant): interpolated as is. */
export interface SafeHtml {
  readonly markup: string;
}

/** The fragments this module made: nothing else is taken as markup (a look-alike object is text). */
const FRAGMENTS = new WeakSet<SafeHtml>();

function fragment(markup: string): SafeHtml {
  const made = Object.freeze({ markup, toString: () => markup });
  FRAGMENTS.add(made);
  return made;
}

/** What a template takes: text (escaped), numbers, fragments, lists of them; null and undefined are nothing. */
export type HtmlValue = SafeHtml | string | number | null | undefined | readonly HtmlValue[];

function interpolate(value: HtmlValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object' && FRAGMENTS.has(value as SafeHtml)) return (value as SafeHtml).markup;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  if (typeof value === 'object') return forHtml(String((value as SafeHtml).markup ?? ''));
  if (typeof value === 'number') return forHtml(Number.isFinite(value) ? String(value) : '');
  return forHtml(String(value));
}

/** A fragment: the template's markup, each value escaped (see the module comment). */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += interpolate(value) + (strings[i + 1] ?? '');
  });
  return fragment(out);
}

/**
 * Markup a renderer wrote itself and that contains no value (a stylesheet, whose quotes the
 * template would escape). Never give it anything read from a fleet.
 */
export function trustedConstant(markup: string): SafeHtml {
  return fragment(markup);
}
