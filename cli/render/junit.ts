/**
 * `--format junit`: JUnit XML, the test report CI systems show (Jenkins' JUnit plugin, GitLab's
 * `artifacts:reports:junit`, GitHub test-reporter actions). docs/formats.md ("JUnit XML") says how.
 *
 * One `<testsuite>` per check that ran (in catalogue order), one `<testcase>` per result shown (a
 * check with none has one passing case, "no findings shown", so a clean fleet is a green report
 * and not an empty one, which Jenkins would take as an error). A check is the test and each object it looked at is a case: the
 * suites are the same every night, so a CI's "new failures / fixed" comparison of case names
 * (classname + name) follows a finding from one night to the next; and the suite line (`IRSA-013
 * trust-subject-mismatch: 1 failure`) says what kind of problem it is. The cluster, account and
 * object are in the case name, so grouping by place is a search away.
 *
 * - a failing finding: `<failure>` (message attribute: the finding's message on one line; type:
 *   its severity; body: the message and the exact fix);
 * - exempted: `<skipped>` with the exemption's reason; not evaluated: `<skipped>` with why;
 * - a pass: an empty testcase. Passes and not-evaluated results are shown with --include-passed.
 *
 * Every value goes through the XML sink (shared/sinks/xml.ts).
 */
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import { forXmlAttribute, forXmlText } from '#shared/sinks/xml.ts';
import type { RenderedReport, ReportedFinding } from './report.ts';

/**
 * A testcase's name: where (account/region/cluster), then what (namespace/serviceaccount, the
 * workload, the role, the resource). With the suite (the check), it is the finding's identity.
 */
export function caseName(f: ReportedFinding): string {
  const place = [f.accountId, f.region, f.cluster].filter((p): p is string => p !== null).join('/');
  const parts = [place || 'fleet'];
  if (f.serviceAccount !== null || f.namespace !== null) {
    parts.push(`${f.namespace ?? ''}/${f.serviceAccount ?? ''}`);
  }
  if (f.workload) parts.push(`${f.workload.kind}/${f.workload.name}`);
  if (f.roleName !== null) parts.push(`role ${f.roleName}`);
  if (f.resource !== null) parts.push(f.resource);
  return parts.join(' ');
}

/** A testcase's classname: `IRSA-013.trust-subject-mismatch` (Jenkins reads it as package IRSA-013, class trust-subject-mismatch). */
export function className(f: Pick<ReportedFinding, 'checkId' | 'name'>): string {
  return `${f.checkId}.${f.name}`;
}

const attr = (value: string | number): string => `"${forXmlAttribute(String(value))}"`;

function testcase(f: ReportedFinding): string {
  const open = `    <testcase name=${attr(caseName(f))} classname=${attr(className(f))}`;
  switch (f.status) {
    case 'pass':
      return `${open}/>`;
    case 'fail': {
      const body = f.remediation ? `${f.message}\n\nFix:\n${f.remediation}` : f.message;
      return [
        `${open}>`,
        `      <failure message=${attr(f.message)} type=${attr(f.severity)}>${forXmlText(body)}</failure>`,
        '    </testcase>',
      ].join('\n');
    }
    case 'exempted': {
      const reason = f.exemption
        ? `exempted: ${f.exemption.reason}${f.exemption.expires ? ` (until ${f.exemption.expires})` : ''}`
        : 'exempted';
      return [
        `${open}>`,
        `      <skipped message=${attr(reason)}>${forXmlText(`${reason}\n\n${f.message}`)}</skipped>`,
        '    </testcase>',
      ].join('\n');
    }
    case 'not-evaluated':
      return [
        `${open}>`,
        `      <skipped message=${attr(`not evaluated: ${f.message}`)}>${forXmlText(f.message)}</skipped>`,
        '    </testcase>',
      ].join('\n');
  }
}

interface Counts {
  tests: number;
  failures: number;
  skipped: number;
}

const count = (findings: readonly ReportedFinding[]): Counts => ({
  tests: findings.length,
  failures: findings.filter((f) => f.status === 'fail').length,
  skipped: findings.filter((f) => f.status === 'exempted' || f.status === 'not-evaluated').length,
});

/** The suites: every check that ran, in catalogue order, then any other check a finding names. */
function suiteIds(report: RenderedReport, findings: readonly ReportedFinding[]): string[] {
  const ran = new Set([...report.summary.checks, ...findings.map((f) => f.checkId)]);
  const known = CATALOGUE.map((c) => c.metadata.id);
  return [...known.filter((id) => ran.has(id)), ...[...ran].filter((id) => !known.includes(id)).sort()];
}

/** The case of a check that has no result shown: a pass, so that every check that ran is listed every night. */
export const NOTHING_SHOWN = 'no findings shown';

export function renderJunit(
  report: RenderedReport,
  findings: readonly ReportedFinding[],
  context: { readonly now: Date },
): string {
  // JUnit's timestamp is an ISO 8601 date-time without a zone; it is UTC.
  const timestamp = context.now.toISOString().slice(0, 19);
  const totals: Counts = { tests: 0, failures: 0, skipped: 0 };
  const suites = suiteIds(report, findings).map((checkId) => {
    const items = findings.filter((f) => f.checkId === checkId);
    const meta = CATALOGUE.find((c) => c.metadata.id === checkId)?.metadata;
    const name = items[0]?.name ?? meta?.name ?? '';
    const title = items[0]?.title ?? meta?.title ?? '';
    const severity = items[0]?.severity ?? meta?.severity ?? '';
    const c = items.length > 0 ? count(items) : { tests: 1, failures: 0, skipped: 0 };
    totals.tests += c.tests;
    totals.failures += c.failures;
    totals.skipped += c.skipped;
    const cases =
      items.length > 0
        ? items.map(testcase)
        : [`    <testcase name=${attr(NOTHING_SHOWN)} classname=${attr(className({ checkId, name }))}/>`];
    return [
      `  <testsuite name=${attr(`${checkId} ${name}`)} tests="${c.tests}" failures="${c.failures}" errors="0" skipped="${c.skipped}" timestamp="${timestamp}">`,
      '    <properties>',
      `      <property name="title" value=${attr(title)}/>`,
      `      <property name="severity" value=${attr(severity)}/>`,
      '    </properties>',
      ...cases,
      '  </testsuite>',
    ].join('\n');
  });
  const s = report.summary;
  const notes = [
    `${s.failed} failing, ${s.exempted} exempted` +
      (s.notEvaluated === null || s.passed === null
        ? ' (passing and not-evaluated results are not kept by this source)'
        : `, ${s.notEvaluated} not evaluated, ${s.passed} passed`) +
      ` in ${s.clusters} cluster(s) of ${s.accounts} account(s); ${findings.length} shown.`,
    ...(s.inputErrors > 0
      ? [`${s.inputErrors} snapshot file(s) could not be used (AUDIT-004): the audit is incomplete.`]
      : []),
    ...s.expiredExemptions.map(
      (e) => `exemption for ${e.checkId} expired on ${e.expires ?? ''} and no longer applies: ${e.reason}`,
    ),
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="irsa-audit" tests="${totals.tests}" failures="${totals.failures}" errors="0" skipped="${totals.skipped}" timestamp="${timestamp}">`,
    ...suites,
    // A comment is not shown by CI tools, but a person reading the file sees the summary.
    `  <!-- ${forXmlText(notes.join(' ')).replace(/-(?=-)/g, '- ')} -->`,
    '</testsuites>',
    '',
  ].join('\n');
}
