/** `irsa-audit check <fleet-dir>`: load a snapshot, run the checks, report, and set the exit code. */

import { SEVERITIES, type Severity, severityRank } from '#shared/checks/types.ts';
import { EMPTY_CONFIG } from '#shared/config/audit-config.ts';
import { findDefaultConfig, loadConfig } from '#shared/config/load-config.ts';
import { type AuditReport, type Finding, runAudit } from '#shared/engine/run-audit.ts';
import { forTerminalLine } from '#shared/sinks/terminal.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import type { SnapshotSource } from '#shared/snapshot/snapshot-source.ts';
import { type FormatName, renderReport } from '../render/formats.ts';
import { emitReport } from './output.ts';

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_BAD_INPUT = 2;

export interface CheckOptions {
  format: FormatName;
  /** Write the report to this file instead of stdout. */
  output?: string;
  minSeverity?: Severity;
  check?: string[];
  includePassed?: boolean;
  failOn?: Severity;
  config?: string;
  now?: Date;
  color: boolean;
  progress: boolean;
}

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  width: number;
}

/** Which findings the report shows: failing and exempted ones (and, if asked, passes and not-evaluated). */
export function visibleFindings(
  report: AuditReport,
  options: Pick<CheckOptions, 'minSeverity' | 'includePassed'>,
): Finding[] {
  const threshold = options.minSeverity ? severityRank(options.minSeverity) : SEVERITIES.length;
  return report.findings.filter(
    (f) =>
      (options.includePassed || f.status === 'fail' || f.status === 'exempted') &&
      (f.status !== 'fail' && f.status !== 'exempted' ? true : severityRank(f.severity) <= threshold),
  );
}

export async function runCheckCommand(
  fleet: string | SnapshotSource,
  options: CheckOptions,
  io: CommandIo,
): Promise<number> {
  const configPath = options.config ?? (await findDefaultConfig(io.cwd));
  if (configPath && !options.config) io.stderr(`using config ${configPath}\n`);
  const config = configPath ? await loadConfig(configPath) : EMPTY_CONFIG;
  const started = performance.now();
  const loaded = await loadFleet(fleet, {
    onCluster: options.progress
      ? (p) =>
          io.stderr(
            `\r\x1b[Kloading ${p.loaded}: ${forTerminalLine(`${p.accountId}/${p.region}/${p.cluster}`)}`,
          )
      : undefined,
  });
  if (options.progress) io.stderr('\r\x1b[K');
  const report = runAudit(loaded, { now: options.now ?? new Date(), checkIds: options.check, config });
  const shown = visibleFindings(report, options);
  const now = options.now ?? new Date();
  await emitReport(
    renderReport(options.format, report, shown, {
      color: options.color && options.output === undefined,
      width: io.width,
      now,
    }),
    options.output,
    io,
  );
  if (options.progress) {
    io.stderr(
      `audited ${report.summary.clusters} clusters in ${Math.round(performance.now() - started)} ms (checks: ${Math.round(report.evaluationMs)} ms)\n`,
    );
  }
  for (const error of loaded.inputErrors) {
    io.stderr(`error: ${error.file}${error.field ? `: ${error.field}` : ''}: ${error.message}\n`);
  }
  if (loaded.inputErrors.length > 0) return EXIT_BAD_INPUT;
  if (options.failOn) {
    const limit = severityRank(options.failOn);
    if (shown.some((f) => f.status === 'fail' && severityRank(f.severity) <= limit)) return EXIT_FINDINGS;
  }
  return EXIT_OK;
}
