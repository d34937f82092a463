/**
 * Builds fleet models in memory for check fixtures and benchmarks: a healthy IRSA setup by
 * default, which a fixture then breaks in exactly one place.
 */
import { createHash } from 'node:crypto';
import type {
  Account,
  AccountIam,
  AddonState,
  Cluster,
  CollectionError,
  Container,
  EndpointSlice,
  EnvSource,
  Fleet,
  InputError,
  LaunchTemplateVersion,
  ManagedPolicy,
  MutatingWebhook,
  MutatingWebhookConfiguration,
  Namespace,
  NodeGroup,
  OidcProvider,
  Pod,
  PodIdentityAssociation,
  PodVolume,
  PolicyDocumentSource,
  Role,
  RolePolicies,
  Service,
  ServiceAccount,
} from '../model/fleet.ts';
import { parsePolicyDocument } from '../policy/policy-document.ts';
import { CLUSTER_CA_A_PEM } from './test-certificates.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

export const TOKEN_PATH = '/var/run/secrets/eks.amazonaws.com/serviceaccount/token';

export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** A deterministic 32-hex-digit OIDC id for a cluster name. */
export function oidcIdFor(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 32).toUpperCase();
}

/** The trust policy `eksctl`/the EKS guide writes for one service account. */
export function irsaTrustPolicy(
  providerArn: string,
  issuer: string,
  subject: string | string[],
  options: { audience?: string | null; operator?: string } = {},
): Record<string, unknown> {
  const operator = options.operator ?? 'StringEquals';
  const audience = options.audience === undefined ? 'sts.amazonaws.com' : options.audience;
  const conditions: Record<string, Record<string, unknown>> = { [operator]: { [`${issuer}:sub`]: subject } };
  if (audience !== null) {
    const block = conditions.StringEquals ?? {};
    block[`${issuer}:aud`] = audience;
    conditions.StringEquals = block;
  }
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: conditions,
      },
    ],
  };
}

/**
 * One webhook entry as EKS's managed pod identity webhook has it: `iam-for-pods.amazonaws.com`
 * served on the control plane (`https://127.0.0.1:23443/mutate`), `failurePolicy: Ignore`, every
 * namespace, and every pod without the `eks.amazonaws.com/skip-pod-identity-webhook` label.
 */
export function mutatingWebhook(entry: Partial<MutatingWebhook> = {}): MutatingWebhook {
  return {
    name: 'iam-for-pods.amazonaws.com',
    caBundle: null,
    url: 'https://127.0.0.1:23443/mutate',
    service: null,
    failurePolicy: 'Ignore',
    namespaceSelector: { matchLabels: {}, matchExpressions: [] },
    objectSelector: {
      matchLabels: {},
      matchExpressions: [
        { key: 'eks.amazonaws.com/skip-pod-identity-webhook', operator: 'DoesNotExist', values: [] },
      ],
    },
    ...entry,
  };
}

/** The trust policy the EKS user guide gives for a Pod Identity role, with optional conditions. */
export function podIdentityTrustPolicy(
  condition?: Record<string, Record<string, unknown>>,
): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        ...(condition ? { Condition: condition } : {}),
      },
    ],
  };
}

/** The variables the EKS Pod Identity webhook injects into a container. */
export const POD_IDENTITY_ENV: Readonly<Record<string, string>> = {
  AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:
    '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
};

export interface PodOptions {
  serviceAccountName: string;
  owner?: { kind: string; name: string } | null;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Role ARN the webhook injected, or false for a pod the webhook never mutated. */
  mutatedWith?: string | false;
  regionalEndpoints?: boolean;
  extraEnv?: Record<string, string>;
  /** Variables set through `valueFrom` (no value): a Secret or ConfigMap reference, or another kind. */
  valueFrom?: Record<string, { kind: string; name?: string; key?: string; optional?: boolean }>;
  /** Containers (by name) that get `extraEnv` and `valueFrom`; default: every container. */
  envContainers?: string[];
  containers?: string[];
  initContainers?: string[];
  phase?: string;
  creationTimestamp?: string;
}

export class ClusterBuilder {
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  readonly issuer: string;
  readonly cluster: Mutable<Cluster> & {
    info: Mutable<NonNullable<Cluster['info']>> | null;
    kubernetes: {
      serviceAccounts: ServiceAccount[] | null;
      pods: Pod[] | null;
      webhookConfigurations: MutatingWebhookConfiguration[] | null;
      namespaces: Namespace[] | null;
      services: Service[] | null;
      endpointSlices: EndpointSlice[] | null;
    } | null;
    podIdentityAssociations: PodIdentityAssociation[] | null;
    nodeGroups?: {
      names: string[];
      described: Map<string, NodeGroup>;
      launchTemplateVersions: LaunchTemplateVersion[];
    } | null;
  };
  private podCounter = 0;

  constructor(accountId: string, region: string, name: string, caPem: string) {
    this.accountId = accountId;
    this.region = region;
    this.name = name;
    this.issuer = `oidc.eks.${region}.amazonaws.com/id/${oidcIdFor(`${accountId}/${region}/${name}`)}`;
    this.cluster = {
      accountId,
      region,
      name,
      info: {
        name,
        arn: `arn:aws:eks:${region}:${accountId}:cluster/${name}`,
        endpoint: `https://${oidcIdFor(`${accountId}/${region}/${name}`)}.gr7.${region}.eks.amazonaws.com`,
        issuer: `https://${this.issuer}`,
        certificateAuthorityData: base64(caPem),
      },
      // Namespaces not collected (as in a snapshot written before they were); the webhook Services
      // and their EndpointSlices collected (none to read for EKS's own webhook).
      kubernetes: {
        serviceAccounts: [],
        pods: [],
        webhookConfigurations: [],
        namespaces: null,
        services: [],
        endpointSlices: [],
      },
      podIdentityAssociations: [],
      collectionErrors: [],
      probes: null,
    };
  }

  get kubernetes() {
    const k = this.cluster.kubernetes;
    if (!k) throw new Error('kubernetes data was removed from this cluster');
    return k;
  }

  /** The OIDC provider ARN for this cluster's issuer in `accountId` (default: the cluster's). */
  providerArn(accountId = this.accountId): string {
    return `arn:aws:iam::${accountId}:oidc-provider/${this.issuer}`;
  }

  /**
   * The EKS pod identity webhook, with a caBundle (default: the cluster CA) and, unless `entry`
   * overrides them, the fields EKS ships (see {@link mutatingWebhook}).
   */
  webhook(
    caBundle: string | null = this.cluster.info?.certificateAuthorityData ?? null,
    name = 'pod-identity-webhook',
    entry: Partial<MutatingWebhook> = {},
  ) {
    this.kubernetes.webhookConfigurations?.push({
      name,
      webhooks: [mutatingWebhook({ caBundle, ...entry })],
    });
    return this;
  }

  /**
   * A self-managed pod identity webhook (amazon-eks-pod-identity-webhook deployed by the cluster
   * owner): `iam-for-pods.amazonaws.com` called through Service `namespace/name`, `failurePolicy:
   * Fail` unless `entry` says otherwise, in a configuration `pod-identity-webhook`.
   */
  selfManagedWebhook(service: { namespace: string; name: string }, entry: Partial<MutatingWebhook> = {}) {
    return this.webhook(undefined, 'pod-identity-webhook', {
      url: null,
      service,
      failurePolicy: 'Fail',
      ...entry,
    });
  }

  /** A namespace with its labels (`kubernetes.io/metadata.name` added); namespaces become collected. */
  namespace(name: string, labels: Record<string, string> = {}): Namespace {
    const namespace: Namespace = { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } };
    this.kubernetes.namespaces ??= [];
    this.kubernetes.namespaces.push(namespace);
    return namespace;
  }

  /** A Service (a ClusterIP Service selecting `selector` unless said otherwise). */
  service(
    namespace: string,
    name: string,
    options: { type?: string | null; selector?: Record<string, string> | null } = {},
  ): Service {
    const service: Service = {
      namespace,
      name,
      type: options.type === undefined ? 'ClusterIP' : options.type,
      selector: options.selector === undefined ? { app: name } : options.selector,
    };
    this.kubernetes.services?.push(service);
    return service;
  }

  /** An EndpointSlice of Service `namespace/service`, its endpoints each with a readiness (null: absent) and pod. */
  endpointSlice(
    namespace: string,
    service: string,
    endpoints: { ready: boolean | null; pod?: string }[],
    name = `${service}-${oidcIdFor(`${namespace}/${service}/${endpoints.length}`).slice(0, 5).toLowerCase()}`,
  ): EndpointSlice {
    const slice: EndpointSlice = {
      namespace,
      name,
      serviceName: service,
      endpoints: endpoints.map((e) => ({
        ready: e.ready,
        target: e.pod ? { kind: 'Pod', name: e.pod } : null,
      })),
    };
    this.kubernetes.endpointSlices?.push(slice);
    return slice;
  }

  serviceAccount(namespace: string, name: string, annotations: Record<string, string> = {}): ServiceAccount {
    const sa: ServiceAccount = {
      namespace,
      name,
      annotations,
      creationTimestamp: '2025-01-01T00:00:00Z',
      roleArnAnnotatedAt: null,
    };
    this.kubernetes.serviceAccounts?.push(sa);
    return sa;
  }

  /** The cluster's add-ons: the Pod Identity agent with `status` (null: not installed), beside vpc-cni. */
  agentAddon(status: string | null, issues: string[] = []) {
    const names = ['coredns', 'kube-proxy', 'vpc-cni'];
    const described = new Map<string, AddonState>();
    if (status !== null) {
      names.push('eks-pod-identity-agent');
      described.set('eks-pod-identity-agent', {
        name: 'eks-pod-identity-agent',
        status,
        version: 'v1.3.4-eksbuild.1',
        issues,
      });
    }
    this.cluster.addons = { names: names.sort(), described };
    return this;
  }

  /** The cluster's managed node groups (nodegroups.json), created empty on first use. */
  get nodeGroups() {
    this.cluster.nodeGroups ??= { names: [], described: new Map(), launchTemplateVersions: [] };
    return this.cluster.nodeGroups;
  }

  /**
   * A managed node group with node role `nodeRoleArn`, on launch template `launchTemplate` (a
   * version of it is added with {@link launchTemplateVersion}), or on EKS's own (null).
   */
  nodeGroup(
    name: string,
    nodeRoleArn: string | null,
    launchTemplate: { id: string | null; name?: string | null; version?: string | null } | null = null,
  ): NodeGroup {
    const group: NodeGroup = {
      name,
      nodeRole: nodeRoleArn,
      status: 'ACTIVE',
      amiType: launchTemplate ? 'AL2_x86_64' : 'AL2023_x86_64_STANDARD',
      launchTemplate: launchTemplate
        ? {
            id: launchTemplate.id,
            name: launchTemplate.name ?? null,
            version: launchTemplate.version ?? null,
          }
        : null,
    };
    this.nodeGroups.names.push(name);
    this.nodeGroups.described.set(name, group);
    return group;
  }

  /** A version of launch template `id` with these metadata options (null: the version sets none). */
  launchTemplateVersion(
    id: string,
    versionNumber: number,
    metadataOptions: LaunchTemplateVersion['metadataOptions'],
    options: { name?: string; defaultVersion?: boolean } = {},
  ): LaunchTemplateVersion {
    const version: LaunchTemplateVersion = {
      templateId: id,
      templateName: options.name ?? `${id}-name`,
      versionNumber,
      defaultVersion: options.defaultVersion ?? false,
      metadataOptions,
    };
    this.nodeGroups.launchTemplateVersions.push(version);
    return version;
  }

  /** EKS Auto Mode on (DescribeCluster `computeConfig.enabled`). */
  autoMode(enabled = true) {
    if (this.cluster.info) this.cluster.info = { ...this.cluster.info, autoMode: enabled };
    return this;
  }

  /** An EKS Pod Identity association of this cluster for `namespace/serviceAccount`. */
  podIdentity(namespace: string, serviceAccount: string, roleArn: string | null): PodIdentityAssociation {
    const association: PodIdentityAssociation = {
      namespace,
      serviceAccount,
      roleArn,
      associationArn: `arn:aws:eks:${this.region}:${this.accountId}:podidentityassociation/${this.name}/a-${oidcIdFor(`${namespace}/${serviceAccount}`).slice(0, 17).toLowerCase()}`,
    };
    this.cluster.podIdentityAssociations?.push(association);
    return association;
  }

  pod(namespace: string, name: string, options: PodOptions): Pod {
    const containerNames = options.containers ?? ['app'];
    const mutated = options.mutatedWith ?? false;
    const env = (container: string): Map<string, string | null> => {
      const map = new Map<string, string | null>();
      if (mutated !== false) {
        if (options.regionalEndpoints !== false) map.set('AWS_STS_REGIONAL_ENDPOINTS', 'regional');
        map.set('AWS_DEFAULT_REGION', this.region);
        map.set('AWS_REGION', this.region);
        map.set('AWS_ROLE_ARN', mutated);
        map.set('AWS_WEB_IDENTITY_TOKEN_FILE', TOKEN_PATH);
      }
      if (options.envContainers && !options.envContainers.includes(container)) return map;
      for (const [key, value] of Object.entries(options.extraEnv ?? {})) map.set(key, value);
      for (const key of Object.keys(options.valueFrom ?? {})) map.set(key, null);
      return map;
    };
    const sources = (container: string): Map<string, EnvSource> => {
      const map = new Map<string, EnvSource>();
      for (const [key, value] of env(container)) {
        if (value) map.set(key, { kind: 'literal', name: null, key: null, optional: false });
      }
      if (options.envContainers && !options.envContainers.includes(container)) return map;
      for (const [variable, ref] of Object.entries(options.valueFrom ?? {})) {
        map.set(variable, {
          kind: ref.kind,
          name: ref.name ?? null,
          key: ref.key ?? null,
          optional: ref.optional ?? false,
        });
      }
      return map;
    };
    const container = (n: string, init: boolean): Container => ({
      name: n,
      init,
      env: env(n),
      sources: sources(n),
    });
    const containers: Container[] = [
      ...(options.initContainers ?? []).map((n) => container(n, true)),
      ...containerNames.map((n) => container(n, false)),
    ];
    const volumes: PodVolume[] = [{ name: `kube-api-access-${++this.podCounter}`, tokenAudiences: [''] }];
    if (mutated !== false) volumes.unshift({ name: 'aws-iam-token', tokenAudiences: ['sts.amazonaws.com'] });
    const pod: Pod = {
      namespace,
      name,
      serviceAccountName: options.serviceAccountName,
      phase: options.phase ?? 'Running',
      creationTimestamp: options.creationTimestamp ?? '2025-06-01T00:00:00Z',
      labels: options.labels ?? {},
      annotations: options.annotations ?? {},
      owner: options.owner ?? null,
      containers,
      volumes,
    };
    this.kubernetes.pods?.push(pod);
    return pod;
  }

  /** `replicas` pods of a Deployment, owned by its ReplicaSet `<name>-<hash>` as the controller makes them. */
  deployment(namespace: string, name: string, replicas: number, options: Omit<PodOptions, 'owner'>): Pod[] {
    const hash = oidcIdFor(`${namespace}/${name}`).slice(0, 10).toLowerCase();
    return Array.from({ length: replicas }, (_, i) =>
      this.pod(namespace, `${name}-${hash}-p${i}`, {
        ...options,
        owner: { kind: 'ReplicaSet', name: `${name}-${hash}` },
        labels: { ...options.labels, 'pod-template-hash': hash },
      }),
    );
  }
}

export class AccountBuilder {
  readonly accountId: string;
  readonly clusters: ClusterBuilder[] = [];
  readonly regions = new Set<string>();
  readonly collectionErrors: CollectionError[] = [];
  iam: {
    roles: Role[];
    providers: OidcProvider[];
    rolePolicies: Map<string, RolePolicies>;
    managedPolicies: Map<string, ManagedPolicy>;
  } | null = {
    roles: [],
    providers: [],
    rolePolicies: new Map(),
    managedPolicies: new Map(),
  };

  constructor(accountId: string) {
    this.accountId = accountId;
  }

  private get iamData() {
    if (!this.iam) throw new Error('iam data was removed from this account');
    return this.iam;
  }

  cluster(name: string, options: { region?: string; caPem?: string } = {}): ClusterBuilder {
    const region = options.region ?? 'us-west-2';
    const builder = new ClusterBuilder(this.accountId, region, name, options.caPem ?? CLUSTER_CA_A_PEM);
    this.regions.add(region);
    this.clusters.push(builder);
    return builder;
  }

  provider(issuer: string, clientIds: string[] = ['sts.amazonaws.com']): OidcProvider {
    const provider = {
      arn: `arn:aws:iam::${this.accountId}:oidc-provider/${issuer}`,
      url: issuer,
      clientIds,
    };
    this.iamData.providers.push(provider);
    return provider;
  }

  /**
   * A role with a trust document in any encoding; `policies: null` leaves it out of RolePolicies.
   * `documents` gives the inline policies' documents by name (RolePolicyList); without it the
   * snapshot holds none. Attached names are customer-managed policies of the account, or an
   * AWS-managed policy when given as a full `arn:...:iam::aws:policy/...` ARN.
   */
  role(
    name: string,
    trust: unknown,
    policies: {
      attached?: string[];
      inline?: string[];
      documents?: Record<string, PolicyDocumentSource>;
    } | null = { attached: ['app-policy'] },
  ): Role {
    const role: Role = {
      accountId: this.accountId,
      name,
      arn: `arn:aws:iam::${this.accountId}:role/${name}`,
      trust: parsePolicyDocument(trust),
    };
    this.iamData.roles.push(role);
    if (policies) {
      this.iamData.rolePolicies.set(name, {
        attached: (policies.attached ?? []).map((p) =>
          p.startsWith('arn:')
            ? { name: p.split('/').pop() ?? p, arn: p }
            : { name: p, arn: `arn:aws:iam::${this.accountId}:policy/${p}` },
        ),
        inline: policies.inline ?? Object.keys(policies.documents ?? {}),
        inlineDocuments: policies.documents ? new Map(Object.entries(policies.documents)) : null,
      });
    }
    return role;
  }

  /** A customer-managed policy whose default version's document the snapshot holds (`Policies`). */
  managedPolicy(name: string, document: PolicyDocumentSource | null): ManagedPolicy {
    const policy: ManagedPolicy = {
      arn: `arn:aws:iam::${this.accountId}:policy/${name}`,
      name,
      defaultVersionId: document === null ? null : 'v1',
      document,
    };
    this.iamData.managedPolicies.set(policy.arn, policy);
    return policy;
  }
}

export class FleetBuilder {
  private readonly accounts = new Map<string, AccountBuilder>();
  readonly inputErrors: InputError[] = [];

  account(accountId = '111122223333'): AccountBuilder {
    let account = this.accounts.get(accountId);
    if (!account) {
      account = new AccountBuilder(accountId);
      this.accounts.set(accountId, account);
    }
    return account;
  }

  build(): Fleet {
    const accounts: Account[] = [...this.accounts.values()].map((a) => ({
      accountId: a.accountId,
      iam: a.iam as AccountIam | null,
      regions: [...a.regions].sort(),
      clusters: a.clusters.map((c) => c.cluster as Cluster),
      collectionErrors: a.collectionErrors,
    }));
    return { accounts, inputErrors: this.inputErrors };
  }
}

export interface HealthyIrsa {
  fleet: FleetBuilder;
  account: AccountBuilder;
  cluster: ClusterBuilder;
  serviceAccount: ServiceAccount;
  role: Role;
  pods: Pod[];
}

/**
 * One account, one cluster `demo` with its OIDC provider and webhook, and service account
 * `shop/api` annotated with role `demo-api`, which trusts exactly that SA and has a policy,
 * used by a Deployment `api` of two mutated pods: every check passes on it.
 */
export function healthyIrsa(options: { accountId?: string; clusterName?: string } = {}): HealthyIrsa {
  const fleet = new FleetBuilder();
  const account = fleet.account(options.accountId);
  const cluster = account.cluster(options.clusterName ?? 'demo');
  account.provider(cluster.issuer);
  cluster.webhook();
  cluster.serviceAccount('shop', 'default');
  const role = account.role(
    'demo-api',
    irsaTrustPolicy(cluster.providerArn(), cluster.issuer, 'system:serviceaccount:shop:api'),
  );
  const serviceAccount = cluster.serviceAccount('shop', 'api', { 'eks.amazonaws.com/role-arn': role.arn });
  const pods = cluster.deployment('shop', 'api', 2, { serviceAccountName: 'api', mutatedWith: role.arn });
  return { fleet, account, cluster, serviceAccount, role, pods };
}

/** A fixture: the healthy setup of {@link healthyIrsa}, changed by `mutate`. */
export function healthyWith(mutate: (h: HealthyIrsa) => void): () => Fleet {
  return () => {
    const h = healthyIrsa();
    mutate(h);
    return h.fleet.build();
  };
}

export interface HealthyPodIdentity {
  fleet: FleetBuilder;
  account: AccountBuilder;
  cluster: ClusterBuilder;
  serviceAccount: ServiceAccount;
  role: Role;
  association: PodIdentityAssociation;
  pods: Pod[];
}

/**
 * One account, one cluster `demo`, ServiceAccount `shop/api` (no IRSA annotation) with an EKS Pod
 * Identity association for role `demo-api-pod-identity` (the user guide's trust, one policy), used
 * by a Deployment `api` of two pods with the Pod Identity variables: every PODID check passes.
 */
export function healthyPodIdentity(
  options: { trust?: unknown; policies?: Parameters<AccountBuilder['role']>[2] } = {},
): HealthyPodIdentity {
  const fleet = new FleetBuilder();
  const account = fleet.account();
  const cluster = account.cluster('demo');
  cluster.serviceAccount('shop', 'default');
  const serviceAccount = cluster.serviceAccount('shop', 'api');
  const role = account.role(
    'demo-api-pod-identity',
    options.trust ?? podIdentityTrustPolicy(),
    options.policies === undefined ? { attached: ['app-policy'] } : options.policies,
  );
  const association = cluster.podIdentity('shop', 'api', role.arn);
  cluster.agentAddon('ACTIVE');
  const pods = cluster.deployment('shop', 'api', 2, {
    serviceAccountName: 'api',
    extraEnv: { ...POD_IDENTITY_ENV },
  });
  return { fleet, account, cluster, serviceAccount, role, association, pods };
}

/** A fixture: the healthy setup of {@link healthyPodIdentity}, changed by `mutate`. */
export function podIdentityWith(
  mutate: (h: HealthyPodIdentity) => void,
  options: Parameters<typeof healthyPodIdentity>[0] = {},
): () => Fleet {
  return () => {
    const h = healthyPodIdentity(options);
    mutate(h);
    return h.fleet.build();
  };
}
