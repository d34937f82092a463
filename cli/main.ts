#!/usr/bin/env node
import { isIP } from 'node:net';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SEVERITIES, type Severity } from '#shared/checks/types.ts';
import { DEFAULT_CLUSTER_DEADLINE_MS, defaultDecodeThreads } from '#shared/collectors/collection-defaults.ts';
import { ConfigError } from '#shared/config/load-config.ts';
import { UnknownCheckError } from '#shared/engine/run-audit.ts';
/**
 * `irsa-audit`: audits IAM Roles for Service Accounts across EKS clusters.
 * The CLI only parses arguments and builds I/O; the work is done by the shared use-cases.
 */
import { DEFAULT_CLUSTERS_PER_UNIT } from '#shared/pipeline/routing.ts';
import { forTerminal } from '#shared/sinks/terminal.ts';
import { FleetDirectoryError } from '#shared/snapshot/load-fleet.ts';
import packageJson from '../package.json' with { type: 'json' };
import { EXIT_BAD_INPUT, runCheckCommand } from './commands/check.ts';
import { renderCatalogue } from './commands/checks.ts';
// The commands that load the AWS SDK, the Kubernetes client, the emulator or dynalite (collect,
// enroll, token, pipeline) are imported in their actions, only when they run: a fast start.
import type { LiveOptions } from './commands/collect.ts';
import { parseLatencyOption, parsePortOption, runEmulateCommand } from './commands/emulate.ts';
import { EnrollError, LiveOptionsError, MissingDependencyError } from './commands/errors.ts';
import { addHistoryCommand } from './commands/history.ts';
import { OutputError } from './commands/output.ts';
import { nodeSupportNotice } from './node-support.ts';
import { FORMAT_NAMES, formatHelp } from './render/formats.ts';

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

/** `name=vpc-1,vpc-2`, repeatable: a network auditor of the local pipeline and the VPCs it reaches. */
function parseNetwork(
  value: string,
  previous: { name: string; vpcIds: string[] }[] = [],
): { name: string; vpcIds: string[] }[] {
  const match = /^([a-z][a-z0-9-]{0,19})=(vpc-[0-9a-f]{8,17}(?:,vpc-[0-9a-f]{8,17})*)$/.exec(value.trim());
  if (!match)
    throw new InvalidArgumentError('expected name=vpc-id[,vpc-id...], e.g. core=vpc-0abc12345def67890');
  const [, name = '', vpcs = ''] = match;
  if (previous.some((n) => n.name === name))
    throw new InvalidArgumentError(`network "${name}" is given twice`);
  return [...previous, { name, vpcIds: vpcs.split(',') }];
}

function parseDate(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new InvalidArgumentError('expected an ISO date, e.g. 2026-11-22 or 2026-11-22T03:00:00Z');
  return date;
}

function addLiveOptions(command: Command): void {
  command
    .option('--organization', 'audit every ACTIVE account of the AWS Organization (needs --role-name)')
    .option('--accounts <ids>', 'audit these accounts (comma-separated; needs --role-name)', parseIds)
    .option('--role-name <name>', 'the read-only audit role to assume in each account')
    .option('--external-id <id>', 'ExternalId the audit role requires')
    .option(
      '--regions <regions>',
      "regions to audit (comma-separated; default: each account's enabled regions)",
      parseIds,
    )
    .option('--concurrency <n>', 'accounts and clusters collected at once', wholeNumber(1, 64), 4)
    .option(
      '--threads <n>',
      `worker threads that parse Kubernetes list pages (0: on the main thread; default: the cores, at most 4, here ${defaultDecodeThreads()})`,
      wholeNumber(0, 32),
    )
    .option(
      '--probe',
      'live probe IRSA-040: request a token per annotated service account and try sts:AssumeRoleWithWebIdentity ' +
        '(needs create on serviceaccounts/token: irsa-audit enroll --probe)',
    )
    .option(
      '--cluster-deadline <seconds>',
      `seconds a cluster's Kubernetes reads may take in all, retries included; then it is reported unreachable (default ${DEFAULT_CLUSTER_DEADLINE_MS / 1000})`,
      parseSeconds,
    )
    .option(
      '--private-endpoints-reachable',
      "dial clusters whose public endpoint is off (only where their private endpoint is reachable, e.g. inside the cluster's VPC)",
    )
    .option(
      '--egress-ip <addresses>',
      "the public IP address(es) this machine's traffic leaves from (comma-separated): clusters whose public access CIDRs exclude them are reported, not dialled",
      parseAddresses,
    );
}

/** A commander parser of a whole number from `min` to `max`. */
function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600)
    throw new InvalidArgumentError('expected a number of seconds above 0, at most 3600');
  return n;
}

function parseAddresses(value: string): string[] {
  const addresses = value
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const bad = addresses.find((a) => isIP(a) === 0);
  if (addresses.length === 0 || bad !== undefined)
    throw new InvalidArgumentError(
      `expected IP addresses separated by commas${bad ? `; not an IP address: ${JSON.stringify(bad)}` : ''}`,
    );
  return addresses;
}

function liveOptionsOf(opts: Record<string, unknown>): LiveOptions {
  return {
    organization: Boolean(opts.organization),
    accounts: opts.accounts as string[] | undefined,
    roleName: opts.roleName as string | undefined,
    externalId: opts.externalId as string | undefined,
    regions: (opts.regions as string[] | undefined)?.map((r) => r.toLowerCase()),
    concurrency: opts.concurrency as number | undefined,
    ...(opts.threads === undefined ? {} : { threads: opts.threads as number }),
    probe: Boolean(opts.probe),
    ...(opts.clusterDeadline === undefined ? {} : { clusterDeadlineSeconds: opts.clusterDeadline as number }),
    privateEndpointsReachable: Boolean(opts.privateEndpointsReachable),
    ...(opts.egressIp === undefined ? {} : { egressAddresses: opts.egressIp as string[] }),
  };
}

export function buildProgram(): Command {
  const program = new Command('irsa-audit')
    .description(
      'Audit IAM Roles for Service Accounts (IRSA) across EKS clusters: OIDC providers, role trust ' +
        'policies, annotated ServiceAccounts, the pod identity webhook and the pods it mutates.',
    )
    .version(packageJson.version)
    .addHelpText(
      'after',
      `
Get started:
  irsa-audit check examples/fleet        audit the sample fleet shipped with the repo
  irsa-audit check --help                every option, exit codes and examples
  irsa-audit checks                      the checks, their ids and default severities
  irsa-audit pipeline examples/fleet     the nightly pipeline run locally over it: what it records

A fleet snapshot is a directory of AWS CLI and kubectl output: see docs/fleet-format.md.`,
    )
    .showHelpAfterError('(run with --help for usage)')
    // Set before the subcommands are added, so they inherit it: usage errors exit 2, not 1.
    .exitOverride();

  const check = program
    .command('check')
    .description('Run the checks over a fleet snapshot directory and report what is broken, with the fix.')
    .argument(
      '[fleet-dir]',
      'snapshot directory: <account-id>/iam.json and <account-id>/<region>/<cluster>/*.json (not with --live)',
    )
    .addOption(
      new Option('-f, --format <format>', 'output format (see Formats below)')
        .choices(FORMAT_NAMES)
        .default('table'),
    )
    .option('-o, --output <file>', 'write the report to this file instead of stdout')
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
    .option(
      '--live',
      'collect from the AWS and Kubernetes APIs instead of reading a snapshot (into a temporary directory, removed afterwards)',
    )
    .option(
      '--keep-snapshot <dir>',
      'with --live: collect into this new or empty directory and keep it (a snapshot `check DIR` reads)',
    );
  addLiveOptions(check);
  check
    .addHelpText(
      'after',
      `
Formats:
${formatHelp()}

Exit codes:
  0  no finding at or above --fail-on (or --fail-on not given)
  1  a failing finding at or above --fail-on remains (exempted findings never count)
  2  bad input: a snapshot file could not be used (reported as AUDIT-004), or a usage error

Examples:
  irsa-audit check ./fleet
  irsa-audit check ./fleet --min-severity high --fail-on critical
  irsa-audit check ./fleet --check IRSA-013,IRSA-014 --format json > findings.json
  irsa-audit check --live --regions eu-west-1                         # this account, now
  irsa-audit check --live --organization --role-name irsa-auditor --external-id X
  irsa-audit check --live --probe --check IRSA-040                    # STS accepts each SA's token?
  irsa-audit checks          # list check ids, severities and titles`,
    )
    .action(async (fleetDir: string | undefined, opts) => {
      const stdoutTty = Boolean(process.stdout.isTTY);
      if (Boolean(fleetDir) === Boolean(opts.live)) {
        throw new LiveOptionsError('give either a fleet directory or --live');
      }
      if (opts.probe && !opts.live) throw new LiveOptionsError('--probe needs --live (it calls the APIs)');
      if (opts.keepSnapshot !== undefined && !opts.live)
        throw new LiveOptionsError('--keep-snapshot needs --live (it keeps what the live collection wrote)');
      const options = {
        format: opts.format,
        output: opts.output,
        minSeverity: opts.minSeverity,
        check: opts.check,
        includePassed: opts.includePassed,
        failOn: opts.failOn,
        config: opts.config,
        now: opts.now,
        color: opts.color !== false && stdoutTty && !process.env.NO_COLOR,
        progress: !opts.quiet && Boolean(process.stderr.isTTY),
      };
      const io = {
        stdout: (text: string) => process.stdout.write(text),
        stderr: (text: string) => process.stderr.write(text),
        cwd: process.cwd(),
        width: process.stdout.columns || 100,
      };
      if (fleetDir) {
        process.exitCode = await runCheckCommand(fleetDir, options, io);
        return;
      }
      // The collectors, the AWS SDK and the Kubernetes client are loaded only when --live runs.
      const { runLiveCheck } = await import('./commands/collect.ts');
      process.exitCode = await runLiveCheck(liveOptionsOf(opts), opts.keepSnapshot, options, io);
    });

  const collect = program
    .command('collect')
    .description(
      'Collect a fleet snapshot from the AWS and Kubernetes APIs (read-only) into a directory that `check` reads.',
    )
    .requiredOption('-o, --out <dir>', 'where to write the snapshot')
    .option('-q, --quiet', 'no progress output on stderr');
  addLiveOptions(collect);
  collect.addHelpText(
    'after',
    `
Credentials: the default AWS chain (environment, profile, SSO, instance role). Endpoints honour
AWS_ENDPOINT_URL_<SERVICE> (see \`irsa-audit emulate\`). Failures are recorded in
collection-errors.json and reported as AUDIT-001/002/003, never skipped silently.

Examples:
  irsa-audit collect --out ./fleet --regions us-east-1,eu-west-1
  irsa-audit collect --out ./fleet --organization --role-name irsa-auditor --external-id X`,
  );
  collect.action(async (opts) => {
    const { runCollectCommand } = await import('./commands/collect.ts');
    process.exitCode = await runCollectCommand(opts.out, liveOptionsOf(opts), {
      stderr: (text) => process.stderr.write(text),
      progress: !opts.quiet,
    });
  });

  program
    .command('enroll')
    .description(
      'Grant the audit role read access to a cluster: an EKS access entry plus the auditor ClusterRole (run as a cluster admin).',
    )
    .requiredOption('--cluster <name>', 'EKS cluster name')
    .option('--region <region>', 'AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION)')
    .requiredOption(
      '--principal-arn <arn>',
      'the audit role, e.g. arn:aws:iam::111122223333:role/irsa-auditor',
    )
    .option('--probe', 'also allow creating service account tokens (for the live probe IRSA-040)')
    .option('--dry-run', 'print the commands and manifests instead of applying them')
    .action(async (opts) => {
      const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
      if (!region) throw new EnrollError('no region: pass --region or set AWS_REGION');
      const { runEnrollCommand } = await import('./commands/enroll.ts');
      process.exitCode = await runEnrollCommand(
        {
          cluster: opts.cluster,
          region,
          principalArn: opts.principalArn,
          probe: opts.probe,
          dryRun: opts.dryRun,
        },
        { stdout: (text) => process.stdout.write(text) },
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

  program
    .command('token')
    .description(
      'Print an EKS bearer token as ExecCredential JSON, like `aws eks get-token` (kubeconfig exec).',
    )
    .requiredOption('--cluster <name>', 'EKS cluster name')
    .option('--region <region>', 'AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION)')
    .action(async (opts: { cluster: string; region?: string }) => {
      const { resolveTokenRegion, runTokenCommand, TokenCommandError } = await import('./commands/token.ts');
      try {
        const region = resolveTokenRegion(opts.region, process.env);
        await runTokenCommand(
          { cluster: opts.cluster, region },
          { stdout: (text) => process.stdout.write(text) },
        );
      } catch (error) {
        if (!(error instanceof TokenCommandError)) throw error;
        process.stderr.write(`irsa-audit: ${forTerminal(error.message)}\n`);
        process.exitCode = EXIT_BAD_INPUT;
      }
    });

  program
    .command('emulate')
    .description(
      'Serve a fleet snapshot as local AWS (STS, IAM, EKS, Organizations, Account) and Kubernetes APIs on 127.0.0.1, ' +
        'and print the environment that points the AWS SDK at them. Runs until Ctrl-C.',
    )
    .argument('<fleet-dir>', 'snapshot directory to serve')
    .option('--port <n>', 'port of the AWS endpoint (default: any free port)', parsePortOption)
    .option('--latency-ms <n>', 'latency added to every response', parseLatencyOption)
    .action(async (fleetDir: string, opts: { port?: number; latencyMs?: number }) => {
      process.exitCode = await runEmulateCommand(
        fleetDir,
        { port: opts.port, latencyMs: opts.latencyMs },
        { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) },
      );
    });

  program
    .command('pipeline')
    .description(
      'Run the nightly pipeline locally over a fleet snapshot (the planner and auditor handlers, dynalite as ' +
        "DynamoDB, the emulator as AWS and Kubernetes; no AWS account) and print the findings it leaves open, in check's formats.",
    )
    .argument('<fleet-dir>', 'snapshot directory, as for check (served by the emulator)')
    .option(
      '--nights <n>',
      'nights to run over the same fleet, a day apart (default 1)',
      wholeNumber(1, 30),
      1,
    )
    .addOption(
      new Option('-f, --format <format>', 'output format (see Formats below)')
        .choices(FORMAT_NAMES)
        .default('table'),
    )
    .option('-o, --output <file>', 'write the report to this file instead of stdout')
    .option(
      '--min-severity <severity>',
      `only show findings at or above: ${SEVERITIES.join(', ')}`,
      parseSeverity,
    )
    .option('--check <ids>', 'only show these checks (comma-separated, repeatable)', parseIds)
    .option(
      '--fail-on <severity>',
      'exit 1 when an open finding at or above this severity remains',
      parseSeverity,
    )
    .option(
      '-c, --config <file>',
      'severity overrides and exemptions, given to the auditor as AUDIT_CONFIG (default ./irsa-audit.config.yaml if present)',
    )
    .option(
      '--clusters-per-unit <n>',
      `clusters one auditor unit carries; an account with more is fanned out per (account, region) parts (the hub's clustersPerUnit, default ${DEFAULT_CLUSTERS_PER_UNIT})`,
      wholeNumber(1, 500),
    )
    .option(
      '--network <name=vpc-id,...>',
      "a network auditor and the VPCs it reaches (repeatable; the hub's networks); default: one reaching the VPC of every cluster whose public endpoint is off",
      parseNetwork,
    )
    .option('--no-networks', 'no network auditor: clusters whose public endpoint is off are AUDIT-002')
    .option(
      '--security-hub',
      "import each night's new, changed and resolved findings into the emulator's Security Hub (the hub's securityHub setting) and say what it took and refused",
    )
    .option('--no-color', 'disable colour (colour is only used on a terminal anyway; NO_COLOR is honoured)')
    .option('-q, --quiet', 'no progress output on stderr')
    .addHelpText(
      'after',
      `
Formats:
${formatHelp()}

The findings are read back from the pipeline's store after the last night: open ones as "fail",
exempted ones as "exempted". The store keeps no evidence and no passing or not-evaluated results,
so those are absent (null in the JSON summary); the rest is check's output, to diff against it.

Exit codes: as check (0; 1 an open finding at or above --fail-on; 2 a missing or unusable fleet
directory, a bad config file, or a usage error).

Examples:
  irsa-audit pipeline examples/fleet
  irsa-audit pipeline ./fleet --nights 2 --format json > pipeline.json
  diff <(irsa-audit check ./fleet -f json | jq -S '.findings|map(del(.evidence))') \
       <(irsa-audit pipeline ./fleet -f json -q | jq -S .findings)`,
    )
    .action(async (fleetDir: string, opts) => {
      const { runPipelineCommand } = await import('./commands/pipeline.ts');
      process.exitCode = await runPipelineCommand(
        fleetDir,
        {
          nights: opts.nights,
          format: opts.format,
          output: opts.output,
          minSeverity: opts.minSeverity,
          check: opts.check,
          failOn: opts.failOn,
          config: opts.config,
          ...(opts.clustersPerUnit ? { clustersPerUnit: opts.clustersPerUnit } : {}),
          ...(opts.networks === false ? { networks: [] } : opts.network ? { networks: opts.network } : {}),
          ...(opts.securityHub ? { securityHub: true } : {}),
          color: opts.color !== false && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
          progress: !opts.quiet,
        },
        {
          stdout: (text) => process.stdout.write(text),
          stderr: (text) => process.stderr.write(text),
          cwd: process.cwd(),
          width: process.stdout.columns || 100,
        },
      );
    });

  addHistoryCommand(program);

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that stops early (`irsa-audit check ... | head`) closes the pipe: that ends the output,
  // quietly, as for any Unix tool, instead of an unhandled EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  nodeSupportNotice(process.versions.node, {
    env: process.env,
    stderr: (text) => process.stderr.write(text),
  });
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
      error instanceof UnknownCheckError ||
      error instanceof LiveOptionsError ||
      error instanceof EnrollError ||
      error instanceof OutputError ||
      error instanceof MissingDependencyError
    ) {
      process.stderr.write(`irsa-audit: ${forTerminal(error.message)}\n`);
      process.exitCode = EXIT_BAD_INPUT;
      return;
    }
    throw error;
  }
}

await main(process.argv);
