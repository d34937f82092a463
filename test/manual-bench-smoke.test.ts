/**
 * Keeps `npm run bench:manual` working at its smallest size (1 account, 1 cluster, 2 IRSA
 * ServiceAccounts of 2 pods each): the printed table, and the API calls of each side, which are
 * exact (timings are not asserted). Where `aws` or `kubectl` is not on PATH the comparison is
 * skipped, as the benchmark skips it; its clean skip is checked everywhere, with a PATH that holds
 * neither.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runNodeAsync } from './support/run-cli.ts';

const onPath = (command: string, args: string[]) =>
  (spawnSync(command, args, { stdio: 'ignore', timeout: 60_000 }).error as NodeJS.ErrnoException | undefined)
    ?.code !== 'ENOENT';
const tools =
  onPath('bash', ['--version']) && onPath('aws', ['--version']) && onPath('kubectl', ['version', '--client']);
const bench = ['--import', 'tsx', 'bench/manual-triage.bench.ts', '--scale', 'smoke'];
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** The `manual` and `irsa-audit` columns of the row of `api` in the printed table. */
function row(stdout: string, api: string): [number, number] | undefined {
  const escaped = api.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^${escaped}\\s+(\\d+)\\s+(\\d+)$`, 'm').exec(stdout);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

describe('npm run bench:manual', () => {
  const empty = mkdtempSync(join(tmpdir(), 'irsa-no-tools-'));
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it('skips with a message and exit 0 where aws and kubectl are not on PATH', async () => {
    const run = await runNodeAsync(bench, {
      cwd: REPO_ROOT,
      env: { ...env, PATH: empty },
      timeoutMs: 60_000,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^skipped: .*`aws` and `kubectl` not found on PATH/m);
    expect(run.stdout).not.toMatch(/wall time/);
  });

  it.skipIf(!tools)(
    'triages the smallest fleet by hand and with irsa-audit, and prints both and their ratios (skipped without aws or kubectl on PATH)',
    { timeout: 600_000 },
    async () => {
      const run = await runNodeAsync(bench, { cwd: REPO_ROOT, env, timeoutMs: 590_000 });
      expect(run.stderr).not.toMatch(/Error/);
      expect(run.status).toBe(0);
      // No bearer token and no access key id of the emulator's credentials in anything printed.
      expect(run.stdout + run.stderr).not.toMatch(/k8s-aws-v1\.|\bA[SK]IA[A-Z0-9]{16}\b/);
      const out = run.stdout;
      // The manual loop: per account an AssumeRole; per cluster ListClusters, DescribeCluster and the
      // provider; then per ServiceAccount, nothing remembered: GetRole, the two policy lists, the
      // customer-managed policy's GetPolicy + GetPolicyVersion and the inline GetRolePolicy.
      expect(row(out, 'sts:AssumeRole')).toEqual([1, 1]);
      expect(row(out, 'eks:DescribeCluster')).toEqual([1, 1]);
      expect(row(out, 'iam:ListOpenIDConnectProviders')).toEqual([1, 1]);
      expect(row(out, 'iam:GetOpenIDConnectProvider')).toEqual([1, 1]);
      expect(row(out, 'iam:GetRole')).toEqual([2, 0]);
      expect(row(out, 'iam:ListAttachedRolePolicies')).toEqual([2, 2]);
      expect(row(out, 'iam:ListRolePolicies')).toEqual([2, 2]);
      expect(row(out, 'iam:GetRolePolicy')).toEqual([2, 2]);
      // The two roles share their cluster's customer-managed policy: irsa-audit reads it once.
      expect(row(out, 'iam:GetPolicy')).toEqual([2, 1]);
      expect(row(out, 'iam:GetPolicyVersion')).toEqual([2, 1]);
      expect(row(out, 'iam:ListRoles')).toEqual([0, 1]);
      // kubectl: the ServiceAccounts once, then per ServiceAccount its own, its namespace's pods and
      // the webhook; irsa-audit lists each kind once. kubectl's discovery is cached per cluster.
      expect(row(out, 'k8s:serviceaccounts')).toEqual([1, 1]);
      expect(row(out, 'k8s:serviceaccounts:get')).toEqual([2, 0]);
      expect(row(out, 'k8s:pods')).toEqual([2, 1]);
      expect(row(out, 'k8s:mutatingwebhookconfigurations:get')).toEqual([2, 0]);
      expect(row(out, 'k8s:mutatingwebhookconfigurations')).toEqual([0, 1]);
      // irsa-audit lists the namespaces for the webhook's namespaceSelector (IRSA-063); the seeds never do.
      expect(row(out, 'k8s:namespaces')).toEqual([0, 1]);
      // ... and its managed node groups (IRSA-060/061): one ListNodegroups page, none described here.
      expect(row(out, 'eks:ListNodegroups')).toEqual([0, 1]);
      const discovery = row(out, 'k8s:discovery');
      expect(discovery?.[1]).toBe(0);
      expect(discovery?.[0]).toBeGreaterThanOrEqual(1);
      expect(discovery?.[0]).toBeLessThanOrEqual(10);

      const calls = /^API calls\s+(\d+)\s+(\d+)\s+([\d.]+)x$/m.exec(out);
      expect(calls).not.toBeNull();
      const [manual, audit, ratio] = [Number(calls?.[1]), Number(calls?.[2]), Number(calls?.[3])];
      expect([manual - (discovery?.[0] ?? 0), audit]).toEqual([24, 21]);
      expect(ratio).toBeCloseTo(manual / audit, 1);
      expect(out).toMatch(/^wall time\s+[\d.]+ s\s+[\d.]+ s\s+[\d.]+x$/m);
      // 6 aws per ServiceAccount, 6 more (assume-role, list-clusters, describe, 2 provider, get-token);
      // kubectl: 3 per ServiceAccount and the list.
      expect(out).toMatch(/^processes started\s+25\s+1\s+\(aws 18, kubectl 7\)$/m);
      expect(out).toMatch(
        /^ServiceAccounts: manual triaged 2 \(2 ok, 0 with a problem\); irsa-audit evaluated 2 \(IRSA-011 results\); the fleet has 2$/m,
      );
      expect(out).toMatch(
        /^found: manual 0 ServiceAccount\(s\) with a problem; irsa-audit 0 failing finding\(s\)$/m,
      );
      const checks = Number(/^irsa-audit: (\d+) checks run, \d+ of them evaluated here/m.exec(out)?.[1]);
      expect(checks).toBeGreaterThan(12);
      expect(out).toContain(
        `the manual triage answers 12 of the ${checks}: IRSA-001, IRSA-002, IRSA-003, IRSA-004,`,
      );
      expect(out).toMatch(
        new RegExp(
          `^it does not look at the other ${checks - 12}: IRSA-015, .*AUDIT-004 \\(\\d+ of them evaluated`,
          'm',
        ),
      );
      expect(out).toMatch(/^manual \/ irsa-audit: wall time [\d.]+x, API calls [\d.]+x$/m);
    },
  );
});
