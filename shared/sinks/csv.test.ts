import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CSV_EOL, csvRecord, csvText, startsFormula } from './csv.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const RAW = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/;

const parseCsv = (text: string): string[][] => parse(text, { relax_column_count: false }) as string[][];

describe('the CSV sink', () => {
  it('quotes every field and doubles quotes (RFC 4180), records ending with CRLF', () => {
    const record = csvRecord(['a', 'b "c", d', 'line1\nline2']);
    expect(record).toBe(`"a","b ""c"", d","line1\nline2"${CSV_EOL}`);
    expect(parseCsv(record + record)).toEqual([
      ['a', 'b "c", d', 'line1\nline2'],
      ['a', 'b "c", d', 'line1\nline2'],
    ]);
  });

  it("neutralises what a spreadsheet would compute with a leading ' (OWASP)", () => {
    for (const formula of ['=HYPERLINK("http://evil")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\uFF1D1+1']) {
      expect(csvText(formula, { multiline: true })).toMatch(/^'/);
    }
    // A carriage return is shown escaped, so that cell starts with a backslash, not a formula.
    expect(csvText('\r=1')).toBe('\\x0d=1');
    expect(csvText('cart-api')).toBe('cart-api');
    expect(csvText('a=b')).toBe('a=b');
  });

  it('shows control and bidi characters escaped; keeps newlines only where asked', () => {
    expect(csvText('\u001b[2Jx\u202e\ny', { multiline: true })).toBe('\\x1b[2Jx\\u202e\ny');
    expect(csvText('x\ny')).toBe('x\\x0ay');
    expect(csvText(null)).toBe('');
  });

  it('whatever the values, the record parses back to the cells, none raw and none a formula (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 60 }), { minLength: 1, maxLength: 5 }),
        (values) => {
          const cells = values.map((v, i) => csvText(v, { multiline: i % 2 === 0 }));
          const [row] = parseCsv(csvRecord(cells));
          expect(row).toEqual(cells);
          for (const cell of row ?? []) {
            expect(startsFormula(cell)).toBe(false);
            expect(RAW.test(cell)).toBe(false);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
