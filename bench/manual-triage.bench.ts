/**
 * irsa-audit side by side with the manual triage (issue 17, item 3): on one synthetic fleet served by
 * the local emulator, the seeds' triage steps scripted in bash with the real AWS CLI and kubectl,
 * looped over every IRSA ServiceAccount (bench/manual-triage.sh says what it runs per account,
 * cluster and ServiceAccount), then `irsa-audit check --live` over the same fleet. Prints the wall
 * time and the API calls of each (the emulator counts every request it answers), their ratios, and
 * the checks irsa-audit evaluates that the manual steps do not answer.
 *
 *   npm run bench:manual                                    # 2 accounts x 1 region x 2 clusters x 5 ServiceAccounts
 *   npm run bench:manual -- --service-accounts 20           # 20 IRSA ServiceAccounts per cluster
 *   npm run bench:manual -- --accounts 3 --regions 2 --clusters 2 --pods 3 --latency 50
 *   npm run bench:manual -- --kubectl-auth exec             # kubectl runs `aws eks get-token` on every call
 *   npm run bench:manual -- --scale smoke                   # 1 account, 1 cluster, 2 ServiceAccounts
 *   npm run bench:manual -- --missing-roles 1               # the first SA of each cluster names no role (IRSA-011)
 *
 * Needs `bash`, `aws` (v1 or v2) and `kubectl` on PATH; where one is missing it says so and exits 0.
 * Every ServiceAccount has its own role (one inline policy, and its cluster's customer-managed
 * policy attached) and `--pods` running pods mutated by the webhook: a healthy fleet, so both sides
 * read everything (unless `--missing-roles`). Wall times are those of one run each, on whatever else the machine is doing; the
 * API-call counts are exact.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import { syntheticAccountId, writeSyntheticFleet } from '#shared/testing/synthetic-fleet.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = join(REPO_ROOT, 'bench', 'manual-triage.sh');
const ROLE_NAME = 'irsa-auditor';
const ALL_REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-2', 'eu-central-1', 'us-west-2'];

interface Shape {
  accounts: number;
  regions: number;
  /** Clusters per region. */
  clusters: number;
  /** IRSA ServiceAccounts per cluster. */
  serviceAccounts: number;
  /** Running pods per ServiceAccount. */
  pods: number;
  /** The first this many ServiceAccounts of each cluster name a role that does not exist. */
  missingRoles: number;
}

const SCALES: Record<string, Shape> = {
  default: { accounts: 2, regions: 1, clusters: 2, serviceAccounts: 5, pods: 2, missingRoles: 0 },
  smoke: { accounts: 1, regions: 1, clusters: 1, serviceAccounts: 2, pods: 2, missingRoles: 0 },
};

/**
 * The checks whose question a step of the manual script answers (bench/manual-triage.sh), with the
 * step; every other check of the catalogue is one the manual triage does not look at.
 */
const MANUAL_ANSWERS: Readonly<Record<string, string>> = {
  'IRSA-001': 'describe-cluster, then list-open-id-connect-providers for its issuer',
  'IRSA-002': 'get-open-id-connect-provider: sts.amazonaws.com among its audiences',
  'IRSA-003': 'kubectl get mutatingwebhookconfiguration pod-identity-webhook',
  'IRSA-004': 'its caBundle compared with describe-cluster CA',
  'IRSA-010': 'the role-arn annotation matched against the ARN format',
  'IRSA-011': 'aws iam get-role',
  'IRSA-012': 'the trust policy names the provider (grep)',
  'IRSA-013': 'the trust policy names system:serviceaccount:NS:SA (grep: exact string only)',
  'IRSA-014': 'the trust policy has :aud sts.amazonaws.com (grep)',
  'IRSA-018': 'list-attached-role-policies + list-role-policies not both empty',
  'IRSA-030': 'the pods carry AWS_WEB_IDENTITY_TOKEN_FILE',
  'IRSA-031': "the pods' AWS_ROLE_ARN is the annotation's",
};

/** The value after `flag` on the command line (`--accounts 3`), if any. */
function argument(flag: string): string | undefined {
  const index = process.argv.indexOf(flag);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function wholeNumber(flag: string, fallback: number, min: number, max: number): number {
  const raw = argument(flag);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${flag} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  }
  return value;
}

function options(): { shape: Shape; latencyMs: number; kubectlAuth: 'token' | 'exec' } {
  const scaleName = argument('--scale') ?? 'default';
  const scale = SCALES[scaleName];
  if (!scale) {
    throw new RangeError(
      `--scale must be one of ${Object.keys(SCALES).join(', ')}, not ${JSON.stringify(scaleName)}`,
    );
  }
  const shape: Shape = {
    accounts: wholeNumber('--accounts', scale.accounts, 1, 50),
    regions: wholeNumber('--regions', scale.regions, 1, ALL_REGIONS.length),
    clusters: wholeNumber('--clusters', scale.clusters, 1, 20),
    serviceAccounts: wholeNumber('--service-accounts', scale.serviceAccounts, 1, 1_000),
    pods: wholeNumber('--pods', scale.pods, 0, 50),
    missingRoles: 0,
  };
  shape.missingRoles = wholeNumber('--missing-roles', scale.missingRoles, 0, shape.serviceAccounts);
  const kubectlAuth = argument('--kubectl-auth') ?? 'token';
  if (kubectlAuth !== 'token' && kubectlAuth !== 'exec') {
    throw new RangeError(`--kubectl-auth must be token or exec, not ${JSON.stringify(kubectlAuth)}`);
  }
  return { shape, latencyMs: wholeNumber('--latency', 20, 0, 10_000), kubectlAuth };
}

/**
 * The environment of a child process: this one's without any AWS or kubectl setting (so a user's
 * profile, credentials or kubeconfig can never be read), plus `extra`.
 */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith('AWS_') || name.startsWith('KUBE')) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** Whether `command` can be started, and how long one start takes (`args` print a version). */
function probeTool(command: string, args: string[]): { found: boolean; ms: number } {
  const started = performance.now();
  const run = spawnSync(command, args, { stdio: 'ignore', env: childEnv({}), timeout: 60_000 });
  const ms = performance.now() - started;
  return { found: (run.error as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT', ms };
}

interface Run {
  readonly wallMs: number;
  readonly status: number | null;
  readonly stdout: string;
  readonly counts: Record<string, number>;
}

/** Runs `command` (the emulator keeps serving meanwhile: never spawnSync here), counting its API calls. */
function timed(
  emulator: Emulator,
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<Run> {
  emulator.resetCounts();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => {
      resolve({ wallMs: performance.now() - started, status, stdout, counts: emulator.requestCounts() });
    });
  });
}

/** The counts by API, a cluster's Kubernetes requests under `k8s:<resource>` (all clusters summed). */
function byApi(counts: Record<string, number>): Map<string, number> {
  const apis = new Map<string, number>();
  for (const [key, n] of Object.entries(counts)) {
    const k8s = /^k8s:[^:]+:(.+)$/.exec(key);
    const api = k8s ? `k8s:${k8s[1]}` : key;
    apis.set(api, (apis.get(api) ?? 0) + n);
  }
  return apis;
}

const total = (apis: Map<string, number>, match: (api: string) => boolean) =>
  [...apis].reduce((n, [api, calls]) => (match(api) ? n + calls : n), 0);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pad = (value: string | number, width: number) => String(value).padStart(width);

interface JsonFinding {
  readonly checkId: string;
  readonly status: string;
}

async function main(): Promise<void> {
  const { shape, latencyMs, kubectlAuth } = options();
  const regions = ALL_REGIONS.slice(0, shape.regions);
  const clusters = shape.accounts * shape.regions * shape.clusters;
  const serviceAccounts = clusters * shape.serviceAccounts;
  console.log(
    `irsa-audit side by side with the manual triage: ${shape.accounts} account(s) x ${shape.regions} region(s) x ${shape.clusters} cluster(s) x ` +
      `${shape.serviceAccounts} IRSA ServiceAccount(s) (${serviceAccounts} in all, ${shape.pods} pod(s) each), ` +
      `${latencyMs} ms latency per response, kubectl auth: ${kubectlAuth}`,
  );

  const tools = {
    bash: probeTool('bash', ['--version']),
    aws: probeTool('aws', ['--version']),
    kubectl: probeTool('kubectl', ['version', '--client']),
  };
  const missing = Object.entries(tools).filter(([, tool]) => !tool.found);
  if (missing.length > 0) {
    console.log(
      `skipped: ${missing
        .map(([name]) => `\`${name}\``)
        .join(', ')
        .replace(/, ([^,]+)$/, ' and $1')} not found on PATH; the manual triage runs the real ` +
        'AWS CLI and kubectl (install them to compare; nothing was measured)',
    );
    return;
  }
  console.log(
    `one process start, measured once: aws ${seconds(tools.aws.ms)} (aws --version), kubectl ${seconds(tools.kubectl.ms)} (kubectl version --client)\n`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'irsa-manual-bench-'));
  try {
    const fleetDir = join(dir, 'fleet');
    const work = join(dir, 'work');
    mkdirSync(work, { mode: 0o700 });
    await writeSyntheticFleet(fleetDir, {
      accounts: shape.accounts,
      regions,
      clustersPerRegion: shape.clusters,
      serviceAccounts: shape.serviceAccounts,
      pods: shape.serviceAccounts * shape.pods,
      serviceAccountsPerRole: 1,
      missingRoles: shape.missingRoles,
      policyDocuments: true,
    });
    const accountIds = Array.from({ length: shape.accounts }, (_, a) => syntheticAccountId(a));
    const emulator = await startEmulator({ fleetDir, faults: { latencyMs } });
    try {
      // irsa-audit first: the emulator is then warm for the slower side, never the other way round.
      const audit = await timed(
        emulator,
        process.execPath,
        [
          join(REPO_ROOT, 'bin', 'irsa-audit.mjs'),
          'check',
          '--live',
          '--accounts',
          accountIds.join(','),
          '--role-name',
          ROLE_NAME,
          '--regions',
          regions.join(','),
          '--format',
          'json',
          '--include-passed',
          '-q',
        ],
        childEnv({
          ...emulator.env,
          NO_COLOR: '1',
          IRSA_AUDIT_NODE_NOTICE: 'off',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        }),
      );
      if (audit.status !== 0) throw new Error(`irsa-audit check --live exited ${audit.status}`);
      const report = JSON.parse(audit.stdout) as {
        findings: JsonFinding[];
        summary: {
          checks: string[];
          failed: number;
          passed: number;
          notEvaluated: number;
          byCheck: Record<string, number>;
        };
      };

      const manual = await timed(
        emulator,
        'bash',
        [SCRIPT],
        childEnv({
          ...emulator.env,
          AWS_DEFAULT_REGION: regions[0] ?? 'eu-west-1',
          // No user configuration: a missing file is an empty one to the AWS CLI.
          AWS_CONFIG_FILE: join(work, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
          // kubectl's discovery cache, as ~/.kube/cache is for a user: discovery once per cluster.
          KUBECACHEDIR: join(work, 'kube-cache'),
          ACCOUNTS: accountIds.join(' '),
          REGIONS: regions.join(' '),
          ROLE_NAME,
          KUBECTL_AUTH: kubectlAuth,
          WORK: work,
        }),
      );
      const triaged = /^triaged (\d+) service accounts$/m.exec(manual.stdout);
      const verdicts = manual.stdout.split('\n').filter((line) => line.startsWith('triage '));
      const problems = verdicts.filter((line) => !line.endsWith(': ok'));
      let processes = { aws: 0, kubectl: 0 };
      try {
        const lines = readFileSync(join(work, 'processes'), 'utf8').split('\n');
        processes = {
          aws: lines.filter((l) => l === 'aws').length,
          kubectl: lines.filter((l) => l === 'kubectl').length,
        };
      } catch {
        // no process started: reported below as no ServiceAccount triaged
      }

      const manualApis = byApi(manual.counts);
      const auditApis = byApi(audit.counts);
      const isK8s = (api: string) => api.startsWith('k8s:');
      const calls = {
        manual: { aws: total(manualApis, (a) => !isK8s(a)), k8s: total(manualApis, isK8s) },
        audit: { aws: total(auditApis, (a) => !isK8s(a)), k8s: total(auditApis, isK8s) },
      };
      const manualCalls = calls.manual.aws + calls.manual.k8s;
      const auditCalls = calls.audit.aws + calls.audit.k8s;

      console.log(`${'API'.padEnd(40)}${pad('manual', 10)}${pad('irsa-audit', 12)}`);
      const apis = [...new Set([...manualApis.keys(), ...auditApis.keys()])].sort(
        (a, b) => Number(isK8s(a)) - Number(isK8s(b)) || a.localeCompare(b),
      );
      for (const api of apis) {
        console.log(
          `${api.padEnd(40)}${pad(manualApis.get(api) ?? 0, 10)}${pad(auditApis.get(api) ?? 0, 12)}`,
        );
      }
      console.log('');

      const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(1)}x` : '-');
      console.log(
        `${''.padEnd(24)}${pad('manual triage', 16)}${pad('irsa-audit', 14)}${pad('manual / irsa-audit', 22)}`,
      );
      console.log(
        `${'wall time'.padEnd(24)}${pad(seconds(manual.wallMs), 16)}${pad(seconds(audit.wallMs), 14)}${pad(ratio(manual.wallMs, audit.wallMs), 22)}`,
      );
      console.log(
        `${'API calls'.padEnd(24)}${pad(manualCalls, 16)}${pad(auditCalls, 14)}${pad(ratio(manualCalls, auditCalls), 22)}`,
      );
      console.log(
        `${'  AWS'.padEnd(24)}${pad(calls.manual.aws, 16)}${pad(calls.audit.aws, 14)}${pad(ratio(calls.manual.aws, calls.audit.aws), 22)}`,
      );
      console.log(
        `${'  Kubernetes'.padEnd(24)}${pad(calls.manual.k8s, 16)}${pad(calls.audit.k8s, 14)}${pad(ratio(calls.manual.k8s, calls.audit.k8s), 22)}`,
      );
      console.log(
        `${'processes started'.padEnd(24)}${pad(processes.aws + processes.kubectl, 16)}${pad(1, 14)}` +
          `   (aws ${processes.aws}, kubectl ${processes.kubectl})`,
      );
      console.log(
        `${'per ServiceAccount'.padEnd(24)}${pad(seconds(manual.wallMs / serviceAccounts), 16)}${pad(seconds(audit.wallMs / serviceAccounts), 14)}`,
      );
      console.log('');

      // What each side looked at.
      const checked = new Set(report.summary.checks);
      const evaluated = new Set(
        report.findings.filter((f) => f.status === 'pass' || f.status === 'fail').map((f) => f.checkId),
      );
      const saResults = report.findings.filter((f) => f.checkId === 'IRSA-011').length;
      for (const id of Object.keys(MANUAL_ANSWERS)) {
        if (!CATALOGUE.some((c) => c.metadata.id === id))
          throw new Error(`MANUAL_ANSWERS names ${id}, not in the catalogue`);
      }
      const answered = CATALOGUE.map((c) => c.metadata.id).filter(
        (id) => MANUAL_ANSWERS[id] && checked.has(id),
      );
      const notAnswered = CATALOGUE.map((c) => c.metadata.id).filter(
        (id) => checked.has(id) && !MANUAL_ANSWERS[id],
      );
      const evaluatedNotAnswered = notAnswered.filter((id) => evaluated.has(id));
      console.log(
        `ServiceAccounts: manual triaged ${triaged?.[1] ?? 0} (${verdicts.length - problems.length} ok, ${problems.length} with a problem); ` +
          `irsa-audit evaluated ${saResults} (IRSA-011 results); the fleet has ${serviceAccounts}`,
      );
      console.log(
        `irsa-audit: ${checked.size} checks run, ${evaluated.size} of them evaluated here (${report.summary.passed} passed, ` +
          `${report.summary.failed} failed, ${report.summary.notEvaluated} not evaluated)`,
      );
      console.log(
        `the manual triage answers ${answered.length} of the ${checked.size}: ${answered.join(', ')}`,
      );
      console.log(
        `it does not look at the other ${notAnswered.length}: ${notAnswered.join(', ')} ` +
          `(${evaluatedNotAnswered.length} of them evaluated by irsa-audit on this fleet)`,
      );
      const failing = Object.entries(report.summary.byCheck).map(([id, n]) => `${id} x${n}`);
      console.log(
        `found: manual ${problems.length} ServiceAccount(s) with a problem; irsa-audit ${report.summary.failed} failing finding(s)` +
          (failing.length > 0 ? ` (${failing.join(', ')})` : ''),
      );
      for (const line of problems.slice(0, 5)) console.log(`  manual: ${line}`);

      const failures: string[] = [];
      if (manual.status !== 0) failures.push(`the manual triage script exited ${manual.status}`);
      if (Number(triaged?.[1] ?? 0) !== serviceAccounts)
        failures.push(`the manual triage triaged ${triaged?.[1] ?? 0} of ${serviceAccounts} ServiceAccounts`);
      if (saResults !== serviceAccounts)
        failures.push(`irsa-audit evaluated ${saResults} of ${serviceAccounts} ServiceAccounts`);
      console.log(
        `\nmanual / irsa-audit: wall time ${ratio(manual.wallMs, audit.wallMs)}, API calls ${ratio(manualCalls, auditCalls)}` +
          (failures.length > 0 ? `; NOT COMPARABLE: ${failures.join('; ')}` : ''),
      );
      if (failures.length > 0) process.exitCode = 1;
    } finally {
      await emulator.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
