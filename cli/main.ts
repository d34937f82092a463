#!/usr/bin/env node
/**
 * `irsa-audit`: audits IAM Roles for Service Accounts across EKS clusters.
 * The CLI only parses arguments and builds I/O; the work is done by the shared use-cases.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SEVERITIES, type Severity } from '#shared/checks/types.ts';
import { ConfigError } from '#shared/config/load-config.ts';
import { UnknownCheckError } from '#shared/engine/run-audit.ts';
import { FleetDirectoryError } from '#shared/snapshot/load-fleet.ts';
import { EXIT_BAD_INPUT, runCheckCommand } from './commands/check.ts';
import { renderCatalogue } from './commands/checks.ts';

function parseSeverity(value: string): Severity {
  const lower = value.toLowerCase();
  if (!(SEVERITIES as readonly string[]).includes(lower)) {
    throw new InvalidArgumentError(`expected one of ${SEVERITIES.join(', ')}`);
  }
  return lower as Severity;
}

function parseIds(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean),
  ];
}

function parseDate(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new InvalidArgumentError('expected an ISO date, e.g. 2026-11-22 or 2026-11-22T03:00:00Z');
  return date;
}

export function buildProgram(): Command {
  const program = new Command('irsa-audit')
    .description(
      'Audit IAM Roles for Service Accounts (IRSA) across EKS clusters: OIDC providers, role trust ' +
        'policies, annotated ServiceAccounts, the pod identity webhook and the pods it mutates.',
    )
    .version('0.1.0')
    .addHelpText(
      'after',
      `
Get started:
  irsa-audit check examples/fleet        audit the sample fleet shipped with the repo
  irsa-audit check --help                every option, exit codes and examples
  irsa-audit checks                      the checks, their ids and default severities

A fleet snapshot is a directory of AWS CLI and kubectl output: see docs/fleet-format.md.`,
    )
    .showHelpAfterError('(run with --help for usage)')
    // Set before the subcommands are added, so they inherit it: usage errors exit 2, not 1.
    .exitOverride();

  program
    .command('check')
    .description('Run the checks over a fleet snapshot directory and report what is broken, with the fix.')
    .argument(
      '<fleet-dir>',
      'snapshot directory: <account-id>/iam.json and <account-id>/<region>/<cluster>/*.json',
    )
    .addOption(
      new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .option(
      '--min-severity <severity>',
      `only show findings at or above: ${SEVERITIES.join(', ')}`,
      parseSeverity,
    )
    .option(
      '--check <ids>',
      'only run these checks (comma-separated, repeatable), e.g. IRSA-001,IRSA-030',
      parseIds,
    )
    .option('--include-passed', 'also list passing and not-evaluated results')
    .option(
      '--fail-on <severity>',
      'exit 1 when a failing finding at or above this severity remains',
      parseSeverity,
    )
    .option(
      '-c, --config <file>',
      'severity overrides and exemptions (YAML or JSON; default ./irsa-audit.config.yaml if present)',
    )
    .option('--now <date>', 'reference time for expiry checks (default: now)', parseDate)
    .option('--no-color', 'disable colour (colour is only used on a terminal anyway; NO_COLOR is honoured)')
    .option('-q, --quiet', 'no progress output on stderr')
    .addHelpText(
      'after',
      `
Exit codes:
  0  no finding at or above --fail-on (or --fail-on not given)
  1  a failing finding at or above --fail-on remains (exempted findings never count)
  2  bad input: a snapshot file could not be used (reported as AUDIT-004), or a usage error

Examples:
  irsa-audit check ./fleet
  irsa-audit check ./fleet --min-severity high --fail-on critical
  irsa-audit check ./fleet --check IRSA-013,IRSA-014 --format json > findings.json
  irsa-audit checks          # list check ids, severities and titles`,
    )
    .action(async (fleetDir: string, opts) => {
      const stdoutTty = Boolean(process.stdout.isTTY);
      process.exitCode = await runCheckCommand(
        fleetDir,
        {
          format: opts.format,
          minSeverity: opts.minSeverity,
          check: opts.check,
          includePassed: opts.includePassed,
          failOn: opts.failOn,
          config: opts.config,
          now: opts.now,
          color: opts.color !== false && stdoutTty && !process.env.NO_COLOR,
          progress: !opts.quiet && Boolean(process.stderr.isTTY),
        },
        {
          stdout: (text) => process.stdout.write(text),
          stderr: (text) => process.stderr.write(text),
          cwd: process.cwd(),
          width: process.stdout.columns || 100,
        },
      );
    });

  program
    .command('checks')
    .description('List the checks: id, default severity, scope and title.')
    .addOption(
      new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .action((opts) => {
      process.stdout.write(`${renderCatalogue(opts.format)}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      const benign = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
      process.exitCode = benign ? 0 : EXIT_BAD_INPUT;
      return;
    }
    if (
      error instanceof FleetDirectoryError ||
      error instanceof ConfigError ||
      error instanceof UnknownCheckError
    ) {
      process.stderr.write(`irsa-audit: ${error.message}\n`);
      process.exitCode = EXIT_BAD_INPUT;
      return;
    }
    throw error;
  }
}

await main(process.argv);
