/**
 * The shell sink: the fix commands the checks write (`kubectl annotate ... ${sa.name}`) are copied
 * into a shell by the reader, and a value in them comes from a cluster or an account. Every value
 * goes in through {@link sh} (or {@link shellWord}): as is when it holds only characters no shell
 * gives meaning to, else single-quoted (`'$(reboot)'` is then only text); a value with control
 * characters is written in ANSI-C quoting (`$'\x1b...'`), so the command stays on its lines and
 * the terminal shows no raw control character; a value too long to show becomes a placeholder
 * that says so, so the command cannot run with it (untrusted.ts).
 */
import { cutNote, escapeCode, hasDangerous, MAX_SHOWN_RUN } from './untrusted.ts';

/** One shell word for the value (see the module comment). */
export function shellWord(value: string | number): string {
  const word = String(value);
  if (word.length > MAX_SHOWN_RUN) return `'VALUE${cutNote(word.length).replace(/'/g, '')}'`;
  if (/^[A-Za-z0-9._\-/:=@+,%]+$/.test(word)) return word;
  if (hasDangerous(word)) {
    const body = [...word]
      .map((char) => {
        if (char === '\\' || char === "'") return `\\${char}`;
        return hasDangerous(char) ? escapeCode(char) : char;
      })
      .join('');
    return `$'${body}'`;
  }
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A tagged template for fix commands: every interpolated value becomes one shell word, so
 * ``sh`kubectl -n ${ns} annotate sa ${name}` `` runs `kubectl` and nothing else, whatever the
 * values hold. Values inside a `#` comment are quoted too (harmless, and never raw).
 */
export function sh(strings: TemplateStringsArray, ...values: readonly (string | number)[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += shellWord(value) + (strings[i + 1] ?? '');
  });
  return out;
}
