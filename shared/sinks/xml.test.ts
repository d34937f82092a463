import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { escapeCode, visible } from './untrusted.ts';
import { forXmlAttribute, forXmlText, isXmlChars } from './xml.ts';

const ESC_TITLE = '\u001b[2J\u001b]0;pwned\u0007x';

/** A document holding the value as an attribute and as element text, parsed back. */
function roundTrip(value: string): { attribute: string; text: string } {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<r a="${forXmlAttribute(value)}">${forXmlText(value)}</r>`;
  expect(isXmlChars(xml)).toBe(true);
  expect(XMLValidator.validate(xml)).toBe(true);
  const parsed = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    textNodeName: '#text',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    alwaysCreateTextNode: true,
    processEntities: true,
  }).parse(xml) as { r: { a: string; '#text'?: string } };
  return { attribute: parsed.r.a, text: parsed.r['#text'] ?? '' };
}

describe('the XML sink', () => {
  it('escapes markup, so a value is always text', () => {
    expect(forXmlText(`<failure>&amp;"']]></failure>`)).toBe(
      `&lt;failure&gt;&amp;amp;"']]&gt;&lt;/failure&gt;`,
    );
    expect(forXmlAttribute(`<a>&"'`)).toBe('&lt;a&gt;&amp;&quot;&apos;');
    expect(roundTrip('</r><x a="1">&').text).toBe('</r><x a="1">&');
    expect(roundTrip('" injected="1').attribute).toBe('" injected="1');
  });

  it('shows control characters XML 1.0 forbids (even escaped) as \\x1b, and bidi overrides as \\u202e', () => {
    expect(forXmlText(`${ESC_TITLE}\n\tcart\u202Eipa`)).toBe('\\x1b[2J\\x1b]0;pwned\\x07x\n\tcart\\u202eipa');
    expect(forXmlAttribute('a\nb\u0000\uFFFE')).toBe('a\\x0ab\\x00\\ufffe');
    expect(forXmlText('\uD800x')).toBe('\\ud800x');
  });

  it('writes well-formed XML whatever the value, and what is read back is what the terminal would show (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (value) => {
        const { attribute, text } = roundTrip(value);
        expect(attribute).toBe(visible(value, { oneLine: true }).replace(/[\uFFFE\uFFFF]/g, escapeCode));
        expect(text).toBe(visible(value).replace(/[\uFFFE\uFFFF]/g, escapeCode));
        // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
        expect(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/.test(attribute)).toBe(
          false,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('isXmlChars knows what XML 1.0 forbids', () => {
    expect(isXmlChars('a\n\t\rb\u00e9\u{1F600}')).toBe(true);
    for (const bad of ['\u0000', '\u001b', '\u000c', '\uFFFF', '\uD800'])
      expect(isXmlChars(`a${bad}`)).toBe(false);
  });
});
