/** `check -f sarif|junit|csv -o FILE` as a user runs it: the file is written and valid for its consumers. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { parseJunit } from './support/junit-xml.ts';
import { REPO_ROOT, runCli } from './support/run-cli.ts';
import { sarifSchemaErrors } from './support/sarif-schema.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
/** Each test runs the CLI (tsx) two or three times: slow on a busy machine. */
const SLOW = { timeout: 120_000 };
const scratch = mkdtempSync(join(tmpdir(), 'irsa-audit-formats-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('check -f sarif -o FILE', SLOW, () => {
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

  it('is listed in --help, as are junit and csv', () => {
    const help = runCli(['check', '--help']).stdout;
    expect(help).toMatch(/sarif\s+SARIF 2\.1\.0/);
    expect(help).toMatch(/junit\s+JUnit XML/);
    expect(help).toMatch(/csv\s+one row per finding/);
  });
});

describe('check -f junit|csv -o FILE', SLOW, () => {
  it('writes well-formed JUnit XML and RFC 4180 CSV', () => {
    const xml = join(scratch, 'out.xml');
    const csv = join(scratch, 'out.csv');
    const junitRun = runCli(['check', FLEET, '-f', 'junit', '-o', xml, '--fail-on', 'critical']);
    expect(junitRun.status, junitRun.stderr).toBe(1);
    const junit = parseJunit(readFileSync(xml, 'utf8'));
    expect(Number(junit.testsuites.failures)).toBeGreaterThan(0);
    const csvRun = runCli(['check', FLEET, '-f', 'csv', '-o', csv]);
    expect(csvRun.status, csvRun.stderr).toBe(0);
    const rows = parse(readFileSync(csv, 'utf8')) as string[][];
    expect(rows[0]?.[0]).toBe('checkId');
    expect(rows.length - 1).toBe(Number(junit.testsuites.failures));
  });
});
