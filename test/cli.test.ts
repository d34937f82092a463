/** The CLI as a user drives it: options, exit codes, exemptions, and bad input. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './support/run-cli.ts';

const SEED = join(REPO_ROOT, 'test/fixtures/fleets/seed-stories');
const scratch = mkdtempSync(join(tmpdir(), 'irsa-audit-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function failing(stdout: string) {
  return JSON.parse(stdout).findings.filter((f: { status: string }) => f.status === 'fail');
}

function copyOfSeed(name: string): string {
  const dir = join(scratch, name);
  cpSync(SEED, dir, { recursive: true });
  return dir;
}

describe('usage', () => {
  it('explains itself in --help, with exit codes and examples', () => {
    const run = runCli(['check', '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/--fail-on <severity>/);
    expect(run.stdout).toMatch(/Exit codes:/);
    expect(run.stdout).toMatch(/2 {2}bad input/);
  });

  it("prints the package's version", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const run = runCli(['--version']);
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('exits 2 on an unknown option or a bad severity', () => {
    expect(runCli(['check', SEED, '--bogus']).status).toBe(2);
    const bad = runCli(['check', SEED, '--fail-on', 'severe']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/expected one of critical, high, medium, low/);
  });

  it('exits 2 with a clear message for a missing fleet directory or an unknown check id', () => {
    const missing = runCli(['check', join(scratch, 'nope')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/fleet directory not found: .*nope/);
    const unknown = runCli(['check', SEED, '--check', 'IRSA-999']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown check id\(s\): IRSA-999; known: IRSA-001/);
  });

  it('lists the catalogue', () => {
    const run = runCli(['checks']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^IRSA-004\s+critical\s+cluster\s+The pod identity webhook's caBundle/m);
  });
});

describe('a reader that stops early', () => {
  it('ends the output quietly when the pipe closes (| head)', () => {
    const run = spawnSync(
      'bash',
      // 300 KB of JSON: more than a pipe holds, so the writer meets the closed pipe.
      [
        '-c',
        `"${process.execPath}" "${REPO_ROOT}/bin/irsa-audit.mjs" check "${REPO_ROOT}/examples/fleet" -f json --include-passed | head -c 10`,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.stdout).toBe('{\n  "findi');
    expect(run.stderr).not.toMatch(/EPIPE|Unhandled/);
  });
});

describe('-o, --output', () => {
  it('writes the report to the file, says so on stderr, and keeps the exit code', () => {
    const out = join(scratch, 'findings.json');
    const run = runCli(['check', SEED, '-f', 'json', '-o', out, '--fail-on', 'critical']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`wrote ${out}`);
    expect(failing(readFileSync(out, 'utf8')).length).toBeGreaterThan(0);
  });

  it('exits 2 naming the file when it cannot be written', () => {
    const out = join(scratch, 'no-such-dir', 'findings.json');
    const run = runCli(['check', SEED, '-o', out]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`cannot write the report to ${out} (ENOENT)`);
  });
});

describe('filters and exit codes', () => {
  it('exits 1 when a finding at or above --fail-on remains, 0 when none does', () => {
    expect(runCli(['check', SEED, '--fail-on', 'critical']).status).toBe(1);
    expect(runCli(['check', SEED, '--check', 'IRSA-018', '--fail-on', 'high']).status).toBe(0);
    expect(runCli(['check', SEED, '--check', 'IRSA-018', '--fail-on', 'medium']).status).toBe(1);
  });

  it('runs only the checks asked for', () => {
    const run = runCli(['check', SEED, '--check', 'irsa-013', '--check', 'IRSA-014', '-f', 'json']);
    const ids = failing(run.stdout).map((f: { checkId: string }) => f.checkId);
    expect(ids.sort()).toEqual(['IRSA-013', 'IRSA-014']);
    expect(JSON.parse(run.stdout).summary.checks).toEqual(['IRSA-013', 'IRSA-014']);
  });

  it('hides findings below --min-severity', () => {
    const run = runCli(['check', SEED, '--min-severity', 'high', '-f', 'json']);
    const severities = failing(run.stdout).map((f: { severity: string }) => f.severity);
    expect(severities.length).toBe(4);
    expect(severities).not.toContain('medium');
  });

  it('lists passing and not-evaluated results with --include-passed', () => {
    const run = runCli(['check', SEED, '--include-passed', '-f', 'json']);
    const statuses = new Set(JSON.parse(run.stdout).findings.map((f: { status: string }) => f.status));
    expect(statuses).toEqual(new Set(['fail', 'pass', 'not-evaluated']));
  });
});

describe('exemptions', () => {
  it('lists an exempted finding as exempted and does not fail on it', () => {
    const config = join(scratch, 'exempt.yaml');
    writeFileSync(
      config,
      [
        'exemptions:',
        '  - checkId: IRSA-0*',
        '    scope: { cluster: sandbox, namespace: default }',
        '    reason: sandbox test pod, CHG-1234',
        '    expires: 2099-12-31',
        'severities:',
        '  IRSA-013: low',
        '  IRSA-004: low',
        '  IRSA-030: low',
        '  IRSA-018: low',
      ].join('\n'),
    );
    const run = runCli(['check', SEED, '--config', config, '--fail-on', 'high', '-f', 'json']);
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    const exempted = report.findings.filter((f: { status: string }) => f.status === 'exempted');
    expect(exempted).toMatchObject([
      {
        checkId: 'IRSA-014',
        serviceAccount: 'my-service-account',
        exemption: { reason: 'sandbox test pod, CHG-1234', expires: '2099-12-31' },
      },
    ]);
    expect(report.summary).toMatchObject({
      failed: 4,
      exempted: 1,
      bySeverity: { critical: 0, high: 0, low: 4 },
    });
  });

  it('stops applying an expired exemption and says so', () => {
    const config = join(scratch, 'expired.json');
    writeFileSync(
      config,
      JSON.stringify({ exemptions: [{ checkId: 'IRSA-014', reason: 'temporary', expires: '2026-01-31' }] }),
    );
    const run = runCli(['check', SEED, '--config', config, '--now', '2026-02-01']);
    expect(run.stdout).toMatch(/HIGH\s+IRSA-014/);
    expect(run.stdout).toMatch(/exemption for IRSA-014 expired on 2026-01-31/);
    const still = runCli(['check', SEED, '--config', config, '--now', '2026-01-31T23:00:00Z', '-f', 'json']);
    expect(JSON.parse(still.stdout).summary.exempted).toBe(1);
  });

  it('picks up ./irsa-audit.config.yaml by default and rejects an invalid one naming the field', () => {
    const dir = join(scratch, 'cwd');
    cpSync(SEED, join(dir, 'fleet'), { recursive: true });
    writeFileSync(
      join(dir, 'irsa-audit.config.yaml'),
      'exemptions:\n  - checkId: IRSA-014\n    reason: ""\n',
    );
    const run = runCli(['check', 'fleet'], { cwd: dir });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /irsa-audit.config.yaml: exemptions\[0\]\.reason: an exemption needs a reason/,
    );
  });
});

describe('bad input', () => {
  it('reports a broken iam.json as AUDIT-004, still audits the clusters, and exits 2', () => {
    const fleet = copyOfSeed('broken-iam');
    writeFileSync(join(fleet, '111122223333/iam.json'), '{"Roles": [ {"RoleName": "x"');
    const run = runCli(['check', fleet, '-f', 'json']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/111122223333\/iam.json: not valid JSON/);
    const ids = failing(run.stdout).map(
      (f: { checkId: string; cluster: string }) => `${f.checkId} ${f.cluster}`,
    );
    // Kubernetes-only checks still run; IAM-side ones are not evaluated (never passed, never failed).
    expect(ids.sort()).toEqual(['AUDIT-004 null', 'IRSA-004 analytics', 'IRSA-030 analytics']);
  });

  it('names the file and field of an invalid kubernetes.json and keeps the other clusters', () => {
    const fleet = copyOfSeed('broken-k8s');
    writeFileSync(
      join(fleet, '111122223333/us-west-2/analytics/kubernetes.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [{ kind: 'Pod', metadata: { namespace: 'x' }, spec: { containers: [] } }],
      }),
    );
    const run = runCli(['check', fleet, '-f', 'json']);
    expect(run.status).toBe(2);
    const findings = failing(run.stdout);
    const audit = findings.find((f: { checkId: string }) => f.checkId === 'AUDIT-004');
    expect(audit.message).toMatch(/analytics\/kubernetes.json \(field items\[0\]\.metadata\.name\)/);
    expect(findings.filter((f: { cluster: string }) => f.cluster === 'sandbox')).toHaveLength(3);
  });
});
