/** `check -f sarif|junit|csv -o FILE` as a user runs it: the file is written and valid for its consumers. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './support/run-cli.ts';
import { sarifSchemaErrors } from './support/sarif-schema.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
const scratch = mkdtempSync(join(tmpdir(), 'irsa-audit-formats-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('check -f sarif -o FILE', () => {
  it('writes a SARIF 2.1.0 file valid against the official schema, one result per failing finding', () => {
    const out = join(scratch, 'out.sarif');
    const run = runCli(['check', FLEET, '-f', 'sarif', '-o', out]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`wrote ${out}`);
    const log = JSON.parse(readFileSync(out, 'utf8'));
    expect(sarifSchemaErrors(log)).toEqual([]);
    const json = JSON.parse(runCli(['check', FLEET, '-f', 'json']).stdout);
    expect(log.runs[0].results).toHaveLength(json.findings.length);
    expect(log.runs[0].results.length).toBeGreaterThan(0);
  });

  it('is listed in --help', () => {
    expect(runCli(['check', '--help']).stdout).toMatch(/sarif\s+SARIF 2\.1\.0/);
  });
});
