/**
 * `irsa-audit enroll` end to end: the real CLI (child process) against the in-process emulator
 * serving a copy of examples/fleet in which `legacy` only accepts the aws-auth ConfigMap. The EKS
 * access entry goes through @aws-sdk/client-eks, the ClusterRole/Binding through client-node's
 * KubernetesObjectApi, both over real HTTP(S) on loopback; the tests read back what the emulator
 * stored, through its accessors and through the real clients.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAccessEntryCommand,
  DescribeAccessEntryCommand,
  ListAccessEntriesCommand,
  UpdateAccessEntryCommand,
} from '@aws-sdk/client-eks';
import {
  ApiException,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  type V1ClusterRole,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import {
  awsClients,
  emulatedCluster,
  kubernetesClients,
  kubernetesGet,
  managementCredentials,
} from '../emulator/testing.ts';
import { REPO_ROOT, runCliAsync } from './support/run-cli.ts';

const ACCOUNT = '210987654321';
const REGION = 'eu-west-1';
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/irsa-auditor`;
const READS = [
  'admissionregistration.k8s.io/mutatingwebhookconfigurations:get',
  'admissionregistration.k8s.io/mutatingwebhookconfigurations:list',
  'core/namespaces:list',
  'core/pods:get',
  'core/pods:list',
  'core/serviceaccounts:get',
  'core/serviceaccounts:list',
  'core/services:get',
  'discovery.k8s.io/endpointslices:list',
];
const WRITE_KEY = /^eks:(Create|Update|Delete|Associate)|^k8s:.+:(create|update|patch|delete)$/;

let emulator: Emulator;
const scratch = mkdtempSync(join(tmpdir(), 'irsa-enroll-'));

beforeAll(async () => {
  const fleetDir = join(scratch, 'fleet');
  cpSync(join(REPO_ROOT, 'examples/fleet'), fleetDir, { recursive: true });
  const legacyFile = join(fleetDir, ACCOUNT, REGION, 'legacy', 'cluster.json');
  const legacy = JSON.parse(readFileSync(legacyFile, 'utf8'));
  legacy.cluster.accessConfig = { authenticationMode: 'CONFIG_MAP' };
  writeFileSync(legacyFile, JSON.stringify(legacy));
  emulator = await startEmulator({ fleetDir });
});
afterAll(async () => {
  await emulator?.stop();
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.setFaults({});
  emulator.resetCounts();
});

function enroll(cluster: string, ...extra: string[]) {
  return runCliAsync(
    ['enroll', '--cluster', cluster, '--region', REGION, '--principal-arn', PRINCIPAL, ...extra],
    { env: { ...emulator.env, NODE_NO_WARNINGS: '1' } },
  );
}

const eks = () =>
  awsClients(emulator, managementCredentials(emulator), { region: REGION, maxAttempts: 1 }).eks;

async function kubernetes(cluster: string) {
  const { config } = await kubernetesClients(
    emulatedCluster(emulator, cluster),
    managementCredentials(emulator),
  );
  return {
    rbac: config.makeApiClient(RbacAuthorizationV1Api),
    objects: KubernetesObjectApi.makeApiClient(config),
  };
}

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
type Stored = {
  kind: string;
  metadata: { name: string; uid: string; resourceVersion: string };
  rules?: Rule[];
  roleRef?: unknown;
  subjects?: unknown;
};

const rbacOf = (cluster: string) => emulator.rbacObjects(cluster) as Stored[];
const grants = (roles: Stored[]) =>
  roles
    .filter((o) => o.kind === 'ClusterRole')
    .flatMap((o) => o.rules ?? [])
    .flatMap((r) =>
      r.resources.flatMap((res) => r.verbs.map((v) => `${r.apiGroups[0] || 'core'}/${res}:${v}`)),
    )
    .sort();
const writes = () => Object.keys(emulator.requestCounts()).filter((key) => WRITE_KEY.test(key));
const state = () =>
  JSON.stringify(
    emulator.clusters.map((c) => [emulator.accessEntries(c.name), emulator.rbacObjects(c.name)]),
  );

describe('irsa-audit enroll against the emulator', () => {
  it('creates the access entry and the read-only ClusterRole, bound to the group of the entry', async () => {
    const run = await enroll('batch');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`created the access entry for ${PRINCIPAL} (group irsa-auditor)`);
    expect(run.stdout).toContain('created ClusterRole/irsa-auditor');
    expect(run.stdout).toContain('created ClusterRoleBinding/irsa-auditor');
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/k8s-aws-v1\./);

    const entries = emulator.accessEntries('batch').filter((e) => e.principalArn === PRINCIPAL);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      clusterName: 'batch',
      kubernetesGroups: ['irsa-auditor'],
      type: 'STANDARD',
      // EKS's generated user name for a role: its assumed-role ARN with the session appended.
      username: `arn:aws:sts::${ACCOUNT}:assumed-role/irsa-auditor/{{SessionName}}`,
    });
    const described = await eks().send(
      new DescribeAccessEntryCommand({ clusterName: 'batch', principalArn: PRINCIPAL }),
    );
    expect(described.accessEntry?.kubernetesGroups).toEqual(['irsa-auditor']);
    expect(described.accessEntry?.accessEntryArn).toMatch(
      new RegExp(`^arn:aws:eks:${REGION}:${ACCOUNT}:access-entry/batch/role/${ACCOUNT}/irsa-auditor/`),
    );

    const stored = rbacOf('batch');
    expect(stored.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ClusterRole/irsa-auditor',
      'ClusterRoleBinding/irsa-auditor',
    ]);
    expect(grants(stored)).toEqual(READS);
    expect(stored[1]).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'irsa-auditor' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'irsa-auditor' }],
    });
    // What a Kubernetes client reads back is what was stored.
    const { rbac } = await kubernetes('batch');
    const role = await rbac.readClusterRole({ name: 'irsa-auditor' });
    expect(grants([role as Stored])).toEqual(READS);

    const counts = emulator.requestCounts();
    expect(counts['eks:CreateAccessEntry']).toBe(1);
    expect(counts['eks:UpdateAccessEntry']).toBeUndefined();
    expect(counts['k8s:batch:clusterroles:create']).toBe(1);
    expect(counts['k8s:batch:clusterrolebindings:create']).toBe(1);
  });

  it('--probe also grants create on serviceaccounts/token, in a ClusterRole of its own', async () => {
    const run = await enroll('checkout', '--probe');
    expect(run.status).toBe(0);
    const stored = rbacOf('checkout');
    expect(grants(stored)).toEqual([...READS, 'core/serviceaccounts/token:create'].sort());
    const probe = stored.filter((o) => o.metadata.name === 'irsa-auditor-probe');
    expect(probe.map((o) => o.kind)).toEqual(['ClusterRole', 'ClusterRoleBinding']);
    expect(grants(probe)).toEqual(['core/serviceaccounts/token:create']);
    expect(grants(stored.filter((o) => o.metadata.name === 'irsa-auditor'))).toEqual(READS);
  });

  it('is idempotent: a second run updates in place, no duplicate, and repairs drift', async () => {
    expect((await enroll('payments')).status).toBe(0);
    const [created] = emulator.accessEntries('payments');
    const roleBefore = rbacOf('payments').find((o) => o.kind === 'ClusterRole');
    // Someone changes the entry's groups and widens the role by hand.
    await eks().send(
      new UpdateAccessEntryCommand({
        clusterName: 'payments',
        principalArn: PRINCIPAL,
        kubernetesGroups: ['x'],
      }),
    );
    const { rbac } = await kubernetes('payments');
    const widened = (await rbac.readClusterRole({ name: 'irsa-auditor' })) as V1ClusterRole;
    widened.rules = [...(widened.rules ?? []), { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }];
    await rbac.replaceClusterRole({ name: 'irsa-auditor', body: widened });
    expect(grants(rbacOf('payments'))).toContain('core/secrets:get');

    const second = await enroll('payments');
    expect(second.status).toBe(0);
    expect(second.stdout).toContain(`updated the existing access entry for ${PRINCIPAL}`);
    expect(second.stdout).toContain('replaced ClusterRole/irsa-auditor');
    expect(second.stdout).toContain('replaced ClusterRoleBinding/irsa-auditor');

    const listed = await eks().send(new ListAccessEntriesCommand({ clusterName: 'payments' }));
    expect(listed.accessEntries).toEqual([PRINCIPAL]);
    const entries = emulator.accessEntries('payments');
    expect(entries).toHaveLength(1);
    expect(entries[0]?.kubernetesGroups).toEqual(['irsa-auditor']);
    expect(entries[0]?.accessEntryArn).toBe(created?.accessEntryArn);
    const stored = rbacOf('payments');
    expect(stored).toHaveLength(2);
    expect(grants(stored)).toEqual(READS);
    const roleAfter = stored.find((o) => o.kind === 'ClusterRole');
    expect(roleAfter?.metadata.uid).toBe(roleBefore?.metadata.uid);
    expect(Number(roleAfter?.metadata.resourceVersion)).toBeGreaterThan(
      Number(roleBefore?.metadata.resourceVersion),
    );
  });

  it('--dry-run prints the plan and makes no write request', async () => {
    const before = state();
    const run = await enroll('batch', '--dry-run');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      `aws eks create-access-entry --cluster-name batch --region ${REGION} --principal-arn ${PRINCIPAL} --kubernetes-groups irsa-auditor`,
    );
    expect(run.stdout).toContain(
      `aws eks update-cluster-config --name batch --region ${REGION} --access-config authenticationMode=API_AND_CONFIG_MAP`,
    );
    expect(run.stdout).toContain('kind: ClusterRole\n');
    expect(run.stdout).toContain('kind: ClusterRoleBinding');
    expect(run.stdout).not.toContain('serviceaccounts/token');
    expect(writes()).toEqual([]);
    expect(state()).toBe(before);
  });

  it('refuses a cluster that only accepts the aws-auth ConfigMap, naming it and the fix', async () => {
    const run = await enroll('legacy');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('cluster legacy only accepts the aws-auth ConfigMap');
    expect(run.stderr).toContain(
      `aws eks update-cluster-config --name legacy --region ${REGION} --access-config authenticationMode=API_AND_CONFIG_MAP`,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(writes()).toEqual([]);
    expect(emulator.accessEntries('legacy')).toEqual([]);
    expect(emulator.rbacObjects('legacy')).toEqual([]);
  });

  it('reports an unknown cluster clearly, with exit code 2', async () => {
    const run = await enroll('no-such-cluster');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`no EKS cluster no-such-cluster in ${REGION}`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
    expect(writes()).toEqual([]);
  });

  it('reports a cluster that refuses the token by name, without printing the token', async () => {
    emulator.setFaults({ forbiddenClusters: ['batch'] });
    const run = await enroll('batch');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      'cluster batch refused to apply ClusterRole/irsa-auditor: HTTP 401 Unauthorized',
    );
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/k8s-aws-v1\./);
  });
});

describe("the emulator's access entry and RBAC endpoints", () => {
  it('answers as EKS: 409 for a second entry, 404 for a missing one, CONFIG_MAP refused', async () => {
    const client = eks();
    // A role with a path: the ARN travels URL-encoded; the generated user name drops the path.
    const viewer = `arn:aws:iam::${ACCOUNT}:role/teams/platform/viewer`;
    const input = { clusterName: 'checkout', principalArn: viewer, kubernetesGroups: ['viewers'] };
    await client.send(new CreateAccessEntryCommand(input));
    await expect(client.send(new CreateAccessEntryCommand(input))).rejects.toMatchObject({
      name: 'ResourceInUseException',
      $metadata: { httpStatusCode: 409 },
    });
    const described = await client.send(
      new DescribeAccessEntryCommand({ clusterName: 'checkout', principalArn: viewer }),
    );
    expect(described.accessEntry?.username).toBe(
      `arn:aws:sts::${ACCOUNT}:assumed-role/viewer/{{SessionName}}`,
    );
    expect(described.accessEntry?.createdAt).toBeInstanceOf(Date);
    await expect(
      client.send(
        new DescribeAccessEntryCommand({ clusterName: 'checkout', principalArn: `${viewer}-missing` }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
    await expect(
      client.send(
        new CreateAccessEntryCommand({
          clusterName: 'checkout',
          principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/viewer/session`,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      client.send(new CreateAccessEntryCommand({ clusterName: 'legacy', principalArn: viewer })),
    ).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message:
        "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
    });
  });

  it('serves ClusterRoles with Status errors, server-side apply, and counts every write', async () => {
    const { rbac, objects } = await kubernetes('checkout');
    const { token } = await kubernetesClients(
      emulatedCluster(emulator, 'checkout'),
      managementCredentials(emulator),
    );
    const missing = await kubernetesGet(
      emulatedCluster(emulator, 'checkout'),
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/not-there',
      token,
    );
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      code: 404,
      message: 'clusterroles.rbac.authorization.k8s.io "not-there" not found',
    });

    const body = {
      metadata: { name: 'emulator-test' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
    };
    await rbac.createClusterRole({ body });
    const conflict = await rbac.createClusterRole({ body }).catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(ApiException);
    expect((conflict as ApiException<string>).code).toBe(409);
    expect(JSON.parse((conflict as ApiException<string>).body)).toMatchObject({
      reason: 'AlreadyExists',
      message: 'clusterroles.rbac.authorization.k8s.io "emulator-test" already exists',
    });

    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'emulator-test' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'emulator-test' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'testers' }],
    };
    const apply = (spec: typeof binding) =>
      objects.patch(spec, undefined, undefined, 'emulator-test', true, PatchStrategy.ServerSideApply);
    await apply(binding);
    expect(
      rbacOf('checkout').find((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'emulator-test'),
    ).toMatchObject({ subjects: binding.subjects });
    const changed = await apply({ ...binding, roleRef: { ...binding.roleRef, name: 'other' } }).catch(
      (error: unknown) => error,
    );
    expect((changed as ApiException<string>).code).toBe(422);
    expect(JSON.parse((changed as ApiException<string>).body).message).toMatch(/cannot change roleRef/);

    const counts = emulator.requestCounts();
    expect(counts['k8s:checkout:clusterroles:create']).toBe(2);
    expect(counts['k8s:checkout:clusterrolebindings:patch']).toBe(2);
    expect(counts['k8s:checkout:clusterroles:get']).toBe(1);
  });
});
