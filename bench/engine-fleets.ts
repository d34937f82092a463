/**
 * The synthetic fleets `npm run bench` audits (bench/check-engine.bench.ts): one large cluster at
 * a chosen size, and a fleet shaped like an organisation's (many accounts, each with clusters in
 * two regions and its own iam.json). Every cluster is built the same way, so both shapes break in
 * the same proportions: one ServiceAccount in 50 has a typo in its role's trust (IRSA-013), one in
 * 20 has unmutated pods (IRSA-030), one role in 100 has no policies (IRSA-018), one ServiceAccount
 * in 50 also has a Pod Identity association (IRSA-021, PODID-001), one in 100 has the association
 * alone, without the IRSA annotation, and one in 200 such pods without the agent's variables
 * (PODID-005), one probe in 100 is refused (IRSA-040). Every cluster has what a collection writes
 * today, so that every check has work (test/bench-smoke.test.ts): EKS's webhook with its
 * selectors, the namespace list, the associations, add-ons, a node group (its role in iam.json,
 * beside the cluster's IRSA roles) and the live probe's outcomes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { base64, irsaTrustPolicy, oidcIdFor } from '#shared/testing/fleet-builder.ts';
import { CLUSTER_CA_A_PEM } from '#shared/testing/test-certificates.ts';

/** What EKS's Pod Identity webhook injects into a container of an associated ServiceAccount. */
const POD_IDENTITY_ENV = [
  { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' },
  {
    name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
    value: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
  },
];

export interface FleetShape {
  readonly accounts: number;
  readonly clustersPerAccount: number;
  /** Clusters of an account alternate between these regions. */
  readonly regions: readonly string[];
  readonly serviceAccountsPerCluster: number;
  readonly podsPerServiceAccount: number;
  readonly rolesPerCluster: number;
  /** ServiceAccount i of a cluster is in namespace `ns-<i % namespaces>`. */
  readonly namespaces: number;
  /**
   * One cluster in this many has its Pod Identity associations unreadable (collection-errors.json),
   * so that the engine's coverage is exercised as in a real collection. 0: no failed reads.
   */
  readonly failedReadEvery: number;
  /** One account in this many could not list one role's policies. 0: none. */
  readonly failedRoleReadEvery: number;
}

export interface FleetSize {
  readonly accounts: number;
  readonly clusters: number;
  readonly serviceAccounts: number;
  readonly pods: number;
  readonly roles: number;
}

/** The single-cluster case: `serviceAccounts` SAs with 10 pods each, sharing `roles` roles. */
export function singleCluster(serviceAccounts: number, roles: number): FleetShape {
  return {
    accounts: 1,
    clustersPerAccount: 1,
    regions: ['us-west-2'],
    serviceAccountsPerCluster: serviceAccounts,
    podsPerServiceAccount: 10,
    rolesPerCluster: roles,
    namespaces: 200,
    failedReadEvery: 0,
    failedRoleReadEvery: 0,
  };
}

/**
 * The fleet-shaped case: `clusters` clusters of 50 ServiceAccounts (10 pods each, 20 roles per
 * cluster: the single cluster's proportions), 20 clusters an account in two regions.
 */
export function organisation(clusters: number): FleetShape {
  const clustersPerAccount = Math.min(20, clusters);
  return {
    accounts: Math.max(1, Math.round(clusters / clustersPerAccount)),
    clustersPerAccount,
    regions: ['us-east-1', 'eu-west-1'],
    serviceAccountsPerCluster: 50,
    podsPerServiceAccount: 10,
    rolesPerCluster: 20,
    namespaces: 10,
    failedReadEvery: 100,
    failedRoleReadEvery: 10,
  };
}

export function sizeOf(shape: FleetShape): FleetSize {
  const clusters = shape.accounts * shape.clustersPerAccount;
  return {
    accounts: shape.accounts,
    clusters,
    serviceAccounts: clusters * shape.serviceAccountsPerCluster,
    pods: clusters * shape.serviceAccountsPerCluster * shape.podsPerServiceAccount,
    roles: clusters * shape.rolesPerCluster,
  };
}

const accountIdOf = (a: number) => `${200000000000 + a * 1111}`;

/** Writes the fleet as a snapshot directory (docs/fleet-format.md) under `dir`. */
export async function writeFleet(dir: string, shape: FleetShape): Promise<FleetSize> {
  let clusterIndex = 0;
  for (let a = 0; a < shape.accounts; a++) {
    const accountId = accountIdOf(a);
    const roles: unknown[] = [];
    const rolePolicies: Record<string, unknown> = {};
    const providers: unknown[] = [];
    for (let c = 0; c < shape.clustersPerAccount; c++, clusterIndex++) {
      const region = shape.regions[c % shape.regions.length] as string;
      const name = shape.accounts * shape.clustersPerAccount === 1 ? 'bench' : `cluster-${c}`;
      const issuer = `oidc.eks.${region}.amazonaws.com/id/${oidcIdFor(`${accountId}/${name}`)}`;
      const provider = `arn:aws:iam::${accountId}:oidc-provider/${issuer}`;
      providers.push({ Arn: provider, Url: issuer, ClientIDList: ['sts.amazonaws.com'] });
      const cluster = clusterObjects(shape, clusterIndex, { accountId, region, name, issuer, provider });
      roles.push(...cluster.roles);
      Object.assign(rolePolicies, cluster.rolePolicies);
      // The role of the cluster's node group (nodegroups.json), with EKS's worker policies.
      const nodeRole = `${name}-nodes`;
      roles.push({
        RoleName: nodeRole,
        Arn: `arn:aws:iam::${accountId}:role/${nodeRole}`,
        AssumeRolePolicyDocument: encodeURIComponent(
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
            ],
          }),
        ),
      });
      rolePolicies[nodeRole] = {
        AttachedPolicies: ['AmazonEKSWorkerNodePolicy', 'AmazonEC2ContainerRegistryReadOnly'].map((p) => ({
          PolicyName: p,
          PolicyArn: `arn:aws:iam::aws:policy/${p}`,
        })),
        PolicyNames: [],
      };
      const clusterDir = join(dir, accountId, region, name);
      await mkdir(clusterDir, { recursive: true });
      await writeFile(
        join(clusterDir, 'cluster.json'),
        JSON.stringify({
          cluster: {
            name,
            arn: `arn:aws:eks:${region}:${accountId}:cluster/${name}`,
            identity: { oidc: { issuer: `https://${issuer}` } },
            certificateAuthority: { data: base64(CLUSTER_CA_A_PEM) },
          },
        }),
      );
      await writeFile(
        join(clusterDir, 'kubernetes.json'),
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: cluster.items }),
      );
      const associationsFailed =
        shape.failedReadEvery > 0 && clusterIndex % shape.failedReadEvery === shape.failedReadEvery - 1;
      await writeClusterExtras(clusterDir, { accountId, name }, cluster, associationsFailed);
      if (associationsFailed) {
        await writeFile(
          join(clusterDir, 'collection-errors.json'),
          JSON.stringify({
            errors: [
              {
                api: 'eks:ListPodIdentityAssociations',
                code: 'AccessDeniedException',
                class: 'denied',
                status: 403,
                message: 'not authorized to perform: eks:ListPodIdentityAssociations',
              },
            ],
          }),
        );
      }
    }
    await writeFile(
      join(dir, accountId, 'iam.json'),
      JSON.stringify({ Roles: roles, OpenIDConnectProviders: providers, RolePolicies: rolePolicies }),
    );
    if (shape.failedRoleReadEvery > 0 && a % shape.failedRoleReadEvery === shape.failedRoleReadEvery - 1) {
      await writeFile(
        join(dir, accountId, 'collection-errors.json'),
        JSON.stringify({
          errors: [
            {
              api: 'iam:ListAttachedRolePolicies',
              code: 'AccessDenied',
              class: 'denied',
              status: 403,
              role: 'cluster-0-role-1',
              message: 'not authorized to perform: iam:ListAttachedRolePolicies',
            },
          ],
        }),
      );
    }
  }
  return sizeOf(shape);
}

/**
 * The files a collection writes beside a cluster's kubernetes.json, so that every check of the
 * catalogue has work (a check that finds nothing to judge would hide its cost): the Pod Identity
 * associations (unless their read failed), the add-ons with EKS's Pod Identity agent, one managed
 * node group whose launch template requires IMDSv2 with a hop limit of 1 (IRSA-060, 061), and the
 * live probe's outcomes.
 */
async function writeClusterExtras(
  clusterDir: string,
  where: { accountId: string; name: string },
  cluster: { associations: unknown[]; probes: unknown[] },
  associationsFailed: boolean,
): Promise<void> {
  const { accountId, name } = where;
  if (!associationsFailed) {
    await writeFile(
      join(clusterDir, 'pod-identity-associations.json'),
      JSON.stringify({ associations: cluster.associations }),
    );
  }
  await writeFile(
    join(clusterDir, 'addons.json'),
    JSON.stringify({
      addons: ['coredns', 'eks-pod-identity-agent', 'kube-proxy', 'vpc-cni'],
      described: [
        {
          addon: {
            addonName: 'eks-pod-identity-agent',
            clusterName: name,
            status: 'ACTIVE',
            addonVersion: 'v1.3.4-eksbuild.1',
            health: { issues: [] },
          },
        },
      ],
    }),
  );
  const template = { id: 'lt-0a1b2c3d4e5f60001', name: `${name}-general` };
  await writeFile(
    join(clusterDir, 'nodegroups.json'),
    JSON.stringify({
      nodegroups: ['general'],
      described: [
        {
          nodegroup: {
            nodegroupName: 'general',
            clusterName: name,
            status: 'ACTIVE',
            nodeRole: `arn:aws:iam::${accountId}:role/${name}-nodes`,
            amiType: 'AL2_x86_64',
            launchTemplate: { ...template, version: '1' },
          },
        },
      ],
      launchTemplateVersions: [
        {
          LaunchTemplateId: template.id,
          LaunchTemplateName: template.name,
          VersionNumber: 1,
          DefaultVersion: true,
          LaunchTemplateData: {
            MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
          },
        },
      ],
    }),
  );
  await writeFile(join(clusterDir, 'probes.json'), JSON.stringify({ results: cluster.probes }));
}

/** Orders objects by namespace, then name, by code unit (etcd's order of keys, as lists return them). */
function compareKeys(a: { namespace: string; name: string }, b: { namespace: string; name: string }): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** One cluster's roles (with their policies) and its Kubernetes items. */
function clusterObjects(
  shape: FleetShape,
  clusterIndex: number,
  where: { accountId: string; region: string; name: string; issuer: string; provider: string },
): {
  roles: unknown[];
  rolePolicies: Record<string, unknown>;
  items: unknown[];
  associations: unknown[];
  probes: unknown[];
} {
  const { accountId, issuer, provider } = where;
  // Role names are unique per account: prefix them with the cluster unless it is alone.
  const prefix = shape.clustersPerAccount * shape.accounts === 1 ? '' : `${where.name}-`;
  const roleName = (r: number) => `${prefix}role-${r}`;
  const roleArn = (r: number) => `arn:aws:iam::${accountId}:role/${roleName(r)}`;
  const sas = Array.from({ length: shape.serviceAccountsPerCluster }, (_, i) => ({
    namespace: `ns-${i % shape.namespaces}`,
    name: `sa-${i}`,
    role: i % shape.rolesPerCluster,
  }));
  // Proportions are taken over the fleet's SAs and roles, not each cluster's.
  const firstSa = clusterIndex * shape.serviceAccountsPerCluster;
  const firstRole = clusterIndex * shape.rolesPerCluster;
  const subjectsByRole = new Map<number, string[]>();
  sas.forEach((sa, i) => {
    // One SA in 50 gets a typo in its trust, so IRSA-013 has work to report.
    const typo = (firstSa + i) % 50 === 7;
    const subject = `system:serviceaccount:${sa.namespace}:${typo ? `${sa.name}x` : sa.name}`;
    const subjects = subjectsByRole.get(sa.role);
    if (subjects) subjects.push(subject);
    else subjectsByRole.set(sa.role, [subject]);
  });
  const roles = Array.from({ length: shape.rolesPerCluster }, (_, r) => ({
    RoleName: roleName(r),
    Arn: roleArn(r),
    AssumeRolePolicyDocument: encodeURIComponent(
      JSON.stringify(
        irsaTrustPolicy(provider, issuer, subjectsByRole.get(r) ?? ['system:serviceaccount:x:y']),
      ),
    ),
  }));
  const rolePolicies = Object.fromEntries(
    roles.map((role, i) => [
      role.RoleName,
      {
        AttachedPolicies:
          (firstRole + i) % 100 === 3 ? [] : [{ PolicyName: 'p', PolicyArn: 'arn:aws:iam::aws:policy/p' }],
        PolicyNames: [],
      },
    ]),
  );
  // One ServiceAccount in 10 asks for regional STS (IRSA-019, its pods' env: IRSA-032), one in 25
  // sets its token's lifetime (IRSA-020).
  // One ServiceAccount in 100 uses EKS Pod Identity alone: an association and no IRSA annotation
  // (PODID-005 judges its pods; half of those SAs' pods lack the agent's variables).
  const podIdentityOnly = (i: number) => (firstSa + i) % 100 === 55;
  const items: unknown[] = sas.map((sa, i) => ({
    kind: 'ServiceAccount',
    metadata: {
      namespace: sa.namespace,
      name: sa.name,
      annotations: podIdentityOnly(i)
        ? {}
        : {
            'eks.amazonaws.com/role-arn': roleArn(sa.role),
            ...((firstSa + i) % 10 === 3 ? { 'eks.amazonaws.com/sts-regional-endpoints': 'true' } : {}),
            ...((firstSa + i) % 25 === 4 ? { 'eks.amazonaws.com/token-expiration': '43200' } : {}),
          },
    },
  }));
  // One ServiceAccount in 50 also has an EKS Pod Identity association (IRSA-021, PODID-001..006),
  // and the live probe's outcome is recorded for every annotated one (IRSA-040), one in 100 refused.
  const associations = sas.flatMap((sa, i) =>
    (firstSa + i) % 50 === 5
      ? [
          {
            clusterName: where.name,
            namespace: sa.namespace,
            serviceAccount: sa.name,
            roleArn: roleArn(sa.role),
            associationArn: `arn:aws:eks:${where.region}:${accountId}:podidentityassociation/${where.name}/a-${i}`,
            associationId: `a-${i}`,
          },
        ]
      : [],
  );
  const probes = sas.flatMap((sa, i) => {
    if (podIdentityOnly(i)) return []; // the probe takes the annotated ServiceAccounts
    const refused = (firstSa + i) % 100 === 9;
    return {
      namespace: sa.namespace,
      serviceAccount: sa.name,
      roleArn: roleArn(sa.role),
      audience: 'sts.amazonaws.com',
      outcome: refused ? 'fail' : 'pass',
      errorCode: refused ? 'AccessDenied' : null,
      message: refused ? 'Not authorized to perform sts:AssumeRoleWithWebIdentity' : null,
      assumedRoleArn: refused
        ? null
        : `arn:aws:sts::${accountId}:assumed-role/${roleName(sa.role)}/irsa-audit-probe`,
    };
  });
  const pods: {
    metadata: { namespace: string; name: string; [field: string]: unknown };
    [field: string]: unknown;
  }[] = [];
  sas.forEach((sa, i) => {
    // One SA in 20 has pods the IRSA webhook did not mutate (IRSA-030).
    const irsaInjected = !podIdentityOnly(i) && (firstSa + i) % 20 !== 11;
    const env = podIdentityOnly(i)
      ? (firstSa + i) % 200 === 155
        ? [] // created before the association (PODID-005)
        : POD_IDENTITY_ENV
      : irsaInjected
        ? [
            { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
            { name: 'AWS_ROLE_ARN', value: roleArn(sa.role) },
            {
              name: 'AWS_WEB_IDENTITY_TOKEN_FILE',
              value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
            },
          ]
        : [];
    for (let p = 0; p < shape.podsPerServiceAccount; p++) {
      const deployment = `${sa.name}-d${p % 2}`;
      const hash = `h${p % 2}abc`;
      pods.push({
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
              env,
            },
          ],
          volumes: irsaInjected
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
  // In the order the API server lists them (by namespace, then name): a ReplicaSet's replicas
  // come one after another, as in a collection.
  pods.sort((a, b) => compareKeys(a.metadata, b.metadata));
  for (const pod of pods) items.push(pod);
  // EKS's webhook as the API server returns it: the selectors defaulted and recorded, as a
  // collection since they were kept writes them (IRSA-063 judges them against every pod).
  items.push({
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'pod-identity-webhook' },
    webhooks: [
      {
        name: 'iam-for-pods.amazonaws.com',
        clientConfig: { url: 'https://127.0.0.1:23443/mutate', caBundle: base64(CLUSTER_CA_A_PEM) },
        failurePolicy: 'Ignore',
        namespaceSelector: {},
        objectSelector: {
          matchExpressions: [
            { key: 'eks.amazonaws.com/skip-pod-identity-webhook', operator: 'DoesNotExist' },
          ],
        },
      },
    ],
  });
  // The namespace list (IRSA-063 reads the namespaces' labels).
  for (let n = 0; n < Math.min(shape.namespaces, shape.serviceAccountsPerCluster); n++) {
    items.push({
      kind: 'Namespace',
      metadata: { name: `ns-${n}`, labels: { 'kubernetes.io/metadata.name': `ns-${n}` } },
    });
  }
  return { roles, rolePolicies, items, associations, probes };
}
