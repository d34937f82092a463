/**
 * The report formats of `check` and `pipeline`: one module per format beside this one (table.ts,
 * json.ts, ...), each a pure function of the report and the findings shown. Adding a format is one
 * module and one line here; `--format` lists exactly these names, and `-o FILE` writes any of them
 * to a file instead of stdout.
 */

import { renderAsff } from './asff.ts';
import { renderCsv } from './csv.ts';
import { renderHtml } from './html.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';
import { renderOcsf } from './ocsf.ts';
import type { RenderedReport, ReportedFinding } from './report.ts';
import { renderSarif } from './sarif.ts';
import { renderTable } from './table.ts';

/** What a renderer may know besides the findings. */
export interface RenderContext {
  /** Colour escapes allowed (a terminal that asked for colour; table only). */
  readonly color: boolean;
  /** Terminal width in columns (table only). */
  readonly width: number;
  /** When the report is made (formats that carry a timestamp). */
  readonly now: Date;
}

export type Renderer = (
  report: RenderedReport,
  findings: readonly ReportedFinding[],
  context: RenderContext,
) => string;

export interface ReportFormat {
  readonly render: Renderer;
  /** One line for `--help`. */
  readonly description: string;
  /** Whether the output is meant for a file (`-o`), not a terminal: a binary-ish or very long document. */
  readonly prefersFile?: boolean;
}

export const FORMATS = {
  table: {
    render: (report, findings, context) =>
      renderTable(report, findings, { color: context.color, width: context.width }),
    description: 'findings grouped by cluster, with the fix (the default)',
  },
  json: {
    render: (report, findings) => renderJson(report, findings),
    description: "irsa-audit's own JSON: every field and the summary (docs/fleet-format.md)",
  },
  sarif: {
    render: (report, findings) => renderSarif(report, findings),
    description: 'SARIF 2.1.0 for code scanning (GitHub upload-sarif and other SARIF viewers)',
    prefersFile: true,
  },
  junit: {
    render: (report, findings, context) => renderJunit(report, findings, context),
    description: 'JUnit XML for CI test reports (Jenkins, GitLab): a suite per check',
    prefersFile: true,
  },
  csv: {
    render: (report, findings) => renderCsv(report, findings),
    description: 'one row per finding, for spreadsheets (formula cells neutralised)',
    prefersFile: true,
  },
  asff: {
    render: (_report, findings, context) =>
      renderAsff(findings, {
        now: context.now,
        homeRegion: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
      }),
    description: "AWS Security Finding Format: a JSON array for Security Hub's BatchImportFindings",
  },
  ocsf: {
    render: (_report, findings, context) =>
      renderOcsf(findings, {
        now: context.now,
        homeRegion: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
      }),
    description: 'OCSF 1.8.0 Compliance Finding events (class 2003): a JSON array',
  },
  html: {
    render: (report, findings, context) => renderHtml(report, findings, { now: context.now }),
    description: 'one self-contained page: summary, findings by cluster, each IRSA chain drawn (use -o)',
    prefersFile: true,
  },
} as const satisfies Record<string, ReportFormat>;

export type FormatName = keyof typeof FORMATS;

export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

/** The `--format` help: each name with its line. */
export function formatHelp(): string {
  return FORMAT_NAMES.map((name) => `  ${name.padEnd(8)} ${FORMATS[name].description}`).join('\n');
}

export function renderReport(
  format: FormatName,
  report: RenderedReport,
  findings: readonly ReportedFinding[],
  context: RenderContext,
): string {
  return FORMATS[format].render(report, findings, context);
}
