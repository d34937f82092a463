/**
 * The collector's side of `npm run bench:collect` (bench/collection.bench.ts), run in a process of
 * its own, bundled into JavaScript first (as the package ships it), so it runs without tsx:
 *
 *   --child            collects the emulator's fleet (its environment) into BENCH_OUT as
 *                      `irsa-audit collect` does, and prints wall time, CPU time and peak RSS as JSON
 *   --evaluate-child   checks the snapshot in BENCH_OUT as `irsa-audit check` does (loadFleet +
 *                      runAudit), and prints the time and peak RSS as JSON
 *
 * BENCH_REGIONS: the regions to collect; BENCH_THREADS: decode threads (default: the CLI's);
 * BENCH_YOUNG_MB, BENCH_OLD_MB: the collection thread's young generation and old generation
 * limit in MB (default: the CLI's);
 * BENCH_MEMORY=1: the highest RSS sampled, and when, on stderr.
 */
import { readFileSync } from 'node:fs';
import { runAudit } from '#shared/engine/run-audit.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import { collectInThread } from '../cli/commands/collection-thread.ts';

/** As the benchmark's critical path assumes it: accounts and clusters in flight (--concurrency 4). */
const CONCURRENCY = 4;

const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

/**
 * This process's peak RSS in MB: on Linux its VmHWM (/proc/self/status), the high-water mark of
 * its own memory since it started. Not `process.resourceUsage().maxRSS`: Linux carries that over
 * an exec from the process forked to start this one, a copy of the benchmark's, whose RSS (the
 * emulator serving 600,000 pods: 580 MB and more) it then reports as this one's.
 */
function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux: below
  }
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Child: collect with the emulator's environment into BENCH_OUT as `irsa-audit collect` does (on
 * the collection thread, collectInThread), print wall time, CPU time and peak memory as JSON.
 */
async function child(): Promise<void> {
  const regions = (process.env.BENCH_REGIONS ?? '').split(',');
  const out = process.env.BENCH_OUT;
  if (!out) throw new Error('BENCH_OUT: the directory to collect into is not set');
  // BENCH_MEMORY=1: the process's RSS, sampled, and when it was highest (stderr).
  let highest = { rss: 0, atMs: 0 };
  const started = performance.now();
  const sampler = process.env.BENCH_MEMORY
    ? setInterval(() => {
        const rss = process.memoryUsage.rss();
        if (rss > highest.rss) highest = { rss, atMs: performance.now() - started };
      }, 100)
    : undefined;
  const cpuBefore = process.cpuUsage();
  const result = await collectInThread(
    {
      organization: true,
      roleName: 'irsa-auditor',
      regions,
      concurrency: CONCURRENCY,
      ...(process.env.BENCH_THREADS === undefined ? {} : { threads: Number(process.env.BENCH_THREADS) }),
    },
    { stderr: (text) => process.stderr.write(text), progress: false },
    out,
    {
      ...(process.env.BENCH_YOUNG_MB === undefined
        ? {}
        : { youngGenerationMb: Number(process.env.BENCH_YOUNG_MB) }),
      ...(process.env.BENCH_OLD_MB === undefined
        ? {}
        : { oldGenerationMb: Number(process.env.BENCH_OLD_MB) }),
    },
  );
  const wallMs = performance.now() - started;
  if (sampler) {
    clearInterval(sampler);
    process.stderr.write(
      `highest RSS sampled: ${Math.round(highest.rss / 1048576)} MB, ${(highest.atMs / 1000).toFixed(1)} s into the collection\n`,
    );
  }
  const errors = [
    ...result.paths.filter((k) => k.endsWith('collection-errors.json')),
    ...result.unwritten.map((u) => `${u.path}: not written: ${u.message}`),
  ];
  process.stdout.write(
    `${JSON.stringify({ wallMs, cpuMs: cpuMs(process.cpuUsage(cpuBefore)), peakRssMb: peakRssMb(), clusters: result.clusters, files: result.paths.length, errors })}\n`,
  );
}

/** Child of `--evaluate`: checks the snapshot in BENCH_OUT as `check` does, prints time and peak memory. */
async function evaluateChild(): Promise<void> {
  const out = process.env.BENCH_OUT;
  if (!out) throw new Error('BENCH_OUT: the snapshot to check is not set');
  const started = performance.now();
  const fleet = await loadFleet(out);
  const loadedMs = performance.now() - started;
  const report = runAudit(fleet, { now: new Date() });
  process.stdout.write(
    `${JSON.stringify({
      loadMs: loadedMs,
      evaluationMs: report.evaluationMs,
      findings: report.findings.length,
      inputErrors: fleet.inputErrors.length,
      peakRssMb: peakRssMb(),
    })}\n`,
  );
}

if (process.argv.includes('--evaluate-child')) await evaluateChild();
else if (process.argv.includes('--child')) await child();
else
  throw new Error(
    'bench/collection-child.ts is run by bench/collection.bench.ts (--child or --evaluate-child)',
  );
