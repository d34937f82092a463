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
 * BENCH_MEMORY=1: the collector thread's memory by kind at the highest RSS sampled, on stderr.
 */
import { readFileSync } from 'node:fs';
import { collectFleet } from '#shared/collectors/collect-fleet.ts';
import { createPageDecoderPool } from '#shared/collectors/page-decoder-pool.ts';
import { directorySink } from '#shared/collectors/snapshot-sink.ts';
import { runAudit } from '#shared/engine/run-audit.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';

/** As the benchmark's critical path assumes it: accounts and clusters in flight. */
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

/** Child: collect with the emulator's environment into BENCH_OUT, print wall time and peak memory as JSON. */
async function child(): Promise<void> {
  const regions = (process.env.BENCH_REGIONS ?? '').split(',');
  const out = process.env.BENCH_OUT;
  if (!out) throw new Error('BENCH_OUT: the directory to collect into is not set');
  const decoder = createPageDecoderPool(
    process.env.BENCH_THREADS === undefined ? undefined : Number(process.env.BENCH_THREADS),
  );
  // BENCH_MEMORY=1: the main thread's memory by kind, sampled, at the highest RSS seen (stderr).
  let highest: NodeJS.MemoryUsage | undefined;
  const sampler = process.env.BENCH_MEMORY
    ? setInterval(() => {
        const now = process.memoryUsage();
        if (!highest || now.rss > highest.rss) highest = now;
      }, 100)
    : undefined;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const result = await collectFleet(
    {
      kubernetes: { decoder },
      accounts: { kind: 'organization' },
      auditRole: { roleName: 'irsa-auditor' },
      regions,
      accountConcurrency: CONCURRENCY,
      clusterConcurrency: CONCURRENCY,
      totalClusterConcurrency: CONCURRENCY * CONCURRENCY,
    },
    directorySink(out),
  );
  const wallMs = performance.now() - started;
  await decoder.close();
  if (sampler) {
    clearInterval(sampler);
    const mb = (n: number) => Math.round(n / 1048576);
    const after = process.memoryUsage();
    process.stderr.write(
      `memory at the highest RSS sampled: rss ${mb(highest?.rss ?? 0)} MB, main heap used ${mb(highest?.heapUsed ?? 0)} of ${mb(highest?.heapTotal ?? 0)} MB, ` +
        `external ${mb(highest?.external ?? 0)} MB (array buffers ${mb(highest?.arrayBuffers ?? 0)}); at the end: rss ${mb(after.rss)} MB, heap used ${mb(after.heapUsed)} MB\n`,
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
