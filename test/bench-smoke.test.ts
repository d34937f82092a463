/** Keeps the benchmark script working (it is not part of the suite's timing: no figures are asserted). */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/run-cli.ts';

describe('npm run bench', () => {
  it('runs at a small scale and prints a row per size', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--expose-gc', 'bench/check-engine.bench.ts', '--scale', '0.01'],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const rows = run.stdout.split('\n').filter((line) => /^\s+\d+\s+\d+\s+\d+\s+\d+\s+[\d.]+/.test(line));
    expect(rows.map((r) => r.trim().split(/\s+/).slice(0, 3))).toEqual([
      ['25', '250', '10'],
      ['50', '500', '20'],
      ['100', '1000', '40'],
    ]);
  });
});
