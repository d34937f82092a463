/**
 * Small text scans done by hand, in linear time, where the obvious regular expression backtracks
 * in quadratic time on a hostile value: `/\/+$/` on a long run of slashes followed by another
 * character, a lazy `[\s\S]+?` between two markers, a `[^}]*` that never finds its brace. What
 * they read comes from clusters and accounts (issuers, CA bundles, policies, error messages), so
 * one crafted value must not stall an audit. test/regex-safety.test.ts keeps such expressions out
 * of the sources.
 */

/** `text` without the slashes that end it (`/\/+$/` replaced by ''). */
export function trimTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x2f) end--;
  return text.slice(0, end);
}

/** `text` without the quotes, single or double, that start or end it (`/^["']+|["']+$/g` replaced by ''). */
export function trimQuotes(text: string): string {
  const isQuote = (code: number) => code === 0x22 || code === 0x27;
  let start = 0;
  while (start < text.length && isQuote(text.charCodeAt(start))) start++;
  let end = text.length;
  while (end > start && isQuote(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/**
 * Where each span from `open` to the first `close` after it lies (`[start, end)`, both markers
 * included), left to right and not overlapping: what `/open[\s\S]+?close/g` matches when
 * `nonEmpty`, `/open[\s\S]*?close/g` when not. A later `open` inside a span is part of it, as in
 * the expression.
 */
export function spanRanges(text: string, open: string, close: string, nonEmpty = true): [number, number][] {
  const ranges: [number, number][] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf(open, from);
    if (start === -1) return ranges;
    const end = text.indexOf(close, start + open.length + (nonEmpty ? 1 : 0));
    // No close after this open, so none after any later open either.
    if (end === -1) return ranges;
    from = end + close.length;
    ranges.push([start, from]);
  }
}

/** The spans of {@link spanRanges}, as text. */
export function spansBetween(text: string, open: string, close: string, nonEmpty = true): string[] {
  return spanRanges(text, open, close, nonEmpty).map(([start, end]) => text.slice(start, end));
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';

/** Where a bundle's certificate PEM blocks lie, in order (`-----BEGIN CERTIFICATE-----` ... `-----END CERTIFICATE-----`). */
export function pemCertificateRanges(text: string): [number, number][] {
  return spanRanges(text, PEM_BEGIN, PEM_END);
}

/** A bundle's certificate PEM blocks, in order. */
export function pemCertificateBlocks(text: string): string[] {
  return spansBetween(text, PEM_BEGIN, PEM_END);
}
