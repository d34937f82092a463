/**
 * `irsa-audit emulate <fleet-dir>`: serve a fleet snapshot as local AWS and Kubernetes APIs (127.0.0.1
 * only), plus in-memory SNS and SQS, and print the environment that points the AWS SDK (and so
 * `irsa-audit collect`) at them.
 * Runs until SIGINT/SIGTERM. The emulator is loaded on demand, so other commands do not pay for it.
 */
import { InvalidArgumentError } from 'commander';
import type { Emulator } from '../../emulator/index.ts';

export interface EmulateOptions {
  /** Port of the AWS endpoint (default: any free port). */
  port?: number;
  /** Latency added to every response, in milliseconds. */
  latencyMs?: number;
}

export interface EmulateIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Resolves when the emulator should stop (default: on SIGINT or SIGTERM). */
  untilStopped?: (emulator: Emulator) => Promise<void>;
}

/** Exit code when the fleet directory cannot be served. */
const EXIT_BAD_INPUT = 2;

export function parsePortOption(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  }
  return port;
}

export function parseLatencyOption(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) {
    throw new InvalidArgumentError('expected whole milliseconds from 0 to 60000');
  }
  return ms;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Single-quoted for a POSIX shell. */
function shellQuote(value: string): string {
  return /^[\w./:@=+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export async function runEmulateCommand(
  fleetDir: string,
  options: EmulateOptions,
  io: EmulateIo,
): Promise<number> {
  const { EmulatorFleetError, startEmulator } = await import('../../emulator/index.ts');
  let emulator: Emulator;
  try {
    emulator = await startEmulator({
      fleetDir,
      port: options.port,
      faults: options.latencyMs ? { latencyMs: options.latencyMs } : undefined,
    });
  } catch (error) {
    const listenError = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    if (!(error instanceof EmulatorFleetError) && !listenError) throw error;
    io.stderr(
      `irsa-audit: ${listenError ? `port ${options.port} is already in use` : (error as Error).message}\n`,
    );
    return EXIT_BAD_INPUT;
  }
  const lines = [
    `# irsa-audit emulator: ${fleetDir} on ${emulator.endpoint} (management account ${emulator.managementAccountId})`,
    '# Paste these lines into a shell, then e.g.: irsa-audit collect --out ./copy --organization --role-name irsa-auditor',
    ...Object.entries(emulator.env).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
    '# SNS and SQS (AWS_ENDPOINT_URL_SNS, AWS_ENDPOINT_URL_SQS) start empty and keep topics, queues and messages in memory.',
    `# ${emulator.clusters.length} Kubernetes API server(s) (DescribeCluster returns each URL and CA):`,
    ...emulator.clusters.map(
      (cluster) => `#   ${cluster.accountId} ${cluster.region} ${cluster.name} ${cluster.endpoint}`,
    ),
    '# Press Ctrl-C to stop.',
  ];
  io.stdout(`${lines.join('\n')}\n`);
  try {
    const wait = io.untilStopped ?? (() => untilSignal());
    await wait(emulator);
  } finally {
    await emulator.stop();
  }
  io.stderr('irsa-audit: emulator stopped\n');
  return 0;
}
