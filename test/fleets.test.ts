/**
 * End to end on the sample fleets: the real CLI, on snapshot directories, reports exactly the
 * findings each fleet's expected-findings.json lists (as a multiset), nothing missing, nothing extra.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ExpectedFinding, identity, REPO_ROOT, runCli } from './support/run-cli.ts';

const FLEETS = ['test/fixtures/fleets/seed-stories', 'examples/fleet', 'examples/cross-account-fleet'];

describe.each(FLEETS)('irsa-audit check %s --format json', (fleet) => {
  const run = runCli(['check', fleet, '--format', 'json']);
  const expected: ExpectedFinding[] = JSON.parse(
    readFileSync(join(REPO_ROOT, fleet, 'expected-findings.json'), 'utf8'),
  ).findings;

  it('exits 0 without --fail-on and prints JSON only on stdout', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('reports exactly the expected findings', () => {
    const report = JSON.parse(run.stdout);
    const failing: ExpectedFinding[] = report.findings.filter((f: { status: string }) => f.status === 'fail');
    expect(failing.map(identity).sort()).toEqual(expected.map(identity).sort());
  });

  it('gives every finding the contract fields, a message and a remediation', () => {
    const report = JSON.parse(run.stdout);
    for (const f of report.findings) {
      expect(f).toMatchObject({
        status: 'fail',
        severity: expect.stringMatching(/^(critical|high|medium|low)$/),
      });
      for (const key of [
        'checkId',
        'accountId',
        'region',
        'cluster',
        'namespace',
        'serviceAccount',
        'roleName',
        'workload',
        'evidence',
      ]) {
        expect(f).toHaveProperty(key);
      }
      expect(f.message).toMatch(/\w+/);
      expect(f.remediation).toMatch(/\b(kubectl|aws|eksctl)\b/);
    }
    expect(report.summary.failed).toBe(expected.length);
  });
});

describe('the README main command', () => {
  it('prints a readable table grouped by cluster with a summary line', () => {
    const run = runCli(['check', 'examples/fleet']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^210987654321 \/ eu-west-1 \/ checkout/m);
    expect(run.stdout).toMatch(/CRITICAL\s+IRSA-004/);
    expect(run.stdout).toMatch(
      /fix: kubectl --context checkout rollout restart deployment\/cart-api -n checkout|rollout restart deployment\/cart-api -n checkout/,
    );
    expect(run.stdout).toMatch(/28 failing findings/);
    expect(run.stdout.includes('\u001b[')).toBe(false); // no colour when not on a terminal
  });
});
