/** Keeps the benchmark script working (it is not part of the suite's timing: no figures are asserted). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import { runAudit } from '#shared/engine/run-audit.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import { organisation, singleCluster, writeFleet } from '../bench/engine-fleets.ts';
import { REPO_ROOT } from './support/run-cli.ts';

describe('npm run bench', () => {
  it('runs at a small scale and prints a row per case, with each run', () => {
    const run = spawnSync(
      process.execPath,
      // A 1 MB semi-space (the cases' processes inherit it): at this scale, with results allocated
      // in the old generation, the default young generation can go through a run without a scavenge.
      [
        '--max-semi-space-size=1',
        '--import',
        'tsx',
        '--expose-gc',
        'bench/check-engine.bench.ts',
        '--scale',
        '0.01',
        '--runs',
        '2',
      ],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    // case, clusters, SAs, pods, roles, findings, failing: the sizes, and the fleet-shaped case.
    const rows = lines.filter((line) => /^(x[\d.]+|fleet)\s+\d/.test(line)).map((r) => r.trim().split(/\s+/));
    expect(rows.map((cells) => cells.slice(0, 5))).toEqual([
      ['x0.5', '1', '25', '250', '10'],
      ['x1', '1', '50', '500', '20'],
      ['x2', '1', '100', '1,000', '40'],
      ['x4', '1', '200', '2,000', '80'],
      ['fleet', '10', '500', '5,000', '200'],
    ]);
    for (const cells of rows) {
      // Findings are counted, some of them failing (the synthetic fleets are broken on purpose).
      expect(Number(cells[5]?.replace(/,/g, ''))).toBeGreaterThan(Number(cells[6]?.replace(/,/g, '')));
      expect(Number(cells[6]?.replace(/,/g, ''))).toBeGreaterThan(0);
    }
    // The collector's pauses during a run (median): their time and how many were scavenges, read
    // from perf_hooks' gc entries; some case has at least one, or the observer is not wired.
    const header =
      lines
        .find((line) => line.startsWith('case '))
        ?.trim()
        .split(/\s{2,}/) ?? [];
    const gcColumn = header.indexOf('GC ms');
    expect(gcColumn).toBeGreaterThan(0);
    expect(header[gcColumn + 1]).toBe('scav.');
    const gc = rows.map((cells) =>
      [cells[gcColumn], cells[gcColumn + 1]].map((v) => Number(v?.replace(/,/g, ''))),
    );
    for (const [ms, scavenges] of gc) {
      expect(Number.isFinite(ms) && Number.isInteger(scavenges)).toBe(true);
    }
    expect(gc.some(([ms, scavenges]) => (scavenges as number) > 0 && (ms as number) >= 0)).toBe(true);
    // Each case's runs, as many as asked for: wall and CPU time, then the cold audit before the run.
    const perRun = lines.filter((line) => /^\s+(x[\d.]+|fleet)\s+\d/.test(line));
    expect(perRun).toHaveLength(5);
    for (const line of perRun) {
      expect(line.trim().match(/\d[\d,]*\/\d[\d,]* \(\d[\d,]*\)/g)).toHaveLength(2);
    }
    // The warm-up round before them (default one), printed for every case and not counted above.
    const warmups = lines.filter((line) => line.startsWith('warm-up round before them, not counted: '));
    expect(warmups).toHaveLength(1);
    expect(warmups[0]?.match(/(?:x[\d.]+|fleet) \d[\d,]*\/\d[\d,]* \(\d[\d,]*\)/g)).toHaveLength(5);
    // Each growth the targets judge, round by round: a run over the smaller case's run of the
    // same round, as printed (the printed times are rounded to the millisecond).
    const wall = new Map(
      perRun.map((line) => {
        const [label, ...runs] = line.trim().split(/\s+(?=\d)/);
        return [label, runs.map((run) => Number(run.split('/')[0]?.replace(/,/g, '')))] as const;
      }),
    );
    const start = lines.findIndex((line) => line.startsWith('growth round by round'));
    expect(start).toBeGreaterThan(0);
    const growth = lines.slice(start + 1, start + 5).map((line) => line.trim().split(/\s{2,}/));
    expect(growth.map(([name]) => name)).toEqual(['x0.5 -> x1', 'x1 -> x2', 'x2 -> x4', 'x4 -> fleet']);
    for (const [name, ...ratios] of growth) {
      const [before, after] = (name as string).split(' -> ').map((label) => wall.get(label as string) ?? []);
      expect(ratios).toHaveLength(2);
      ratios.forEach((printed, k) => {
        const [a, b] = [after?.[k] as number, before?.[k] as number];
        const ratio = Number(printed.replace(/x$/, ''));
        expect(ratio).toBeGreaterThanOrEqual((a - 0.5) / (b + 0.5) - 0.005);
        expect(ratio).toBeLessThanOrEqual((a + 0.5) / Math.max(b - 0.5, 0.01) + 0.005);
      });
    }
    // The three doublings together: x4's median over x0.5's (the table's eval ms), and its cube root.
    const evalColumn = header.indexOf('eval ms');
    const medianOf = (label: string) =>
      Number(rows.find((cells) => cells[0] === label)?.[evalColumn]?.replace(/,/g, ''));
    const together = lines
      .find((line) => line.startsWith('x0.5 -> x4 (3 doublings): '))
      ?.match(/: ([\d.]+)x, ([\d.]+)x a doubling on their geometric mean \(not a target\)$/);
    expect(together).toBeTruthy();
    const [x4, half] = [medianOf('x4'), medianOf('x0.5')];
    const product = Number(together?.[1]);
    expect(product).toBeGreaterThanOrEqual((x4 - 0.5) / (half + 0.5) - 0.005);
    expect(product).toBeLessThanOrEqual((x4 + 0.5) / Math.max(half - 0.5, 0.01) + 0.005);
    expect(Number(together?.[2])).toBeCloseTo(product ** (1 / 3), 1);
  });

  // A check the benchmark's fleets give nothing to judge hides its cost: IRSA-063 and IRSA-021 were
  // quadratic in the cluster's pods and associations while the fleets had no webhook selectors and
  // no associations (not evaluated, or nothing to do).
  it.each([
    ['one cluster', singleCluster(200, 80)],
    ['the organisation', organisation(40)],
  ])('gives every check of the catalogue something to pass or fail (%s)', async (_, shape) => {
    const dir = mkdtempSync(join(tmpdir(), 'irsa-bench-fleet-'));
    try {
      await writeFleet(dir, shape);
      const fleet = await loadFleet(dir);
      expect(fleet.inputErrors).toEqual([]);
      const report = runAudit(fleet, { now: new Date('2026-06-01T00:00:00Z') });
      const judged = new Set(
        report.findings.filter((f) => f.status === 'pass' || f.status === 'fail').map((f) => f.checkId),
      );
      expect(CATALOGUE.map((c) => c.metadata.id).filter((id) => !judged.has(id))).toEqual([]);
      // PODID-005 judges pods both ways (a ServiceAccount with an association and no IRSA annotation).
      const podIdentity = report.findings.filter((f) => f.checkId === 'PODID-005');
      expect(new Set(podIdentity.map((f) => f.status))).toEqual(new Set(['pass', 'fail', 'not-evaluated']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
