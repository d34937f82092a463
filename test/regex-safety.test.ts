/**
 * No regular expression in the project's code backtracks catastrophically. They read what clusters
 * and accounts hold (annotations, trust policies, error messages, CA bundles) and all of that is
 * untrusted. A regular expression that takes quadratic or exponential time on some input lets one
 * hostile value stall the whole fleet's audit. test/fuzz-snapshot.test.ts found two such
 * expressions, each taking minutes on a crafted value.
 *
 * Nothing here is timed. Every regular expression literal in the sources is read from their syntax
 * tree: esbuild strips the types, acorn parses the JavaScript. recheck (a ReDoS checker built on
 * automata theory) then decides whether the expression can match or fail in more than linear
 * time; it gives the attack string when it can. Expressions built at run time (`new RegExp(...)`)
 * cannot be judged from the sources. Each one is listed in DYNAMIC below with why it is safe, and
 * a new one fails this test until it is listed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Node, parse } from 'acorn';
import { full } from 'acorn-walk';
import { transformSync } from 'esbuild';
import { check, type Diagnostics } from 'recheck';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where the project's code is: everything but the tests, the fixtures and the dependencies. */
const SOURCE_DIRS = ['shared', 'functions', 'cli', 'infra', 'emulator', 'bench', 'scripts', 'demo', 'bin'];

/**
 * The places that build a regular expression at run time, by file, with how many there are and why
 * each is safe. recheck cannot judge these from the sources.
 */
const DYNAMIC: Record<string, { count: number; why: string }> = {
  'shared/sinks/untrusted.ts': {
    count: 1,
    why: 'copies, without the g flag, of three fixed expressions of the same file (checked here as literals)',
  },
  'cli/render/sarif.ts': {
    count: 1,
    why: 'a character class joined to another fixed character class: one alternation of single characters',
  },
  'emulator/sns.ts': {
    count: 1,
    why: "the emulator's SNS filter-policy prefix and wildcard matching, built from a test's own subscription (never from a cluster or an account); the emulator listens on loopback only",
  },
};

interface Found {
  readonly file: string;
  readonly line: number;
  readonly pattern: string;
  readonly flags: string;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) yield* sourceFiles(path);
    } else if (/\.(?:ts|mts|mjs)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) {
      yield path;
    }
  }
}

interface Scan {
  readonly literals: Found[];
  /** `new RegExp(...)` or `RegExp(...)` calls, by file. */
  readonly dynamic: Map<string, number>;
  readonly files: number;
}

function scan(): Scan {
  const literals: Found[] = [];
  const dynamic = new Map<string, number>();
  let files = 0;
  for (const dir of SOURCE_DIRS) {
    for (const path of sourceFiles(join(ROOT, dir))) {
      files++;
      const file = relative(ROOT, path);
      const source = readFileSync(path, 'utf8');
      const { code } = transformSync(source, {
        loader: path.endsWith('.mjs') ? 'js' : 'ts',
        format: 'esm',
        target: 'esnext',
        sourcefile: file,
      });
      const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'module' });
      full(ast, (node: Node) => {
        const n = node as Node & {
          regex?: { pattern: string; flags: string };
          callee?: { type: string; name?: string };
        };
        if (n.type === 'Literal' && n.regex) {
          // The line in the source (esbuild keeps a literal as it is written, not where it was).
          const at = source.indexOf(`/${n.regex.pattern}/${n.regex.flags}`);
          const line = at === -1 ? 0 : source.slice(0, at).split('\n').length;
          literals.push({ file, line, ...n.regex });
        }
        if (
          (n.type === 'NewExpression' || n.type === 'CallExpression') &&
          n.callee?.type === 'Identifier' &&
          n.callee.name === 'RegExp'
        ) {
          dynamic.set(file, (dynamic.get(file) ?? 0) + 1);
        }
      });
    }
  }
  return { literals, dynamic, files };
}

/** recheck's verdict, with the attack it found when it found one. */
function verdict(result: Diagnostics): string {
  if (result.status === 'safe') return 'safe';
  if (result.status === 'vulnerable') {
    const degree = result.complexity.type === 'polynomial' ? ` (degree ${result.complexity.degree})` : '';
    return `vulnerable: ${result.complexity.type}${degree}, attack ${result.attack.pattern}`;
  }
  return `unknown: ${result.error.kind}`;
}

/** Each distinct expression checked once; recheck runs them in its own process. */
async function verdicts(found: readonly Pick<Found, 'pattern' | 'flags'>[]): Promise<Map<string, string>> {
  const keys = [...new Set(found.map((f) => `/${f.pattern}/${f.flags}`))];
  const out = new Map<string, string>();
  await Promise.all(
    keys.map(async (key) => {
      const end = key.lastIndexOf('/');
      out.set(key, verdict(await check(key.slice(1, end), key.slice(end + 1), { timeout: 20_000 })));
    }),
  );
  return out;
}

describe('regular expressions', () => {
  const found = scan();

  it('are found in the sources (the scan reads every file)', () => {
    expect(found.files).toBeGreaterThan(150);
    // Some known ones, so that a scan that finds nothing cannot pass.
    const at = (file: string) => found.literals.filter((f) => f.file === file).length;
    expect(at('shared/policy/aws-names.ts')).toBeGreaterThan(0);
    expect(found.literals.length).toBeGreaterThan(150);
  });

  it('recheck finds the two that test/fuzz-snapshot.test.ts found by their time (the checker works)', async () => {
    const old = await verdicts([
      { pattern: '\\/+$', flags: '' },
      { pattern: ' \\((.+)\\)$', flags: '' },
    ]);
    expect([...old.values()].every((v) => v.startsWith('vulnerable: polynomial'))).toBe(true);
  });

  it('each literal in the sources runs in linear time on any input', async () => {
    const judged = await verdicts(found.literals);
    const unsafe = found.literals
      .filter((f) => judged.get(`/${f.pattern}/${f.flags}`) !== 'safe')
      .map((f) => `${f.file}:${f.line} /${f.pattern}/${f.flags}: ${judged.get(`/${f.pattern}/${f.flags}`)}`);
    expect(unsafe).toEqual([]);
  });

  it('each one built at run time is listed, with why it is safe', () => {
    expect(Object.fromEntries(found.dynamic)).toEqual(
      Object.fromEntries(Object.entries(DYNAMIC).map(([file, { count }]) => [file, count])),
    );
  });
});
