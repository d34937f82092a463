/**
 * Keeps `npm run bench:collect` working, at its small scale and with two runs, and holds it to
 * its call count: exactly the lower bound of calls, in every run, and no collection error; the
 * policy names and documents of the referenced roles at their lower bound too. (Its
 * wall-time and memory targets are for the full fleet on a quiet machine: not asserted here.)
 */
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNodeAsync } from './support/run-cli.ts';

describe('npm run bench:collect', () => {
  it('collects the small fleet twice against one emulator, with the calls at their lower bound', {
    timeout: 120_000,
  }, async () => {
    const run = await runNodeAsync(
      ['--import', 'tsx', 'bench/collection.bench.ts', '--scale', 'small', '--runs', '2', '--latency', '7'],
      {
        cwd: REPO_ROOT,
        env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        timeoutMs: 110_000,
      },
    );
    expect(run.stderr).not.toMatch(/Error/);
    // The latency asked for, not the default 20 ms: in the header and in the critical path.
    expect(run.stdout).toMatch(/ 7 ms latency, /);
    expect(run.stdout).toMatch(
      /^critical path \d+ ms \(1 \+ \d+ account waves x \(\d+ \+ \d+ policy\) latencies of 7 ms\)$/m,
    );
    // Both runs, each with every cluster and no collection error.
    const runs = [...run.stdout.matchAll(/^run (\d)\/2: .*clusters (\d+); collection errors (\d+)$/gm)];
    expect(runs.map((m) => [m[1], m[2], m[3]])).toEqual([
      ['1', '12', '0'],
      ['2', '12', '0'],
    ]);
    // 108 before IRSA-063/064's reads: + one namespace page per cluster (12), + a GET of the
    // self-managed webhook's Service and one EndpointSlice page on the 6 clusters that run one; and
    // IRSA-060/061's: + ListNodegroups per cluster (12), DescribeNodegroup per node group (24) and
    // DescribeLaunchTemplateVersions per template of an account and region (12).
    expect(run.stdout).toMatch(/^total in the bound\s+180\s+180\s+1\.000$/m);
    // The policies of the 120 referenced roles: their names, each inline document, and each
    // cluster's shared customer-managed policy once (GetPolicy + GetPolicyVersion).
    expect(run.stdout).toMatch(/^\+ iam:GetRolePolicy \(apart\)\s+120\s+120$/m);
    expect(run.stdout).toMatch(/^\+ iam:GetPolicyVersion \(apart\)\s+12\s+12$/m);
    expect(run.stdout).toMatch(/^policy names and documents\s+408\s+408\s+1\.000$/m);
    expect(run.stdout).not.toMatch(/did not all make the same number of calls/);
    expect(run.stdout).toMatch(/^wall time, median of 2: \d+ ms = [\d.]+x \(runs \d+ to \d+ ms/m);
    expect(run.stdout).toMatch(/target: calls within 1\.1x of the bound: OK/);
    // The collector's peak memory, against its target (judged on the full fleet, not asserted here),
    // and the snapshot it wrote to disk as it went.
    expect(run.stdout).toMatch(
      /^peak RSS of the collector: \d+ MB \(target: under 350 MB at any --scale; runs \d+, \d+ MB\)$/m,
    );
    expect(run.stdout).toMatch(/collector peak RSS under 350 MB: (OK|MISSED)/);
    // 56 files before IRSA-060/061, and one nodegroups.json per cluster (12).
    expect(run.stdout).toMatch(/^snapshot written \(last run\): 68 files, [\d.]+ MB/m);
  });

  it('refuses a latency that is not a whole number of milliseconds, naming the option', async () => {
    for (const [args, env] of [
      [['--latency', 'soon'], {}],
      [['--latency', '0'], {}],
      [[], { BENCH_LATENCY_MS: '2.5' }],
    ] as const) {
      const run = await runNodeAsync(
        ['--import', 'tsx', 'bench/collection.bench.ts', '--scale', 'small', ...args],
        {
          cwd: REPO_ROOT,
          env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
          timeoutMs: 30_000,
        },
      );
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(
        /--latency \(or BENCH_LATENCY_MS\) must be a whole number of ms from 1 to 10000, not (soon|0|2\.5)/,
      );
      expect(run.stdout).not.toMatch(/^run 1\//m);
    }
  });
});
