/**
 * `npm run bench:startup`: how long `irsa-audit` takes from start to exit, as a user runs it, for
 * the built CLI (what the package installs: bin/irsa-audit.mjs loading dist/, built first by the
 * npm script) and for the TypeScript sources through tsx (what a clone runs), side by side with
 * `node -e 0` (Node's own start on this machine, the floor). Each command runs in a fresh process,
 * several times; the median wall time is reported (and the fastest and slowest run), and the median
 * CPU time (user + system, all threads, as the process counts it at exit): on a machine shared
 * with other work the wall time grows with the load, the CPU time much less.
 *
 * Target: the built CLI's `checks` and `check examples/fleet` under 500 ms.
 *
 *   --runs N        runs per command for node and the built CLI (default 9; tsx gets fewer, at least 3)
 *   --no-tsx        skip the tsx rows (they take a few seconds each)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = resolve(ROOT, 'bin/irsa-audit.mjs');
const TARGET_MS = 500;

const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 9;
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a whole number from 1');
const withTsx = !args.includes('--no-tsx');

if (!existsSync(resolve(ROOT, 'dist/cli.mjs'))) {
  process.stderr.write('dist/cli.mjs is missing: run `npm run build` first (npm run bench:startup does)\n');
  process.exit(2);
}

interface Case {
  readonly label: string;
  readonly argv: readonly string[];
  readonly env?: Record<string, string>;
  readonly runs: number;
  /** Checked against TARGET_MS. */
  readonly target?: boolean;
}

const built = { IRSA_AUDIT_DIST: '1' };
const sources = { IRSA_AUDIT_DIST: '0' };
const tsxRuns = Math.max(3, Math.min(runs, 5));
const cases: Case[] = [
  { label: 'node -e 0', argv: ['-e', '0'], runs },
  { label: 'built  irsa-audit --version', argv: [BIN, '--version'], env: built, runs },
  { label: 'built  irsa-audit checks', argv: [BIN, 'checks'], env: built, runs, target: true },
  {
    label: 'built  irsa-audit check examples/fleet',
    argv: [BIN, 'check', 'examples/fleet'],
    env: built,
    runs,
    target: true,
  },
  ...(withTsx
    ? [
        { label: 'tsx    irsa-audit checks', argv: [BIN, 'checks'], env: sources, runs: tsxRuns },
        {
          label: 'tsx    irsa-audit check examples/fleet',
          argv: [BIN, 'check', 'examples/fleet'],
          env: sources,
          runs: tsxRuns,
        },
      ]
    : []),
];

// Preloaded into each measured process: writes its CPU time (process.cpuUsage, microseconds) to fd 3 at exit.
const scratch = mkdtempSync(join(tmpdir(), 'irsa-startup-'));
const CPU_PROBE = join(scratch, 'cpu-probe.cjs');
writeFileSync(
  CPU_PROBE,
  "process.on('exit', () => { const u = process.cpuUsage(); require('node:fs').writeSync(3, String(u.user + u.system)); });\n",
);
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  readonly wallMs: number;
  readonly cpuMs: number;
}

function runOnce(c: Case): Run {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--require', CPU_PROBE, ...c.argv], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...c.env },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${c.label} exited ${result.status}: ${result.stderr || result.error?.message}`);
  }
  return { wallMs, cpuMs: Number(result.output[3]) / 1000 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const fmt = (ms: number): string => `${Math.round(ms).toLocaleString('en-US')} ms`;

process.stdout.write(
  `Node ${process.version} on ${cpus()[0]?.model.trim() ?? 'an unknown CPU'} (${availableParallelism()} cores), ` +
    `load average ${loadavg()[0]?.toFixed(1)} at start\n\n`,
);
const rows: string[][] = [
  ['command', 'runs', 'median', 'fastest', 'slowest', 'median - node', 'CPU median', 'CPU - node'],
];
let floor = 0;
let cpuFloor = 0;
const missed: string[] = [];
for (const c of cases) {
  runOnce(c); // one warm-up run (the file cache; tsx's compile cache), not counted
  const measured = Array.from({ length: c.runs }, () => runOnce(c));
  const times = measured.map((r) => r.wallMs);
  const m = median(times);
  const cpu = median(measured.map((r) => r.cpuMs));
  const isFloor = c.label === 'node -e 0';
  if (isFloor) [floor, cpuFloor] = [m, cpu];
  rows.push([
    c.label,
    String(c.runs),
    fmt(m),
    fmt(Math.min(...times)),
    fmt(Math.max(...times)),
    isFloor ? '-' : fmt(m - floor),
    fmt(cpu),
    isFloor ? '-' : fmt(cpu - cpuFloor),
  ]);
  if (c.target && m >= TARGET_MS) missed.push(`${c.label}: ${fmt(m)}`);
}
const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
for (const [i, row] of rows.entries()) {
  const line = row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j] ?? 0) : cell.padStart(widths[j] ?? 0)));
  process.stdout.write(`${line.join('  ')}\n`);
  if (i === 0) process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
}
process.stdout.write(`\nload average ${loadavg()[0]?.toFixed(1)} at the end\n`);
process.stdout.write(
  missed.length === 0
    ? `\ntarget met: the built CLI's checks and check examples/fleet each under ${TARGET_MS} ms (median)\n`
    : `\ntarget (${TARGET_MS} ms) missed: ${missed.join('; ')}\n`,
);
