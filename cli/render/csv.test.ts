import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '#shared/engine/run-audit.ts';
import { startsFormula } from '#shared/sinks/csv.ts';
import { visible } from '#shared/sinks/untrusted.ts';
import { auditSampleFleet } from '../../test/support/sample-report.ts';
import { CSV_COLUMNS, renderCsv } from './csv.ts';
import type { ReportedFinding } from './report.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const RAW = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/;

/** RFC 4180 as a real parser reads it (csv-parse), every record the header's width. */
const parseCsv = (text: string): string[][] => parse(text, { relax_column_count: false }) as string[][];

let report: AuditReport;

beforeAll(async () => {
  report = await auditSampleFleet();
});

describe('CSV of the sample fleet', () => {
  it('is a header row and one row per finding shown, every field as the finding has it', () => {
    const shown = report.findings.filter((f) => f.status === 'fail' || f.status === 'exempted');
    const text = renderCsv(report, shown);
    expect(text.startsWith('"checkId","severity","status","account",')).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(shown.length);
    for (const [i, f] of shown.entries()) {
      const cell = Object.fromEntries(CSV_COLUMNS.map((c, j) => [c, rows[i]?.[j]]));
      expect(cell).toEqual({
        checkId: f.checkId,
        severity: f.severity,
        status: f.status,
        account: f.accountId ?? '',
        region: f.region ?? '',
        cluster: f.cluster ?? '',
        namespace: f.namespace ?? '',
        serviceAccount: f.serviceAccount ?? '',
        roleName: f.roleName ?? '',
        workload: f.workload ? `${f.workload.kind}/${f.workload.name}` : '',
        message: visible(f.message),
        remediation: f.remediation === null ? '' : visible(f.remediation),
      });
    }
    // A multi-line fix stays in its one cell.
    expect(rows.some((r) => (r[11] ?? '').includes('\n'))).toBe(true);
  });

  it('with every result: passes and not-evaluated rows too', () => {
    const [, ...rows] = parseCsv(renderCsv(report, report.findings));
    expect(rows).toHaveLength(report.findings.length);
    expect(new Set(rows.map((r) => r[2]))).toEqual(new Set(['fail', 'pass', 'not-evaluated']));
  });

  it('an empty report is the header alone', () => {
    expect(parseCsv(renderCsv(report, []))).toEqual([[...CSV_COLUMNS]]);
  });
});

describe('untrusted values in CSV', () => {
  const hostile: ReportedFinding = {
    checkId: 'IRSA-010',
    name: 'role-arn-malformed',
    title: 'x',
    severity: 'high',
    status: 'fail',
    accountId: '210987654321',
    region: 'eu-west-1',
    cluster: 'checkout',
    namespace: '@SUM(1+1)*cmd|" /C calc"!A0',
    serviceAccount: '=HYPERLINK("https://evil.example","click")',
    roleName: '+1-1',
    workload: { kind: 'Deployment', name: '-2+3' },
    resource: null,
    message: '\tbad \u001b[2J\u001b]0;pwned\u0007 cart\u202eipa",\r\n=1',
    remediation: '=cmd|"/c calc"!A1',
  };

  it('no cell starts a formula, nothing raw, quotes and separators stay inside their cell', () => {
    const text = renderCsv(report, [hostile]);
    expect(RAW.test(text.replace(/\r\n/g, '').replace(/\n/g, ''))).toBe(false);
    const [, row] = parseCsv(text);
    expect(row).toHaveLength(CSV_COLUMNS.length);
    for (const cell of row ?? []) expect(startsFormula(cell), cell).toBe(false);
    expect(row?.[6]).toBe(`'@SUM(1+1)*cmd|" /C calc"!A0`);
    expect(row?.[7]).toBe(`'=HYPERLINK("https://evil.example","click")`);
    expect(row?.[8]).toBe(`'+1-1`);
    expect(row?.[9]).toBe('Deployment/-2+3');
    expect(row?.[10]).toBe(`'\tbad \\x1b[2J\\x1b]0;pwned\\x07 cart\\u202eipa",\n=1`);
    expect(row?.[11]).toBe(`'=cmd|"/c calc"!A1`);
  });
});
