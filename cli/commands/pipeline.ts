/**
 * `irsa-audit pipeline <fleet-dir>`: runs the nightly pipeline on this machine over a snapshot
 * (the real planner and auditor handlers, dynalite as DynamoDB, the emulator as AWS and as every
 * cluster's Kubernetes API: demo/local-pipeline.ts) for N nights a day apart, then prints the
 * findings the store holds open (and exempted) after the last night, in `check`'s formats, so the
 * two can be diffed: what the pipeline records against what `check` sees in the same snapshot.
 *
 * The report is read back from the store, which keeps less than `check` prints: no evidence, no
 * passing or not-evaluated results, and a finding's message as of its last change of state or
 * severity. Those are left out (or null in the summary), never made up; see cli/render/report.ts.
 */
import { stat } from 'node:fs/promises';
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import { SEVERITIES, type Severity, severityRank } from '#shared/checks/types.ts';
import { EMPTY_CONFIG } from '#shared/config/audit-config.ts';
import { findDefaultConfig, loadConfig } from '#shared/config/load-config.ts';
import { compareFindings, exemptionActive, selectChecks } from '#shared/engine/run-audit.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import { reportedFromStored } from '#shared/history/reported.ts';
import type { StoredFinding } from '#shared/history/types.ts';
import { forTerminalLine } from '#shared/sinks/terminal.ts';
import { FleetDirectoryError } from '#shared/snapshot/load-fleet.ts';
import type { SecurityHubImport } from '../../emulator/index.ts';
import { type FormatName, renderReport } from '../render/formats.ts';
import type { ReportedFinding, ReportSummary } from '../render/report.ts';
import { type CommandIo, EXIT_FINDINGS, EXIT_OK } from './check.ts';
import { missingDependency } from './errors.ts';
import { emitReport } from './output.ts';

export interface PipelineOptions {
  /** Nights to run, a day apart, over the same fleet (the last one ends now). */
  nights: number;
  format: FormatName;
  /** Write the report to this file instead of stdout. */
  output?: string;
  minSeverity?: Severity;
  check?: string[];
  failOn?: Severity;
  config?: string;
  color: boolean;
  /** One line per night on stderr. */
  progress: boolean;
  /** Clusters one unit carries before its account is fanned out (AUDIT_CLUSTERS_PER_UNIT). */
  clustersPerUnit?: number;
  /** The network auditors; default: one reaching every private cluster's VPC (demo/local-pipeline.ts). */
  networks?: readonly { name: string; vpcIds: readonly string[] }[];
  /**
   * Import each night's changes into the emulator's Security Hub (the hub config's `securityHub`),
   * and say on stderr what it took and refused.
   */
  securityHub?: boolean;
}

const DAY_MS = 86_400_000;

/**
 * The nights' scheduled times, oldest first: the last at the top of the current minute (as the
 * demo does), each earlier one a day before. The planner takes the time as the run id.
 */
export function nightTimes(nights: number, now: Date): string[] {
  const last = Math.floor(now.getTime() / 60_000) * 60_000;
  return Array.from({ length: nights }, (_, i) => new Date(last - (nights - 1 - i) * DAY_MS).toISOString());
}

export async function runPipelineCommand(
  fleetDir: string,
  options: PipelineOptions,
  io: CommandIo,
): Promise<number> {
  const configPath = options.config ?? (await findDefaultConfig(io.cwd));
  if (configPath && !options.config) io.stderr(`using config ${configPath}\n`);
  const config = configPath ? await loadConfig(configPath) : EMPTY_CONFIG;
  // Unknown ids fail before anything starts (UnknownCheckError, exit 2), as they do for `check`.
  const checks = selectChecks(CATALOGUE, options.check).map((c) => c.metadata.id);
  const isDirectory = await stat(fleetDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDirectory) throw new FleetDirectoryError(`fleet directory not found: ${fleetDir}`);

  // Loaded on demand: dynalite, the emulator and the handlers are not for the other commands.
  // dynalite is a development dependency: an installed irsa-audit has it only if the user added it.
  // More than one of these modules reaches it, and whichever fails first rejects the lot: the
  // missing package is said the same way, whichever that is.
  const [{ startLocalPipeline }, { startDynalite }, { EmulatorFleetError }] = await Promise.all([
    import('../../demo/local-pipeline.ts'),
    import('#shared/testing/dynalite.ts'),
    import('../../emulator/index.ts'),
  ]).catch(missingDependency('irsa-audit pipeline', 'dynalite', '4.0.0'));
  const started = performance.now();
  // Started here rather than by startLocalPipeline, so it is stopped even when the emulator
  // rejects the fleet directory.
  const dynamo = await startDynalite();
  try {
    let pipeline: Awaited<ReturnType<typeof startLocalPipeline>>;
    try {
      pipeline = await startLocalPipeline({
        fleetDir,
        dynamo,
        ...(configPath ? { auditConfig: config } : {}),
        ...(options.clustersPerUnit ? { clustersPerUnit: options.clustersPerUnit } : {}),
        ...(options.networks ? { networks: options.networks } : {}),
        ...(options.securityHub ? { securityHub: true } : {}),
      });
    } catch (error) {
      if (error instanceof EmulatorFleetError) throw new FleetDirectoryError(error.message);
      throw error;
    }
    const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
    let lastRunId = '';
    try {
      const times = nightTimes(options.nights, new Date());
      for (const [i, time] of times.entries()) {
        const nightStarted = performance.now();
        const night = await pipeline.runNight(time);
        lastRunId = night.runId;
        const run = await store.getRun(night.runId);
        const failed = Object.keys(run?.accountsFailed ?? {}).length;
        const partsFailed = Object.keys(run?.partsFailed ?? {}).length;
        const sent = (type: string) =>
          night.published.filter((m) => m.attributes.eventType?.StringValue === type).length;
        if (options.progress) {
          io.stderr(
            `night ${i + 1}/${times.length} (run ${night.runId}): ${night.accountsPlanned} account(s) planned, ` +
              `${(run?.accountsDone ?? 0) - failed} audited${failed ? `, ${failed} could not be (AUDIT-001)` : ''}, ` +
              `${run?.clustersAudited ?? 0} cluster(s)` +
              (run?.partsPlanned
                ? ` (${run.partsPlanned} part(s) fanned out${partsFailed ? `, ${partsFailed} failed` : ''})`
                : '') +
              `; ${sent('regression')} alert(s) and ${sent('digest')} digest sent; ` +
              `${Math.round(performance.now() - nightStarted)} ms\n`,
          );
        }
        if (options.securityHub) reportSecurityHub(i + 1, night.securityHubImports, options.progress, io);
        // Always said, -q or not: an account whose message ended on the DLQ is missing from the report.
        if (night.deadLetters > 0 || night.failedRecords > 0) {
          io.stderr(
            `warning: night ${i + 1}: ${night.failedRecords} auditor record(s) failed, ${night.deadLetters} message(s) on the DLQ: ` +
              'the findings below are incomplete\n',
          );
        }
      }
    } finally {
      await pipeline.stop();
    }

    const run = await store.getRun(lastRunId);
    const accounts = new Set([
      ...(await store.unitRuns(lastRunId)).map((u) => u.unit.accountId),
      ...Object.keys(run?.accountsFailed ?? {}),
    ]);
    const stored: StoredFinding[] = [];
    for (const accountId of [...accounts].sort()) {
      stored.push(
        ...(await store.findingsOfAccount(accountId)).filter(
          (f) => f.state !== 'resolved' && checks.includes(f.checkId),
        ),
      );
    }
    const now = new Date();
    const findings = stored.map((f) => reportedFromStored(f, config, now)).sort(compareReported);
    const summary = summarise(findings, {
      generatedAt: run?.completedAt ?? now.toISOString(),
      accounts: run?.accountsPlanned ?? accounts.size,
      clusters: run?.clustersAudited ?? 0,
      checks,
      expiredExemptions: config.exemptions.filter((e) => !exemptionActive(e, now)),
    });
    const shown = visible(findings, options.minSeverity);
    const report = { summary };
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
        `${options.nights} night(s) in ${Math.round(performance.now() - started)} ms; the findings are the store's after the last\n`,
      );
    }
    if (options.failOn) {
      const limit = severityRank(options.failOn);
      if (shown.some((f) => f.status === 'fail' && severityRank(f.severity) <= limit)) return EXIT_FINDINGS;
    }
    return EXIT_OK;
  } finally {
    await dynamo.stop();
  }
}

/**
 * A stored finding as `check` reports it: open is `fail`. The check's name is the catalogue's; the
 * exemption of an exempted finding is the configured one that matches it (the store keeps the state,
 * not the reason), found as the engine finds it. Evidence is not stored, so it is left out.
 */

/**
 * What a night sent to Security Hub: the counts (with progress), and every refused finding, always
 * (its id, Security Hub's code and message), as the auditor logs them.
 */
function reportSecurityHub(
  night: number,
  imports: readonly SecurityHubImport[],
  progress: boolean,
  io: CommandIo,
): void {
  const sent = imports.reduce((n, call) => n + call.findings.length, 0);
  const refused = imports.flatMap((call) => call.failed);
  if (progress) {
    io.stderr(
      `night ${night}: Security Hub: ${sent - refused.length} of ${sent} finding(s) imported in ${imports.length} BatchImportFindings call(s)` +
        `${refused.length ? `, ${refused.length} refused` : ''}\n`,
    );
  }
  for (const f of refused) {
    io.stderr(
      `warning: night ${night}: Security Hub refused ${forTerminalLine(f.Id)} (${forTerminalLine(f.ErrorCode)}: ${forTerminalLine(f.ErrorMessage)}); it stays in the store\n`,
    );
  }
}

/** `check`'s order (the engine's compareFindings); test/pipeline-cli.test.ts compares the two. */
const compareReported = (a: ReportedFinding, b: ReportedFinding): number => compareFindings(a, b);

/** `check`'s filter (visibleFindings) without --include-passed: the store has no passing results. */
function visible(findings: readonly ReportedFinding[], minSeverity: Severity | undefined): ReportedFinding[] {
  const threshold = minSeverity ? severityRank(minSeverity) : SEVERITIES.length;
  return findings.filter((f) => severityRank(f.severity) <= threshold);
}

function summarise(
  findings: readonly ReportedFinding[],
  rest: Pick<ReportSummary, 'generatedAt' | 'accounts' | 'clusters' | 'checks' | 'expiredExemptions'>,
): ReportSummary {
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const byCheck: Record<string, number> = {};
  const failing = findings.filter((f) => f.status === 'fail');
  for (const f of failing) {
    bySeverity[f.severity]++;
    byCheck[f.checkId] = (byCheck[f.checkId] ?? 0) + 1;
  }
  return {
    generatedAt: rest.generatedAt,
    accounts: rest.accounts,
    clusters: rest.clusters,
    checks: rest.checks,
    failed: failing.length,
    exempted: findings.length - failing.length,
    // Not kept by the store: null, not 0.
    passed: null,
    notEvaluated: null,
    bySeverity,
    byCheck,
    // The pipeline reads no snapshot file (the emulator serves them, and refuses a bad one whole).
    inputErrors: 0,
    expiredExemptions: rest.expiredExemptions,
  };
}
