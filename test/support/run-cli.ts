/** Runs the real CLI (through the package's bin script) in a child process (argv parsing, exit codes, stdout/stderr as a user sees them). */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliRun {
  const result = spawnSync(process.execPath, [`${REPO_ROOT}/bin/irsa-audit.mjs`, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', IRSA_AUDIT_NODE_NOTICE: 'off', ...options.env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface ExpectedFinding {
  checkId: string;
  accountId: string | null;
  cluster: string | null;
  namespace: string | null;
  serviceAccount: string | null;
  roleName: string | null;
}

/** The identity fields that expected-findings.json compares, as a sortable string. */
export function identity(f: ExpectedFinding): string {
  return [f.checkId, f.accountId, f.cluster, f.namespace, f.serviceAccount, f.roleName]
    .map((x) => x ?? '-')
    .join(' ');
}

/** A finding of `irsa-audit check|pipeline --format json`. */
export interface JsonFinding {
  readonly checkId: string;
  readonly status: string;
  readonly severity: string;
  readonly [field: string]: unknown;
}

/** The fields that name a finding (shared/engine/run-audit.ts findingKey), in that order. */
const IDENTITY = [
  'checkId',
  'accountId',
  'region',
  'cluster',
  'namespace',
  'serviceAccount',
  'roleName',
  'workload',
  'resource',
] as const;

/** A JSON finding's identity, as a JSON array of its identity fields. */
export const jsonIdentity = (f: JsonFinding): string => JSON.stringify(IDENTITY.map((k) => f[k] ?? null));

/** Like {@link runCli}, without blocking the event loop (for servers running in the test process). */
export function runCliAsync(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  return runNodeAsync([`${REPO_ROOT}/bin/irsa-audit.mjs`, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { NO_COLOR: '1', ...options.env },
    timeoutMs: 60_000,
  });
}

/** Runs Node with `args` in a child process, its output collected; killed after `timeoutMs`. */
export function runNodeAsync(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs: number },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      // The once-a-day notice on Node 20 (cli/node-support.ts) would show in whichever test ran first.
      env: { ...process.env, IRSA_AUDIT_NODE_NOTICE: 'off', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
