/**
 * The CSV sink (spreadsheets): RFC 4180 fields, every one quoted, a quote doubled; dangerous
 * characters shown escaped as the terminal shows them (`\x1b`, `\u202e`; untrusted.ts), long runs
 * cut. A cell that a spreadsheet would read as a formula (OWASP, "CSV Injection": one starting with
 * `=`, `+`, `-`, `@`, a tab or a carriage return; here also their fullwidth forms, which some
 * spreadsheets take as the ASCII ones) gets a leading `'`, so it is shown as text.
 */
import { visible } from './untrusted.ts';

/** What a spreadsheet may take as the start of a formula. */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/** Records end with CRLF (RFC 4180). */
export const CSV_EOL = '\r\n';

/** A cell's text: escaped, then neutralised if a spreadsheet would compute it. `multiline` keeps newlines and tabs. */
export function csvText(value: string | null | undefined, options: { multiline?: boolean } = {}): string {
  const shown = visible(value ?? '', { oneLine: !options.multiline });
  return FORMULA_START.test(shown) ? `'${shown}` : shown;
}

/** One RFC 4180 field: the text quoted, its quotes doubled. */
export function csvField(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** One record of already-made cell texts (csvText), with its CRLF. */
export function csvRecord(cells: readonly string[]): string {
  return cells.map(csvField).join(',') + CSV_EOL;
}

/** Whether a cell's text would start a formula (a test of what this sink writes). */
export function startsFormula(text: string): boolean {
  return FORMULA_START.test(text);
}
