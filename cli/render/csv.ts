/**
 * `--format csv`: one row per finding shown, for spreadsheets. docs/formats.md ("CSV") says how.
 * RFC 4180 (every field quoted, CRLF), a header row; values through the CSV sink
 * (shared/sinks/csv.ts): control and bidirectional characters shown escaped, and a cell a
 * spreadsheet would compute (`=`, `+`, `-`, `@`, tab, CR first) prefixed with `'`.
 */
import { csvRecord, csvText } from '#shared/sinks/csv.ts';
import type { RenderedReport, ReportedFinding } from './report.ts';

/** The columns, in order: the header row. */
export const CSV_COLUMNS = [
  'checkId',
  'severity',
  'status',
  'account',
  'region',
  'cluster',
  'namespace',
  'serviceAccount',
  'roleName',
  'workload',
  'message',
  'remediation',
] as const;

function row(f: ReportedFinding): string[] {
  return [
    csvText(f.checkId),
    csvText(f.severity),
    csvText(f.status),
    csvText(f.accountId),
    csvText(f.region),
    csvText(f.cluster),
    csvText(f.namespace),
    csvText(f.serviceAccount),
    csvText(f.roleName),
    csvText(f.workload ? `${f.workload.kind}/${f.workload.name}` : null),
    // A message or a fix keeps its lines (a quoted field may hold them; a spreadsheet shows them in the cell).
    csvText(f.message, { multiline: true }),
    csvText(f.remediation, { multiline: true }),
  ];
}

export function renderCsv(_report: RenderedReport, findings: readonly ReportedFinding[]): string {
  return [csvRecord(CSV_COLUMNS), ...findings.map((f) => csvRecord(row(f)))].join('');
}
