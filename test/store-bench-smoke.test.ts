/**
 * Keeps `npm run bench:store` working, at its small scale, and holds it to its claim: a quiet
 * night writes a constant number of items per unit, nothing per finding.
 */
import { describe, expect, it } from 'vitest';
import { type CliRun, REPO_ROOT, runNodeAsync } from './support/run-cli.ts';

function runBench(): Promise<CliRun> {
  return runNodeAsync(['--import', 'tsx', 'bench/finding-store.bench.ts', '--scale', 'small'], {
    cwd: REPO_ROOT,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    timeoutMs: 110_000,
  });
}

/** `quiet night LABEL: clusters=N findings=N written=N ... event=N finding-state=N unit-run=N ...` */
function quietNights(stdout: string): Map<string, Record<string, number>> {
  const nights = new Map<string, Record<string, number>>();
  for (const match of stdout.matchAll(/^quiet night (\S+): (.*)$/gm)) {
    const fields = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z-]+)=([\d.]+)/g)].map((m) => [m[1] ?? '', Number(m[2])]),
    );
    nights.set(match[1] ?? '', fields);
  }
  return nights;
}

describe('npm run bench:store', () => {
  it('runs at the small scale and shows quiet nights writing O(clusters), not O(findings)', {
    timeout: 120_000,
  }, async () => {
    const run = await runBench();
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const nights = quietNights(run.stdout);
    expect([...nights.keys()].sort()).toEqual(['base', 'base-denser', 'double', 'main']);
    for (const [label, night] of nights) {
      // Nothing per finding: no event, no finding state.
      expect(night.event, label).toBe(0);
      expect(night['finding-state'], label).toBe(0);
      expect(night.findings, label).toBeGreaterThan(night.clusters ?? 0);
    }
    const base = nights.get('base') ?? {};
    const denser = nights.get('base-denser') ?? {};
    const double = nights.get('double') ?? {};
    // Twice the findings per cluster, the same writes.
    expect(denser.findings).toBeGreaterThan(1.5 * (base.findings ?? 0));
    expect(denser.written).toBe(base.written);
    // A constant per unit (cluster or account level): its unit-in-run and unit-state items; per
    // account, its account-in-run item and one run update; per run, 3 (start, digest claim, completion).
    for (const [label, night] of nights) {
      const clusters = night.clusters ?? 0;
      const accounts = night.accounts ?? 0;
      const units = clusters + accounts;
      expect(night['unit-run'], label).toBe(units);
      expect(night['unit-state'], label).toBe(units);
      expect(night['account-run'], label).toBe(accounts);
      expect(night.run, label).toBe(accounts + 3);
      expect(night.written, label).toBe(2 * units + 2 * accounts + 3);
    }
    expect(double.clusters).toBe(2 * (base.clusters ?? 0));
    // The digest's open counts: the unit states summed equal the findings counted (the bench throws
    // otherwise), read fewer units than counting every open finding, and do not grow with the
    // findings per cluster.
    const digest = new Map(
      [
        ...run.stdout.matchAll(
          /^digest open counts (\S+): clusters=(\d+) units=(\d+) before=([\d.]+) after=([\d.]+) exact=1$/gm,
        ),
      ].map((m) => [m[1] ?? '', { units: Number(m[3]), before: Number(m[4]), after: Number(m[5]) }]),
    );
    expect([...digest.keys()].sort()).toEqual(['base', 'base-denser', 'double', 'main']);
    const main = digest.get('main');
    expect(main?.after).toBeLessThan((main?.before ?? 0) / 10);
    expect(digest.get('base-denser')?.after).toBe(digest.get('base')?.after);
    // Every access pattern was measured.
    expect(run.stdout).toMatch(/^open findings of a cluster \(gsi3\) +\d+ +[\d.]+$/m);
    expect(run.stdout).toMatch(/^changes over the last 7 nights .* +\d+ +[\d.]+$/m);
  });
});
