// biome-ignore-all lint/suspicious/noTemplateCurlyInString: policy variables (${...}) are literal text here
/**
 * The hand-written scans that replaced regular expressions which backtrack in quadratic time
 * (test/regex-safety.test.ts names them). Each scan is compared with the expression it replaced,
 * on random text drawn from the few characters that matter to it (fast-check), so a difference of
 * meaning shows. Each is then run on the attack string recheck gave for the old expression. Nothing
 * is timed: that the scans are linear follows from how they are written, and the regex test keeps
 * the expressions out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '#shared/collectors/failures.ts';
import { withoutExcerpt } from '#shared/collectors/kubernetes-pages.ts';
import { pemCertificateBlocks, spansBetween, trimQuotes, trimTrailingSlashes } from '#shared/model/text.ts';
import { keyAndDefault } from '#shared/policy/evaluate.ts';
import { cutLongRuns } from '#shared/sinks/untrusted.ts';

/** Text from the given characters, up to 40 of them. */
const textOf = (...pieces: string[]) =>
  fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((parts) => parts.join(''));

const RUNS = { numRuns: 2_000 };

describe('trimTrailingSlashes', () => {
  it("is /\\/+$/ replaced by ''", () => {
    fc.assert(
      fc.property(textOf('/', 'a', ' '), (text) => {
        expect(trimTrailingSlashes(text)).toBe(text.replace(/\/+$/, ''));
      }),
      RUNS,
    );
  });
  it('reads the attack string of the old expression', () => {
    const attack = `\u0000${'/'.repeat(100_000)}\u0000/`;
    expect(trimTrailingSlashes(attack)).toBe(attack.slice(0, -1));
  });
});

describe('trimQuotes', () => {
  it(`is /^["']+|["']+$/g replaced by ''`, () => {
    fc.assert(
      fc.property(textOf('"', "'", 'a'), (text) => {
        expect(trimQuotes(text)).toBe(text.replace(/^["']+|["']+$/g, ''));
      }),
      RUNS,
    );
  });
  it('reads the attack string of the old expression', () => {
    expect(trimQuotes(`\u0000${'"'.repeat(100_000)}"\u0000`)).toBe(`\u0000${'"'.repeat(100_001)}\u0000`);
  });
});

describe('spansBetween', () => {
  it('is what /<[\\s\\S]+?>/g and /<[\\s\\S]*?>/g match, markers of several characters included', () => {
    fc.assert(
      fc.property(textOf('<', '>', '<<', '>>', 'a', '\n'), fc.boolean(), (text, nonEmpty) => {
        const expression = nonEmpty ? /<<[\s\S]+?>>/g : /<<[\s\S]*?>>/g;
        expect(spansBetween(text, '<<', '>>', nonEmpty)).toEqual(text.match(expression) ?? []);
      }),
      RUNS,
    );
  });
  it('finds every `${...}` as /\\$\\{([^}]*)\\}/g does', () => {
    fc.assert(
      fc.property(textOf('$', '{', '}', '${', 'a', ','), (text) => {
        const byExpression = [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[0]);
        expect(spansBetween(text, '${', '}', false)).toEqual(byExpression);
      }),
      RUNS,
    );
  });
  it('reads the attack strings of the old expressions', () => {
    expect(spansBetween('${'.repeat(100_000), '${', '}', false)).toEqual([]);
    const pem = '----END CERTIFICATE-----BEGIN CERTIFICATE-----I'.repeat(20_000);
    expect(pemCertificateBlocks(`${pem}----END CERTIFICATE-----`)).toEqual([]);
    // Many openings and one close: a single block from the first, as the expression gave.
    const opens = '-----BEGIN CERTIFICATE-----x'.repeat(20_000);
    expect(pemCertificateBlocks(`${opens}-----END CERTIFICATE-----`)).toEqual([
      `${opens}-----END CERTIFICATE-----`,
    ]);
  });
});

describe('redactSecrets: JWTs', () => {
  const OLD_JWT = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*/g;
  it('redacts what the old expression redacted', () => {
    fc.assert(
      fc.property(textOf('eyJ', 'e', 'y', 'J', '.', 'a', '-', ' ', '"'), (text) => {
        expect(redactSecrets(text)).toBe(text.replace(OLD_JWT, '<redacted-jwt>'));
      }),
      RUNS,
    );
  });
  it('redacts a token in an error message, and reads the attack string of the old expression', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl';
    expect(redactSecrets(`token ${jwt} refused`)).toBe('token <redacted-jwt> refused');
    const attack = `${'eyJ'.repeat(100_000)}\u0000eyJ.`;
    expect(redactSecrets(attack)).toBe(`${'eyJ'.repeat(100_000)}\u0000<redacted-jwt>`);
  });
});

describe('keyAndDefault (a policy variable with a default)', () => {
  const OLD = /^(.*?),\s*'(.*)'$/s;
  it("is /^(.*?),\\s*'(.*)'$/s", () => {
    fc.assert(
      fc.property(textOf(',', "'", ' ', '\t', 'a', '\n'), (inner) => {
        const match = OLD.exec(inner);
        expect(keyAndDefault(inner)).toEqual(match ? { key: match[1], fallback: match[2] } : null);
      }),
      RUNS,
    );
  });
  it('reads the usual form and the attack string of the old expression', () => {
    expect(keyAndDefault("aws:username, 'nobody'")).toEqual({ key: 'aws:username', fallback: 'nobody' });
    expect(keyAndDefault(`${",'".repeat(100_000)}\u0000`)).toBeNull();
  });
});

describe('withoutExcerpt (a JSON.parse message without the text it quotes)', () => {
  const OLD = /, (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/;
  it('removes what the old expression removed', () => {
    // Half of them end as V8's messages do, so the suffix is there to be found.
    const pieces = textOf(', ', ',', ' ', '"', '...', '.', 'x');
    fc.assert(
      fc.property(
        fc.oneof(
          pieces,
          pieces.map((t) => `${t} is not valid JSON`),
        ),
        (message) => {
          expect(withoutExcerpt(message)).toBe(message.replace(OLD, ''));
        },
      ),
      { numRuns: 5_000 },
    );
  });
  it("cuts V8's messages, and reads the attack string of the old expression", () => {
    expect(withoutExcerpt('Unexpected token \'x\', ..."KEY1"}, x,{"... is not valid JSON')).toBe(
      "Unexpected token 'x'",
    );
    expect(withoutExcerpt('Unexpected token \'o\', "not json" is not valid JSON')).toBe(
      "Unexpected token 'o'",
    );
    const attack = `${', "'.repeat(100_000)} `;
    expect(withoutExcerpt(attack)).toBe(attack);
  });
});

describe('cutLongRuns', () => {
  const cutByExpression = (text: string, max: number) =>
    text.replace(new RegExp(`[^\\s]{${max + 1},}`, 'g'), (run) => `${run.slice(0, max)}[${run.length}]`);
  it('cuts the runs that /[^\\s]{N,}/g matched, and only those', () => {
    fc.assert(
      fc.property(
        textOf('a', 'b', ' ', '\n', '\t', '\u00a0'),
        fc.integer({ min: 1, max: 8 }),
        (text, max) => {
          const marked = cutLongRuns(text, max).replace(
            /…\[cut: ([\d,]+) characters in all\]/g,
            (_, n: string) => `[${n.replace(/,/g, '')}]`,
          );
          expect(marked).toBe(text.length <= max ? text : cutByExpression(text, max));
        },
      ),
      RUNS,
    );
  });
  it('reads the attack string of the old expression', () => {
    const attack = `${'\u0000\u0000'.repeat(500)} `.repeat(2_000);
    expect(cutLongRuns(attack)).toBe(attack);
  });
});
