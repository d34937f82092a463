import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defangUrls, forEmail } from './email.ts';
import { forHtml, html, type SafeHtml, trustedConstant } from './html.ts';
import { sh, shellWord } from './shell.ts';
import { forSlack, slackCode } from './slack.ts';
import { forTerminal, forTerminalLine, terminalSafe } from './terminal.ts';
import { cutLongRuns, hasDangerous, MAX_SHOWN_RUN, quoted } from './untrusted.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const RAW = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/;
const ESC_TITLE = '\u001b[2J\u001b]0;pwned\u0007x\u001b[31mRED';

describe('the terminal sink', () => {
  it('shows escape sequences and bidi overrides escaped, keeps newlines and tabs in messages', () => {
    expect(forTerminal(`a${ESC_TITLE}\n\tb`)).toBe('a\\x1b[2J\\x1b]0;pwned\\x07x\\x1b[31mRED\n\tb');
    expect(forTerminal('cart\u202Eipa\u2066')).toBe('cart\\u202eipa\\u2066');
    expect(forTerminalLine('a\nb\rc')).toBe('a\\x0ab\\x0dc');
    expect(forTerminal('\uD800x')).toBe('\\ud800x');
  });

  it('never lets a dangerous character through, whatever the text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expect(RAW.test(forTerminalLine(text))).toBe(false);
        expect(RAW.test(forTerminal(text).replace(/[\n\t]/g, ''))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('cuts a long run, saying how long it was', () => {
    const cut = forTerminalLine(`x ${'a'.repeat(70_000)} y`);
    expect(cut).toBe(`x ${'a'.repeat(MAX_SHOWN_RUN)}…[cut: 70,000 characters in all] y`);
    expect(cutLongRuns('short words stay')).toBe('short words stay');
  });

  it('terminalSafe makes every string of a record safe, keeping lines only in messages and fixes', () => {
    const safe = terminalSafe({ name: 'a\nb\u001b', nested: [{ message: 'l1\nl2\u001b' }], n: 3 });
    expect(safe).toEqual({ name: 'a\\x0ab\\x1b', nested: [{ message: 'l1\nl2\\x1b' }], n: 3 });
  });
});

describe('the email sink', () => {
  it('defangs addresses in values and shows control characters escaped', () => {
    expect(defangUrls('see https://evil.example/x and http://a')).toBe(
      'see hxxps://evil.example/x and hxxp://a',
    );
    expect(forEmail(`https://x${ESC_TITLE}`)).not.toMatch(RAW);
    expect(forEmail('javascript:alert(1)')).toBe('javascript[:]alert(1)');
  });
});

describe('the Slack sink', () => {
  it('puts values in a code span with Slack escapes: no link, mention or formatting survives', () => {
    expect(slackCode('<https://evil|click> <!channel> `x` *b*')).toBe(
      '`&lt;https://evil|click&gt; &lt;!channel&gt; \u02CBx\u02CB *b*`',
    );
    expect(forSlack('plain words')).toBe('plain words');
    expect(forSlack('a *bold* claim')).toBe('`a *bold* claim`');
    expect(forSlack('mail me@evil.example')).toBe('`mail me@evil.example`');
  });

  it('never leaves a backtick, < or > inside its span (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        const span = slackCode(text);
        const body = span.slice(1, -1);
        expect(span.startsWith('`') && span.endsWith('`')).toBe(true);
        expect(body).not.toMatch(/[`<>]/);
        expect(RAW.test(body)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the HTML sink', () => {
  it('escapes what HTML gives meaning to', () => {
    expect(forHtml(`<img src=x onerror="a('b')">&`)).toBe(
      '&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;',
    );
    expect(forHtml(ESC_TITLE)).not.toMatch(RAW);
  });

  it('the html template escapes every value, keeps its own fragments, and takes no look-alike as markup', () => {
    const name = '"><script>alert(1)</script>';
    const cell = html`<td title="${name}">${name}</td>`;
    expect(cell.markup).toBe(
      '<td title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>',
    );
    expect(html`<tr>${[cell, 3, null, undefined, ['a<b']]}</tr>`.markup).toBe(
      `<tr>${cell.markup}3a&lt;b</tr>`,
    );
    const fake = { markup: '<script>x</script>' } as unknown as SafeHtml;
    expect(html`${fake}`.markup).toBe('&lt;script&gt;x&lt;/script&gt;');
    expect(trustedConstant('a { b: "c" }').markup).toBe('a { b: "c" }');
  });

  it('no value ever opens an element or an attribute (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (text) => {
        const out = html`<p class="${text}">${text}</p>`.markup;
        expect(out.slice(3, -4).replace(/^class="[^"<>]*">/, '')).not.toMatch(/[<>"]/);
        expect(RAW.test(out)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the shell sink', () => {
  it('leaves harmless words as they are and quotes the rest', () => {
    expect(shellWord('arn:aws:iam::210987654321:role/x')).toBe('arn:aws:iam::210987654321:role/x');
    expect(shellWord('a b')).toBe("'a b'");
    expect(shellWord("it's")).toBe("'it'\\''s'");
    expect(shellWord('x$(reboot)')).toBe("'x$(reboot)'");
    expect(shellWord('x\u001b[2J')).toBe("$'x\\x1b[2J'");
    expect(shellWord('a'.repeat(2000))).toBe("'VALUE…[cut: 2,000 characters in all]'");
    expect(sh`kubectl -n ${'ns;reboot'} get sa ${'$(id)'}`).toBe("kubectl -n 'ns;reboot' get sa '$(id)'");
  });

  it('every word reads back in bash as exactly the value, and runs nothing (property)', () => {
    const values = fc.sample(
      fc.string({ unit: 'binary', minLength: 0, maxLength: 40 }).filter((v) => !v.includes('\u0000')),
      { numRuns: 300, seed: 1806 },
    );
    values.push(
      '$(touch PWNED)',
      '`touch PWNED`',
      '; touch PWNED',
      '\ntouch PWNED',
      "'; touch PWNED; '",
      ESC_TITLE,
    );
    // One bash: each value printed between separators, in the same order.
    const script = values.map((v) => `printf '%s\\036' ${shellWord(v)}`).join('\n');
    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: '/tmp' });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout.split('\u001e');
    out.pop();
    // bash reads bytes: compare with each value as UTF-8 (lone surrogates become U+FFFD both ways).
    const asBash = (v: string) => Buffer.from(v, 'utf8').toString('utf8');
    expect(out).toEqual(values.map(asBash));
  });
});

describe('quoted and hasDangerous', () => {
  it('quote a value in a message, cut at 200 with the cut said', () => {
    expect(quoted('abc')).toBe('"abc"');
    expect(quoted('a'.repeat(300))).toBe(`"${'a'.repeat(200)}"…[cut: 300 characters in all]`);
    expect(hasDangerous('ok')).toBe(false);
    expect(hasDangerous('a\u202Eb')).toBe(true);
    expect(hasDangerous('a\u202Eb')).toBe(true); // no state left between calls
  });
});
