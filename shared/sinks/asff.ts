/**
 * The finding-format sink (AWS Security Finding Format for Security Hub, OCSF): a value read from a
 * cluster or an account reaches a JSON finding that a console shows to people, so it goes as the
 * terminal shows it (control, bidirectional and invisible characters escaped, long runs cut:
 * untrusted.ts), and a field with a length limit (ASFF's Title 256, Description 1024, ...) is cut
 * to that limit, the cut said at its end. JSON.stringify does the JSON escaping; this does the rest.
 */
import { cutNote, visible } from './untrusted.ts';

/** ASFF's length limits (AWS Security Hub API reference, AwsSecurityFinding and its objects). */
export const ASFF_LIMITS = {
  title: 256,
  description: 1024,
  recommendationText: 512,
  noteText: 512,
  /** Id, GeneratorId. */
  id: 512,
  resourceType: 256,
  /** A resource's Region. */
  region: 16,
  productFieldKey: 128,
  productFieldValue: 2048,
  /** Resource.Details.Other values: fewer than 1,024 characters. */
  otherValue: 1023,
  productFields: 50,
  resources: 32,
} as const;

/**
 * Text for a finding format: dangerous characters shown escaped (newlines and tabs kept unless
 * `oneLine`), then cut to `max` characters (UTF-16 units, never inside a surrogate pair) with a
 * note of how long it was, the note inside the limit.
 */
export function forFinding(text: string, options: { max?: number; oneLine?: boolean } = {}): string {
  const shown = visible(String(text), { oneLine: options.oneLine });
  return options.max === undefined ? shown : cutTo(shown, options.max);
}

/** One-line text (a name, an id) for a finding format. */
export function forFindingLine(text: string, max?: number): string {
  return forFinding(text, { oneLine: true, ...(max === undefined ? {} : { max }) });
}

/** `text` when it fits in `max` characters; else its start and `…[cut: N characters in all]`, `max` in all. */
export function cutTo(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = cutNote(text.length);
  let end = Math.max(0, max - note.length);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${note}`.slice(0, max);
}
