/**
 * Text helpers for the notifications: make stored strings safe to put in an SNS message (well-formed
 * UTF-16, so valid UTF-8 on the wire), clip them by code point (never inside a surrogate pair),
 * measure them as SNS does (UTF-8 bytes of the JSON text), and fit ordered lists into a budget
 * without ever cutting an entry in half.
 */
import { visible } from '../sinks/untrusted.ts';

/**
 * The text as the sinks show it (shared/sinks/untrusted.ts): control, bidirectional and invisible
 * characters and lone surrogates (invalid UTF-8 once SNS unescapes the JSON) shown escaped
 * (`\x1b`), newlines and tabs kept.
 */
export function cleanText(text: string): string {
  // Commands go through here: never cut (a cut command would run something else); the callers
  // leave out one too long to show.
  return visible(text.replace(/\r\n?/g, '\n'), { max: Number.POSITIVE_INFINITY });
}

/** One line: line breaks become single spaces, other dangerous characters are shown escaped, ends trimmed. */
export function oneLine(text: string): string {
  return visible(text.replace(/[\r\n\t\u2028\u2029]+/g, ' '), { oneLine: true })
    .replace(/ {2,}/g, ' ')
    .trim();
}

/**
 * At most `max` UTF-16 code units (so at most `max` characters however they are counted), cut at
 * a code point boundary, with `…` marking the cut. Never splits a surrogate pair.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** Printable ASCII only (for SNS subjects): accents dropped, other characters become `?`, spaces collapsed. */
export function asciiLine(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]+/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Bytes the text takes inside a JSON string literal, as UTF-8 (escapes included, quotes not). */
export function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;
}

/** `n thing` / `n things`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** An ISO 8601 time as `2026-05-01 02:13 UTC`; anything unparsable is shown as given (one line). */
export function formatTime(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return clip(oneLine(iso), 64);
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A duration in ms as `1h 02m`, `3m 05s` or `12s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'unknown';
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** A shell word (shared/sinks/shell.ts, the one quoting of the project). */
export { shellWord } from '../sinks/shell.ts';

export interface FitListOptions<T> {
  /** The entry's text (one or more lines, no trailing newline). */
  readonly render: (item: T) => string;
  /** What a piece of text costs (bytes, characters) where it will be put; must add up over concatenation. */
  readonly cost: (text: string) => number;
  /** What the listed entries and the overflow line may cost together. */
  readonly available: number;
  /** List at most this many entries whatever the budget. */
  readonly max?: number;
  /** The line standing for the entries left out (called with at least one). */
  readonly overflow: (omitted: readonly T[]) => string;
}

export interface FittedList {
  /** The rendered entries that fit, then the overflow line if any were left out. */
  readonly lines: readonly string[];
  readonly listed: number;
  readonly omitted: number;
  /** What `lines` cost, each line followed by a newline. */
  readonly cost: number;
}

/**
 * Lists the longest prefix of `items` (already in priority order) that fits in `available`
 * together with the overflow line for the rest. Entries are whole or absent, never cut. When not
 * even the overflow line fits, the result is empty and its cost is 0.
 */
export function fitList<T>(items: readonly T[], options: FitListOptions<T>): FittedList {
  const max = Math.min(options.max ?? items.length, items.length);
  const rendered: string[] = [];
  const costs: number[] = [];
  let total = 0;
  for (let i = 0; i < max; i++) {
    const item = items[i] as T;
    const text = options.render(item);
    const cost = options.cost(`${text}\n`);
    if (total + cost > options.available) break;
    rendered.push(text);
    costs.push(cost);
    total += cost;
  }
  let listed = rendered.length;
  if (listed === items.length) return { lines: rendered, listed, omitted: 0, cost: total };
  for (;;) {
    const line = options.overflow(items.slice(listed));
    const lineCost = options.cost(`${line}\n`);
    if (total + lineCost <= options.available) {
      return {
        lines: [...rendered.slice(0, listed), line],
        listed,
        omitted: items.length - listed,
        cost: total + lineCost,
      };
    }
    if (listed === 0) return { lines: [], listed: 0, omitted: items.length, cost: 0 };
    listed -= 1;
    total -= costs[listed] ?? 0;
  }
}

/** A list of entries that takes what it needs of the budget the fixed lines leave. */
export interface ListPart {
  readonly fit: (available: number, cost: (text: string) => number) => FittedList;
  /** Lists are given their share lowest priority first, whatever their place in the text. */
  readonly priority: number;
}

/** A fixed line (it may hold several lines), or a list. */
export type TextPart = string | ListPart;

export interface ComposedText {
  readonly text: string;
  /** What the text costs, counting a newline after its last line. */
  readonly cost: number;
}

/**
 * Joins the parts with newlines within `available`: the fixed lines are reserved first, then the
 * lists take what they need of what is left, by priority (then in order of appearance).
 * Throws a RangeError when the fixed lines alone do not fit.
 */
export function composeText(
  parts: readonly TextPart[],
  cost: (text: string) => number,
  available: number,
): ComposedText {
  let fixed = 0;
  for (const part of parts) if (typeof part === 'string') fixed += cost(`${part}\n`);
  if (fixed > available) {
    throw new RangeError(`the fixed lines of a notification need ${fixed}, only ${available} is available`);
  }
  let remaining = available - fixed;
  const lists = parts
    .map((part, index) => ({ part, index }))
    .filter((entry): entry is { part: ListPart; index: number } => typeof entry.part !== 'string')
    .sort((a, b) => a.part.priority - b.part.priority || a.index - b.index);
  const fitted = new Map<number, FittedList>();
  for (const { part, index } of lists) {
    const result = part.fit(remaining, cost);
    remaining -= result.cost;
    fitted.set(index, result);
  }
  const lines = parts.flatMap((part, index) =>
    typeof part === 'string' ? [part] : (fitted.get(index)?.lines ?? []),
  );
  return { text: lines.join('\n'), cost: available - remaining };
}

/**
 * A list part: `items` fitted with `fitList` in what is left when its turn comes (`priority`,
 * default 1), or in `share` of it.
 */
export function listPart<T>(
  items: readonly T[],
  options: Omit<FitListOptions<T>, 'cost' | 'available'> & {
    readonly share?: number;
    readonly priority?: number;
  },
): ListPart {
  return {
    priority: options.priority ?? 1,
    fit: (available, cost) =>
      fitList(items, {
        ...options,
        cost,
        available: options.share === undefined ? available : Math.floor(available * options.share),
      }),
  };
}
