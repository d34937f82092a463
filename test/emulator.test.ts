/** The emulator against the REAL AWS SDK v3 clients and the REAL @kubernetes/client-node (real HTTP, real TLS). */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListRegionsCommand } from '@aws-sdk/client-account';
import {
  DescribeClusterCommand,
  DescribePodIdentityAssociationCommand,
  ListClustersCommand,
  ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks';
import {
  GetOpenIDConnectProviderCommand,
  ListAttachedRolePoliciesCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolesCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { ListAccountsCommand } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ApisApi, CoreApi } from '@kubernetes/client-node';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import {
  assumeRoleIn,
  awsClients,
  emulatedCluster,
  failure,
  kubernetesClients,
  kubernetesGet,
  managementCredentials,
  type SdkFailure,
} from '../emulator/testing.ts';

const FLEET = 'examples/fleet';
const MANAGEMENT = '210987654321';
const SECOND = '345678901234';

/** The Kubernetes Status of a client-node ApiException. */
function statusOf(error: SdkFailure): { reason?: string; message?: string } {
  return typeof error.body === 'string' ? JSON.parse(error.body) : (error.body as object);
}

describe('emulator: AWS APIs through the SDK v3 clients', () => {
  let emulator: Emulator;
  let second: AwsCredentialIdentity;
  beforeAll(async () => {
    emulator = await startEmulator({ fleetDir: FLEET });
    second = await assumeRoleIn(emulator, SECOND);
  });
  afterAll(() => emulator.stop());

  it('assumes a role in the second account and knows who the caller is', async () => {
    const { sts } = awsClients(emulator, managementCredentials(emulator));
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe(MANAGEMENT);
    expect(emulator.managementAccountId).toBe(MANAGEMENT);
    expect(second.accessKeyId).toMatch(/^ASIA/);
    expect(emulator.secretAccessKeyFor(second.accessKeyId)).toBe(second.secretAccessKey);
    const who = await awsClients(emulator, second).sts.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:sts::${SECOND}:assumed-role/irsa-auditor/audit`);
  });

  it('lists the roles page by page with their trust policies URL-encoded, as IAM does', async () => {
    const { iam } = awsClients(emulator, second);
    const snapshot = JSON.parse(await readFile(join(FLEET, SECOND, 'iam.json'), 'utf8'));
    const roles: Role[] = [];
    let marker: string | undefined;
    do {
      const response = await iam.send(new ListRolesCommand({ MaxItems: 2, Marker: marker }));
      expect(response.Roles?.length).toBeLessThanOrEqual(2);
      roles.push(...(response.Roles ?? []));
      marker = response.IsTruncated ? response.Marker : undefined;
    } while (marker);
    expect(roles.map((role) => role.RoleName)).toEqual(snapshot.Roles.map((role: Role) => role.RoleName));
    expect(roles[2]?.CreateDate).toEqual(new Date('2025-06-04T09:12:05Z'));
    const decoded = JSON.parse(decodeURIComponent(roles[0]?.AssumeRolePolicyDocument ?? ''));
    expect(decoded.Statement[0].Principal).toEqual({ Service: 'eks.amazonaws.com' });
    // Stored as a broken JSON string: served URL-encoded and still broken.
    const broken = roles.find((role) => role.RoleName === 'ml-broken-trust')?.AssumeRolePolicyDocument;
    expect(() => JSON.parse(decodeURIComponent(broken ?? ''))).toThrow();
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'ml-s3-reader' }));
    expect(attached.AttachedPolicies?.map((p) => p.PolicyName)).toEqual(['ml-s3-reader-bucket']);
    const missing = await failure(iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'nope' })));
    expect([missing.name, missing.$metadata?.httpStatusCode]).toEqual(['NoSuchEntityException', 404]);
  });

  it('lists and gets OIDC providers', async () => {
    const { iam } = awsClients(emulator, second);
    const list = (await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList;
    expect(list).toHaveLength(2);
    const provider = await iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: list?.[0]?.Arn }),
    );
    expect(provider.Url).toBe('oidc.eks.us-east-1.amazonaws.com/id/32666DD136FAC9913E750F410625A02E');
    expect(provider.ClientIDList).toEqual(['sts.amazonaws.com']);
    expect(provider.Tags?.[0]).toEqual({ Key: 'alpha.eksctl.io/cluster-name', Value: 'ml-platform' });
    expect(provider.CreateDate).toEqual(new Date('2025-06-02T18:25:40Z'));
  });

  it('lists clusters per region and describes them with the emulator endpoint and CA', async () => {
    const europe = awsClients(emulator, managementCredentials(emulator), { region: 'eu-west-1' }).eks;
    const page1 = await europe.send(new ListClustersCommand({ maxResults: 3 }));
    expect(page1.clusters).toEqual(['batch', 'checkout', 'legacy']);
    const page2 = await europe.send(new ListClustersCommand({ nextToken: page1.nextToken }));
    expect([page2.clusters, page2.nextToken]).toEqual([['payments'], undefined]);
    const { eks } = awsClients(emulator, second);
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: 'ml-platform' }));
    const target = emulatedCluster(emulator, 'ml-platform');
    expect(cluster?.endpoint).toBe(target.endpoint);
    expect(Buffer.from(cluster?.certificateAuthority?.data ?? '', 'base64').toString()).toBe(target.caPem);
    expect(cluster?.createdAt).toEqual(new Date('2025-06-02T18:03:12.512Z'));
    expect(cluster?.identity?.oidc?.issuer).toContain('32666DD136FAC9913E750F410625A02E');
    const absent = await failure(eks.send(new DescribeClusterCommand({ name: 'payments' })));
    expect(absent.name).toBe('ResourceNotFoundException');
    const clusterName = 'ml-platform';
    const { associations } = await eks.send(new ListPodIdentityAssociationsCommand({ clusterName }));
    const associationId = associations?.[0]?.associationId;
    expect(associations?.[0]).toMatchObject({ namespace: 'data', serviceAccount: 'feature-store' });
    const { association } = await eks.send(
      new DescribePodIdentityAssociationCommand({ clusterName, associationId }),
    );
    expect(association?.roleArn).toBe(`arn:aws:iam::${SECOND}:role/ml-feature-store-pod-identity`);
  });

  it('lists the organization accounts and the enabled regions', async () => {
    const { organizations, account } = awsClients(emulator, managementCredentials(emulator));
    const { Accounts } = await organizations.send(new ListAccountsCommand({}));
    expect(Accounts?.map((a) => `${a.Id} ${a.Status}`)).toEqual([`${MANAGEMENT} ACTIVE`, `${SECOND} ACTIVE`]);
    const RegionOptStatusContains = ['ENABLED' as const, 'ENABLED_BY_DEFAULT' as const];
    const { Regions } = await account.send(new ListRegionsCommand({ RegionOptStatusContains }));
    expect(Regions).toEqual([{ RegionName: 'eu-west-1', RegionOptStatus: 'ENABLED_BY_DEFAULT' }]);
    const member = awsClients(emulator, second).organizations;
    expect((await failure(member.send(new ListAccountsCommand({})))).name).toBe('AccessDeniedException');
  });

  it('injects throttling, server errors and AssumeRole denials, and counts every call', async () => {
    const options = { region: 'eu-west-1', maxAttempts: 1 };
    const once = awsClients(emulator, managementCredentials(emulator), options);
    const retrying = awsClients(emulator, managementCredentials(emulator), { region: 'eu-west-1' });
    emulator.setFaults({
      throttle: { 'iam:ListRoles': 1, 'eks:ListClusters': 1, 'organizations:ListAccounts': 1 },
      serverErrors: { 'iam:ListRoles': 1 },
      deniedAccounts: [SECOND],
    });
    emulator.resetCounts();
    expect((await failure(once.iam.send(new ListRolesCommand({})))).name).toBe('Throttling');
    const serverError = await failure(once.iam.send(new ListRolesCommand({})));
    expect([serverError.name, serverError.$metadata?.httpStatusCode]).toEqual([
      'ServiceFailureException',
      500,
    ]);
    expect((await once.iam.send(new ListRolesCommand({}))).Roles?.length).toBeGreaterThan(0);
    expect((await failure(once.eks.send(new ListClustersCommand({})))).name).toBe('ThrottlingException');
    expect((await retrying.organizations.send(new ListAccountsCommand({}))).Accounts).toHaveLength(2);
    const RoleArn = `arn:aws:iam::${SECOND}:role/x`;
    const denied = await failure(once.sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'audit' })));
    expect(denied.name).toBe('AccessDenied');
    expect(emulator.requestCounts()).toEqual({
      'eks:ListClusters': 1,
      'iam:ListRoles': 3,
      'organizations:ListAccounts': 2,
      'sts:AssumeRole': 1,
    });
    emulator.setFaults({});
  });
});

describe('emulator: Kubernetes APIs through @kubernetes/client-node', () => {
  let emulator: Emulator;
  let second: AwsCredentialIdentity;
  beforeAll(async () => {
    emulator = await startEmulator({ fleetDir: FLEET });
    second = await assumeRoleIn(emulator, SECOND);
  });
  afterAll(() => emulator.stop());

  it('pages pods with limit and continue, as the API server does', async () => {
    const { core } = await kubernetesClients(emulatedCluster(emulator, 'ml-platform'), second);
    const first = await core.listPodForAllNamespaces({ limit: 5 });
    expect([first.kind, first.items.length, first.metadata?.remainingItemCount]).toEqual(['PodList', 5, 10]);
    const names = first.items.map((pod) => pod.metadata?.name);
    let cont = first.metadata?._continue;
    while (cont) {
      const next = await core.listPodForAllNamespaces({ limit: 5, _continue: cont });
      names.push(...next.items.map((pod) => pod.metadata?.name));
      cont = next.metadata?._continue;
    }
    expect(names).toHaveLength(15);
    expect(new Set(names).size).toBe(15);
    const accounts = await core.listServiceAccountForAllNamespaces({ limit: 2 });
    expect([accounts.kind, accounts.items.length]).toEqual(['ServiceAccountList', 2]);
  });

  it('rewrites webhook caBundles that equal the cluster CA, and only those', async () => {
    const credentials = managementCredentials(emulator);
    const bundleOf = async (name: string) => {
      const { admission } = await kubernetesClients(emulatedCluster(emulator, name), credentials);
      const list = await admission.listMutatingWebhookConfiguration({});
      const webhook = list.items.find((item) => item.metadata?.name === 'pod-identity-webhook');
      return Buffer.from(webhook?.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString();
    };
    expect(await bundleOf('payments')).toBe(emulatedCluster(emulator, 'payments').caPem);
    expect(await bundleOf('checkout')).toContain('BEGIN CERTIFICATE');
    expect(await bundleOf('checkout')).not.toBe(emulatedCluster(emulator, 'checkout').caPem);
  });

  it('answers a TokenRequest for a known service account, 404 otherwise', async () => {
    const { core } = await kubernetesClients(emulatedCluster(emulator, 'ml-platform'), second);
    const body = { spec: { audiences: ['sts.amazonaws.com'], expirationSeconds: 3600 } };
    const issued = await core.createNamespacedServiceAccountToken({
      name: 's3-writer',
      namespace: 'data',
      body,
    });
    const claims = JSON.parse(Buffer.from(issued.status?.token.split('.')[1] ?? '', 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'system:serviceaccount:data:s3-writer', aud: ['sts.amazonaws.com'] });
    expect(claims.iss).toContain('oidc.eks.us-east-1.amazonaws.com');
    const ghost = { name: 'ghost', namespace: 'data', body };
    expect((await failure(core.createNamespacedServiceAccountToken(ghost))).code).toBe(404);
  });

  it('answers what kubectl asks: discovery, one object by name, its namespace, 404s as kube-apiserver words them', async () => {
    const mlPlatform = emulatedCluster(emulator, 'ml-platform');
    const { config, core, admission } = await kubernetesClients(mlPlatform, second);
    emulator.resetCounts();
    expect((await config.makeApiClient(CoreApi).getAPIVersions()).versions).toEqual(['v1']);
    const groups = await config.makeApiClient(ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.preferredVersion?.groupVersion).sort()).toEqual([
      'admissionregistration.k8s.io/v1',
      'rbac.authorization.k8s.io/v1',
    ]);
    const v1 = await core.getAPIResources();
    expect(v1.resources.map((r) => [r.name, r.namespaced, r.shortNames ?? []])).toEqual([
      ['namespaces', false, ['ns']],
      ['pods', true, ['po']],
      ['serviceaccounts', true, ['sa']],
      ['serviceaccounts/token', true, []],
    ]);
    const admissionResources = await admission.getAPIResources();
    expect(admissionResources.resources.map((r) => [r.name, r.verbs])).toEqual([
      ['mutatingwebhookconfigurations', ['get', 'list']],
    ]);

    const sa = await core.readNamespacedServiceAccount({ name: 's3-writer', namespace: 'data' });
    expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\//);
    const pod = await core.readNamespacedPod({ name: 'jupyter-0', namespace: 'notebooks' });
    expect([pod.metadata?.name, pod.spec?.serviceAccountName]).toEqual(['jupyter-0', 'jupyter']);
    const webhook = await admission.readMutatingWebhookConfiguration({ name: 'pod-identity-webhook' });
    // The same caBundle rewrite as the list's.
    expect(Buffer.from(webhook.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString()).toBe(
      mlPlatform.caPem,
    );
    expect((await core.readNamespace({ name: 'data' })).status?.phase).toBe('Active');

    // The same name in another namespace is another object; kubectl then asks for the namespace.
    const elsewhere = await failure(
      core.readNamespacedServiceAccount({ name: 's3-writer', namespace: 'shared' }),
    );
    expect([elsewhere.code, statusOf(elsewhere)]).toMatchObject([
      404,
      { reason: 'NotFound', message: 'serviceaccounts "s3-writer" not found' },
    ]);
    const noNamespace = await failure(core.readNamespace({ name: 'nowhere' }));
    expect(statusOf(noNamespace).message).toBe('namespaces "nowhere" not found');
    const noWebhook = await failure(admission.readMutatingWebhookConfiguration({ name: 'iam-for-pod' }));
    expect(statusOf(noWebhook).message).toBe(
      'mutatingwebhookconfigurations.admissionregistration.k8s.io "iam-for-pod" not found',
    );
    expect(emulator.requestCounts()).toEqual({
      'k8s:ml-platform:discovery': 4,
      'k8s:ml-platform:mutatingwebhookconfigurations:get': 2,
      'k8s:ml-platform:namespaces:get': 2,
      'k8s:ml-platform:pods:get': 1,
      'k8s:ml-platform:serviceaccounts:get': 2,
    });
  });

  it("refuses a wrong CA, a token for another cluster and another account's credentials", async () => {
    const payments = emulatedCluster(emulator, 'payments');
    const credentials = managementCredentials(emulator);
    const caPem = emulatedCluster(emulator, 'checkout').caPem;
    const wrongCa = await kubernetesClients(payments, credentials, { caPem });
    expect(String(await failure(wrongCa.core.listPodForAllNamespaces({})))).toMatch(/certificate|issuer/i);
    const otherCluster = await kubernetesClients(payments, credentials, { tokenFor: 'checkout' });
    expect((await failure(otherCluster.core.listPodForAllNamespaces({}))).code).toBe(401);
    // client-node drops the body of a 401: read the Status directly.
    const refused = await kubernetesGet(payments, '/api/v1/pods', otherCluster.token);
    expect([refused.status, refused.body.reason]).toEqual([401, 'Unauthorized']);
    expect(refused.body.message).toContain('another cluster');
    expect(refused.text).not.toContain(otherCluster.token.slice(11, 40));
    const mlPlatform = emulatedCluster(emulator, 'ml-platform');
    const foreign = await kubernetesClients(mlPlatform, credentials);
    expect((await kubernetesGet(mlPlatform, '/api/v1/pods', foreign.token)).body.message).toContain(
      `credentials of account ${MANAGEMENT} cannot access cluster in account ${SECOND}`,
    );
  });

  it('injects 429, 500 and 410 Expired, refuses connections and answers 401 as configured', async () => {
    const { core } = await kubernetesClients(emulatedCluster(emulator, 'ml-platform'), second);
    emulator.setFaults({
      throttle: { 'k8s:ml-platform:pods': 1 },
      serverErrors: { 'k8s:ml-platform:pods': 1 },
      expireContinue: { 'k8s:ml-platform:pods': 1 },
    });
    emulator.resetCounts();
    const throttled = await failure(core.listPodForAllNamespaces({ limit: 5 }));
    expect([throttled.code, statusOf(throttled).reason]).toEqual([429, 'TooManyRequests']);
    expect((await failure(core.listPodForAllNamespaces({ limit: 5 }))).code).toBe(500);
    const next = {
      limit: 5,
      _continue: (await core.listPodForAllNamespaces({ limit: 5 })).metadata?._continue,
    };
    const expired = await failure(core.listPodForAllNamespaces(next));
    expect([expired.code, statusOf(expired).reason]).toEqual([410, 'Expired']);
    expect((await core.listPodForAllNamespaces(next)).items).toHaveLength(5);
    expect(emulator.requestCounts()).toEqual({ 'k8s:ml-platform:pods': 5 });

    emulator.setFaults({ unreachableClusters: ['ml-platform'], forbiddenClusters: ['payments'] });
    expect(String((await failure(core.listPodForAllNamespaces({}))).message)).toMatch(/ECONNREFUSED/);
    const payments = emulatedCluster(emulator, 'payments');
    const { core: forbidden } = await kubernetesClients(payments, managementCredentials(emulator));
    expect((await failure(forbidden.listServiceAccountForAllNamespaces({}))).code).toBe(401);
    emulator.setFaults({});
    expect((await core.listPodForAllNamespaces({})).items).toHaveLength(15);
  });
});

describe('emulator: a snapshot with a kind not collected and an ExternalId', () => {
  let emulator: Emulator;
  let fleetDir: string;
  beforeAll(async () => {
    fleetDir = await mkdtemp(join(tmpdir(), 'emulator-fleet-'));
    await cp(FLEET, fleetDir, { recursive: true });
    const file = join(fleetDir, MANAGEMENT, 'eu-west-1', 'payments', 'kubernetes.json');
    const kubernetes = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...kubernetes, collected: ['ServiceAccount', 'Pod'] }));
    await writeFile(join(fleetDir, 'emulator.json'), JSON.stringify({ externalId: 'audit-2025' }));
    emulator = await startEmulator({ fleetDir });
  });
  afterAll(async () => {
    await emulator.stop();
    await rm(fleetDir, { recursive: true, force: true });
  });

  it('answers 403 Forbidden for the list of a kind that was not collected', async () => {
    const payments = emulatedCluster(emulator, 'payments');
    const { admission, core } = await kubernetesClients(payments, managementCredentials(emulator));
    const forbidden = await failure(admission.listMutatingWebhookConfiguration({}));
    expect([forbidden.code, statusOf(forbidden).reason]).toEqual([403, 'Forbidden']);
    expect((await core.listServiceAccountForAllNamespaces({})).items.length).toBeGreaterThan(0);
  });

  it('requires the ExternalId of emulator.json to assume a role', async () => {
    expect((await failure(assumeRoleIn(emulator, SECOND))).name).toBe('AccessDenied');
    const wrong = await failure(assumeRoleIn(emulator, SECOND, { externalId: 'guess' }));
    expect(wrong.name).toBe('AccessDenied');
    const assumed = await assumeRoleIn(emulator, SECOND, { externalId: 'audit-2025' });
    expect(assumed.accessKeyId).toMatch(/^ASIA/);
  });
});
