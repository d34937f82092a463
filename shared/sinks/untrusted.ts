/**
 * What every sink does to text that came from a cluster or an account (README, "Security: what a cluster says is untrusted"): a
 * ServiceAccount's annotation, a role's name, a trust policy's condition, a pod's name are written
 * by whoever can create them, and reach terminals, email, Slack, HTML and shell fix commands.
 *
 * Each sink has its own module beside this one (terminal.ts, email.ts, slack.ts, html.ts,
 * shell.ts); what they share is here: which characters are dangerous, and how a value too long to
 * show is cut, saying so.
 */

/** A run of non-blank characters longer than this is cut where it is shown (no valid IAM or Kubernetes name comes near it). */
export const MAX_SHOWN_RUN = 1024;

/** Control characters but newline and tab: C0, DEL, C1 (ANSI escape sequences start with one). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
/** Every control character, newline and tab included (for one-line fields). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const ANY_CONTROL = /[\u0000-\u001F\u007F-\u009F]/g;
/**
 * Bidirectional overrides and isolates, and invisible formatting characters: they make a terminal
 * or a page show text in another order than it is (Trojan Source, CVE-2021-42574), or hide some.
 */
export const FORMAT =
  /[\u00AD\u061C\u180E\u200B-\u200F\u2028-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]/g;
/** A UTF-16 surrogate without its pair: invalid UTF-8 once written out. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `\x1b`, `\u202e`: how a dangerous character is shown, as JavaScript would write it. */
export function escapeCode(char: string): string {
  const code = char.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Whether the text holds a control, formatting or lone surrogate character. */
export function hasDangerous(text: string): boolean {
  return DANGEROUS.some((pattern) => pattern.test(text));
}

/** The same patterns without the global flag, so test() keeps no state between calls. */
const DANGEROUS = [ANY_CONTROL, FORMAT, LONE_SURROGATE].map((g) => new RegExp(g.source));

/** How a cut is said: `…[cut: 70,000 characters in all]`. */
export function cutNote(length: number): string {
  return `…[cut: ${length.toLocaleString('en-US')} characters in all]`;
}

/**
 * Each run of non-blank characters longer than `max` is cut to its first `max` characters (never
 * inside a surrogate pair), followed by a note saying how long it was.
 */
export function cutLongRuns(text: string, max = MAX_SHOWN_RUN): string {
  if (text.length <= max || !Number.isFinite(max)) return text;
  // Every run matched whole, the short ones given back as they are: `[^\s]{N,}` would scan up to N
  // characters from each start in a run shorter than N (quadratic below N, and N is 1,024).
  return text.replace(/\S+/g, (run) => {
    if (run.length <= max) return run;
    let end = max;
    const last = run.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end -= 1;
    return `${run.slice(0, end)}${cutNote(run.length)}`;
  });
}

/**
 * The text with every dangerous character shown as its escape (`\x1b`), long runs cut: what a
 * reader sees is what the value is, and nothing in it acts on the device that shows it. Newlines
 * and tabs stay unless `oneLine`.
 */
export function visible(text: string, options: { oneLine?: boolean; max?: number } = {}): string {
  const controls = options.oneLine ? ANY_CONTROL : CONTROL;
  return cutLongRuns(String(text), options.max)
    .replace(/\r\n/g, '\n')
    .replace(LONE_SURROGATE, escapeCode)
    .replace(controls, escapeCode)
    .replace(FORMAT, escapeCode);
}

/** Longest value quoted in full in a message; a longer one is cut there, saying so. */
export const MAX_QUOTED_CHARS = 200;

/**
 * A value quoted in a finding's message: JSON-quoted (so escapes are visible and the value's end
 * is plain), cut at MAX_QUOTED_CHARS with the cut said. The evidence keeps the value whole.
 */
export function quoted(value: string, max = MAX_QUOTED_CHARS): string {
  if (value.length <= max) return JSON.stringify(value);
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${JSON.stringify(value.slice(0, end))}${cutNote(value.length)}`;
}
