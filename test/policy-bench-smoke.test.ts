/**
 * Keeps `npm run bench:policies` working at small sizes and without latency: both strategies read
 * every document they should (GetAccountAuthorizationDetails every role of the account, the targeted
 * reads every referenced role), with the calls the shapes imply.
 */
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNodeAsync } from './support/run-cli.ts';

describe('npm run bench:policies', () => {
  it('measures both strategies on accounts of 50 and 200 roles', { timeout: 120_000 }, async () => {
    const run = await runNodeAsync(
      ['--import', 'tsx', 'bench/policy-documents.bench.ts', '--sizes', '50,200', '--latency', '0'],
      {
        cwd: REPO_ROOT,
        env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        timeoutMs: 110_000,
      },
    );
    expect(run.stderr).not.toMatch(/Error/);
    const rows = [
      ...run.stdout.matchAll(
        /^(\d+)\s+(\d+)%\s+(targeted|authorization details)\s+(\d+)\s+(\d+|-)\s+[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)$/gm,
      ),
    ].map(([, roles, share, strategy, calls, names, read, policies]) => ({
      roles: Number(roles),
      share: Number(share),
      strategy,
      calls: Number(calls),
      names,
      read: Number(read),
      policies: Number(policies),
    }));
    expect(rows).toHaveLength(8);
    for (const row of rows) {
      const referenced = (row.roles * row.share) / 100;
      if (row.strategy === 'targeted') {
        // Two name lists and one inline document per role, two calls per distinct managed policy.
        expect(row.read).toBe(referenced);
        expect(row.names).toBe(String(2 * referenced));
        expect(row.calls).toBe(3 * referenced + 2 * row.policies);
      } else {
        // One page of up to 1,000 items: every role and every customer-managed policy (1 per 10 roles).
        expect([row.calls, row.read, row.policies]).toEqual([1, row.roles, row.roles / 10]);
      }
    }
    expect(run.stdout).toMatch(/growth from 50 to 200 roles \(x4\)/);
  });
});
