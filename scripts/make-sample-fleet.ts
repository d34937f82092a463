/**
 * Writes the repository's own sample fleet snapshot to `examples/fleet/` (format: FLEET-FORMAT.md), with
 * `expected-findings.json` (every failing finding the check catalogue implies for it, and nothing else)
 * and a README that tells each cluster's story.
 *
 * Two accounts, five clusters, one story per seed document:
 * - 210987654321 / eu-west-1: `payments` (healthy), `checkout` (seed 001: the webhook's caBundle holds
 *   another cluster's CA), `batch` (seed 003: annotations, regional STS, restart after annotating; and
 *   static keys from a Secret that shadow a role),
 *   `legacy` (seed 000: the knowledge-center triage: no OIDC provider, a malformed annotation, a deleted SA).
 * - 345678901234 / us-east-1: `ml-platform` (seed 002: the IRSA-with-S3 walkthrough and its mistakes),
 *   plus cross-account IRSA, an EKS Pod Identity overlap, stale IAM leftovers and an unparseable trust.
 *
 * Its helpers (AWS and Kubernetes objects as the APIs print them, expected findings) are exported for
 * scripts/make-cross-account-fleet.ts, the second fleet.
 *
 * Deterministic: no clock, no randomness. Every id, suffix and address derives from a SHA-256 of a fixed
 * seed string, and every timestamp is written out. Run: `npx tsx scripts/make-sample-fleet.ts`.
 */

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CLUSTER_CA_A_PEM,
  CLUSTER_CA_B_PEM,
  CLUSTER_CA_C_PEM,
  CLUSTER_CA_D_PEM,
  CLUSTER_CA_E_PEM,
} from '#shared/testing/test-certificates.ts';
import { INLINE_POLICIES, MANAGED_POLICY_VERSIONS } from './sample-policies.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'fleet');

// ---------------------------------------------------------------------------------------------------------
// Deterministic stand-ins for the values the API server and AWS make up.

function digest(seed: string): Buffer {
  return createHash('sha256').update(seed).digest();
}

function fakeUid(seed: string): string {
  const hex = digest(`uid/${seed}`).toString('hex');
  const variant = '89ab'.charAt(Number.parseInt(hex.charAt(16), 16) % 4);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The alphabet of apimachinery's `rand.String` / `SafeEncodeString` (pod suffixes, template hashes). */
const KUBE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function kubeSuffix(seed: string, length: number): string {
  const bytes = digest(`suffix/${seed}`);
  let out = '';
  for (let i = 0; i < length; i++) out += KUBE_ALPHABET.charAt(bytes.readUInt8(i) % KUBE_ALPHABET.length);
  return out;
}

function fakeResourceVersion(seed: string): string {
  return String(10_000_000 + (digest(`rv/${seed}`).readUInt32BE(0) % 260_000_000));
}

function fakeIp(seed: string): string {
  const b = digest(`ip/${seed}`);
  return `10.${b.readUInt8(0) % 64}.${b.readUInt8(1)}.${1 + (b.readUInt8(2) % 253)}`;
}

export function fakeHex(seed: string, length: number): string {
  return digest(`hex/${seed}`).toString('hex').slice(0, length);
}

/** IAM unique ids: a 4-letter prefix (AROA for roles) and 17 base32 characters. */
function fakeRoleId(seed: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = digest(`roleid/${seed}`);
  let out = 'AROA';
  for (let i = 0; i < 17; i++) out += alphabet.charAt(bytes.readUInt8(i) % 32);
  return out;
}

/** `2025-03-18T09:01:44Z` as the AWS CLI prints IAM dates: `2025-03-18T09:01:44+00:00`. */
function cliDate(iso: string): string {
  return iso.replace(/Z$/, '+00:00');
}

// ---------------------------------------------------------------------------------------------------------
// AWS side: clusters, OIDC providers, roles.

export interface Cluster {
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  /** 32 uppercase hex characters: the issuer id, which EKS also uses as the API endpoint's host label. */
  readonly oidcId: string;
  readonly caPem: string;
  readonly version: string;
  readonly platformVersion: string;
  readonly createdAt: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Private IPs of the worker nodes; DaemonSets run one pod on each. */
  readonly nodeIps: readonly string[];
  /**
   * The API endpoint's access (DescribeCluster resourcesVpcConfig); default: private only. A public
   * endpoint lists the CIDRs it admits (EKS's default: 0.0.0.0/0).
   */
  readonly endpointAccess?: {
    readonly public: boolean;
    readonly private: boolean;
    readonly cidrs?: readonly string[];
  };
  /** EKS Auto Mode runs the nodes (DescribeCluster `computeConfig`). */
  readonly autoMode?: boolean;
}

export function issuerHost(cluster: Cluster): string {
  return `oidc.eks.${cluster.region}.amazonaws.com/id/${cluster.oidcId}`;
}

export function providerArn(accountId: string, host: string): string {
  return `arn:aws:iam::${accountId}:oidc-provider/${host}`;
}

export function roleArn(accountId: string, roleName: string): string {
  return `arn:aws:iam::${accountId}:role/${roleName}`;
}

function nodeName(cluster: Cluster, ip: string): string {
  const host = `ip-${ip.replaceAll('.', '-')}`;
  return cluster.region === 'us-east-1'
    ? `${host}.ec2.internal`
    : `${host}.${cluster.region}.compute.internal`;
}

export function ecrImage(accountId: string, region: string, repository: string): string {
  return `${accountId}.dkr.ecr.${region}.amazonaws.com/${repository}`;
}

/** EKS add-on images come from the EKS account's ECR in each region. */
function eksImage(cluster: Cluster, repository: string): string {
  return ecrImage('602401143452', cluster.region, repository);
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** `aws eks describe-cluster --name NAME` */
export function describeCluster(cluster: Cluster): JsonObject {
  const seed = `${cluster.accountId}/${cluster.name}`;
  return {
    cluster: {
      name: cluster.name,
      arn: `arn:aws:eks:${cluster.region}:${cluster.accountId}:cluster/${cluster.name}`,
      createdAt: cliDate(cluster.createdAt.replace(/Z$/, '.512000Z')),
      version: cluster.version,
      endpoint: `https://${cluster.oidcId}.gr7.${cluster.region}.eks.amazonaws.com`,
      roleArn: roleArn(cluster.accountId, `${cluster.name}-cluster-role`),
      resourcesVpcConfig: {
        subnetIds: [0, 1, 2].map((i) => `subnet-0${fakeHex(`${seed}/subnet/${i}`, 16)}`),
        securityGroupIds: [],
        clusterSecurityGroupId: `sg-0${fakeHex(`${seed}/sg`, 16)}`,
        vpcId: `vpc-0${fakeHex(`${seed}/vpc`, 16)}`,
        endpointPublicAccess: cluster.endpointAccess?.public ?? false,
        endpointPrivateAccess: cluster.endpointAccess?.private ?? true,
        publicAccessCidrs: cluster.endpointAccess?.public
          ? [...(cluster.endpointAccess.cidrs ?? ['0.0.0.0/0'])]
          : [],
      },
      kubernetesNetworkConfig: {
        serviceIpv4Cidr: '172.20.0.0/16',
        ipFamily: 'ipv4',
        elasticLoadBalancing: { enabled: false },
      },
      logging: {
        clusterLogging: [
          { types: ['api', 'audit', 'authenticator'], enabled: true },
          { types: ['controllerManager', 'scheduler'], enabled: false },
        ],
      },
      identity: { oidc: { issuer: `https://${issuerHost(cluster)}` } },
      status: 'ACTIVE',
      certificateAuthority: { data: base64(cluster.caPem) },
      platformVersion: cluster.platformVersion,
      tags: { ...cluster.tags },
      health: { issues: [] },
      accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
      upgradePolicy: { supportType: 'STANDARD' },
      ...(cluster.autoMode
        ? {
            computeConfig: {
              enabled: true,
              nodePools: ['general-purpose', 'system'],
              nodeRoleArn: roleArn(cluster.accountId, `${cluster.name}-node-role`),
            },
            storageConfig: { blockStorage: { enabled: true } },
          }
        : {}),
    },
  };
}

/** What goes into one account's `iam.json`, in the order the stories add it. */
export interface Account {
  readonly id: string;
  readonly roles: JsonObject[];
  readonly providers: JsonObject[];
  readonly rolePolicies: Record<string, JsonObject>;
  /** Customer-managed policies with their versions, as get-account-authorization-details prints them. */
  readonly policies: JsonObject[];
}

export function newAccount(id: string): Account {
  return { id, roles: [], providers: [], rolePolicies: {}, policies: [] };
}

/** `aws iam get-open-id-connect-provider` output plus its `Arn`, as `eksctl` creates it. */
export function addOidcProvider(
  account: Account,
  host: string,
  clusterName: string,
  createdAt: string,
): void {
  account.providers.push({
    Url: host,
    ClientIDList: ['sts.amazonaws.com'],
    ThumbprintList: ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'],
    CreateDate: cliDate(createdAt),
    Tags: [
      { Key: 'alpha.eksctl.io/cluster-name', Value: clusterName },
      { Key: 'alpha.eksctl.io/eksctl-version', Value: '0.194.0' },
    ],
    Arn: providerArn(account.id, host),
  });
}

export interface AttachedPolicy {
  readonly PolicyName: string;
  readonly PolicyArn: string;
}

export function awsManaged(name: string): AttachedPolicy {
  return { PolicyName: name, PolicyArn: `arn:aws:iam::aws:policy/${name}` };
}

export function customerManaged(accountId: string, name: string): AttachedPolicy {
  return { PolicyName: name, PolicyArn: `arn:aws:iam::${accountId}:policy/${name}` };
}

/**
 * How `AssumeRolePolicyDocument` is stored: the decoded object (`aws iam list-roles`), a JSON string, the
 * IAM API's URL-encoded JSON, or (for the broken-trust story) a raw string exactly as given.
 */
type TrustEncoding = 'object' | 'json' | 'url' | 'raw';

interface RoleInput {
  readonly name: string;
  readonly createdAt: string;
  readonly trust: JsonObject | string;
  readonly encoding: TrustEncoding;
  readonly attached: readonly AttachedPolicy[];
  readonly inline?: readonly string[];
  readonly description?: string;
}

function encodeTrust(trust: JsonObject | string, encoding: TrustEncoding): Json {
  if (typeof trust === 'string') {
    if (encoding !== 'raw') throw new Error('a string trust document must use the raw encoding');
    return trust;
  }
  switch (encoding) {
    case 'object':
      return trust;
    case 'json':
      return JSON.stringify(trust);
    case 'url':
      return encodeURIComponent(JSON.stringify(trust));
    case 'raw':
      throw new Error('the raw encoding takes a string trust document');
  }
}

/** An item of `aws iam list-roles` "Roles", and its policies in `RolePolicies`. */
export function addRole(account: Account, role: RoleInput): void {
  account.roles.push({
    Path: '/',
    RoleName: role.name,
    RoleId: fakeRoleId(`${account.id}/${role.name}`),
    Arn: roleArn(account.id, role.name),
    CreateDate: cliDate(role.createdAt),
    AssumeRolePolicyDocument: encodeTrust(role.trust, role.encoding),
    ...(role.description === undefined ? {} : { Description: role.description }),
    MaxSessionDuration: 3600,
  });
  // The permission documents come in the trust's encoding (this team's tooling stores them alike).
  const encodeDocument = (document: Json): Json =>
    role.encoding === 'url' ? encodeURIComponent(JSON.stringify(document)) : document;
  account.rolePolicies[role.name] = {
    AttachedPolicies: role.attached.map((p) => ({ PolicyName: p.PolicyName, PolicyArn: p.PolicyArn })),
    PolicyNames: [...(role.inline ?? [])],
    RolePolicyList: (role.inline ?? []).map((name) => {
      const document = INLINE_POLICIES[name];
      if (!document) throw new Error(`no document for inline policy ${name} (scripts/sample-policies.ts)`);
      return { PolicyName: name, PolicyDocument: encodeDocument(document(account.id)) };
    }),
  };
  for (const attached of role.attached) {
    if (attached.PolicyArn.includes(':iam::aws:policy/')) continue;
    if (account.policies.some((p) => p.Arn === attached.PolicyArn)) continue;
    const versions = MANAGED_POLICY_VERSIONS[attached.PolicyName];
    if (!versions)
      throw new Error(`no document for policy ${attached.PolicyName} (scripts/sample-policies.ts)`);
    const list = versions(account.id);
    const defaultVersion = `v${list.length}`;
    account.policies.push({
      PolicyName: attached.PolicyName,
      PolicyId: fakeRoleId(`${account.id}/policy/${attached.PolicyName}`).replace(/^AROA/, 'ANPA'),
      Arn: attached.PolicyArn,
      Path: '/',
      DefaultVersionId: defaultVersion,
      IsAttachable: true,
      CreateDate: cliDate(role.createdAt),
      UpdateDate: cliDate(role.createdAt),
      // Newest first, as IAM lists them.
      PolicyVersionList: list
        .map((document, i) => ({
          Document: encodeDocument(document),
          VersionId: `v${i + 1}`,
          IsDefaultVersion: `v${i + 1}` === defaultVersion,
          CreateDate: cliDate(role.createdAt),
        }))
        .reverse(),
    });
  }
}

export function trustPolicy(...statements: JsonObject[]): JsonObject {
  return { Version: '2012-10-17', Statement: statements };
}

function serviceTrustStatement(service: string, actions: string | string[] = 'sts:AssumeRole'): JsonObject {
  return { Effect: 'Allow', Principal: { Service: service }, Action: actions };
}

/** The statement every IRSA guide shows, trusting `host`'s provider in account `providerAccountId`. */
export function webIdentityStatement(
  providerAccountId: string,
  host: string,
  condition: JsonObject,
): JsonObject {
  return {
    Effect: 'Allow',
    Principal: { Federated: providerArn(providerAccountId, host) },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: condition,
  };
}

export function subject(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

/** The correct trust: exactly one service account, audience `sts.amazonaws.com`. */
export function irsaTrust(
  cluster: Cluster,
  namespace: string,
  serviceAccount: string,
  providerAccountId = cluster.accountId,
): JsonObject {
  const host = issuerHost(cluster);
  return trustPolicy(
    webIdentityStatement(providerAccountId, host, {
      StringEquals: {
        [`${host}:sub`]: subject(namespace, serviceAccount),
        [`${host}:aud`]: 'sts.amazonaws.com',
      },
    }),
  );
}

/** The control-plane and node roles every cluster has; they trust AWS services, not an OIDC provider. */
export function addClusterRoles(
  account: Account,
  cluster: Cluster,
  extraNodePolicies: readonly AttachedPolicy[] = [],
): void {
  addRole(account, {
    name: `${cluster.name}-cluster-role`,
    createdAt: cluster.createdAt,
    trust: trustPolicy(serviceTrustStatement('eks.amazonaws.com')),
    encoding: 'object',
    attached: [awsManaged('AmazonEKSClusterPolicy')],
  });
  addRole(account, {
    name: `${cluster.name}-node-role`,
    createdAt: cluster.createdAt,
    trust: trustPolicy(serviceTrustStatement('ec2.amazonaws.com')),
    encoding: 'object',
    attached: [
      awsManaged('AmazonEKSWorkerNodePolicy'),
      awsManaged('AmazonEKS_CNI_Policy'),
      awsManaged('AmazonEC2ContainerRegistryReadOnly'),
      ...extraNodePolicies,
    ],
  });
}

// ---------------------------------------------------------------------------------------------------------
// Kubernetes side: service accounts, pods as the webhook leaves them, webhook configurations.

export const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';

export function serviceAccount(
  cluster: Cluster,
  namespace: string,
  name: string,
  createdAt: string,
  annotations?: Record<string, string>,
  labels?: Record<string, string>,
): JsonObject {
  const seed = `${cluster.name}/sa/${namespace}/${name}`;
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      ...(annotations === undefined ? {} : { annotations: { ...annotations } }),
      creationTimestamp: createdAt,
      ...(labels === undefined ? {} : { labels: { ...labels } }),
      name,
      namespace,
      resourceVersion: fakeResourceVersion(seed),
      uid: fakeUid(seed),
    },
  };
}

/**
 * What the pod identity webhook injected when the pod was admitted (nothing, when the webhook was not
 * called or the SA had no annotation then): IRSA env and the `aws-iam-token` volume, or EKS Pod Identity's.
 */
type Credentials =
  | {
      readonly via: 'irsa';
      /** The annotation's value when the pod was created, copied verbatim into `AWS_ROLE_ARN`. */
      readonly roleArn: string;
      /** Whether the webhook added `AWS_STS_REGIONAL_ENDPOINTS=regional`. */
      readonly stsRegional: boolean;
      readonly tokenExpirationSeconds?: number;
      /** Containers named in the pod's `eks.amazonaws.com/skip-containers` annotation. */
      readonly skipContainers?: readonly string[];
    }
  | { readonly via: 'pod-identity' };

export function irsa(
  accountId: string,
  roleName: string,
  options: Omit<Extract<Credentials, { via: 'irsa' }>, 'via' | 'roleArn' | 'stsRegional'> & {
    stsRegional?: boolean;
  } = {},
): Credentials {
  return { via: 'irsa', roleArn: roleArn(accountId, roleName), stsRegional: true, ...options };
}

interface ContainerInput {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  /** Set by the workload's manifest; the webhook's variables come after these. */
  readonly env?: readonly (
    | { readonly name: string; readonly value: string }
    | { readonly name: string; readonly valueFrom: JsonObject }
  )[];
  readonly port?: number;
}

type PodPhase = 'Running' | 'Succeeded' | 'Failed';

interface PodInput {
  readonly namespace: string;
  readonly name: string;
  readonly generateName?: string;
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly owner?: { readonly apiVersion: string; readonly kind: string; readonly name: string };
  readonly serviceAccount: string;
  readonly containers: readonly ContainerInput[];
  readonly initContainers?: readonly ContainerInput[];
  readonly createdAt: string;
  readonly phase?: PodPhase;
  readonly nodeIndex: number;
  readonly credentials?: Credentials;
  readonly restartPolicy?: 'Always' | 'OnFailure' | 'Never';
}

const IRSA_TOKEN_DIR = '/var/run/secrets/eks.amazonaws.com/serviceaccount';
const POD_IDENTITY_TOKEN_DIR = '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount';

/** The env the webhook appends to each container it mutates, in the webhook's order. */
function injectedEnv(cluster: Cluster, credentials: Credentials): JsonObject[] {
  const region = [
    { name: 'AWS_DEFAULT_REGION', value: cluster.region },
    { name: 'AWS_REGION', value: cluster.region },
  ];
  if (credentials.via === 'pod-identity') {
    return [
      ...region,
      { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' },
      {
        name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
        value: `${POD_IDENTITY_TOKEN_DIR}/eks-pod-identity-token`,
      },
    ];
  }
  return [
    ...(credentials.stsRegional ? [{ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }] : []),
    ...region,
    { name: 'AWS_ROLE_ARN', value: credentials.roleArn },
    { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: `${IRSA_TOKEN_DIR}/token` },
  ];
}

function injectedVolume(credentials: Credentials): JsonObject {
  const [name, audience, expirationSeconds, path] =
    credentials.via === 'pod-identity'
      ? ['eks-pod-identity-token', 'pods.eks.amazonaws.com', 86400, 'eks-pod-identity-token']
      : ['aws-iam-token', 'sts.amazonaws.com', credentials.tokenExpirationSeconds ?? 86400, 'token'];
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [{ serviceAccountToken: { audience, expirationSeconds, path } }],
    },
  };
}

function injectedMount(credentials: Credentials): JsonObject {
  return credentials.via === 'pod-identity'
    ? { mountPath: POD_IDENTITY_TOKEN_DIR, name: 'eks-pod-identity-token', readOnly: true }
    : { mountPath: IRSA_TOKEN_DIR, name: 'aws-iam-token', readOnly: true };
}

function kubeApiAccessVolume(name: string): JsonObject {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { items: [{ key: 'ca.crt', path: 'ca.crt' }], name: 'kube-root-ca.crt' } },
        {
          downwardAPI: {
            items: [{ fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' }, path: 'namespace' }],
          },
        },
      ],
    },
  };
}

/** A Pod as `kubectl get pods -o json` prints it, after admission. */
function pod(cluster: Cluster, input: PodInput): JsonObject {
  const seed = `${cluster.name}/pod/${input.namespace}/${input.name}`;
  const apiAccess = `kube-api-access-${kubeSuffix(seed, 5)}`;
  const credentials = input.credentials;
  const skipped = new Set(credentials?.via === 'irsa' ? (credentials.skipContainers ?? []) : []);
  const container = (c: ContainerInput): JsonObject => {
    const mutated = credentials !== undefined && !skipped.has(c.name);
    const env = [
      ...(c.env ?? []).map((e) => ({ ...e })),
      ...(mutated ? injectedEnv(cluster, credentials) : []),
    ];
    return {
      ...(c.command === undefined ? {} : { command: [...c.command] }),
      ...(env.length > 0 ? { env } : {}),
      image: c.image,
      imagePullPolicy: 'IfNotPresent',
      name: c.name,
      ...(c.port === undefined ? {} : { ports: [{ containerPort: c.port, protocol: 'TCP' }] }),
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      volumeMounts: [
        { mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', name: apiAccess, readOnly: true },
        ...(mutated ? [injectedMount(credentials)] : []),
      ],
    };
  };
  const annotations = {
    ...(input.annotations ?? {}),
    ...(skipped.size > 0 ? { 'eks.amazonaws.com/skip-containers': [...skipped].join(',') } : {}),
  };
  const nodeIp = cluster.nodeIps[input.nodeIndex % cluster.nodeIps.length] ?? '10.0.0.1';
  const podIp = fakeIp(seed);
  const phase = input.phase ?? 'Running';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      creationTimestamp: input.createdAt,
      ...(input.generateName === undefined ? {} : { generateName: input.generateName }),
      labels: { ...input.labels },
      name: input.name,
      namespace: input.namespace,
      ...(input.owner === undefined
        ? {}
        : {
            ownerReferences: [
              {
                apiVersion: input.owner.apiVersion,
                blockOwnerDeletion: true,
                controller: true,
                kind: input.owner.kind,
                name: input.owner.name,
                uid: fakeUid(`${cluster.name}/${input.owner.kind}/${input.namespace}/${input.owner.name}`),
              },
            ],
          }),
      resourceVersion: fakeResourceVersion(seed),
      uid: fakeUid(seed),
    },
    spec: {
      containers: input.containers.map(container),
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      ...(input.initContainers === undefined ? {} : { initContainers: input.initContainers.map(container) }),
      nodeName: nodeName(cluster, nodeIp),
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      restartPolicy: input.restartPolicy ?? 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      serviceAccount: input.serviceAccount,
      serviceAccountName: input.serviceAccount,
      terminationGracePeriodSeconds: 30,
      tolerations: [
        {
          effect: 'NoExecute',
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          tolerationSeconds: 300,
        },
        {
          effect: 'NoExecute',
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          tolerationSeconds: 300,
        },
      ],
      volumes: [
        ...(credentials === undefined ? [] : [injectedVolume(credentials)]),
        kubeApiAccessVolume(apiAccess),
      ],
    },
    status: {
      hostIP: nodeIp,
      phase,
      podIP: podIp,
      podIPs: [{ ip: podIp }],
      qosClass: 'BestEffort',
      startTime: input.createdAt,
    },
  };
}

/** What a workload's pods share; the helpers below add the owner, names and controller labels. */
interface WorkloadInput {
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccount: string;
  readonly containers: readonly ContainerInput[];
  readonly initContainers?: readonly ContainerInput[];
  readonly createdAt: string;
  readonly credentials?: Credentials;
  /** App labels; default `app.kubernetes.io/name: <name>`. */
  readonly labels?: Record<string, string>;
  readonly phase?: PodPhase;
  readonly restartPolicy?: 'Always' | 'OnFailure' | 'Never';
}

function appLabels(w: WorkloadInput): Record<string, string> {
  return w.labels ?? { 'app.kubernetes.io/name': w.name };
}

/** A Deployment's pods, owned by its current ReplicaSet `<name>-<pod-template-hash>`. */
export function deploymentPods(
  cluster: Cluster,
  w: WorkloadInput & { readonly replicas: number },
): JsonObject[] {
  const hash = kubeSuffix(`${cluster.name}/rs/${w.namespace}/${w.name}/${w.createdAt}`, 10);
  const replicaSet = `${w.name}-${hash}`;
  return Array.from({ length: w.replicas }, (_, i) =>
    pod(cluster, {
      ...w,
      name: `${replicaSet}-${kubeSuffix(`${cluster.name}/${replicaSet}/${i}`, 5)}`,
      generateName: `${replicaSet}-`,
      labels: { ...appLabels(w), 'pod-template-hash': hash },
      owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: replicaSet },
      nodeIndex: i,
    }),
  );
}

/** A DaemonSet's pods: one on each node. */
export function daemonSetPods(cluster: Cluster, w: WorkloadInput): JsonObject[] {
  const revision = kubeSuffix(`${cluster.name}/ds/${w.namespace}/${w.name}`, 9);
  return cluster.nodeIps.map((_, i) =>
    pod(cluster, {
      ...w,
      name: `${w.name}-${kubeSuffix(`${cluster.name}/ds/${w.name}/${i}`, 5)}`,
      generateName: `${w.name}-`,
      labels: { ...appLabels(w), 'controller-revision-hash': revision, 'pod-template-generation': '1' },
      owner: { apiVersion: 'apps/v1', kind: 'DaemonSet', name: w.name },
      nodeIndex: i,
    }),
  );
}

/** A StatefulSet's pods `<name>-0`, `<name>-1`, ... */
export function statefulSetPods(
  cluster: Cluster,
  w: WorkloadInput & { readonly replicas: number },
): JsonObject[] {
  const revision = `${w.name}-${kubeSuffix(`${cluster.name}/sts/${w.namespace}/${w.name}`, 10)}`;
  return Array.from({ length: w.replicas }, (_, i) =>
    pod(cluster, {
      ...w,
      name: `${w.name}-${i}`,
      generateName: `${w.name}-`,
      labels: {
        ...appLabels(w),
        'apps.kubernetes.io/pod-index': String(i),
        'controller-revision-hash': revision,
        'statefulset.kubernetes.io/pod-name': `${w.name}-${i}`,
      },
      owner: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: w.name },
      nodeIndex: i,
    }),
  );
}

/** The pod of a Job (`name` is the Job's; a CronJob's Job is `<cronjob>-<scheduled minute since epoch>`). */
export function jobPod(cluster: Cluster, w: WorkloadInput): JsonObject {
  const controllerUid = fakeUid(`${cluster.name}/Job/${w.namespace}/${w.name}`);
  return pod(cluster, {
    ...w,
    name: `${w.name}-${kubeSuffix(`${cluster.name}/job/${w.name}`, 5)}`,
    generateName: `${w.name}-`,
    labels: {
      'batch.kubernetes.io/controller-uid': controllerUid,
      'batch.kubernetes.io/job-name': w.name,
      'controller-uid': controllerUid,
      'job-name': w.name,
      ...(w.labels ?? {}),
    },
    owner: { apiVersion: 'batch/v1', kind: 'Job', name: w.name },
    nodeIndex: 0,
    restartPolicy: w.restartPolicy ?? 'Never',
  });
}

/** A Pod created directly (`kubectl apply -f pod.yaml`), with no owner. */
export function barePod(cluster: Cluster, w: WorkloadInput): JsonObject {
  return pod(cluster, { ...w, labels: w.labels ?? { app: w.name }, nodeIndex: 1 });
}

/** `iso` plus some minutes, in the same `...Z` form (date arithmetic on fixed inputs, no clock). */
function minutesAfter(iso: string, minutes: number): string {
  return new Date(Date.parse(iso) + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * kube-system as EKS sets it up: the service accounts and pods of the VPC CNI (`aws-node`), CoreDNS and
 * kube-proxy. `awsNode` annotates `aws-node` with an IRSA role and restarts its pods, as the EKS user guide
 * does in its own example (seed 003).
 */
export function kubeSystem(
  cluster: Cluster,
  awsNode?: { roleName: string; restartedAt: string },
): JsonObject[] {
  const at = minutesAfter(cluster.createdAt, 25);
  const awsNodeRole = awsNode?.roleName;
  const awsNodeCredentials = awsNodeRole === undefined ? undefined : irsa(cluster.accountId, awsNodeRole);
  const cni = 'v1.19.2-eksbuild.1';
  return [
    serviceAccount(
      cluster,
      'kube-system',
      'aws-node',
      at,
      awsNodeRole === undefined
        ? undefined
        : { [ROLE_ARN_ANNOTATION]: roleArn(cluster.accountId, awsNodeRole) },
      { 'app.kubernetes.io/managed-by': 'eks' },
    ),
    serviceAccount(cluster, 'kube-system', 'coredns', at),
    serviceAccount(cluster, 'kube-system', 'default', at),
    serviceAccount(cluster, 'kube-system', 'kube-proxy', at),
    ...daemonSetPods(cluster, {
      namespace: 'kube-system',
      name: 'aws-node',
      serviceAccount: 'aws-node',
      labels: { 'k8s-app': 'aws-node' },
      initContainers: [{ name: 'aws-vpc-cni-init', image: eksImage(cluster, `amazon-k8s-cni-init:${cni}`) }],
      containers: [
        { name: 'aws-node', image: eksImage(cluster, `amazon-k8s-cni:${cni}`), port: 61678 },
        {
          name: 'aws-eks-nodeagent',
          image: eksImage(cluster, 'amazon/aws-network-policy-agent:v1.1.6-eksbuild.1'),
        },
      ],
      createdAt: awsNode?.restartedAt ?? at,
      ...(awsNodeCredentials === undefined ? {} : { credentials: awsNodeCredentials }),
    }),
    ...deploymentPods(cluster, {
      namespace: 'kube-system',
      name: 'coredns',
      serviceAccount: 'coredns',
      labels: { 'app.kubernetes.io/name': 'coredns', 'k8s-app': 'kube-dns' },
      containers: [{ name: 'coredns', image: eksImage(cluster, 'eks/coredns:v1.11.4-eksbuild.2'), port: 53 }],
      createdAt: at,
      replicas: 2,
    }),
    ...daemonSetPods(cluster, {
      namespace: 'kube-system',
      name: 'kube-proxy',
      serviceAccount: 'kube-proxy',
      labels: { 'k8s-app': 'kube-proxy' },
      containers: [
        {
          name: 'kube-proxy',
          image: eksImage(cluster, `eks/kube-proxy:v${cluster.version}.0-minimal-eksbuild.1`),
        },
      ],
      createdAt: at,
    }),
  ];
}

/**
 * The two MutatingWebhookConfigurations of an EKS cluster. `podIdentityCaPem` is the caBundle of the pod
 * identity webhook: the cluster's own CA unless a story replaced it.
 */
export function webhookConfigurations(
  cluster: Cluster,
  podIdentityCaPem: string,
  patched = false,
): JsonObject[] {
  const created = cluster.createdAt;
  const webhook = (name: string, caPem: string, url: string, extra: JsonObject): JsonObject => ({
    admissionReviewVersions: name === 'iam-for-pods.amazonaws.com' ? ['v1beta1'] : ['v1'],
    clientConfig: { caBundle: base64(caPem), url },
    failurePolicy: 'Ignore',
    matchPolicy: 'Equivalent',
    name,
    namespaceSelector: {},
    ...extra,
    rules: [
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: '*' },
    ],
    sideEffects: 'None',
    timeoutSeconds: 10,
  });
  const configuration = (name: string, generation: number, hook: JsonObject): JsonObject => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      creationTimestamp: created,
      generation,
      name,
      resourceVersion: fakeResourceVersion(`${cluster.name}/mwc/${name}/${generation}`),
      uid: fakeUid(`${cluster.name}/mwc/${name}`),
    },
    webhooks: [hook],
  });
  return [
    configuration(
      'pod-identity-webhook',
      patched ? 2 : 1,
      webhook('iam-for-pods.amazonaws.com', podIdentityCaPem, 'https://127.0.0.1:23443/mutate', {
        objectSelector: {
          matchExpressions: [
            { key: 'eks.amazonaws.com/skip-pod-identity-webhook', operator: 'DoesNotExist' },
          ],
        },
        reinvocationPolicy: 'IfNeeded',
      }),
    ),
    configuration(
      'vpc-resource-mutating-webhook',
      1,
      webhook('mpod.vpc.k8s.aws', cluster.caPem, 'https://127.0.0.1:61779/mutate-v1-pod', {
        objectSelector: { matchExpressions: [{ key: 'role', operator: 'NotIn', values: ['trunk-eni'] }] },
        reinvocationPolicy: 'Never',
      }),
    ),
  ];
}

/** The namespaces every EKS cluster has, whether or not anything of the snapshot lives there. */
const BUILT_IN_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/** A Namespace as `kubectl get namespaces -o json` prints it (`kubernetes.io/metadata.name` set by the API server). */
function namespaceObject(name: string, labels: Record<string, string>): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      labels: { 'kubernetes.io/metadata.name': name, ...labels },
      name,
      resourceVersion: fakeResourceVersion(`ns/${name}`),
      uid: fakeUid(`ns/${name}`),
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/**
 * `kubectl get serviceaccounts,pods,mutatingwebhookconfigurations,namespaces -A -o json` (plus the
 * Service and EndpointSlices of a self-managed pod identity webhook), in kubectl's order, with
 * `collected` naming every kind the collector reads. The namespaces are those of the items and the
 * built-in ones, with `namespaceLabels` added to their own.
 */
export function kubernetesList(
  items: readonly JsonObject[],
  namespaceLabels: Readonly<Record<string, Record<string, string>>> = {},
): JsonObject {
  const kindOrder = [
    'ServiceAccount',
    'Pod',
    'MutatingWebhookConfiguration',
    'Namespace',
    'Service',
    'EndpointSlice',
  ];
  const names = new Set([
    ...BUILT_IN_NAMESPACES,
    ...Object.keys(namespaceLabels),
    ...items.flatMap((item) => {
      const namespace = (item.metadata as JsonObject).namespace;
      return typeof namespace === 'string' ? [namespace] : [];
    }),
  ]);
  const namespaces = [...names].map((name) => namespaceObject(name, namespaceLabels[name] ?? {}));
  const key = (item: JsonObject): string => {
    const metadata = item.metadata as JsonObject;
    return `${kindOrder.indexOf(String(item.kind))}/${String(metadata.namespace ?? '')}/${String(metadata.name)}`;
  };
  const sorted = [...items, ...namespaces].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return {
    apiVersion: 'v1',
    collected: kindOrder,
    items: sorted,
    kind: 'List',
    metadata: { resourceVersion: '' },
  };
}

/**
 * amazon-eks-pod-identity-webhook run by the cluster owner (its SELF_HOSTED_SETUP): its
 * configuration (webhook `iam-for-pods.amazonaws.com` called through Service
 * `<namespace>/pod-identity-webhook`, a serving certificate the cluster CA signed through a CSR,
 * the upstream manifest's `failurePolicy: Ignore`), its ServiceAccount, its Deployment's pods, the
 * Service and the EndpointSlice the controller keeps for it, each endpoint ready or not.
 */
export function selfHostedWebhook(
  cluster: Cluster,
  options: {
    readonly namespace: string;
    readonly namespaceSelector: JsonObject;
    readonly createdAt: string;
    readonly ready: boolean;
  },
): JsonObject[] {
  const { namespace, createdAt } = options;
  const name = 'pod-identity-webhook';
  const labels = { app: name };
  const configuration: JsonObject = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      creationTimestamp: createdAt,
      generation: 1,
      name: `${name}-selfhosted`,
      resourceVersion: fakeResourceVersion(`${cluster.name}/mwc/${name}-selfhosted`),
      uid: fakeUid(`${cluster.name}/mwc/${name}-selfhosted`),
    },
    webhooks: [
      {
        admissionReviewVersions: ['v1beta1'],
        clientConfig: {
          caBundle: base64(cluster.caPem),
          service: { name, namespace, path: '/mutate', port: 443 },
        },
        failurePolicy: 'Ignore',
        matchPolicy: 'Equivalent',
        name: 'iam-for-pods.amazonaws.com',
        namespaceSelector: options.namespaceSelector,
        objectSelector: {
          matchExpressions: [
            { key: 'eks.amazonaws.com/skip-pod-identity-webhook', operator: 'DoesNotExist' },
          ],
        },
        reinvocationPolicy: 'IfNeeded',
        rules: [
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: '*' },
        ],
        sideEffects: 'None',
        timeoutSeconds: 10,
      },
    ],
  };
  const pods = deploymentPods(cluster, {
    namespace,
    name,
    serviceAccount: name,
    labels,
    containers: [
      {
        name,
        image: 'amazon/amazon-eks-pod-identity-webhook:v0.6.5',
        command: ['/webhook', '--in-cluster=false', '--namespace', namespace, '--service-name', name],
        port: 443,
      },
    ],
    createdAt,
    replicas: 2,
  });
  const service: JsonObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      creationTimestamp: createdAt,
      name,
      namespace,
      resourceVersion: fakeResourceVersion(`${cluster.name}/svc/${namespace}/${name}`),
      uid: fakeUid(`${cluster.name}/svc/${namespace}/${name}`),
    },
    spec: {
      clusterIP: fakeIp(`${cluster.name}/svc/${namespace}/${name}`),
      ports: [{ port: 443, protocol: 'TCP', targetPort: 443 }],
      selector: labels,
      type: 'ClusterIP',
    },
  };
  const slice: JsonObject = {
    addressType: 'IPv4',
    apiVersion: 'discovery.k8s.io/v1',
    endpoints: pods.map((p): JsonObject => {
      const metadata = p.metadata as JsonObject;
      const status = p.status as JsonObject;
      return {
        addresses: [String(status.podIP)],
        conditions: { ready: options.ready, serving: options.ready, terminating: false },
        nodeName: String((p.spec as JsonObject).nodeName),
        targetRef: { kind: 'Pod', name: String(metadata.name), namespace, uid: String(metadata.uid) },
      };
    }),
    kind: 'EndpointSlice',
    metadata: {
      creationTimestamp: createdAt,
      generateName: `${name}-`,
      labels: {
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        'kubernetes.io/service-name': name,
      },
      name: `${name}-${kubeSuffix(`${cluster.name}/eps/${namespace}/${name}`, 5)}`,
      namespace,
      resourceVersion: fakeResourceVersion(`${cluster.name}/eps/${namespace}/${name}`),
      uid: fakeUid(`${cluster.name}/eps/${namespace}/${name}`),
    },
    ports: [{ name: '', port: 443, protocol: 'TCP' }],
  };
  return [
    configuration,
    serviceAccount(cluster, namespace, 'default', createdAt),
    serviceAccount(cluster, namespace, name, createdAt),
    ...pods,
    service,
    slice,
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Expected findings (format: shared fleets README): identity fields plus informational region and why.

export interface ExpectedFinding {
  readonly checkId: string;
  readonly accountId: string;
  readonly region: string | null;
  readonly cluster: string | null;
  readonly namespace: string | null;
  readonly serviceAccount: string | null;
  readonly roleName: string | null;
  readonly why: string;
}

export const expectedFindings: ExpectedFinding[] = [];

export function expectFinding(
  checkId: string,
  where: Partial<Omit<ExpectedFinding, 'checkId' | 'why'>> & { readonly accountId: string },
  why: string,
): void {
  expectedFindings.push({
    checkId,
    accountId: where.accountId,
    region: where.region ?? null,
    cluster: where.cluster ?? null,
    namespace: where.namespace ?? null,
    serviceAccount: where.serviceAccount ?? null,
    roleName: where.roleName ?? null,
    why,
  });
}

export function onCluster(cluster: Cluster): { accountId: string; region: string; cluster: string } {
  return { accountId: cluster.accountId, region: cluster.region, cluster: cluster.name };
}

// ---------------------------------------------------------------------------------------------------------
// The fleet.

const ACCOUNT_A = newAccount('210987654321');
const ACCOUNT_B = newAccount('345678901234');

export interface ClusterSnapshot {
  readonly cluster: Cluster;
  readonly story: string;
  readonly kubernetes: readonly JsonObject[];
  /** Labels of namespaces beyond `kubernetes.io/metadata.name`, by namespace. */
  readonly namespaceLabels?: Readonly<Record<string, Record<string, string>>>;
  readonly podIdentityAssociations?: readonly JsonObject[];
  /**
   * The managed node groups (nodegroups.json); default: one, `general`, on the cluster's own launch
   * template `<cluster>-nodes` version 1, which requires IMDSv2 with hop limit 1.
   */
  readonly nodeGroups?: readonly NodeGroupInput[];
}

/** The metadata options of a launch template version (null: the version sets none). */
type MetadataOptions = {
  HttpTokens?: string;
  HttpPutResponseHopLimit?: number;
  HttpEndpoint?: string;
} | null;

export interface NodeGroupInput {
  readonly name: string;
  /** Null: EKS generated the node group's launch template (DescribeNodegroup names none). */
  readonly launchTemplate: {
    readonly name: string;
    /** As DescribeNodegroup gives it. */
    readonly version: string;
    /** The template's versions, from 1; `default` marks the default one (else version 1). */
    readonly versions: readonly { readonly metadata: MetadataOptions; readonly default?: boolean }[];
  } | null;
}

export const SECURE_METADATA: MetadataOptions = {
  HttpTokens: 'required',
  HttpPutResponseHopLimit: 1,
  HttpEndpoint: 'enabled',
};

/** `nodegroups.json`: list-nodegroups, describe-nodegroup of each, the launch template versions they run. */
export function nodegroupsJson(cluster: Cluster, groups: readonly NodeGroupInput[]): JsonObject {
  const seed = `${cluster.accountId}/${cluster.name}`;
  const templateId = (name: string) => `lt-0${fakeHex(`${seed}/lt/${name}`, 16)}`;
  const described = groups.map((g) => ({
    nodegroup: {
      nodegroupName: g.name,
      nodegroupArn: `arn:aws:eks:${cluster.region}:${cluster.accountId}:nodegroup/${cluster.name}/${g.name}/${fakeHex(`${seed}/ng/${g.name}`, 8)}-0000-0000-0000-000000000000`,
      clusterName: cluster.name,
      version: cluster.version,
      createdAt: cliDate(cluster.createdAt.replace(/Z$/, '.104000Z')),
      status: 'ACTIVE',
      capacityType: 'ON_DEMAND',
      scalingConfig: { minSize: 2, maxSize: 6, desiredSize: 2 },
      instanceTypes: g.launchTemplate ? [] : ['m6i.large'],
      amiType: g.launchTemplate ? 'AL2_x86_64' : 'AL2023_x86_64_STANDARD',
      nodeRole: roleArn(cluster.accountId, `${cluster.name}-node-role`),
      resources: { autoScalingGroups: [{ name: `eks-${g.name}-${fakeHex(`${seed}/asg/${g.name}`, 8)}` }] },
      health: { issues: [] },
      ...(g.launchTemplate
        ? {
            launchTemplate: {
              name: g.launchTemplate.name,
              version: g.launchTemplate.version,
              id: templateId(g.launchTemplate.name),
            },
          }
        : {}),
    },
  }));
  // What the collector keeps of each version it read: the versions the node groups name.
  const versions = groups.flatMap((g) => {
    const t = g.launchTemplate;
    if (!t) return [];
    const defaultIndex = Math.max(
      0,
      t.versions.findIndex((v) => v.default === true),
    );
    const wanted =
      t.version === '$Latest'
        ? t.versions.length - 1
        : t.version === '$Default'
          ? defaultIndex
          : Number(t.version) - 1;
    const v = t.versions[wanted];
    if (!v) throw new Error(`${cluster.name}/${g.name}: no version ${t.version}`);
    return [
      {
        LaunchTemplateId: templateId(t.name),
        LaunchTemplateName: t.name,
        VersionNumber: wanted + 1,
        DefaultVersion: wanted === defaultIndex,
        CreateTime: cliDate(cluster.createdAt),
        LaunchTemplateData: (v.metadata === null ? {} : { MetadataOptions: v.metadata }) as JsonObject,
      },
    ];
  });
  return { nodegroups: groups.map((g) => g.name).sort(), described, launchTemplateVersions: versions };
}

export function twoNodes(seed: string): string[] {
  return [fakeIp(`${seed}/node/0`), fakeIp(`${seed}/node/1`)];
}

/** Healthy end to end: provider, webhook, trusts, policies, mutated pods of a Deployment and a CronJob. */
function paymentsCluster(): ClusterSnapshot {
  const c: Cluster = {
    accountId: ACCOUNT_A.id,
    region: 'eu-west-1',
    name: 'payments',
    oidcId: '1BD2304DC6677EE4E1F84F38A0EF8FC5',
    caPem: CLUSTER_CA_A_PEM,
    version: '1.32',
    platformVersion: 'eks.9',
    createdAt: '2025-02-10T09:14:22Z',
    tags: { team: 'payments', env: 'prod' },
    nodeIps: twoNodes('payments'),
  };
  addClusterRoles(ACCOUNT_A, c);
  addOidcProvider(ACCOUNT_A, issuerHost(c), c.name, '2025-02-10T09:31:05Z');
  addRole(ACCOUNT_A, {
    name: 'payments-ledger-writer',
    createdAt: '2025-02-11T08:05:12Z',
    trust: irsaTrust(c, 'payments', 'ledger-writer'),
    encoding: 'object',
    attached: [customerManaged(ACCOUNT_A.id, 'ledger-writer-dynamodb')],
    inline: ['ledger-kms-encrypt'],
    description: 'IRSA role for payments/ledger-writer',
  });
  addRole(ACCOUNT_A, {
    name: 'payments-settlement',
    createdAt: '2025-02-11T08:06:40Z',
    trust: irsaTrust(c, 'payments', 'settlement'),
    encoding: 'object',
    attached: [customerManaged(ACCOUNT_A.id, 'settlement-s3-export')],
    description: 'IRSA role for payments/settlement (nightly-settle CronJob)',
  });
  const image = (name: string): string => ecrImage(c.accountId, c.region, name);
  const settlement = (minute: number, createdAt: string, phase: PodPhase): JsonObject =>
    jobPod(c, {
      namespace: 'payments',
      name: `nightly-settle-${minute}`,
      serviceAccount: 'settlement',
      labels: { 'app.kubernetes.io/name': 'nightly-settle' },
      containers: [{ name: 'settle', image: image('settlement:1.4.0') }],
      createdAt,
      phase,
      restartPolicy: 'OnFailure',
      credentials: irsa(c.accountId, 'payments-settlement', { tokenExpirationSeconds: 3600 }),
    });
  return {
    cluster: c,
    story:
      'healthy end to end: provider, webhook caBundle = cluster CA, exact trusts, policies, mutated pods',
    kubernetes: [
      ...kubeSystem(c),
      ...webhookConfigurations(c, c.caPem),
      serviceAccount(c, 'payments', 'default', '2025-02-11T08:00:00Z'),
      serviceAccount(c, 'payments', 'ledger-writer', '2025-02-11T08:12:40Z', {
        [ROLE_ARN_ANNOTATION]: roleArn(c.accountId, 'payments-ledger-writer'),
        'eks.amazonaws.com/sts-regional-endpoints': 'true',
      }),
      serviceAccount(c, 'payments', 'settlement', '2025-02-11T08:13:02Z', {
        [ROLE_ARN_ANNOTATION]: roleArn(c.accountId, 'payments-settlement'),
        'eks.amazonaws.com/token-expiration': '3600',
      }),
      // The envoy sidecar is listed in skip-containers: the webhook leaves it alone, and so must IRSA-030.
      ...deploymentPods(c, {
        namespace: 'payments',
        name: 'ledger-writer',
        serviceAccount: 'ledger-writer',
        containers: [
          { name: 'ledger-writer', image: image('ledger-writer:3.8.1'), port: 8080 },
          { name: 'envoy', image: 'public.ecr.aws/envoyproxy/envoy:v1.31.2', port: 15001 },
        ],
        createdAt: '2025-11-03T10:22:17Z',
        credentials: irsa(c.accountId, 'payments-ledger-writer', { skipContainers: ['envoy'] }),
        replicas: 3,
      }),
      // CronJob nightly-settle, 01:30 UTC: last night's run completed, tonight's is running.
      settlement(29391930, '2025-11-19T01:30:04Z', 'Succeeded'),
      settlement(29393370, '2025-11-20T01:30:03Z', 'Running'),
    ],
  };
}

/**
 * Seed 001: while patching the pod-identity-webhook, an engineer pasted payments' caBundle. The webhook is
 * no longer called (failurePolicy Ignore), so pods created since then silently run with the node role.
 */
function checkoutCluster(): ClusterSnapshot {
  const c: Cluster = {
    accountId: ACCOUNT_A.id,
    region: 'eu-west-1',
    name: 'checkout',
    oidcId: '307ABCC21658D160AAC32089BB554518',
    caPem: CLUSTER_CA_B_PEM,
    version: '1.32',
    platformVersion: 'eks.9',
    createdAt: '2025-03-04T14:40:09Z',
    tags: { team: 'checkout', env: 'prod' },
    nodeIps: twoNodes('checkout'),
  };
  // During the outage cart-api's pods ran with the node role; someone "fixed" their S3 errors there.
  addClusterRoles(ACCOUNT_A, c, [awsManaged('AmazonS3FullAccess')]);
  addOidcProvider(ACCOUNT_A, issuerHost(c), c.name, '2025-03-04T15:02:48Z');
  for (const [sa, name, policy] of [
    ['checkout-web', 'checkout-web', 'checkout-web-sessions'],
    ['cart-api', 'checkout-cart-api', 'cart-api-dynamodb'],
    ['receipts', 'checkout-receipts', 'receipts-s3'],
  ] as const) {
    addRole(ACCOUNT_A, {
      name,
      createdAt: '2025-03-05T10:20:00Z',
      trust: irsaTrust(c, 'checkout', sa),
      encoding: 'object',
      attached: [customerManaged(ACCOUNT_A.id, policy)],
    });
  }
  const image = (name: string): string => ecrImage(c.accountId, c.region, name);
  const cartApiRole = roleArn(c.accountId, 'checkout-cart-api');
  expectFinding(
    'IRSA-004',
    onCluster(c),
    "pod-identity-webhook caBundle holds the payments cluster's CA (A), not checkout's CA (B)",
  );
  expectFinding(
    'IRSA-030',
    { ...onCluster(c), namespace: 'checkout', serviceAccount: 'cart-api' },
    'Deployment cart-api: both pods, created after the caBundle change and after the annotation, lack AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the aws-iam-token volume',
  );
  expectFinding(
    'IRSA-063',
    { ...onCluster(c), namespace: 'checkout', serviceAccount: 'receipts' },
    "Deployment receipts: its pod template carries eks.amazonaws.com/skip-pod-identity-webhook (added during the outage to rule the webhook out, never removed), which the webhook's objectSelector excludes; IRSA-030 takes the label as deliberate",
  );
  expectFinding(
    'IRSA-060',
    { ...onCluster(c), roleName: 'checkout-node-role' },
    'node group general runs launch template checkout-nodes version 2, which allows IMDSv1 (HttpTokens optional) with hop limit 2: the unmutated cart-api pods reach the node role through the metadata',
  );
  expectFinding(
    'IRSA-061',
    { ...onCluster(c), roleName: 'checkout-node-role' },
    'node role checkout-node-role holds AmazonS3FullAccess beside the worker-node policies (attached during the outage so that the unmutated pods could reach S3): every pod that reaches the metadata gets it',
  );
  return {
    cluster: c,
    // Version 1 of the template was IMDSv2-only; version 2 (the default) loosened it for an agent.
    nodeGroups: [
      {
        name: 'general',
        launchTemplate: {
          name: 'checkout-nodes',
          version: '2',
          versions: [
            { metadata: SECURE_METADATA },
            {
              metadata: { HttpTokens: 'optional', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
              default: true,
            },
          ],
        },
      },
    ],
    story:
      "seed 001: the webhook's caBundle was replaced by another cluster's CA; new pods are not mutated (and reach the node role, which IMDSv1 and hop limit 2 expose and which holds AmazonS3FullAccess), and a workload labelled to skip the webhook while debugging still skips it",
    kubernetes: [
      ...kubeSystem(c),
      // Patched on 2025-11-17 with payments' caBundle (CA A) instead of checkout's own (CA B).
      ...webhookConfigurations(c, CLUSTER_CA_A_PEM, true),
      serviceAccount(c, 'checkout', 'default', '2025-03-05T10:00:00Z'),
      serviceAccount(c, 'checkout', 'checkout-web', '2025-03-05T10:21:30Z', {
        [ROLE_ARN_ANNOTATION]: roleArn(c.accountId, 'checkout-web'),
      }),
      serviceAccount(c, 'checkout', 'cart-api', '2025-03-05T10:21:34Z', {
        [ROLE_ARN_ANNOTATION]: cartApiRole,
      }),
      serviceAccount(c, 'checkout', 'receipts', '2025-03-05T10:21:38Z', {
        [ROLE_ARN_ANNOTATION]: roleArn(c.accountId, 'checkout-receipts'),
      }),
      // Created before the caBundle change: mutated, still fine.
      ...deploymentPods(c, {
        namespace: 'checkout',
        name: 'checkout-web',
        serviceAccount: 'checkout-web',
        containers: [{ name: 'checkout-web', image: image('checkout-web:5.2.0'), port: 8080 }],
        createdAt: '2025-10-28T09:05:51Z',
        credentials: irsa(c.accountId, 'checkout-web'),
        replicas: 2,
      }),
      // Rolled out after the change: not mutated.
      ...deploymentPods(c, {
        namespace: 'checkout',
        name: 'cart-api',
        serviceAccount: 'cart-api',
        containers: [{ name: 'cart-api', image: image('cart-api:2.7.4'), port: 8080 }],
        createdAt: '2025-11-18T11:47:02Z',
        replicas: 2,
      }),
      // Labelled to skip the webhook while the outage was debugged, and never unlabelled: the webhook's
      // objectSelector (DoesNotExist) leaves these pods out whatever the webhook's state (IRSA-063).
      ...deploymentPods(c, {
        namespace: 'checkout',
        name: 'receipts',
        serviceAccount: 'receipts',
        labels: {
          'app.kubernetes.io/name': 'receipts',
          'eks.amazonaws.com/skip-pod-identity-webhook': 'true',
        },
        containers: [{ name: 'receipts', image: image('receipts:1.4.1'), port: 8080 }],
        createdAt: '2025-11-18T16:12:40Z',
        replicas: 1,
      }),
      // The release's migration Job ran unmutated too, but it has completed: pods in Succeeded do not count.
      jobPod(c, {
        namespace: 'checkout',
        name: 'cart-db-migrate',
        serviceAccount: 'cart-api',
        containers: [{ name: 'migrate', image: image('cart-api:2.7.4'), command: ['/app/migrate', 'up'] }],
        createdAt: '2025-11-18T11:45:30Z',
        phase: 'Succeeded',
      }),
    ],
  };
}

/**
 * Seed 003 (annotate a service account): an annotation value the webhook ignores, a role changed without
 * restarting the pods, regional STS asked for after the pods started, a token expiration out of range;
 * and a workload moved to IRSA whose manifest still sets an IAM user's keys (IRSA-034).
 */
function batchCluster(): ClusterSnapshot {
  const c: Cluster = {
    accountId: ACCOUNT_A.id,
    region: 'eu-west-1',
    name: 'batch',
    oidcId: '478BD5A5C8992952CB84F001AC17A606',
    caPem: CLUSTER_CA_C_PEM,
    version: '1.31',
    platformVersion: 'eks.21',
    createdAt: '2025-05-12T07:55:31Z',
    tags: { team: 'data', env: 'prod' },
    nodeIps: twoNodes('batch'),
  };
  addClusterRoles(ACCOUNT_A, c);
  addOidcProvider(ACCOUNT_A, issuerHost(c), c.name, '2025-05-12T08:10:57Z');
  // This team's tooling stores trust policies as JSON strings. batch-loader is the loader's previous role.
  const roles: [name: string, namespace: string, sa: string, policy: AttachedPolicy, createdAt: string][] = [
    ['batch-vpc-cni', 'kube-system', 'aws-node', awsManaged('AmazonEKS_CNI_Policy'), '2025-06-03T08:30:00Z'],
    [
      'batch-spark-runner',
      'etl',
      'spark-runner',
      customerManaged(c.accountId, 'spark-s3-scratch'),
      '2025-05-13T09:00:00Z',
    ],
    ['batch-loader', 'etl', 'loader', awsManaged('AmazonS3ReadOnlyAccess'), '2025-05-13T09:01:00Z'],
    [
      'batch-loader-v2',
      'etl',
      'loader',
      customerManaged(c.accountId, 'loader-v2-redshift'),
      '2025-11-12T14:02:18Z',
    ],
    [
      'batch-exporter',
      'etl',
      'exporter',
      customerManaged(c.accountId, 'exporter-cloudwatch'),
      '2025-05-13T09:02:00Z',
    ],
    ['batch-archiver', 'etl', 'archiver', awsManaged('AmazonS3FullAccess'), '2025-05-13T09:03:00Z'],
    [
      'batch-reporter',
      'etl',
      'reporter',
      customerManaged(c.accountId, 'reporter-s3-read'),
      '2025-11-03T10:20:00Z',
    ],
    [
      'batch-month-end',
      'reports',
      'month-end',
      customerManaged(c.accountId, 'month-end-ledger-read'),
      '2025-12-01T09:00:00Z',
    ],
  ];
  for (const [name, namespace, sa, policy, createdAt] of roles) {
    const trust = irsaTrust(c, namespace, sa);
    addRole(ACCOUNT_A, { name, createdAt, trust, encoding: 'json', attached: [policy] });
  }
  const image = (name: string): string => ecrImage(c.accountId, c.region, name);
  const annotate = (roleName: string, extra: Record<string, string> = {}): Record<string, string> => ({
    [ROLE_ARN_ANNOTATION]: roleArn(c.accountId, roleName),
    ...extra,
  });
  const etl = { namespace: 'etl' };
  expectFinding(
    'IRSA-019',
    { ...onCluster(c), ...etl, serviceAccount: 'spark-runner' },
    'eks.amazonaws.com/sts-regional-endpoints is "yes", which Go\'s ParseBool rejects: the webhook ignores it',
  );
  expectFinding(
    'IRSA-031',
    { ...onCluster(c), ...etl, serviceAccount: 'loader' },
    'StatefulSet loader: pods carry AWS_ROLE_ARN batch-loader; the SA now names batch-loader-v2 (changed after they started)',
  );
  expectFinding(
    'IRSA-032',
    { ...onCluster(c), ...etl, serviceAccount: 'exporter' },
    'DaemonSet exporter: SA asks for regional STS ("true") but its mutated pods lack AWS_STS_REGIONAL_ENDPOINTS=regional',
  );
  expectFinding(
    'IRSA-020',
    { ...onCluster(c), ...etl, serviceAccount: 'archiver' },
    'eks.amazonaws.com/token-expiration is "300", below the 600 second minimum',
  );
  // The data team runs the self-hosted webhook in place of EKS's (for its namespace opt-in label,
  // as before the cluster moved to EKS): its pods have failed their readiness probe since its serving
  // certificate expired, and it fails open.
  const inject = { 'irsa.data.example.com/inject': 'enabled' };
  expectFinding(
    'IRSA-062',
    onCluster(c),
    'the self-hosted pod identity webhook (Service irsa-system/pod-identity-webhook) has failurePolicy Ignore: while it is down, new pods start without credentials and nobody is told',
  );
  expectFinding(
    'IRSA-064',
    onCluster(c),
    'Service irsa-system/pod-identity-webhook of the self-hosted webhook has 2 endpoints, none ready (its pods fail their readiness probe)',
  );
  expectFinding(
    'IRSA-063',
    { ...onCluster(c), namespace: 'reports', serviceAccount: 'month-end' },
    'namespace reports was created without the irsa.data.example.com/inject=enabled label the webhook namespaceSelector asks for: the month-end job ran without credentials',
  );
  expectFinding(
    'IRSA-034',
    { ...onCluster(c), ...etl, serviceAccount: 'reporter' },
    'Deployment reporter: its container still takes AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from Secret reporter-aws-keys, so the SDK never uses role batch-reporter the webhook injected',
  );
  return {
    cluster: c,
    // general: created without a launch template (EKS generated one: IRSA-060 not evaluated, says so);
    // spot: on batch-spot's $Latest, version 2, IMDSv2 with hop limit 1.
    nodeGroups: [
      { name: 'general', launchTemplate: null },
      {
        name: 'spot',
        launchTemplate: {
          name: 'batch-spot',
          version: '$Latest',
          versions: [{ metadata: SECURE_METADATA, default: true }, { metadata: SECURE_METADATA }],
        },
      },
    ],
    story:
      "seed 003: annotation values the webhook ignores, a role changed without restarting, regional STS, static keys that shadow the role; the self-hosted webhook that replaces EKS's fails open, has no ready endpoint, and its namespace opt-in label is missing on a new namespace",
    namespaceLabels: { 'kube-system': inject, etl: inject },
    kubernetes: [
      ...kubeSystem(c, { roleName: 'batch-vpc-cni', restartedAt: '2025-06-03T08:41:17Z' }),
      ...webhookConfigurations(c, c.caPem).filter(
        (w) => (w.metadata as JsonObject).name !== 'pod-identity-webhook',
      ),
      ...selfHostedWebhook(c, {
        namespace: 'irsa-system',
        namespaceSelector: { matchLabels: inject },
        createdAt: '2025-05-12T09:30:00Z',
        ready: false,
      }),
      serviceAccount(c, 'reports', 'default', '2025-12-01T08:55:00Z'),
      serviceAccount(c, 'reports', 'month-end', '2025-12-01T09:05:00Z', annotate('batch-month-end')),
      // The CronJob's first run: never sent to the webhook, so it ran with the node role (it completed).
      jobPod(c, {
        namespace: 'reports',
        name: 'month-end-29409120',
        serviceAccount: 'month-end',
        containers: [{ name: 'month-end', image: image('month-end-close:1.0.2') }],
        createdAt: '2025-12-01T00:00:04Z',
        phase: 'Succeeded',
        restartPolicy: 'OnFailure',
      }),
      serviceAccount(c, 'etl', 'default', '2025-05-13T08:45:00Z'),
      serviceAccount(
        c,
        'etl',
        'spark-runner',
        '2025-05-13T09:10:00Z',
        annotate('batch-spark-runner', { 'eks.amazonaws.com/sts-regional-endpoints': 'yes' }),
      ),
      // Re-annotated with batch-loader-v2 on 2025-11-12; the StatefulSet was not restarted (seed 003 step 3).
      serviceAccount(c, 'etl', 'loader', '2025-05-13T09:10:04Z', annotate('batch-loader-v2')),
      serviceAccount(
        c,
        'etl',
        'exporter',
        '2025-05-13T09:10:08Z',
        annotate('batch-exporter', { 'eks.amazonaws.com/sts-regional-endpoints': 'true' }),
      ),
      serviceAccount(
        c,
        'etl',
        'archiver',
        '2025-05-13T09:10:12Z',
        annotate('batch-archiver', { 'eks.amazonaws.com/token-expiration': '300' }),
      ),
      serviceAccount(c, 'etl', 'reporter', '2025-11-03T10:25:00Z', annotate('batch-reporter')),
      ...deploymentPods(c, {
        ...etl,
        name: 'spark-runner',
        serviceAccount: 'spark-runner',
        containers: [{ name: 'spark-runner', image: image('spark-runner:3.5.3') }],
        createdAt: '2025-11-10T06:12:44Z',
        credentials: irsa(c.accountId, 'batch-spark-runner'),
        replicas: 2,
      }),
      ...statefulSetPods(c, {
        ...etl,
        name: 'loader',
        serviceAccount: 'loader',
        containers: [{ name: 'loader', image: image('loader:2.0.9') }],
        createdAt: '2025-09-15T13:20:09Z',
        credentials: irsa(c.accountId, 'batch-loader'),
        replicas: 2,
      }),
      // Started in June, before "sts-regional-endpoints: true" was added (seed 003 step 2, not step 3).
      ...daemonSetPods(c, {
        ...etl,
        name: 'exporter',
        serviceAccount: 'exporter',
        containers: [{ name: 'exporter', image: image('metrics-exporter:0.12.1'), port: 9100 }],
        createdAt: '2025-06-02T11:40:27Z',
        credentials: irsa(c.accountId, 'batch-exporter', { stsRegional: false }),
      }),
      // The webhook clamps the token to its 600 second minimum.
      ...deploymentPods(c, {
        ...etl,
        name: 'archiver',
        serviceAccount: 'archiver',
        containers: [{ name: 'archiver', image: image('archiver:1.1.0') }],
        createdAt: '2025-10-21T17:33:50Z',
        credentials: irsa(c.accountId, 'batch-archiver', { tokenExpirationSeconds: 600 }),
        replicas: 1,
      }),
      // Moved to IRSA in November (annotated, restarted, mutated), but the manifest still hands it
      // the IAM user's keys it used before: the SDK takes those first, and the role is never used.
      ...deploymentPods(c, {
        ...etl,
        name: 'reporter',
        serviceAccount: 'reporter',
        containers: [
          {
            name: 'reporter',
            image: image('reporter:4.2.0'),
            env: [
              {
                name: 'AWS_ACCESS_KEY_ID',
                valueFrom: { secretKeyRef: { key: 'access-key-id', name: 'reporter-aws-keys' } },
              },
              {
                name: 'AWS_SECRET_ACCESS_KEY',
                valueFrom: { secretKeyRef: { key: 'secret-access-key', name: 'reporter-aws-keys' } },
              },
              { name: 'REPORT_BUCKET', value: 'batch-reports' },
            ],
          },
        ],
        createdAt: '2025-11-03T10:31:12Z',
        credentials: irsa(c.accountId, 'batch-reporter'),
        replicas: 1,
      }),
    ],
  };
}

/**
 * Seed 000 (the knowledge-center triage): the cluster never got an IAM OIDC provider, an annotation has a
 * stray trailing space, and a Deployment's service account was deleted under its running pods.
 */
function legacyCluster(): ClusterSnapshot {
  const c: Cluster = {
    accountId: ACCOUNT_A.id,
    region: 'eu-west-1',
    name: 'legacy',
    oidcId: 'CF9004F2DA2217DA5F3BC11F8856C211',
    caPem: CLUSTER_CA_D_PEM,
    version: '1.30',
    platformVersion: 'eks.29',
    createdAt: '2025-01-08T16:20:44Z',
    tags: { team: 'orders', env: 'prod' },
    nodeIps: twoNodes('legacy'),
  };
  addClusterRoles(ACCOUNT_A, c);
  // No addOidcProvider: nobody ran `eksctl utils associate-iam-oidc-provider` for this cluster.
  for (const sa of ['order-sync', 'order-api']) {
    addRole(ACCOUNT_A, {
      name: `legacy-${sa}`,
      createdAt: '2025-01-09T10:15:00Z',
      trust: irsaTrust(c, 'orders', sa),
      encoding: 'object',
      attached: [customerManaged(ACCOUNT_A.id, `${sa}-sqs`)],
    });
  }
  const image = (name: string): string => ecrImage(c.accountId, c.region, name);
  // Pasted from a ticket with a trailing space; the webhook copies the value verbatim into AWS_ROLE_ARN.
  const orderSyncArn = `${roleArn(c.accountId, 'legacy-order-sync')} `;
  const orders = { namespace: 'orders' };
  expectFinding('IRSA-001', onCluster(c), `no IAM OIDC provider in ${c.accountId} has Url ${issuerHost(c)}`);
  expectFinding(
    'IRSA-010',
    { ...onCluster(c), ...orders, serviceAccount: 'order-sync' },
    'role-arn annotation "arn:aws:iam::210987654321:role/legacy-order-sync " ends with a space',
  );
  expectFinding(
    'IRSA-033',
    { ...onCluster(c), ...orders, serviceAccount: 'invoice-worker' },
    'Deployment invoice-worker: its pods run as service account orders/invoice-worker, which no longer exists',
  );
  return {
    cluster: c,
    story: 'seed 000: no IAM OIDC provider, a malformed role-arn annotation, a deleted service account',
    kubernetes: [
      ...kubeSystem(c),
      ...webhookConfigurations(c, c.caPem),
      serviceAccount(c, 'orders', 'default', '2025-01-09T10:00:00Z'),
      serviceAccount(c, 'orders', 'order-sync', '2025-01-09T10:20:31Z', {
        [ROLE_ARN_ANNOTATION]: orderSyncArn,
      }),
      serviceAccount(c, 'orders', 'order-api', '2025-01-09T10:20:35Z', {
        [ROLE_ARN_ANNOTATION]: roleArn(c.accountId, 'legacy-order-api'),
      }),
      ...deploymentPods(c, {
        ...orders,
        name: 'order-sync',
        serviceAccount: 'order-sync',
        containers: [{ name: 'order-sync', image: image('order-sync:4.0.2') }],
        createdAt: '2025-11-05T08:14:29Z',
        credentials: { via: 'irsa', roleArn: orderSyncArn, stsRegional: true },
        replicas: 2,
      }),
      ...deploymentPods(c, {
        ...orders,
        name: 'order-api',
        serviceAccount: 'order-api',
        containers: [{ name: 'order-api', image: image('order-api:4.0.2'), port: 8080 }],
        createdAt: '2025-11-05T08:14:33Z',
        credentials: irsa(c.accountId, 'legacy-order-api'),
        replicas: 2,
      }),
      // Its (never annotated) service account was deleted by a namespace clean-up; the pods kept running.
      ...deploymentPods(c, {
        ...orders,
        name: 'invoice-worker',
        serviceAccount: 'invoice-worker',
        containers: [{ name: 'invoice-worker', image: image('invoice-worker:1.9.0') }],
        createdAt: '2025-08-26T12:01:09Z',
        replicas: 2,
      }),
      // A debugging pod whose service account is gone as well, but it has failed: it does not count.
      barePod(c, {
        ...orders,
        name: 'debug-shell',
        serviceAccount: 'debug',
        containers: [{ name: 'shell', image: 'public.ecr.aws/docker/library/busybox:1.37', command: ['sh'] }],
        createdAt: '2025-10-02T15:40:12Z',
        phase: 'Failed',
        restartPolicy: 'Never',
      }),
    ],
  };
}

/**
 * Seed 002 (IRSA with S3) and its mistakes, plus cross-account IRSA, an EKS Pod Identity overlap, wildcard
 * and unrestricted trusts, and what a deleted cluster leaves behind in IAM.
 */
function mlPlatformCluster(): ClusterSnapshot {
  const c: Cluster = {
    accountId: ACCOUNT_B.id,
    region: 'us-east-1',
    name: 'ml-platform',
    oidcId: '32666DD136FAC9913E750F410625A02E',
    caPem: CLUSTER_CA_E_PEM,
    version: '1.33',
    platformVersion: 'eks.6',
    createdAt: '2025-06-02T18:03:12Z',
    tags: { team: 'ml', env: 'prod' },
    nodeIps: twoNodes('ml-platform'),
    // EKS Auto Mode: no managed node group, nodes whose metadata pods cannot reach (IRSA-060/061 pass).
    autoMode: true,
  };
  const host = issuerHost(c);
  const sub = `${host}:sub`;
  const aud = `${host}:aud`;
  const B = ACCOUNT_B.id;
  addClusterRoles(ACCOUNT_B, c);
  addOidcProvider(ACCOUNT_B, host, c.name, '2025-06-02T18:25:40Z');
  // Seed 002: the walkthrough's trust with "aud": "" (this account's roles come URL-encoded, as the API has them).
  addRole(ACCOUNT_B, {
    name: 'ml-s3-reader',
    createdAt: '2025-06-04T09:12:05Z',
    trust: trustPolicy(
      webIdentityStatement(B, host, {
        StringEquals: { [aud]: '', [sub]: subject('default', 'my-service-account') },
      }),
    ),
    encoding: 'url',
    attached: [customerManaged(B, 'ml-s3-reader-bucket')],
    description: 'my-irsa-role',
  });
  addRole(ACCOUNT_B, {
    name: 'ml-s3-writer',
    createdAt: '2025-06-04T09:40:51Z',
    trust: irsaTrust(c, 'data', 's3-writer'),
    encoding: 'url',
    attached: [],
  });
  addRole(ACCOUNT_B, {
    name: 'ml-trainer',
    createdAt: '2025-06-05T13:02:33Z',
    trust: trustPolicy(
      webIdentityStatement(B, host, {
        StringEquals: { [sub]: subject('trainning', 'trainer'), [aud]: 'sts.amazonaws.com' },
      }),
    ),
    encoding: 'url',
    attached: [awsManaged('AmazonSageMakerFullAccess')],
  });
  addRole(ACCOUNT_B, {
    name: 'ml-notebooks',
    createdAt: '2025-06-06T10:44:19Z',
    trust: trustPolicy(
      webIdentityStatement(B, host, {
        StringLike: { [sub]: 'system:serviceaccount:notebooks:*' },
        StringEquals: { [aud]: 'sts.amazonaws.com' },
      }),
    ),
    encoding: 'object',
    attached: [customerManaged(B, 'notebooks-s3-workspace')],
  });
  addRole(ACCOUNT_B, {
    name: 'ml-shared',
    createdAt: '2025-06-06T11:02:57Z',
    trust: trustPolicy(webIdentityStatement(B, host, { StringEquals: { [aud]: 'sts.amazonaws.com' } })),
    encoding: 'json',
    attached: [awsManaged('AmazonS3ReadOnlyAccess')],
  });
  addRole(ACCOUNT_B, {
    name: 'ml-feature-store',
    createdAt: '2025-06-10T08:30:00Z',
    trust: irsaTrust(c, 'data', 'feature-store'),
    encoding: 'url',
    attached: [customerManaged(B, 'feature-store-dynamodb')],
  });
  addRole(ACCOUNT_B, {
    name: 'ml-feature-store-pod-identity',
    createdAt: '2025-09-22T14:10:00Z',
    trust: trustPolicy(serviceTrustStatement('pods.eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession'])),
    encoding: 'url',
    attached: [customerManaged(B, 'feature-store-dynamodb')],
  });
  // PODID-001: the trust was copied from an EC2 role's: sts:AssumeRole without sts:TagSession.
  addRole(ACCOUNT_B, {
    name: 'ml-embeddings-pod-identity',
    createdAt: '2025-10-14T09:20:00Z',
    trust: trustPolicy(serviceTrustStatement('pods.eks.amazonaws.com', ['sts:AssumeRole'])),
    encoding: 'url',
    attached: [awsManaged('AmazonS3ReadOnlyAccess')],
  });
  // Cross-account IRSA: the role lives in 210987654321 and trusts a provider for this cluster's issuer
  // there, but nobody created that provider in 210987654321.
  addRole(ACCOUNT_A, {
    name: 'ml-lake-reader',
    createdAt: '2025-07-01T09:00:00Z',
    trust: irsaTrust(c, 'data', 'lake-reader', ACCOUNT_A.id),
    encoding: 'url',
    attached: [customerManaged(ACCOUNT_A.id, 'data-lake-read')],
    description: 'Read the data lake from ml-platform (345678901234)',
  });
  // A role whose trust was saved truncated: it cannot be parsed.
  addRole(ACCOUNT_B, {
    name: 'ml-broken-trust',
    createdAt: '2025-08-14T16:45:03Z',
    trust: JSON.stringify(irsaTrust(c, 'data', 'batch-scorer')).slice(0, 180),
    encoding: 'raw',
    attached: [awsManaged('AmazonS3ReadOnlyAccess')],
  });
  // What the deleted cluster ml-sandbox left: its OIDC provider and a role that still trusts it.
  const orphanHost = `oidc.eks.us-east-1.amazonaws.com/id/AA89E659BC8307EE7E0A148C207081BF`;
  addOidcProvider(ACCOUNT_B, orphanHost, 'ml-sandbox', '2025-02-11T10:03:27Z');
  addRole(ACCOUNT_B, {
    name: 'old-etl-role',
    createdAt: '2025-02-12T09:30:00Z',
    trust: trustPolicy(
      webIdentityStatement(B, orphanHost, {
        StringEquals: {
          [`${orphanHost}:sub`]: subject('etl', 'spark'),
          [`${orphanHost}:aud`]: 'sts.amazonaws.com',
        },
      }),
    ),
    encoding: 'url',
    attached: [awsManaged('AmazonS3ReadOnlyAccess')],
  });

  const image = (name: string): string => ecrImage(B, c.region, name);
  const annotate = (accountId: string, roleName: string): Record<string, string> => ({
    [ROLE_ARN_ANNOTATION]: roleArn(accountId, roleName),
  });
  const at = onCluster(c);
  expectFinding(
    'IRSA-014',
    { ...at, namespace: 'default', serviceAccount: 'my-service-account' },
    'ml-s3-reader trust has StringEquals ":aud": "" which does not admit sts.amazonaws.com',
  );
  expectFinding(
    'IRSA-018',
    { ...at, namespace: 'data', serviceAccount: 's3-writer' },
    'role ml-s3-writer has no attached and no inline policy',
  );
  expectFinding(
    'IRSA-013',
    { ...at, namespace: 'training', serviceAccount: 'trainer' },
    'ml-trainer trusts "system:serviceaccount:trainning:trainer" (namespace typo), not training:trainer',
  );
  expectFinding(
    'IRSA-016',
    { ...at, roleName: 'ml-notebooks' },
    'StringLike ":sub": "system:serviceaccount:notebooks:*" admits notebooks/default and notebooks/jupyter',
  );
  expectFinding(
    'IRSA-023',
    { ...at, namespace: 'notebooks', serviceAccount: 'jupyter' },
    'policy notebooks-s3-workspace grants s3:ListBucket on arn:aws:s3:::acme-ml-notebooks/* only, which is no bucket ARN (seed 002)',
  );
  expectFinding(
    'IRSA-015',
    { ...at, roleName: 'ml-shared' },
    'the only condition is ":aud": any service account of ml-platform can assume ml-shared',
  );
  expectFinding(
    'IRSA-022',
    { ...at, namespace: 'data', serviceAccount: 'lake-reader' },
    `role ml-lake-reader is in ${ACCOUNT_A.id}, which has no OIDC provider for ${host}`,
  );
  expectFinding(
    'IRSA-021',
    { ...at, namespace: 'data', serviceAccount: 'feature-store' },
    'SA has both the role-arn annotation and an EKS Pod Identity association; its pods use Pod Identity',
  );
  expectFinding(
    'PODID-001',
    { ...at, namespace: 'data', serviceAccount: 'embeddings' },
    'the Pod Identity role ml-embeddings-pod-identity trusts pods.eks.amazonaws.com for sts:AssumeRole but not sts:TagSession',
  );
  expectFinding(
    'IRSA-017',
    { accountId: B, roleName: 'ml-broken-trust' },
    'AssumeRolePolicyDocument is truncated JSON and cannot be parsed',
  );
  expectFinding(
    'IRSA-050',
    { accountId: B, region: 'us-east-1' },
    `OIDC provider ${orphanHost} (tagged ml-sandbox) matches no cluster`,
  );
  expectFinding(
    'IRSA-051',
    { accountId: B, roleName: 'old-etl-role' },
    `trusts ${orphanHost}, the provider of a deleted cluster`,
  );

  const deployment = (
    namespace: string,
    name: string,
    roleAccount: string,
    roleName: string,
    createdAt: string,
  ): JsonObject[] =>
    deploymentPods(c, {
      namespace,
      name,
      serviceAccount: name,
      containers: [{ name, image: image(`${name}:1.0.0`) }],
      createdAt,
      credentials: irsa(roleAccount, roleName),
      replicas: 1,
    });
  const namespaceDefaults = ['default', 'data', 'training', 'notebooks', 'shared'].map((ns) =>
    serviceAccount(c, ns, 'default', ns === 'default' ? c.createdAt : '2025-06-04T08:00:00Z'),
  );
  return {
    cluster: c,
    story:
      'seed 002: ":aud" "", a role without policy, a ":sub" typo, ListBucket granted on the objects only; wildcard and unrestricted trusts; cross-account; Pod Identity overlap and a Pod Identity role without sts:TagSession; stale IAM',
    kubernetes: [
      ...kubeSystem(c),
      ...webhookConfigurations(c, c.caPem),
      ...namespaceDefaults,
      serviceAccount(c, 'default', 'my-service-account', '2025-06-04T09:05:40Z', annotate(B, 'ml-s3-reader')),
      serviceAccount(c, 'data', 's3-writer', '2025-06-04T09:41:22Z', annotate(B, 'ml-s3-writer')),
      serviceAccount(
        c,
        'data',
        'lake-reader',
        '2025-07-01T09:05:00Z',
        annotate(ACCOUNT_A.id, 'ml-lake-reader'),
      ),
      serviceAccount(c, 'data', 'feature-store', '2025-06-10T08:31:00Z', annotate(B, 'ml-feature-store')),
      serviceAccount(c, 'data', 'embeddings', '2025-10-14T09:18:00Z'),
      serviceAccount(c, 'training', 'trainer', '2025-06-05T13:04:10Z', annotate(B, 'ml-trainer')),
      serviceAccount(c, 'notebooks', 'jupyter', '2025-06-06T10:45:00Z', annotate(B, 'ml-notebooks')),
      serviceAccount(c, 'shared', 'tools', '2025-06-06T11:03:30Z', annotate(B, 'ml-shared')),
      // The walkthrough's test pod.
      barePod(c, {
        namespace: 'default',
        name: 'awscli',
        serviceAccount: 'my-service-account',
        containers: [
          { name: 'awscli', image: 'amazon/aws-cli:latest', command: ['/bin/bash', '-c', 'sleep infinity'] },
        ],
        createdAt: '2025-11-18T15:20:07Z',
        credentials: irsa(B, 'ml-s3-reader'),
      }),
      ...deployment('data', 's3-writer', B, 'ml-s3-writer', '2025-11-18T15:31:44Z'),
      ...deployment('data', 'lake-reader', ACCOUNT_A.id, 'ml-lake-reader', '2025-11-12T10:02:09Z'),
      ...deployment('shared', 'tools', B, 'ml-shared', '2025-11-03T12:00:00Z'),
      // Created after the Pod Identity association: the webhook injected Pod Identity credentials instead.
      ...deploymentPods(c, {
        namespace: 'data',
        name: 'feature-store',
        serviceAccount: 'feature-store',
        containers: [{ name: 'feature-store', image: image('feature-store:2.3.0'), port: 6566 }],
        createdAt: '2025-10-06T07:58:36Z',
        credentials: { via: 'pod-identity' },
        replicas: 2,
      }),
      ...deploymentPods(c, {
        namespace: 'data',
        name: 'embeddings',
        serviceAccount: 'embeddings',
        containers: [{ name: 'embeddings', image: image('embeddings:0.4.1') }],
        createdAt: '2025-10-14T09:31:02Z',
        credentials: { via: 'pod-identity' },
        replicas: 1,
      }),
      jobPod(c, {
        namespace: 'training',
        name: 'trainer-run-0427',
        serviceAccount: 'trainer',
        containers: [{ name: 'trainer', image: image('trainer:0.9.0') }],
        createdAt: '2025-11-19T22:00:12Z',
        credentials: irsa(B, 'ml-trainer'),
      }),
      ...statefulSetPods(c, {
        namespace: 'notebooks',
        name: 'jupyter',
        serviceAccount: 'jupyter',
        containers: [{ name: 'notebook', image: 'quay.io/jupyter/scipy-notebook:2025-11-10', port: 8888 }],
        createdAt: '2025-11-10T09:30:00Z',
        credentials: irsa(B, 'ml-notebooks'),
        replicas: 1,
      }),
    ],
    podIdentityAssociations: [
      {
        clusterName: c.name,
        namespace: 'data',
        serviceAccount: 'feature-store',
        roleArn: roleArn(B, 'ml-feature-store-pod-identity'),
        associationArn: `arn:aws:eks:${c.region}:${B}:podidentityassociation/${c.name}/a-${fakeHex('pia/feature-store', 17)}`,
        associationId: `a-${fakeHex('pia/feature-store', 17)}`,
        tags: {},
        createdAt: '2025-09-22T14:12:31.204000+00:00',
        modifiedAt: '2025-09-22T14:12:31.204000+00:00',
      },
      {
        clusterName: c.name,
        namespace: 'data',
        serviceAccount: 'embeddings',
        roleArn: roleArn(B, 'ml-embeddings-pod-identity'),
        associationArn: `arn:aws:eks:${c.region}:${B}:podidentityassociation/${c.name}/a-${fakeHex('pia/embeddings', 17)}`,
        associationId: `a-${fakeHex('pia/embeddings', 17)}`,
        tags: {},
        createdAt: '2025-10-14T09:22:47.918000+00:00',
        modifiedAt: '2025-10-14T09:22:47.918000+00:00',
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Output.

export function iamJson(account: Account): JsonObject {
  return {
    Roles: account.roles,
    OpenIDConnectProviders: account.providers,
    RolePolicies: account.rolePolicies,
    Policies: account.policies,
  };
}

/** Findings that belong to no cluster (account hygiene, unparseable trusts), by account: what they tell. */
const ACCOUNT_STORIES: Readonly<Record<string, string>> = {
  [ACCOUNT_B.id]:
    'IAM leftovers of the deleted cluster ml-sandbox; a role whose trust policy was saved truncated',
};

function readme(snapshots: readonly ClusterSnapshot[]): string {
  const label = (f: ExpectedFinding): string =>
    f.roleName ??
    (f.namespace === null
      ? f.cluster === null
        ? '(account)'
        : '(cluster)'
      : `${f.namespace}/${f.serviceAccount}`);
  const checksFor = (accountId: string, cluster: string | null): string =>
    expectedFindings
      .filter((f) => f.accountId === accountId && f.cluster === cluster)
      .map((f) => `${f.checkId} ${label(f)}`)
      .join(', ') || 'nothing';
  const clusterRows = snapshots.map(
    (s) =>
      `| ${s.cluster.accountId} | ${s.cluster.region} | ${s.cluster.name} | ${s.story} | ${checksFor(s.cluster.accountId, s.cluster.name)} |`,
  );
  const accountRows = Object.entries(ACCOUNT_STORIES).map(
    ([accountId, story]) => `| ${accountId} | | (no cluster) | ${story} | ${checksFor(accountId, null)} |`,
  );
  return [
    '# Sample fleet',
    '',
    'Generated by `npx tsx scripts/make-sample-fleet.ts` (do not edit by hand). A fleet snapshot in the',
    'format the auditor reads, telling the stories of the four source documents; `expected-findings.json`',
    'lists every failing finding the check catalogue implies for it, and nothing else.',
    '',
    '| account | region | cluster | story | expected |',
    '|---|---|---|---|---|',
    ...clusterRows,
    ...accountRows,
    '',
  ].join('\n');
}

export function writeJson(path: string, data: Json): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
}

function main(): void {
  const snapshots = [
    paymentsCluster(),
    checkoutCluster(),
    batchCluster(),
    legacyCluster(),
    mlPlatformCluster(),
  ];
  // The directory is wholly generated: start clean so that nothing stale survives.
  rmSync(OUT_DIR, { recursive: true, force: true });
  for (const account of [ACCOUNT_A, ACCOUNT_B])
    writeJson(join(OUT_DIR, account.id, 'iam.json'), iamJson(account));
  for (const s of snapshots) {
    const dir = join(OUT_DIR, s.cluster.accountId, s.cluster.region, s.cluster.name);
    writeJson(join(dir, 'cluster.json'), describeCluster(s.cluster));
    writeJson(join(dir, 'kubernetes.json'), kubernetesList(s.kubernetes, s.namespaceLabels));
    if (s.podIdentityAssociations !== undefined) {
      writeJson(join(dir, 'pod-identity-associations.json'), {
        associations: [...s.podIdentityAssociations],
      });
    }
    // Auto Mode runs its nodes without managed node groups; the others run theirs (nodegroups.json).
    const nodeGroups: readonly NodeGroupInput[] =
      s.nodeGroups ??
      (s.cluster.autoMode
        ? []
        : [
            {
              name: 'general',
              launchTemplate: {
                name: `${s.cluster.name}-nodes`,
                version: '1',
                versions: [{ metadata: SECURE_METADATA }],
              },
            },
          ]);
    writeJson(join(dir, 'nodegroups.json'), nodegroupsJson(s.cluster, nodeGroups));
    // `aws eks list-addons`, and `describe-addon` of the Pod Identity agent where it is installed
    // (the clusters with associations): PODID-004 passes on them.
    const agent = (s.podIdentityAssociations?.length ?? 0) > 0;
    writeJson(join(dir, 'addons.json'), {
      addons: ['coredns', ...(agent ? ['eks-pod-identity-agent'] : []), 'kube-proxy', 'vpc-cni'],
      described: agent
        ? [
            {
              addon: {
                addonName: 'eks-pod-identity-agent',
                clusterName: s.cluster.name,
                status: 'ACTIVE',
                addonVersion: 'v1.3.4-eksbuild.1',
                health: { issues: [] },
                addonArn: `arn:aws:eks:${s.cluster.region}:${s.cluster.accountId}:addon/${s.cluster.name}/eks-pod-identity-agent/${fakeHex(`addon/${s.cluster.name}`, 8)}-0000-0000-0000-000000000000`,
                createdAt: '2025-09-22T14:05:00.000000+00:00',
              },
            },
          ]
        : [],
    });
  }
  writeJson(join(OUT_DIR, 'expected-findings.json'), {
    findings: expectedFindings.map((f) => ({ ...f })),
  });
  writeFileSync(join(OUT_DIR, 'README.md'), readme(snapshots));
  process.stdout.write(
    `wrote ${OUT_DIR}: ${snapshots.length} clusters, ${expectedFindings.length} expected findings\n`,
  );
}

// Run as a script, not when scripts/make-cross-account-fleet.ts imports the helpers above.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
