/**
 * Keeps `npm run bench:fanout` working, at its small scale with two rows (no fan-out, then one
 * cluster per unit), and holds it to its invariants through its JSON line: the account's IAM read
 * once in each night, the same open findings in both, every night clean. (Its times are not asserted.)
 */
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNodeAsync } from './support/run-cli.ts';

interface Row {
  clustersPerUnit: number;
  invocations: number;
  partsForwarded: number;
  longestInvocationClusters: number;
  listRoles: number;
  policyLookups: number;
  openFindings: number;
}

describe('npm run bench:fanout', () => {
  it('audits the small account whole, then one cluster per unit, with IAM read once and the same findings', {
    timeout: 60_000,
  }, async () => {
    const run = await runNodeAsync(
      ['--import', 'tsx', 'bench/fan-out.bench.ts', '--scale', 'small', '--rows', '6,1', '--json'],
      {
        cwd: REPO_ROOT,
        env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        timeoutMs: 55_000,
      },
    );
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as {
      rows: Row[];
      invariants: Record<string, boolean>;
    };
    expect(result.invariants).toEqual({ iamOnce: true, sameFindings: true, clean: true });
    // 6 clusters: the lead alone; then the lead keeps 1 and forwards 5 parts (2 batches of up to 4).
    expect(
      result.rows.map((r) => [
        r.clustersPerUnit,
        r.invocations,
        r.partsForwarded,
        r.longestInvocationClusters > 0,
      ]),
    ).toEqual([
      [6, 1, 0, true],
      [1, 3, 5, true],
    ]);
    // One page of ListRoles, in each night; IRSA-011 for the 2 missing roles of each of 6 clusters.
    expect(result.rows.map((r) => r.listRoles)).toEqual([1, 1]);
    expect(result.rows[0]?.policyLookups).toBeGreaterThan(0);
    expect(result.rows[1]?.policyLookups).toBe(result.rows[0]?.policyLookups);
    expect(result.rows.map((r) => r.openFindings)).toEqual([12, 12]);
    expect(run.stdout).toMatch(/^IAM read once: OK/m);
    expect(run.stdout).toMatch(/^same findings: OK/m);
  });
});
