/**
 * Writes `examples/cross-account-fleet/`: a fleet snapshot (format: docs/fleet-format.md) built to stress
 * cross-account IRSA, with `expected-findings.json` (every failing finding the check catalogue implies for
 * it, and nothing else) and a README that tells each story. It reuses the sample fleet's helpers
 * (scripts/make-sample-fleet.ts), so certificates, webhooks, kube-system and pods are as EKS leaves them and
 * every in-cluster link is healthy: what fails is the cross-account part of each chain.
 *
 * Three audited accounts, the way an organisation with a central data account lays them out:
 * - 444455556666 (shared data): the roles that the other accounts' ServiceAccounts use, the OIDC providers
 *   for the clusters it trusts, and a cluster of its own (`platform`, eu-west-1).
 * - 777788889999 (apps): `prod` in eu-west-1.
 * - 246802468024 (analytics): another `prod` in eu-west-1 (same name, same region: the pipeline audits
 *   each in its own account's unit and must keep their findings apart), and `ml` in us-east-1.
 * A fourth account, 999900001111 (a partner), is named by a ServiceAccount but not audited.
 *
 * The nightly pipeline audits one account per message and shares per-account views so that these are
 * evaluated exactly as `irsa-audit check` does on the whole directory (test/pipeline-equals-check.test.ts).
 *
 * Deterministic: no clock, no randomness. Run: `npx tsx scripts/make-cross-account-fleet.ts`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CLUSTER_CA_A_PEM,
  CLUSTER_CA_B_PEM,
  CLUSTER_CA_C_PEM,
  CLUSTER_CA_D_PEM,
  CLUSTER_CA_E_PEM,
} from '#shared/testing/test-certificates.ts';
import {
  type Account,
  addClusterRoles,
  addOidcProvider,
  addRole,
  awsManaged,
  type Cluster,
  type ClusterSnapshot,
  customerManaged,
  deploymentPods,
  describeCluster,
  type ExpectedFinding,
  ecrImage,
  expectedFindings,
  expectFinding,
  fakeHex,
  iamJson,
  irsa,
  irsaTrust,
  issuerHost,
  type JsonObject,
  kubernetesList,
  kubeSystem,
  newAccount,
  onCluster,
  ROLE_ARN_ANNOTATION,
  roleArn,
  serviceAccount,
  statefulSetPods,
  subject,
  trustPolicy,
  twoNodes,
  webhookConfigurations,
  webIdentityStatement,
  writeJson,
} from './make-sample-fleet.ts';

const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'cross-account-fleet');

const SHARED = newAccount('444455556666');
const APPS = newAccount('777788889999');
const ANALYTICS = newAccount('246802468024');
/** A partner's account: named by a ServiceAccount, not in the fleet, so never evaluated. */
const PARTNER_ID = '999900001111';

/** The issuer id of a cluster, derived from its place (EKS makes one up; so do we, deterministically). */
function oidcId(accountId: string, region: string, name: string): string {
  return fakeHex(`oidc/${accountId}/${region}/${name}`, 32).toUpperCase();
}

function cluster(
  account: Account,
  region: string,
  name: string,
  caPem: string,
  createdAt: string,
  tags: Record<string, string>,
  endpointAccess?: Cluster['endpointAccess'],
): Cluster {
  return {
    ...(endpointAccess ? { endpointAccess } : {}),
    accountId: account.id,
    region,
    name,
    oidcId: oidcId(account.id, region, name),
    caPem,
    version: '1.32',
    platformVersion: 'eks.9',
    createdAt,
    tags,
    nodeIps: twoNodes(`${account.id}/${name}`),
  };
}

const appsProd = cluster(APPS, 'eu-west-1', 'prod', CLUSTER_CA_A_PEM, '2025-03-03T09:12:40Z', {
  team: 'apps',
  env: 'prod',
});
const analyticsProd = cluster(ANALYTICS, 'eu-west-1', 'prod', CLUSTER_CA_B_PEM, '2025-04-14T13:30:05Z', {
  team: 'analytics',
  env: 'prod',
});
// The endpoints: both `prod` clusters are private only (the pipeline audits them from a network
// auditor in their VPC, shared/pipeline/routing.ts); `platform` is public and private, the two `ml`
// clusters public only (the hub's default auditor reads them over the internet).
const analyticsMl = cluster(
  ANALYTICS,
  'us-east-1',
  'ml',
  CLUSTER_CA_D_PEM,
  '2025-06-23T08:02:51Z',
  { team: 'analytics', env: 'prod' },
  { public: true, private: false },
);
/** analytics' second cluster in us-east-1, healthy, its roles in its own account: a part reads them from its lead's view. */
const analyticsMlBatch = cluster(
  ANALYTICS,
  'us-east-1',
  'ml-batch',
  CLUSTER_CA_E_PEM,
  '2025-09-02T16:21:07Z',
  { team: 'analytics', env: 'prod' },
  { public: true, private: false },
);
const sharedPlatform = cluster(
  SHARED,
  'eu-west-1',
  'platform',
  CLUSTER_CA_C_PEM,
  '2025-01-20T10:44:18Z',
  { team: 'platform', env: 'prod' },
  { public: true, private: true, cidrs: ['0.0.0.0/0'] },
);
/** apps' `staging`, deleted in October: the shared account still has its provider and a role trusting it. */
const DELETED_STAGING_HOST = `oidc.eks.eu-west-1.amazonaws.com/id/${oidcId(APPS.id, 'eu-west-1', 'staging')}`;

// ---------------------------------------------------------------------------------------------------------
// Expected findings, each with the story row of the README it belongs to. A role-scope finding about a
// shared role carries the shared account but belongs to the row of the cluster its trust names.

const rowOf = new Map<ExpectedFinding, string>();

function expectOn(
  row: string,
  checkId: string,
  where: Parameters<typeof expectFinding>[1],
  why: string,
): void {
  expectFinding(checkId, where, why);
  const added = expectedFindings.at(-1);
  if (added) rowOf.set(added, row);
}

const rowKey = (c: Cluster): string => `${c.accountId}/${c.region}/${c.name}`;

/** A role-scope finding about a shared role and the cluster `c` of another account that its trust names. */
function onSharedRole(c: Cluster, roleName: string) {
  return { accountId: SHARED.id, region: c.region, cluster: c.name, roleName };
}

// ---------------------------------------------------------------------------------------------------------
// Kubernetes helpers: one annotated ServiceAccount and the Deployment that runs as it, mutated by a
// healthy webhook (so AWS_ROLE_ARN is exactly the annotation, whichever account the role is in).

function annotatedWorkload(
  c: Cluster,
  namespace: string,
  name: string,
  roleAccountId: string,
  roleName: string,
  annotatedAt: string,
  podsCreatedAt: string,
  replicas = 2,
): JsonObject[] {
  return [
    serviceAccount(c, namespace, name, annotatedAt, {
      [ROLE_ARN_ANNOTATION]: roleArn(roleAccountId, roleName),
    }),
    ...deploymentPods(c, {
      namespace,
      name,
      serviceAccount: name,
      containers: [{ name, image: ecrImage(c.accountId, c.region, `${name}:1.4.2`), port: 8080 }],
      createdAt: podsCreatedAt,
      credentials: irsa(roleAccountId, roleName),
      replicas,
    }),
  ];
}

function namespaceDefaults(c: Cluster, namespaces: readonly string[], createdAt: string): JsonObject[] {
  return namespaces.map((ns) => serviceAccount(c, ns, 'default', createdAt));
}

/** The trust of `trustedCluster`'s ServiceAccount NS/SA, as the role's account (the shared one) writes it. */
function sharedTrust(trustedCluster: Cluster, namespace: string, sa: string): JsonObject {
  return irsaTrust(trustedCluster, namespace, sa, SHARED.id);
}

// ---------------------------------------------------------------------------------------------------------
// The clusters.

/** The shared account's own cluster: healthy. Its region is the one the two `prod` clusters are in. */
function sharedPlatformCluster(): ClusterSnapshot {
  const c = sharedPlatform;
  addClusterRoles(SHARED, c);
  addOidcProvider(SHARED, issuerHost(c), c.name, '2025-01-20T11:02:33Z');
  addRole(SHARED, {
    name: 'platform-argo-workflows',
    createdAt: '2025-01-21T08:40:00Z',
    trust: irsaTrust(c, 'workflows', 'argo-server'),
    encoding: 'url',
    attached: [customerManaged(SHARED.id, 'argo-artifacts-s3')],
  });
  return {
    cluster: c,
    story: "the shared account's own cluster, healthy; same region as both `prod` clusters",
    kubernetes: [
      ...kubeSystem(c),
      ...webhookConfigurations(c, c.caPem),
      ...namespaceDefaults(c, ['workflows'], '2025-01-21T08:30:00Z'),
      ...annotatedWorkload(
        c,
        'workflows',
        'argo-server',
        SHARED.id,
        'platform-argo-workflows',
        '2025-01-21T08:41:10Z',
        '2025-11-04T07:15:20Z',
      ),
    ],
  };
}

/**
 * apps/prod: its ServiceAccounts use roles of the shared account. One chain is right end to end; the
 * others break in the shared account (a role nobody created, a `:sub` typo, a role trusting every SA of
 * the cluster), and one names a partner's role that nobody here audits.
 */
function appsProdCluster(): ClusterSnapshot {
  const c = appsProd;
  const row = rowKey(c);
  const host = issuerHost(c);
  addClusterRoles(APPS, c);
  addOidcProvider(APPS, host, c.name, '2025-03-03T09:40:12Z');
  // The shared account trusts this cluster's issuer: it needs a provider for it, in its own IAM. It is in
  // eu-west-1, where the shared account has a cluster of its own: not orphaned (IRSA-050 passes).
  addOidcProvider(SHARED, host, c.name, '2025-03-10T14:05:47Z');
  addRole(APPS, {
    name: 'prod-order-events',
    createdAt: '2025-03-04T10:00:00Z',
    trust: irsaTrust(c, 'orders', 'order-events'),
    encoding: 'url',
    attached: [customerManaged(APPS.id, 'order-events-sns')],
  });
  // The correct cross-account chain: provider in the role's account, exact trust, a policy. Passes.
  addRole(SHARED, {
    name: 'orders-archive',
    createdAt: '2025-03-10T14:20:00Z',
    trust: sharedTrust(c, 'orders', 'orders-api'),
    encoding: 'url',
    attached: [customerManaged(SHARED.id, 'orders-archive-s3')],
    description: `Archive orders to the data lake from prod (${APPS.id})`,
  });
  // Namespace typo in the shared account's trust: "order", not "orders".
  addRole(SHARED, {
    name: 'ledger-sync',
    createdAt: '2025-03-11T09:02:31Z',
    trust: trustPolicy(
      webIdentityStatement(SHARED.id, host, {
        StringEquals: {
          [`${host}:sub`]: subject('order', 'ledger-sync'),
          [`${host}:aud`]: 'sts.amazonaws.com',
        },
      }),
    ),
    encoding: 'url',
    attached: [customerManaged(SHARED.id, 'ledger-lake-write')],
  });
  // Only an `:aud` condition: every ServiceAccount of apps/prod can assume it (a role-scope finding on the
  // shared account's role, attributed to this cluster).
  addRole(SHARED, {
    name: 'etl-shared',
    createdAt: '2025-03-12T16:45:09Z',
    trust: trustPolicy(
      webIdentityStatement(SHARED.id, host, { StringEquals: { [`${host}:aud`]: 'sts.amazonaws.com' } }),
    ),
    encoding: 'json',
    attached: [awsManaged('AmazonS3ReadOnlyAccess')],
  });

  expectOn(
    row,
    'IRSA-011',
    { ...onCluster(c), namespace: 'orders', serviceAccount: 'refunds' },
    `names arn:aws:iam::${SHARED.id}:role/refunds-processor; the shared account (audited) has no such role`,
  );
  expectOn(
    row,
    'IRSA-013',
    { ...onCluster(c), namespace: 'orders', serviceAccount: 'ledger-sync' },
    `shared role ledger-sync trusts "system:serviceaccount:order:ledger-sync" (namespace typo), not orders:ledger-sync`,
  );
  expectOn(
    row,
    'IRSA-015',
    onSharedRole(c, 'etl-shared'),
    `shared role etl-shared trusts apps' prod issuer with only ":aud": any service account of that cluster can assume it`,
  );

  return {
    cluster: c,
    story:
      'uses the shared account\'s roles: one correct chain; a role never created, a ":sub" typo, a role trusting every SA; a partner\'s role (not audited: not evaluated)',
    kubernetes: [
      ...kubeSystem(c),
      ...webhookConfigurations(c, c.caPem),
      ...namespaceDefaults(c, ['orders', 'batch', 'reporting'], '2025-03-04T09:00:00Z'),
      ...annotatedWorkload(
        c,
        'orders',
        'order-events',
        APPS.id,
        'prod-order-events',
        '2025-03-04T10:05:00Z',
        '2025-11-12T08:00:14Z',
      ),
      ...annotatedWorkload(
        c,
        'orders',
        'orders-api',
        SHARED.id,
        'orders-archive',
        '2025-03-10T14:30:00Z',
        '2025-11-12T08:01:40Z',
        3,
      ),
      ...annotatedWorkload(
        c,
        'orders',
        'ledger-sync',
        SHARED.id,
        'ledger-sync',
        '2025-03-11T09:10:00Z',
        '2025-11-12T08:02:55Z',
        1,
      ),
      // The role was in the change request but never created in the shared account.
      ...annotatedWorkload(
        c,
        'orders',
        'refunds',
        SHARED.id,
        'refunds-processor',
        '2025-10-30T15:22:41Z',
        '2025-10-30T15:25:03Z',
      ),
      // A partner's account: not audited, so the role cannot be looked at (not evaluated, never failed).
      ...annotatedWorkload(
        c,
        'orders',
        'partner-feed',
        PARTNER_ID,
        'partner-feed-writer',
        '2025-08-19T11:00:00Z',
        '2025-11-12T08:04:30Z',
        1,
      ),
      ...annotatedWorkload(
        c,
        'batch',
        'etl-runner',
        SHARED.id,
        'etl-shared',
        '2025-03-12T17:00:00Z',
        '2025-11-12T08:05:12Z',
        1,
      ),
      // The same namespace and name as in analytics/prod, and the same role: its trust is right for this
      // cluster (and wrong for the other one, whose finding must not land here).
      ...annotatedWorkload(
        c,
        'reporting',
        'exporter',
        SHARED.id,
        'report-exports',
        '2025-04-15T09:00:00Z',
        '2025-11-12T08:06:45Z',
        1,
      ),
    ],
  };
}

/**
 * analytics/prod: the same name and region as apps/prod. Wrong `:aud`, a role without policies, a `:sub`
 * wildcard, and the shared exporter role whose statement for this cluster has a typo.
 */
function analyticsProdCluster(): ClusterSnapshot {
  const c = analyticsProd;
  const row = rowKey(c);
  const host = issuerHost(c);
  addClusterRoles(ANALYTICS, c);
  addOidcProvider(ANALYTICS, host, c.name, '2025-04-14T13:58:20Z');
  addOidcProvider(SHARED, host, c.name, '2025-04-15T08:10:03Z');
  // One role for the exporter of both prod clusters: a statement each. This cluster's has "reportng".
  const appsHost = issuerHost(appsProd);
  addRole(SHARED, {
    name: 'report-exports',
    createdAt: '2025-04-15T08:30:00Z',
    trust: trustPolicy(
      webIdentityStatement(SHARED.id, appsHost, {
        StringEquals: {
          [`${appsHost}:sub`]: subject('reporting', 'exporter'),
          [`${appsHost}:aud`]: 'sts.amazonaws.com',
        },
      }),
      webIdentityStatement(SHARED.id, host, {
        StringEquals: {
          [`${host}:sub`]: subject('reportng', 'exporter'),
          [`${host}:aud`]: 'sts.amazonaws.com',
        },
      }),
    ),
    encoding: 'url',
    attached: [customerManaged(SHARED.id, 'report-exports-s3')],
  });
  // ":aud" copied from a China-partition example: tokens carry sts.amazonaws.com.
  addRole(SHARED, {
    name: 'dashboards-read',
    createdAt: '2025-04-16T10:12:44Z',
    trust: trustPolicy(
      webIdentityStatement(SHARED.id, host, {
        StringEquals: {
          [`${host}:sub`]: subject('reporting', 'dashboards'),
          [`${host}:aud`]: 'sts.amazonaws.com.cn',
        },
      }),
    ),
    encoding: 'url',
    attached: [customerManaged(SHARED.id, 'dashboards-athena')],
  });
  // Created by a pipeline that failed before attaching its policy.
  addRole(SHARED, {
    name: 'warehouse-loader',
    createdAt: '2025-09-02T07:31:15Z',
    trust: sharedTrust(c, 'reporting', 'warehouse-loader'),
    encoding: 'url',
    attached: [],
  });
  addRole(SHARED, {
    name: 'notebooks-data',
    createdAt: '2025-04-20T12:00:00Z',
    trust: trustPolicy(
      webIdentityStatement(SHARED.id, host, {
        StringLike: { [`${host}:sub`]: 'system:serviceaccount:notebooks:*' },
        StringEquals: { [`${host}:aud`]: 'sts.amazonaws.com' },
      }),
    ),
    encoding: 'object',
    attached: [customerManaged(SHARED.id, 'notebooks-lake-read')],
  });

  // One role, both prod clusters, no `:sub` condition in either statement: two IRSA-015 results, one per
  // cluster, whose identities are the same (a role-scope finding carries the role's account, not the
  // cluster's). check reports both; the pipeline must keep both, each in its own cluster's unit.
  addRole(SHARED, {
    name: 'prod-readonly-any',
    createdAt: '2025-05-20T15:00:00Z',
    trust: trustPolicy(
      webIdentityStatement(SHARED.id, appsHost, {
        StringEquals: { [`${appsHost}:aud`]: 'sts.amazonaws.com' },
      }),
      webIdentityStatement(SHARED.id, host, { StringEquals: { [`${host}:aud`]: 'sts.amazonaws.com' } }),
    ),
    encoding: 'url',
    attached: [awsManaged('ReadOnlyAccess')],
    description: 'Temporary: read-only access for the prod migration',
  });
  for (const trusted of [appsProd, c]) {
    expectOn(
      rowKey(trusted),
      'IRSA-015',
      onSharedRole(trusted, 'prod-readonly-any'),
      `shared role prod-readonly-any: its statement for ${trusted === c ? 'analytics' : 'apps'}' prod has only ":aud"; the same role's other statement trusts the other prod (same name, same region) the same way, so there are two findings, told apart by their resource (the cluster's account/region/name)`,
    );
  }
  expectOn(
    row,
    'IRSA-013',
    { ...onCluster(c), namespace: 'reporting', serviceAccount: 'exporter' },
    `shared role report-exports: its statement for this cluster trusts "system:serviceaccount:reportng:exporter"; the one for apps/prod (same name, same region) is right, so only this exporter fails`,
  );
  expectOn(
    row,
    'IRSA-014',
    { ...onCluster(c), namespace: 'reporting', serviceAccount: 'dashboards' },
    'shared role dashboards-read has StringEquals ":aud": "sts.amazonaws.com.cn", which does not admit sts.amazonaws.com',
  );
  expectOn(
    row,
    'IRSA-018',
    { ...onCluster(c), namespace: 'reporting', serviceAccount: 'warehouse-loader' },
    'shared role warehouse-loader has no attached and no inline policy',
  );
  expectOn(
    row,
    'IRSA-016',
    onSharedRole(c, 'notebooks-data'),
    'shared role notebooks-data: StringLike ":sub": "system:serviceaccount:notebooks:*" admits notebooks/default and notebooks/jupyter of analytics/prod',
  );

  return {
    cluster: c,
    story:
      'same name and region as apps/prod; shared roles with a wrong ":aud", no policy, a ":sub" wildcard, a ":sub" typo in the statement for this cluster only, and one trusting every SA of both prod clusters',
    kubernetes: [
      ...kubeSystem(c),
      ...webhookConfigurations(c, c.caPem),
      ...namespaceDefaults(c, ['reporting', 'notebooks'], '2025-04-15T07:50:00Z'),
      ...annotatedWorkload(
        c,
        'reporting',
        'exporter',
        SHARED.id,
        'report-exports',
        '2025-04-15T09:00:00Z',
        '2025-11-13T06:30:00Z',
        1,
      ),
      ...annotatedWorkload(
        c,
        'reporting',
        'dashboards',
        SHARED.id,
        'dashboards-read',
        '2025-04-16T10:20:00Z',
        '2025-11-13T06:31:27Z',
      ),
      ...annotatedWorkload(
        c,
        'reporting',
        'warehouse-loader',
        SHARED.id,
        'warehouse-loader',
        '2025-09-02T07:40:00Z',
        '2025-11-13T06:33:02Z',
        1,
      ),
      serviceAccount(c, 'notebooks', 'jupyter', '2025-04-20T12:05:00Z', {
        [ROLE_ARN_ANNOTATION]: roleArn(SHARED.id, 'notebooks-data'),
      }),
      ...statefulSetPods(c, {
        namespace: 'notebooks',
        name: 'jupyter',
        serviceAccount: 'jupyter',
        containers: [{ name: 'notebook', image: 'quay.io/jupyter/scipy-notebook:2025-11-10', port: 8888 }],
        createdAt: '2025-11-10T09:30:00Z',
        credentials: irsa(SHARED.id, 'notebooks-data'),
        replicas: 1,
      }),
    ],
  };
}

/** analytics/ml (us-east-1): the shared account's role for it was made, its OIDC provider was not. */
/** analytics' batch cluster: healthy, with a role of its own account (and so nothing expected). */
function analyticsMlBatchCluster(): ClusterSnapshot {
  const c = analyticsMlBatch;
  addClusterRoles(ANALYTICS, c);
  addOidcProvider(ANALYTICS, issuerHost(c), c.name, '2025-09-02T16:40:12Z');
  addRole(ANALYTICS, {
    name: 'ml-batch-scheduler',
    createdAt: '2025-09-03T10:00:00Z',
    trust: irsaTrust(c, 'batch', 'scheduler'),
    encoding: 'url',
    attached: [customerManaged(ANALYTICS.id, 'batch-queue-write')],
  });
  return {
    cluster: c,
    story:
      "healthy, public endpoint, a role of its own account: with --clusters-per-unit 1 it is a part that reads that role from its lead's view",
    kubernetes: [
      ...kubeSystem(c),
      ...webhookConfigurations(c, c.caPem),
      ...namespaceDefaults(c, ['batch'], '2025-09-03T09:50:00Z'),
      ...annotatedWorkload(
        c,
        'batch',
        'scheduler',
        ANALYTICS.id,
        'ml-batch-scheduler',
        '2025-09-03T10:05:00Z',
        '2025-11-20T03:10:00Z',
      ),
    ],
  };
}

function analyticsMlCluster(): ClusterSnapshot {
  const c = analyticsMl;
  const row = rowKey(c);
  addClusterRoles(ANALYTICS, c);
  addOidcProvider(ANALYTICS, issuerHost(c), c.name, '2025-06-23T08:30:09Z');
  addRole(ANALYTICS, {
    name: 'ml-feature-reader',
    createdAt: '2025-06-24T09:00:00Z',
    trust: irsaTrust(c, 'training', 'feature-reader'),
    encoding: 'url',
    attached: [customerManaged(ANALYTICS.id, 'feature-store-read')],
  });
  // Trust and policy are right; what is missing is the provider in the shared account (no
  // addOidcProvider(SHARED, ...) for this issuer).
  addRole(SHARED, {
    name: 'training-data',
    createdAt: '2025-06-25T14:10:00Z',
    trust: sharedTrust(c, 'training', 'trainer'),
    encoding: 'url',
    attached: [customerManaged(SHARED.id, 'training-data-read')],
    description: `Training data for ml (${ANALYTICS.id})`,
  });
  expectOn(
    row,
    'IRSA-022',
    { ...onCluster(c), namespace: 'training', serviceAccount: 'trainer' },
    `role training-data is in ${SHARED.id}, which has no OIDC provider for ${issuerHost(c)}`,
  );
  return {
    cluster: c,
    story: "a shared role whose account lacks the OIDC provider for this cluster's issuer",
    kubernetes: [
      ...kubeSystem(c),
      ...webhookConfigurations(c, c.caPem),
      ...namespaceDefaults(c, ['training'], '2025-06-24T08:50:00Z'),
      ...annotatedWorkload(
        c,
        'training',
        'feature-reader',
        ANALYTICS.id,
        'ml-feature-reader',
        '2025-06-24T09:05:00Z',
        '2025-11-14T22:00:00Z',
      ),
      ...annotatedWorkload(
        c,
        'training',
        'trainer',
        SHARED.id,
        'training-data',
        '2025-06-25T14:20:00Z',
        '2025-11-14T22:01:30Z',
        1,
      ),
    ],
  };
}

/** What apps' deleted `staging` cluster left in the shared account: its provider and a role trusting it. */
function sharedLeftovers(): void {
  const host = DELETED_STAGING_HOST;
  addOidcProvider(SHARED, host, 'staging', '2025-05-06T10:00:00Z');
  addRole(SHARED, {
    name: 'staging-reports',
    createdAt: '2025-05-06T10:30:00Z',
    trust: trustPolicy(
      webIdentityStatement(SHARED.id, host, {
        StringEquals: {
          [`${host}:sub`]: subject('reporting', 'exporter'),
          [`${host}:aud`]: 'sts.amazonaws.com',
        },
      }),
    ),
    encoding: 'url',
    attached: [customerManaged(SHARED.id, 'report-exports-s3')],
  });
  const row = SHARED.id;
  expectOn(
    row,
    'IRSA-050',
    { accountId: SHARED.id, region: 'eu-west-1' },
    `OIDC provider ${host} (tagged staging) matches no cluster of any audited account; the providers for both prod clusters, in the same region, are not orphaned`,
  );
  expectOn(
    row,
    'IRSA-051',
    { accountId: SHARED.id, roleName: 'staging-reports' },
    `trusts ${host}, the provider of apps' deleted staging cluster`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Output.

function readme(snapshots: readonly ClusterSnapshot[]): string {
  const label = (f: ExpectedFinding): string =>
    f.roleName !== null
      ? `${f.roleName} (${f.accountId})`
      : f.namespace === null
        ? f.cluster === null
          ? '(account)'
          : '(cluster)'
        : `${f.namespace}/${f.serviceAccount}`;
  const checksFor = (row: string): string =>
    expectedFindings
      .filter((f) => rowOf.get(f) === row)
      .map((f) => `${f.checkId} ${label(f)}`)
      .join(', ') || 'nothing';
  const clusterRows = snapshots.map(
    (s) =>
      `| ${s.cluster.accountId} | ${s.cluster.region} | ${s.cluster.name} | ${s.story} | ${checksFor(rowKey(s.cluster))} |`,
  );
  return [
    '# Cross-account sample fleet',
    '',
    'Generated by `npx tsx scripts/make-cross-account-fleet.ts` (do not edit by hand). A fleet snapshot in the',
    'format the auditor reads, built to stress cross-account IRSA: three audited accounts, a shared data account',
    `(${SHARED.id}) whose roles the ServiceAccounts of clusters in apps (${APPS.id}) and analytics`,
    `(${ANALYTICS.id}) use, and two clusters named \`prod\` in eu-west-1 in two accounts. A ServiceAccount of`,
    `apps/prod names a role of ${PARTNER_ID}, an account the fleet does not hold: not evaluated, never failed.`,
    '`expected-findings.json` lists every failing finding the check catalogue implies for it, and nothing else;',
    '`irsa-audit pipeline` (one account per message) must report the same as `irsa-audit check`.',
    '',
    'A role-scope finding (IRSA-015/016) about a shared role carries the shared account and the cluster its',
    "trust names: it is listed on that cluster's row.",
    '',
    '| account | region | cluster | story | expected |',
    '|---|---|---|---|---|',
    ...clusterRows,
    `| ${SHARED.id} | | (no cluster) | IAM leftovers of apps' deleted cluster staging: its OIDC provider and a role trusting it | ${checksFor(SHARED.id)} |`,
    '',
  ].join('\n');
}

function main(): void {
  const snapshots = [
    sharedPlatformCluster(),
    appsProdCluster(),
    analyticsProdCluster(),
    analyticsMlCluster(),
    analyticsMlBatchCluster(),
  ];
  sharedLeftovers();
  // The directory is wholly generated: start clean so that nothing stale survives.
  rmSync(OUT_DIR, { recursive: true, force: true });
  for (const account of [SHARED, APPS, ANALYTICS])
    writeJson(join(OUT_DIR, account.id, 'iam.json'), iamJson(account));
  for (const s of snapshots) {
    const dir = join(OUT_DIR, s.cluster.accountId, s.cluster.region, s.cluster.name);
    writeJson(join(dir, 'cluster.json'), describeCluster(s.cluster));
    writeJson(join(dir, 'kubernetes.json'), kubernetesList(s.kubernetes));
  }
  writeJson(join(OUT_DIR, 'expected-findings.json'), {
    findings: expectedFindings.map((f) => ({ ...f })),
  });
  writeFileSync(join(OUT_DIR, 'README.md'), readme(snapshots));
  process.stdout.write(
    `wrote ${OUT_DIR}: ${snapshots.length} clusters, ${expectedFindings.length} expected findings\n`,
  );
}

main();
