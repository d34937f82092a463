/**
 * Benchmark of the check engine on one synthetic cluster: at the target size (5,000
 * ServiceAccounts, 50,000 pods, 2,000 roles) and at half and double it. Each size runs in its
 * own child process so that peak memory is that size's alone.
 *
 *   npm run bench                 # the three sizes, with the targets checked
 *   npm run bench -- --scale 0.1  # a quick run at a tenth of the sizes
 *
 * Prints, per size: evaluation time (checks only, median of 3 runs, no file parsing), total
 * time (reading and validating the snapshot files + the first evaluation), peak RSS, and the
 * growth of each against the previous size.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAudit } from '#shared/engine/run-audit.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import { base64, irsaTrustPolicy, oidcIdFor } from '#shared/testing/fleet-builder.ts';
import { CLUSTER_CA_A_PEM } from '#shared/testing/test-certificates.ts';

const ACCOUNT = '111122223333';
const REGION = 'us-west-2';
const CLUSTER = 'bench';
const FULL = { serviceAccounts: 5_000, pods: 50_000, roles: 2_000 };
const TARGET_EVALUATION_MS = 1_000;
const MAX_GROWTH = 2.2;

interface Measurement {
  factor: number;
  serviceAccounts: number;
  pods: number;
  roles: number;
  evaluationMs: number;
  totalMs: number;
  peakRssMb: number;
  findings: number;
}

/** Writes a snapshot with `serviceAccounts` annotated SAs, 10 pods each, sharing `roles` roles. */
async function writeSyntheticFleet(dir: string, size: typeof FULL): Promise<void> {
  const issuer = `oidc.eks.${REGION}.amazonaws.com/id/${oidcIdFor(CLUSTER)}`;
  const provider = `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer}`;
  const sas = Array.from({ length: size.serviceAccounts }, (_, i) => ({
    namespace: `ns-${i % 200}`,
    name: `sa-${i}`,
  }));
  const subjectsByRole = new Map<number, string[]>();
  sas.forEach((sa, i) => {
    const role = i % size.roles;
    // One SA in 50 gets a typo in its trust, so IRSA-013 has work to report.
    const subject = `system:serviceaccount:${sa.namespace}:${i % 50 === 7 ? `${sa.name}x` : sa.name}`;
    subjectsByRole.set(role, [...(subjectsByRole.get(role) ?? []), subject]);
  });
  const roles = Array.from({ length: size.roles }, (_, r) => ({
    RoleName: `role-${r}`,
    Arn: `arn:aws:iam::${ACCOUNT}:role/role-${r}`,
    AssumeRolePolicyDocument: encodeURIComponent(
      JSON.stringify(
        irsaTrustPolicy(provider, issuer, subjectsByRole.get(r) ?? ['system:serviceaccount:x:y']),
      ),
    ),
  }));
  const rolePolicies = Object.fromEntries(
    roles.map((r, i) => [
      r.RoleName,
      {
        AttachedPolicies: i % 100 === 3 ? [] : [{ PolicyName: 'p', PolicyArn: 'arn:aws:iam::aws:policy/p' }],
        PolicyNames: [],
      },
    ]),
  );
  const items: unknown[] = sas.map((sa, i) => ({
    kind: 'ServiceAccount',
    metadata: {
      namespace: sa.namespace,
      name: sa.name,
      annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::${ACCOUNT}:role/role-${i % size.roles}` },
    },
  }));
  const podsPerSa = Math.round(size.pods / size.serviceAccounts);
  sas.forEach((sa, i) => {
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/role-${i % size.roles}`;
    const mutated = i % 20 !== 11; // one SA in 20 has unmutated pods (IRSA-030)
    for (let p = 0; p < podsPerSa; p++) {
      const deployment = `${sa.name}-d${p % 2}`;
      const hash = `h${p % 2}abc`;
      items.push({
        kind: 'Pod',
        metadata: {
          namespace: sa.namespace,
          name: `${deployment}-${hash}-${p}`,
          labels: { 'pod-template-hash': hash },
          ownerReferences: [{ kind: 'ReplicaSet', name: `${deployment}-${hash}`, controller: true }],
          creationTimestamp: '2026-01-01T00:00:00Z',
        },
        spec: {
          serviceAccountName: sa.name,
          containers: [
            {
              name: 'app',
              env: mutated
                ? [
                    { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
                    { name: 'AWS_ROLE_ARN', value: roleArn },
                    {
                      name: 'AWS_WEB_IDENTITY_TOKEN_FILE',
                      value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
                    },
                  ]
                : [],
            },
          ],
          volumes: mutated
            ? [
                {
                  name: 'aws-iam-token',
                  projected: { sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com' } }] },
                },
              ]
            : [],
        },
        status: { phase: 'Running' },
      });
    }
  });
  items.push({
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'pod-identity-webhook' },
    webhooks: [{ name: 'iam-for-pods.amazonaws.com', clientConfig: { caBundle: base64(CLUSTER_CA_A_PEM) } }],
  });
  const clusterDir = join(dir, ACCOUNT, REGION, CLUSTER);
  await mkdir(clusterDir, { recursive: true });
  await writeFile(
    join(dir, ACCOUNT, 'iam.json'),
    JSON.stringify({
      Roles: roles,
      OpenIDConnectProviders: [{ Arn: provider, Url: issuer, ClientIDList: ['sts.amazonaws.com'] }],
      RolePolicies: rolePolicies,
    }),
  );
  await writeFile(
    join(clusterDir, 'cluster.json'),
    JSON.stringify({
      cluster: {
        name: CLUSTER,
        identity: { oidc: { issuer: `https://${issuer}` } },
        certificateAuthority: { data: base64(CLUSTER_CA_A_PEM) },
      },
    }),
  );
  await writeFile(
    join(clusterDir, 'kubernetes.json'),
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  );
}

/** Child: one size, printed as a JSON line. */
async function measure(factor: number): Promise<void> {
  const size = {
    serviceAccounts: Math.round(FULL.serviceAccounts * factor),
    pods: Math.round(FULL.pods * factor),
    roles: Math.round(FULL.roles * factor),
  };
  const dir = mkdtempSync(join(tmpdir(), 'irsa-bench-'));
  try {
    await writeSyntheticFleet(dir, size);
    globalThis.gc?.();
    const now = new Date('2026-06-01T00:00:00Z');
    const started = performance.now();
    const fleet = await loadFleet(dir);
    const first = runAudit(fleet, { now });
    const totalMs = performance.now() - started;
    const evaluations = [
      first.evaluationMs,
      runAudit(fleet, { now }).evaluationMs,
      runAudit(fleet, { now }).evaluationMs,
    ].sort((a, b) => a - b);
    const result: Measurement = {
      factor,
      ...size,
      evaluationMs: evaluations[1] ?? first.evaluationMs,
      totalMs,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      findings: first.summary.failed,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(factor: number): Measurement {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, [...process.execArgv, self, '--child', String(factor)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`benchmark at x${factor} failed:\n${child.stderr}`);
  const line = child.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Measurement;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return measure(Number(args[1]));
  const scaleIndex = args.indexOf('--scale');
  const scale = scaleIndex >= 0 ? Number(args[scaleIndex + 1]) : 1;
  console.log(`irsa-audit check engine benchmark (Node ${process.version}, scale x${scale})\n`);
  const rows: Measurement[] = [];
  for (const factor of [0.5, 1, 2]) {
    process.stderr.write(`measuring x${factor * scale} ...\n`);
    rows.push(runChild(factor * scale));
  }
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(
    `${pad('SAs', 7)} ${pad('pods', 8)} ${pad('roles', 6)} ${pad('findings', 9)} ${pad('eval ms', 9)} ${pad('x prev', 7)} ${pad('total ms', 9)} ${pad('x prev', 7)} ${pad('peak RSS MB', 12)}`,
  );
  rows.forEach((r, i) => {
    const prev = rows[i - 1];
    const growth = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) : '-');
    console.log(
      `${pad(r.serviceAccounts, 7)} ${pad(r.pods, 8)} ${pad(r.roles, 6)} ${pad(r.findings, 9)} ${pad(r.evaluationMs.toFixed(1), 9)} ${pad(growth(r.evaluationMs, prev?.evaluationMs), 7)} ${pad(r.totalMs.toFixed(0), 9)} ${pad(growth(r.totalMs, prev?.totalMs), 7)} ${pad(r.peakRssMb.toFixed(0), 12)}`,
    );
  });
  if (scale !== 1) return;
  const full = rows[1];
  const double = rows[2];
  if (!full || !double) return;
  const evalOk = full.evaluationMs < TARGET_EVALUATION_MS;
  const growth = double.evaluationMs / full.evaluationMs;
  const growthOk = growth <= MAX_GROWTH;
  console.log(
    `\ntarget: evaluation at full size < ${TARGET_EVALUATION_MS} ms: ${full.evaluationMs.toFixed(0)} ms ${evalOk ? 'OK' : 'MISSED'}`,
  );
  console.log(
    `target: double the input, at most ${MAX_GROWTH}x the evaluation time: ${growth.toFixed(2)}x ${growthOk ? 'OK' : 'MISSED'}`,
  );
  if (!evalOk || !growthOk) process.exitCode = 1;
}

await main();
