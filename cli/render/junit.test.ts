import { beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import type { AuditReport } from '#shared/engine/run-audit.ts';
import { visible } from '#shared/sinks/untrusted.ts';
import { parseJunit } from '../../test/support/junit-xml.ts';
import { auditSampleFleet, SAMPLE_NOW } from '../../test/support/sample-report.ts';
import { caseName, NOTHING_SHOWN, renderJunit } from './junit.ts';
import type { RenderedReport, ReportedFinding } from './report.ts';

const shownByDefault = (r: AuditReport) =>
  r.findings.filter((f) => f.status === 'fail' || f.status === 'exempted');
const render = (r: RenderedReport, findings: readonly ReportedFinding[]) =>
  renderJunit(r, findings, { now: SAMPLE_NOW });

let report: AuditReport;

beforeAll(async () => {
  report = await auditSampleFleet();
});

describe('JUnit XML of the sample fleet', () => {
  it('has one suite per check that ran, in catalogue order, with counts that add up', () => {
    const junit = parseJunit(render(report, shownByDefault(report)));
    const suites = junit.testsuites.testsuite ?? [];
    expect(suites.map((s) => s.name)).toEqual(CATALOGUE.map((c) => `${c.metadata.id} ${c.metadata.name}`));
    for (const s of suites) {
      expect(Number(s.tests)).toBe(s.testcase.length);
      expect(Number(s.failures)).toBe(s.testcase.filter((c) => c.failure).length);
      expect(Number(s.skipped)).toBe(s.testcase.filter((c) => c.skipped).length);
      expect(s.errors).toBe('0');
      expect(s.timestamp).toBe('2026-11-02T02:00:00');
      const meta = CATALOGUE.find((c) => `${c.metadata.id} ${c.metadata.name}` === s.name)?.metadata;
      expect(s.properties.property).toEqual([
        { name: 'title', value: meta?.title },
        { name: 'severity', value: meta?.severity },
      ]);
    }
    const sum = (k: 'tests' | 'failures' | 'skipped') => suites.reduce((n, s) => n + Number(s[k]), 0);
    expect(Number(junit.testsuites.tests)).toBe(sum('tests'));
    expect(Number(junit.testsuites.failures)).toBe(report.summary.failed);
    expect(Number(junit.testsuites.skipped)).toBe(sum('skipped'));
  });

  it('has a failure per failing finding: its message, severity as type, and the fix in the body', () => {
    const shown = shownByDefault(report);
    const suites = parseJunit(render(report, shown)).testsuites.testsuite ?? [];
    for (const f of shown) {
      const suite = suites.find((s) => s.name === `${f.checkId} ${f.name}`);
      const c = suite?.testcase.find((x) => x.name === caseName(f));
      expect(c?.classname).toBe(`${f.checkId}.${f.name}`);
      expect(c?.failure?.message).toBe(visible(f.message, { oneLine: true }));
      expect(c?.failure?.type).toBe(f.severity);
      expect(c?.failure?.['#text']).toContain(visible(f.message));
      if (f.remediation) expect(c?.failure?.['#text']).toContain(`Fix:\n${visible(f.remediation)}`);
    }
  });

  it('a check with nothing shown is one passing case, so that a clean fleet is a green report, not an empty one', () => {
    const suites = parseJunit(render(report, [])).testsuites.testsuite ?? [];
    expect(suites).toHaveLength(CATALOGUE.length);
    for (const s of suites)
      expect(s.testcase).toEqual([{ name: NOTHING_SHOWN, classname: expect.any(String) }]);
  });

  it('with every result: passes are plain cases, not-evaluated ones skipped with why; case names unique in a suite', () => {
    const junit = parseJunit(render(report, report.findings));
    const suites = junit.testsuites.testsuite ?? [];
    const cases = suites.flatMap((s) => s.testcase);
    expect(cases.filter((c) => !c.failure && !c.skipped)).toHaveLength(
      report.summary.passed + suites.filter((s) => s.testcase[0]?.name === NOTHING_SHOWN).length,
    );
    const skipped = cases.filter((c) => c.skipped);
    expect(skipped).toHaveLength(report.summary.notEvaluated);
    for (const c of skipped) expect(c.skipped?.message).toMatch(/^not evaluated: /);
    for (const s of suites) expect(new Set(s.testcase.map((c) => c.name)).size).toBe(s.testcase.length);
  });

  it('an exempted finding is skipped with the exemption reason', async () => {
    const exempted = await auditSampleFleet({
      config: {
        severities: {},
        exemptions: [
          { checkId: 'IRSA-050', scope: {}, reason: 'kept for DR <on purpose>', expires: '2027-01-31' },
        ],
      },
    });
    const suites = parseJunit(render(exempted, shownByDefault(exempted))).testsuites.testsuite ?? [];
    const suite = suites.find((s) => s.name.startsWith('IRSA-050 '));
    expect(suite?.skipped).toBe(String(suite?.testcase.length));
    expect(suite?.failures).toBe('0');
    for (const c of suite?.testcase ?? []) {
      expect(c.skipped?.message).toBe('exempted: kept for DR <on purpose> (until 2027-01-31)');
    }
  });
});

describe('untrusted values in JUnit XML', () => {
  it('stay text: markup escaped, control and bidi characters shown as \\x1b and \\u202e', () => {
    const hostile: ReportedFinding = {
      checkId: 'IRSA-010',
      name: 'role-arn-malformed',
      title: 'x',
      severity: 'high',
      status: 'fail',
      accountId: '210987654321',
      region: 'eu-west-1',
      cluster: 'checkout',
      namespace: 'checkout',
      serviceAccount: 'a"/><testcase name="injected',
      roleName: null,
      workload: null,
      resource: null,
      message: 'bad \u001b[2J\u001b]0;pwned\u0007 cart\u202eipa \uFFFF ]]> <x/>',
      remediation: 'kubectl annotate \u0000 --overwrite',
    };
    const xml = render(report, [hostile]);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    expect(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/.test(xml)).toBe(false);
    const suite = parseJunit(xml).testsuites.testsuite?.find((s) => s.name.startsWith('IRSA-010'));
    expect(suite?.testcase).toHaveLength(1);
    const [c] = suite?.testcase ?? [];
    expect(c?.name).toBe('210987654321/eu-west-1/checkout checkout/a"/><testcase name="injected');
    expect(c?.failure?.message).toBe('bad \\x1b[2J\\x1b]0;pwned\\x07 cart\\u202eipa \\uffff ]]> <x/>');
    expect(c?.failure?.['#text']).toContain('kubectl annotate \\x00 --overwrite');
  });

  it('the summary comment cannot be closed early by a value', () => {
    const xml = render(
      {
        summary: {
          ...report.summary,
          expiredExemptions: [
            { checkId: 'IRSA-010', scope: {}, reason: 'x --> <evil/> ---', expires: '2020-01-01' },
          ],
        },
      },
      [],
    );
    const comment = xml.slice(xml.indexOf('<!--') + 4, xml.lastIndexOf('-->'));
    expect(comment).not.toContain('--');
    expect(parseJunit(xml).testsuites.testsuite).toHaveLength(CATALOGUE.length);
  });
});
