/**
 * The live collection use-case: accounts -> (IAM once per account) + regions -> EKS clusters ->
 * Kubernetes, then the policies of the roles some service account references. Produces the
 * snapshot files of docs/fleet-format.md, each handed to a sink (snapshot-sink.ts) as soon as it
 * is complete and not kept: a directory (`collect`, `check --live`), or memory (the default: the
 * result's `files`). Every failure becomes a collection error next to the data it concerns;
 * nothing is thrown for one account or cluster.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { EksTokenCache } from '../aws/eks-token.ts';
import type { CollectionError } from '../model/fleet.ts';
import { isRoleArn } from '../policy/aws-names.ts';
import {
  type AccountSelection,
  type AuditRole,
  assumeAuditRole,
  enabledRegions,
  resolveAccounts,
} from './accounts.ts';
import { AwsClients, type ClientOptions, describeAwsError } from './aws-clients.ts';
import { describeLaunchTemplateVersions, type LaunchTemplateRef } from './ec2.ts';
import {
  AddonDescribeError,
  describeCluster,
  describePodIdentityAssociations,
  type ListedNodegroups,
  listAddons,
  listClusters,
  listNodegroups,
  listPodIdentityAssociations,
} from './eks.ts';
import { byErrorOrder, ReadError } from './failures.ts';
import {
  collectIam,
  collectInlinePolicy,
  collectManagedPolicy,
  collectRolePolicies,
  type IamSnapshot,
  type InlinePolicy,
  isAwsManagedPolicy,
  type ManagedPolicy,
} from './iam.ts';
import {
  DEFAULT_CLUSTER_DEADLINE_MS,
  DEFAULT_PAGE_SLOTS,
  type KubernetesCollectOptions,
  startKubernetesCollection,
} from './kubernetes.ts';
import { kubernetesListParts } from './kubernetes-pages.ts';
import { type ProbeOptions, probeCandidates, probeServiceAccounts, WebIdentityStsClients } from './probe.ts';
import { cidrsExcludeAll } from './public-access.ts';
import {
  memorySink,
  type SnapshotContent,
  type SnapshotFiles,
  type SnapshotSink,
  SnapshotWriter,
  type UnwrittenFile,
} from './snapshot-sink.ts';

export type { SnapshotFiles, SnapshotSink };

export interface CollectProgress {
  readonly phase: 'accounts' | 'account' | 'cluster' | 'policies' | 'done';
  readonly accountId?: string;
  readonly region?: string;
  readonly cluster?: string;
  readonly message: string;
}

export interface CollectOptions {
  readonly accounts: AccountSelection;
  /** The read-only audit role to assume in each account; without it the caller's credentials are used as they are. */
  readonly auditRole?: AuditRole;
  /** Regions to audit; default: each account's enabled regions. */
  readonly regions?: readonly string[];
  /** Accounts collected at once. */
  readonly accountConcurrency?: number;
  /** Clusters collected at once within one account. */
  readonly clusterConcurrency?: number;
  /** Clusters collected at once overall (Kubernetes lists are the heavy part). */
  readonly totalClusterConcurrency?: number;
  /** The caller's clients (default credential chain). */
  readonly caller?: AwsClients;
  readonly clientOptions?: ClientOptions;
  /** Kubernetes reads; `deadlineMs` bounds each cluster's (see DEFAULT_CLUSTER_DEADLINE_MS). */
  readonly kubernetes?: Omit<KubernetesCollectOptions, 'token'>;
  /**
   * A cluster whose public endpoint is off (DescribeCluster `endpointPublicAccess: false`) is not
   * dialled (`skip`, the default: from outside its VPC the private endpoint cannot answer, and a
   * dial would wait for the deadline), unless the collector runs where private endpoints are
   * reachable (`dial`: inside the VPC, or peered with it).
   */
  readonly privateEndpoints?: 'skip' | 'dial';
  /**
   * When the whole collection must be over (epoch ms; the auditor function's timeout less the time
   * it needs to record): each cluster gets at most the time left as its deadline, and a cluster
   * reached after it is recorded as not read (AUDIT-002), so the account's audit always completes.
   */
  readonly stopAt?: number;
  /**
   * The public addresses the collector's traffic leaves from (a NAT gateway's Elastic IPs, an
   * office's address): a cluster whose public endpoint admits none of them (its publicAccessCidrs)
   * is not dialled over it, and gets an error saying so at once. Unknown (default): dialled.
   */
  readonly egressAddresses?: readonly string[];
  /**
   * Whose attached and inline policies to list (IRSA-018): the roles this collection's
   * ServiceAccounts name (default), or also every role that trusts an EKS OIDC provider: the
   * pipeline, where another account's unit may need them (cross-account IRSA), uses the latter
   * (and then reads the policy names of every role that trusts ec2.amazonaws.com, which the node
   * groups of the account's parts may name: IRSA-061).
   */
  readonly rolePolicies?: 'referenced' | 'web-identity';
  /**
   * The live probe (IRSA-040): a TokenRequest per annotated ServiceAccount, then
   * sts:AssumeRoleWithWebIdentity; writes `probes.json`. Off by default (no token is requested).
   */
  readonly probe?: boolean | Omit<ProbeOptions, 'token' | 'sts'>;
  /**
   * The pipeline's lead unit (shared/pipeline/routing.ts): every cluster of the account is listed
   * and described first, then only those whose `region/name` this returns are read (Kubernetes,
   * Pod Identity); the others get their cluster.json and a note that another unit reads them.
   */
  readonly route?: (accountId: string, clusters: readonly RoutableCluster[]) => ReadonlySet<string>;
  /** A part of an account (routing.ts): only these clusters of one region, not listed again. */
  readonly only?: { readonly region: string; readonly clusters: readonly string[] };
  /** `skip`: IAM is not listed (a part, which reads it from its lead's view). Default `collect`. */
  readonly iam?: 'collect' | 'skip';
  /**
   * A private folder where each account's IAM waits between the collection's two passes (see
   * setIamAside). Given, it is the caller's: the collection removes the files it wrote there and
   * leaves the folder, which the caller can remove if the collection never gets to (the CLI, on
   * Ctrl-C: cli/interrupt.ts). Default: a temporary folder the collection makes and removes.
   */
  readonly scratchDirectory?: string;
  readonly onProgress?: (progress: CollectProgress) => void;
}

/** A listed and described cluster, as the lead's routing sees it. */
export interface RoutableCluster {
  readonly region: string;
  readonly name: string;
  readonly cluster: Record<string, unknown>;
}

/** The code of the note on a cluster that another unit of the run reads (routing.ts). */
export const OTHER_UNIT_CODE = 'OtherUnit';

/** What a collection into a sink did (the files are the sink's). */
export interface CollectSummary {
  /** Kubernetes requests by resource, summed over clusters. */
  readonly kubernetesRequests: Record<string, number>;
  readonly accounts: number;
  readonly clusters: number;
  /** The paths the sink kept, in the order it kept them. */
  readonly paths: readonly string[];
  /**
   * The files the sink could not keep (a full disk, a path it refuses), with why: the snapshot
   * lacks them. Where the data's own collection errors could still be kept, they say so too
   * (code `NotWritten`), so that the checks reading it are not evaluated.
   */
  readonly unwritten: readonly UnwrittenFile[];
}

/** A collection kept in memory (no sink given). */
export interface CollectResult extends CollectSummary {
  readonly files: SnapshotFiles;
}

/** Whether a trust policy (as ListRoles returns it, URL-encoded) admits EC2 (a node role must). */
function trustsEc2(document: unknown): boolean {
  if (typeof document !== 'string') return false;
  let text = document;
  try {
    text = decodeURIComponent(document);
  } catch {
    // not URL-encoded: look at it as it is
  }
  return /"ec2\.amazonaws\.com(?:\.cn)?"/i.test(text);
}

/** Whether a trust policy (as ListRoles returns it, URL-encoded) names an EKS OIDC provider. */
function trustsEksProvider(document: unknown): boolean {
  if (typeof document !== 'string') return false;
  let text = document;
  try {
    text = decodeURIComponent(document);
  } catch {
    // not URL-encoded: look at it as it is
  }
  return /:oidc-provider\/oidc\.eks\./i.test(text);
}

/**
 * Why the cluster's public endpoint cannot be reached from the collector's egress addresses, or
 * null when it can (or nothing says it cannot). EKS applies publicAccessCidrs to the public
 * endpoint only: a collector inside the VPC (privateEndpoints 'dial') uses the private one.
 */
function excludedEgress(
  cluster: Record<string, unknown>,
  options: Pick<CollectOptions, 'egressAddresses' | 'privateEndpoints'>,
): string | null {
  const egress = options.egressAddresses ?? [];
  const vpc = cluster.resourcesVpcConfig as
    | {
        vpcId?: string;
        endpointPublicAccess?: boolean;
        endpointPrivateAccess?: boolean;
        publicAccessCidrs?: string[];
      }
    | undefined;
  if (egress.length === 0 || vpc?.endpointPublicAccess === false) return null;
  if (vpc?.endpointPrivateAccess && options.privateEndpoints === 'dial') return null;
  const cidrs = vpc?.publicAccessCidrs ?? [];
  if (!cidrsExcludeAll(cidrs, egress)) return null;
  const inVpc =
    vpc?.vpcId && vpc.endpointPrivateAccess
      ? ` (or audit it from a network that reaches ${vpc.vpcId}: the hub configuration's networks[].reachesVpcIds)`
      : '';
  return `the public endpoint admits only ${cidrs.join(', ')} (publicAccessCidrs), which exclude the auditor's egress address(es) ${egress.join(', ')}: not dialled${inVpc}`;
}

/** Why a private-only cluster is not dialled, and the settings that would reach it. */
function privateEndpointMessage(cluster: Record<string, unknown>): string {
  const vpcId = (cluster.resourcesVpcConfig as { vpcId?: unknown } | undefined)?.vpcId;
  const vpc = typeof vpcId === 'string' && /^vpc-[0-9a-f]{1,17}$/.test(vpcId) ? vpcId : null;
  return (
    `the cluster's API has a private endpoint only (the public endpoint is off)${vpc ? `, in ${vpc}` : ''}, ` +
    'and no auditor that runs where it is reachable was given it: not dialled. Pipeline: add a network to the hub ' +
    `configuration whose reachesVpcIds holds ${vpc ?? "the cluster's VPC"} (networks, docs/deploy.md "Private clusters"); ` +
    'CLI: --private-endpoints-reachable when it runs inside that VPC'
  );
}

/** A cluster reached with less time than this left before `stopAt` is not dialled. */
const MIN_CLUSTER_TIME_MS = 1_000;

/**
 * Policy lookups in flight at once per account (they are many, and each is one small IAM call): the
 * names of each role, then the documents (docs: README "Policy documents").
 */
const POLICY_CONCURRENCY = 8;

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

interface AccountState {
  readonly accountId: string;
  clients?: AwsClients;
  iam?: IamSnapshot;
  /** Where the IAM was set aside between the two passes (setIamAside), while it is there. */
  iamAside?: string;
  readonly errors: CollectionError[];
  /** Roles whose policies were looked up (or tried): never twice. */
  readonly policiesLookedUp: Set<string>;
  /** Customer-managed policies read (or being read) for the account's roles, by ARN: each once. */
  readonly managedPolicies: Map<string, Promise<ManagedPolicy>>;
  /** Roles whose policy documents were read (or tried): a node role's names may come first. */
  readonly documentsLookedUp: Set<string>;
  /** The clusters' node group reads, whose launch templates readLaunchTemplates reads once each. */
  readonly nodeGroupReads: NodeGroupRead[];
}

/** One cluster's managed node groups, waiting for the launch templates of its account and region. */
interface NodeGroupRead {
  readonly region: string;
  readonly base: string;
  readonly clusterErrors: CollectionError[];
  /** Null when ListNodegroups failed (no nodegroups.json). */
  readonly listed: Promise<ListedNodegroups | null>;
  /** Called once nodegroups.json is written (or known not to be): the cluster's errors are then complete. */
  readonly written: () => void;
}

/** Launch template reads in flight at once per account. */
const TEMPLATE_CONCURRENCY = 4;

/**
 * The launch template a node group names (DescribeNodegroup `launchTemplate`), with the version it
 * names (no version: the template's default, as EKS uses it); null for EKS's generated one.
 */
function launchTemplateOf(
  nodegroup: Record<string, unknown>,
): { key: string; ref: LaunchTemplateRef; version: string } | null {
  const template = nodegroup.launchTemplate as
    | { id?: unknown; name?: unknown; version?: unknown }
    | undefined;
  const id = typeof template?.id === 'string' && template.id !== '' ? template.id : undefined;
  const name = typeof template?.name === 'string' && template.name !== '' ? template.name : undefined;
  if (!id && !name) return null;
  const version =
    typeof template?.version === 'string' && template.version !== '' ? template.version : '$Default';
  return { key: id ? `id:${id}` : `name:${name}`, ref: id ? { id } : { name }, version };
}

/** What the snapshot keeps of a launch template version: never its UserData, which may hold secrets. */
function trimLaunchTemplateVersion(version: Record<string, unknown>): Record<string, unknown> {
  const data = version.LaunchTemplateData as { MetadataOptions?: unknown } | undefined;
  return {
    LaunchTemplateId: version.LaunchTemplateId,
    LaunchTemplateName: version.LaunchTemplateName,
    VersionNumber: version.VersionNumber,
    DefaultVersion: version.DefaultVersion,
    CreateTime: version.CreateTime,
    LaunchTemplateData: data?.MetadataOptions === undefined ? {} : { MetadataOptions: data.MetadataOptions },
  };
}

/**
 * Collects the fleet: into memory (the result's `files`), or into `sink`, each file handed over as
 * soon as it is complete and not kept, so that the collection holds the clusters in flight and
 * the accounts' IAM, never the fleet's Kubernetes objects.
 */
export function collectFleet(options: CollectOptions): Promise<CollectResult>;
export function collectFleet(options: CollectOptions, sink: SnapshotSink): Promise<CollectSummary>;
export async function collectFleet(
  options: CollectOptions,
  sink?: SnapshotSink,
): Promise<CollectSummary | CollectResult> {
  if (sink) return collectInto(options, sink);
  const memory = memorySink();
  return { ...(await collectInto(options, memory)), files: memory.files };
}

/** The code of a collection error that stands for a file the sink could not keep. */
export const NOT_WRITTEN_CODE = 'NotWritten';

/** A collection error for a file the sink could not keep: the reads it holds count as failed. */
function notWritten(read: Pick<CollectionError, 'api' | 'kind'>, path: string, why: string): CollectionError {
  return {
    ...read,
    code: NOT_WRITTEN_CODE,
    class: 'error',
    message: `the snapshot file ${path} could not be written: ${why}`,
  };
}

async function collectInto(options: CollectOptions, sink: SnapshotSink): Promise<CollectSummary> {
  const caller = options.caller ?? new AwsClients(undefined, options.clientOptions);
  const writer = new SnapshotWriter(sink);
  /** Hands a finished file to the sink; resolves to null once kept, or to why not (never rejects). */
  const write = (path: string, content: SnapshotContent) => writer.write(path, content);
  const kubernetesRequests: Record<string, number> = {};
  const progress = options.onProgress ?? (() => {});
  const accountLimit = pLimit(options.accountConcurrency ?? 4);
  const totalClusterLimit = pLimit(options.totalClusterConcurrency ?? 16);
  const tokens = new EksTokenCache();
  // One bound, fleet-wide, on the Kubernetes pages waiting to be decoded.
  const kubernetesOptions = {
    ...options.kubernetes,
    pageSlots: options.kubernetes?.pageSlots ?? pLimit(DEFAULT_PAGE_SLOTS),
  };
  const probeSts = options.probe ? new WebIdentityStsClients(options.clientOptions?.maxAttempts) : undefined;
  let clusterCount = 0;

  progress({ phase: 'accounts', message: `resolving accounts (${options.accounts.kind})` });
  const accountIds = await resolveAccounts(options.accounts, caller);
  const states: AccountState[] = accountIds.map((accountId) => ({
    accountId,
    errors: [],
    policiesLookedUp: new Set<string>(),
    managedPolicies: new Map(),
    documentsLookedUp: new Set<string>(),
    nodeGroupReads: [],
  }));
  /** Role ARNs referenced by service accounts, by the role's account. */
  const referencedRoles = new Map<string, Set<string>>();
  /** Node roles of managed node groups (IRSA-061), by the role's account: their policy names only. */
  const nodeRoles = new Map<string, Set<string>>();
  /** Each account's clusters still decoding and writing their files, after the account's slot is freed. */
  const tails: Promise<void>[] = [];

  async function collectAccount(state: AccountState): Promise<void> {
    const { accountId } = state;
    const fail = (api: string, error: unknown, where: { region?: string } = {}) =>
      state.errors.push({
        api: error instanceof ReadError ? error.api : api,
        ...describeAwsError(error),
        ...where,
      });
    try {
      state.clients = options.auditRole
        ? await assumeAuditRole(caller, accountId, options.auditRole, options.clientOptions)
        : caller;
    } catch (error) {
      fail('sts:AssumeRole', error);
      progress({
        phase: 'account',
        accountId,
        message: `cannot assume the audit role: ${describeAwsError(error).code}`,
      });
      return;
    }
    const clients = state.clients;
    if (options.iam !== 'skip') {
      try {
        state.iam = await collectIam(clients.iam);
      } catch (error) {
        fail('iam:ListRoles', error);
      }
    }
    if (options.only) {
      await collectPart(state, clients, options.only);
      return;
    }
    let regions = options.regions ? [...options.regions] : [];
    if (!options.regions) {
      try {
        regions = await enabledRegions(clients);
      } catch (error) {
        fail('account:ListRegions', error);
        return;
      }
    }
    const clusterLimit = pLimit(options.clusterConcurrency ?? 4);
    const finishing: Promise<void>[] = [];
    /** Once its clusters are all written: the account's regional clients go (IAM stays). */
    const collected = () =>
      Promise.all(finishing).then(() => {
        if (clients !== caller) clients.releaseRegionalClients();
        progress({ phase: 'account', accountId, message: `collected ${regions.length} region(s)` });
      });
    if (options.route) {
      await collectRouted(state, clients, regions, options.route, clusterLimit, finishing);
      await readLaunchTemplates(state);
      await lookUpPolicies(state);
      tails.push(collected());
      await setIamAside(state);
      return;
    }
    await Promise.all(
      regions.map(async (region) => {
        let names: string[];
        try {
          names = await listClusters(clients.eks(region));
        } catch (error) {
          fail('eks:ListClusters', error, { region });
          return;
        }
        void write(`${accountId}/${region}/region.json`, json({ region, clusters: names }));
        await Promise.all(
          names.map(async (name) => {
            const cluster = await clusterLimit(() =>
              totalClusterLimit(() => collectCluster(state, clients, region, name)),
            );
            finishing.push(cluster.finished);
          }),
        );
      }),
    );
    // The launch templates its node groups run, each read once per region; their node roles noted.
    await readLaunchTemplates(state);
    // In the account's own slot: its roles' lookups (latency-bound, on this thread) overlap with other
    // accounts' lists and with the decoding of its own last pod pages (on the decode threads).
    await lookUpPolicies(state);
    // Then the slot is the next account's: the decoding of this one's last pod pages needs no
    // request, so it goes on while the next account lists (the page slots bound what waits).
    tails.push(collected());
    await setIamAside(state);
  }

  /** A part: the given clusters of one region, in the account's cluster slots. */
  async function collectPart(
    state: AccountState,
    clients: AwsClients,
    only: NonNullable<CollectOptions['only']>,
  ): Promise<void> {
    const clusterLimit = pLimit(options.clusterConcurrency ?? 4);
    const finishing: Promise<void>[] = [];
    await Promise.all(
      only.clusters.map(async (name) => {
        const cluster = await clusterLimit(() =>
          totalClusterLimit(() => collectCluster(state, clients, only.region, name)),
        );
        finishing.push(cluster.finished);
      }),
    );
    await readLaunchTemplates(state);
    tails.push(
      Promise.all(finishing).then(() =>
        progress({
          phase: 'account',
          accountId: state.accountId,
          message: `collected ${only.clusters.length} cluster(s) of ${only.region}`,
        }),
      ),
    );
  }

  /**
   * The lead: lists and describes every cluster of the account, asks `route` which to read here,
   * reads those, and leaves the others their cluster.json and a note that another unit reads them.
   */
  async function collectRouted(
    state: AccountState,
    clients: AwsClients,
    regions: readonly string[],
    route: NonNullable<CollectOptions['route']>,
    clusterLimit: ReturnType<typeof pLimit>,
    finishing: Promise<void>[],
  ): Promise<void> {
    const { accountId } = state;
    const listed = await Promise.all(
      regions.map(async (region) => {
        try {
          const names = await listClusters(clients.eks(region));
          void write(`${accountId}/${region}/region.json`, json({ region, clusters: names }));
          return names.map((name) => ({ region, name }));
        } catch (error) {
          state.errors.push({ api: 'eks:ListClusters', ...describeAwsError(error), region });
          return [];
        }
      }),
    );
    const described: RoutableCluster[] = [];
    await Promise.all(
      listed.flat().map(({ region, name }) =>
        clusterLimit(async () => {
          try {
            const result = await describeCluster(clients.eks(region), name);
            described.push({ region, name, cluster: result.cluster as Record<string, unknown> });
          } catch (error) {
            void write(
              `${accountId}/${region}/${name}/collection-errors.json`,
              json({ errors: [{ api: 'eks:DescribeCluster', ...describeAwsError(error) }] }),
            );
          }
        }),
      ),
    );
    const here = route(accountId, described);
    await Promise.all(
      described.map(async ({ region, name, cluster: description }) => {
        const base = `${accountId}/${region}/${name}`;
        if (!here.has(`${region}/${name}`)) {
          void write(`${base}/cluster.json`, json({ cluster: description }));
          void write(
            `${base}/collection-errors.json`,
            json({
              errors: [
                {
                  api: 'k8s',
                  code: OTHER_UNIT_CODE,
                  class: 'error',
                  message: `cluster ${name} is read by another unit of this run (routing.ts)`,
                },
              ],
            }),
          );
          return;
        }
        const cluster = await clusterLimit(() =>
          totalClusterLimit(() => collectCluster(state, clients, region, name, { cluster: description })),
        );
        finishing.push(cluster.finished);
      }),
    );
  }

  /**
   * Permissions only for the roles that some service account uses (IRSA-018), each looked up once,
   * with their documents (IRSA-023); and the policy names alone of the node roles (IRSA-061).
   */
  async function lookUpPolicies(state: AccountState): Promise<void> {
    const { iam, clients } = state;
    const wanted = new Set(
      [...(referencedRoles.get(state.accountId) ?? [])].map((arn) => arn.split('/').pop() ?? ''),
    );
    if (options.rolePolicies === 'web-identity' && iam) {
      for (const role of iam.Roles)
        if (trustsEksProvider(role.AssumeRolePolicyDocument)) wanted.add(role.RoleName as string);
    }
    const nodeRoleNames = new Set(nodeRoles.get(state.accountId) ?? []);
    if (options.rolePolicies === 'web-identity' && iam) {
      // The pipeline: a part of the account reads its clusters' node groups with the lead's IAM, and
      // the lead does not read the node groups of the clusters it forwards: every role EC2 may assume
      // (a node role must) gets its policy names read here, once per run (IRSA-061).
      for (const role of iam.Roles)
        if (trustsEc2(role.AssumeRolePolicyDocument)) nodeRoleNames.add(role.RoleName as string);
    }
    const namesOnly = [...nodeRoleNames].filter((roleName) => !wanted.has(roleName));
    if (!iam || !clients || wanted.size + namesOnly.length === 0) return;
    const existing = new Set(iam.Roles.map((r) => r.RoleName as string));
    const roleNames = [...wanted, ...namesOnly].filter(
      (roleName) => existing.has(roleName) && !state.policiesLookedUp.has(roleName),
    );
    // A node role whose names an earlier lookup read, now referenced by a ServiceAccount: its documents.
    const documentsOnly = [...wanted].filter(
      (roleName) =>
        state.policiesLookedUp.has(roleName) &&
        !state.documentsLookedUp.has(roleName) &&
        iam.RolePolicies[roleName] !== undefined,
    );
    if (roleNames.length + documentsOnly.length === 0) return;
    for (const roleName of roleNames) state.policiesLookedUp.add(roleName);
    progress({
      phase: 'policies',
      accountId: state.accountId,
      message: `reading the policies of ${roleNames.length} referenced role(s) and their documents`,
    });
    // One bound for every call: a role's documents are queued once its names are in, behind the
    // names of the roles not yet looked up, so the slots never wait on a barrier between the two.
    const limit = pLimit(POLICY_CONCURRENCY);
    const documents: Promise<void>[] = [];
    await Promise.all(
      roleNames.map((roleName) =>
        limit(async () => {
          try {
            iam.RolePolicies[roleName] = await collectRolePolicies(clients.iam, roleName);
          } catch (error) {
            state.errors.push({
              api: error instanceof ReadError ? error.api : 'iam:ListAttachedRolePolicies',
              ...describeAwsError(error),
              role: roleName,
            });
            return;
          }
          if (!wanted.has(roleName)) return;
          state.documentsLookedUp.add(roleName);
          documents.push(readDocuments(state, iam, clients, roleName, limit));
        }),
      ),
    );
    for (const roleName of documentsOnly) {
      state.documentsLookedUp.add(roleName);
      documents.push(readDocuments(state, iam, clients, roleName, limit));
    }
    await Promise.all(documents);
    const managed = await Promise.all(
      [...state.managedPolicies.values()].map((read) =>
        read.then(
          (p) => [p],
          () => [],
        ),
      ),
    );
    iam.Policies = managed.flat().sort((a, b) => (a.Arn < b.Arn ? -1 : a.Arn > b.Arn ? 1 : 0));
  }

  /**
   * The documents of one role whose names were read (IRSA-023): each inline policy, and each
   * customer-managed policy it attaches (read once per account, whichever role asks first). A failed
   * read is an error on this role and leaves its documents incomplete (not evaluated, never passed):
   * `RolePolicyList` stays absent unless every inline document was read, and a managed policy that
   * failed is absent from `Policies`. The names already read stay (IRSA-018 does not need documents).
   */
  async function readDocuments(
    state: AccountState,
    iam: IamSnapshot,
    clients: AwsClients,
    roleName: string,
    limit: ReturnType<typeof pLimit>,
  ): Promise<void> {
    const names = iam.RolePolicies[roleName];
    if (!names) return;
    const failed = (error: unknown, api: string) =>
      state.errors.push({
        api: error instanceof ReadError ? error.api : api,
        ...describeAwsError(error),
        role: roleName,
      });
    const inline = Promise.all(
      names.PolicyNames.map((policyName) =>
        limit(() => collectInlinePolicy(clients.iam, roleName, policyName)),
      ),
    ).then(
      (list: InlinePolicy[]) => {
        names.RolePolicyList = list;
      },
      (error: unknown) => failed(error, 'iam:GetRolePolicy'),
    );
    const managed = [...new Set(names.AttachedPolicies.map((p) => p.PolicyArn))]
      .filter((arn) => !isAwsManagedPolicy(arn))
      .map((arn) => {
        let read = state.managedPolicies.get(arn);
        if (!read) {
          read = limit(() => collectManagedPolicy(clients.iam, arn));
          // Each role that attaches it records the failure, when it awaits it below.
          read.catch(() => {});
          state.managedPolicies.set(arn, read);
        }
        return read.then(
          () => {},
          (error: unknown) => failed(error, 'iam:GetPolicy'),
        );
      });
    await Promise.all([inline, ...managed]);
  }

  /**
   * The launch template versions the account's node groups run: every cluster's node groups listed
   * and described first, then one ec2:DescribeLaunchTemplateVersions per distinct template of a
   * region, with all the versions its node groups name; each cluster's nodegroups.json then holds the
   * versions of its templates (a failed template read is an error on each cluster that names it).
   * Notes the node roles for lookUpPolicies. Idempotent: a read is taken once.
   */
  async function readLaunchTemplates(state: AccountState): Promise<void> {
    const reads = state.nodeGroupReads.splice(0);
    if (reads.length === 0) return;
    const listed = await Promise.all(reads.map((read) => read.listed));
    const templates = new Map<string, { region: string; ref: LaunchTemplateRef; versions: Set<string> }>();
    for (const [i, read] of reads.entries()) {
      for (const { nodegroup } of listed[i]?.described ?? []) {
        const role = nodegroup.nodeRole;
        if (typeof role === 'string' && isRoleArn(role)) {
          const roleAccount = role.split(':')[4] ?? '';
          nodeRoles.set(
            roleAccount,
            (nodeRoles.get(roleAccount) ?? new Set()).add(role.split('/').pop() ?? ''),
          );
        }
        const template = launchTemplateOf(nodegroup);
        if (!template) continue;
        const key = `${read.region}/${template.key}`;
        const entry = templates.get(key) ?? {
          region: read.region,
          ref: template.ref,
          versions: new Set<string>(),
        };
        entry.versions.add(template.version);
        templates.set(key, entry);
      }
    }
    const limit = pLimit(TEMPLATE_CONCURRENCY);
    const clients = state.clients;
    const answers = new Map<string, Promise<{ items: Record<string, unknown>[] } | { error: unknown }>>();
    for (const [key, template] of templates) {
      answers.set(
        key,
        limit(() =>
          clients
            ? clients
                .ec2(template.region)
                .then((ec2) =>
                  describeLaunchTemplateVersions(ec2, template.ref, [...template.versions].sort()),
                )
            : Promise.reject(new Error('no AWS clients for the account')),
        ).then(
          (items) => ({ items }),
          (error: unknown) => ({ error }),
        ),
      );
    }
    await Promise.all(
      reads.map(async (read, i) => {
        try {
          const nodegroups = listed[i];
          if (!nodegroups) return;
          const keys = new Set<string>();
          for (const { nodegroup } of nodegroups.described) {
            const template = launchTemplateOf(nodegroup);
            if (template) keys.add(`${read.region}/${template.key}`);
          }
          const versions: Record<string, unknown>[] = [];
          const seen = new Set<string>();
          let failed = false;
          for (const key of [...keys].sort()) {
            const answer = await answers.get(key);
            if (!answer) continue;
            if ('error' in answer) {
              // One error for the cluster: the first failure stands for the others.
              if (!failed)
                read.clusterErrors.push({
                  api: 'ec2:DescribeLaunchTemplateVersions',
                  ...describeAwsError(answer.error),
                });
              failed = true;
              continue;
            }
            for (const item of answer.items) {
              const id = `${String(item.LaunchTemplateId)}@${String(item.VersionNumber)}`;
              if (seen.has(id)) continue;
              seen.add(id);
              versions.push(trimLaunchTemplateVersion(item));
            }
          }
          const path = `${read.base}/nodegroups.json`;
          const why = await write(
            path,
            json({
              nodegroups: nodegroups.nodegroups,
              described: nodegroups.described,
              launchTemplateVersions: versions,
            }),
          );
          if (why !== null) read.clusterErrors.push(notWritten({ api: 'eks:ListNodegroups' }, path, why));
        } finally {
          read.written();
        }
      }),
    );
  }

  /** Notes the roles that ServiceAccounts reference, by the role's account, for lookUpPolicies. */
  function referenceRoles(serviceAccounts: unknown[]): void {
    referenceRoleArns(
      (serviceAccounts as { metadata?: { annotations?: Record<string, string> } }[]).map(
        (item) => item.metadata?.annotations?.['eks.amazonaws.com/role-arn'],
      ),
    );
  }

  /** Notes roles by ARN (an annotation's, a Pod Identity association's), by the role's account. */
  function referenceRoleArns(arns: unknown[]): void {
    for (const arn of arns) {
      if (typeof arn === 'string' && isRoleArn(arn)) {
        const roleAccount = arn.split(':')[4] ?? '';
        referencedRoles.set(roleAccount, (referencedRoles.get(roleAccount) ?? new Set()).add(arn));
      }
    }
  }

  /**
   * One cluster: DescribeCluster, its Pod Identity associations and its Kubernetes lists. Resolves
   * once every list page is in and the ServiceAccounts are read, which frees the cluster's slot for
   * the next cluster; `finished` resolves (never rejects) once the rest is decoded and written.
   */
  async function collectCluster(
    state: AccountState,
    clients: AwsClients,
    region: string,
    name: string,
    alreadyDescribed?: { cluster: Record<string, unknown> },
  ): Promise<{ finished: Promise<void> }> {
    const base = `${state.accountId}/${region}/${name}`;
    let described: { cluster: Record<string, unknown> };
    try {
      described = alreadyDescribed ?? (await describeCluster(clients.eks(region), name));
    } catch (error) {
      // A failed read inside a reachable account: recorded on the cluster (AUDIT-003), whose folder
      // then holds only this file; its checks are not evaluated, the rest of the account goes on.
      void write(
        `${base}/collection-errors.json`,
        json({ errors: [{ api: 'eks:DescribeCluster', ...describeAwsError(error) }] }),
      );
      progress({
        phase: 'cluster',
        accountId: state.accountId,
        region,
        cluster: name,
        message: 'not described',
      });
      return { finished: Promise.resolve() };
    }
    clusterCount++;
    // Each of the cluster's files goes to the sink as soon as it is complete; one it could not keep
    // becomes an error on the reads it holds, in the cluster's collection-errors.json, written last.
    const written: Promise<CollectionError | null>[] = [];
    /** Hands a cluster file to the sink; settles (never rejects) once it is kept or not. */
    const keep = (file: string, content: SnapshotContent, read: Pick<CollectionError, 'api' | 'kind'>) => {
      const kept = write(`${base}/${file}`, content).then((why) =>
        why === null ? null : notWritten(read, `${base}/${file}`, why),
      );
      written.push(kept);
      return kept;
    };
    keep('cluster.json', json(described), { api: 'eks:DescribeCluster' });
    // Pod Identity associations and the Kubernetes lists are independent: fetch them at once.
    const clusterErrors: CollectionError[] = [];
    const associations = listPodIdentityAssociations(clients.eks(region), name).then(
      async (result) => {
        const failed = await describePodIdentityAssociations(clients.eks(region), name, result.associations);
        // Their roles' policies are read like an annotated role's (PODID-006).
        referenceRoleArns(result.associations.map((a) => a.roleArn));
        // One error for the cluster: the first failure stands for the others (the same cause, as a rule).
        if (failed.length > 0)
          clusterErrors.push({ api: 'eks:DescribePodIdentityAssociation', ...describeAwsError(failed[0]) });
        keep('pod-identity-associations.json', json(result), { api: 'eks:ListPodIdentityAssociations' });
      },
      (error: unknown) => {
        clusterErrors.push({ api: 'eks:ListPodIdentityAssociations', ...describeAwsError(error) });
      },
    );
    // The add-ons (PODID-004): a failed list leaves no addons.json (not evaluated, AUDIT-003 says why).
    const addons = listAddons(clients.eks(region), name).then(
      (result) => {
        keep('addons.json', json(result), { api: 'eks:ListAddons' });
      },
      (error: unknown) => {
        if (error instanceof AddonDescribeError) {
          // Listed but not described: the file keeps the names; the agent's state is unknown.
          keep('addons.json', json(error.listed), { api: 'eks:ListAddons' });
          clusterErrors.push({ api: 'eks:DescribeAddon', ...describeAwsError(error.cause) });
        } else clusterErrors.push({ api: 'eks:ListAddons', ...describeAwsError(error) });
      },
    );
    // The managed node groups (IRSA-060, 061): their launch templates are read once per account and
    // region by readLaunchTemplates, which writes nodegroups.json; a failed list leaves none.
    let nodeGroupsWritten: () => void = () => {};
    const nodeGroupsDone = new Promise<void>((resolve) => {
      nodeGroupsWritten = resolve;
    });
    state.nodeGroupReads.push({
      region,
      base,
      clusterErrors,
      listed: listNodegroups(clients.eks(region), name).then(
        ({ listed, describeError }) => {
          if (describeError !== undefined)
            clusterErrors.push({ api: 'eks:DescribeNodegroup', ...describeAwsError(describeError) });
          return listed;
        },
        (error: unknown) => {
          clusterErrors.push({ api: 'eks:ListNodegroups', ...describeAwsError(error) });
          return null;
        },
      ),
      written: () => nodeGroupsWritten(),
    });
    const finish = async (kubernetes?: () => Promise<void>): Promise<void> => {
      try {
        await kubernetes?.();
      } catch (error) {
        clusterErrors.push({ api: 'k8s', ...describeAwsError(error) });
      }
      await associations;
      await addons;
      await nodeGroupsDone;
      for (const error of await Promise.all(written)) if (error) clusterErrors.push(error);
      if (clusterErrors.length > 0)
        await write(`${base}/collection-errors.json`, json({ errors: clusterErrors.sort(byErrorOrder) }));
      progress({
        phase: 'cluster',
        accountId: state.accountId,
        region,
        cluster: name,
        message: clusterErrors.length ? `collected with ${clusterErrors.length} error(s)` : 'collected',
      });
    };

    const cluster = described.cluster as { endpoint?: string; certificateAuthority?: { data?: string } };
    if (!cluster.endpoint || !cluster.certificateAuthority?.data) {
      clusterErrors.push({
        api: 'k8s',
        code: 'NoEndpoint',
        message: 'DescribeCluster gave no endpoint or CA yet (is the cluster still being created?)',
        class: 'unreachable',
      });
      return { finished: finish() };
    }
    const access = (described.cluster as { resourcesVpcConfig?: { endpointPublicAccess?: boolean } })
      .resourcesVpcConfig;
    if (access?.endpointPublicAccess === false && (options.privateEndpoints ?? 'skip') === 'skip') {
      clusterErrors.push({
        api: 'k8s',
        code: 'PrivateEndpoint',
        class: 'unreachable',
        message: privateEndpointMessage(described.cluster),
      });
      return { finished: finish() };
    }
    const excluded = excludedEgress(described.cluster, options);
    if (excluded) {
      clusterErrors.push({ api: 'k8s', code: 'PublicCidrs', class: 'unreachable', message: excluded });
      return { finished: finish() };
    }
    const left = options.stopAt === undefined ? Number.POSITIVE_INFINITY : options.stopAt - Date.now();
    if (left < MIN_CLUSTER_TIME_MS) {
      clusterErrors.push({
        api: 'k8s',
        code: 'Timeout',
        class: 'unreachable',
        message: `not read: the audit's time ran out before this cluster's turn (other clusters of the account did not answer in time)`,
      });
      return { finished: finish() };
    }
    const deadlineMs = Math.min(kubernetesOptions.deadlineMs ?? DEFAULT_CLUSTER_DEADLINE_MS, left);
    const target = { name, endpoint: cluster.endpoint, caData: cluster.certificateAuthority.data };
    const credentials = await clients.resolveCredentials();
    const token = async () => (await tokens.get({ clusterName: name, region, credentials })).token;
    const kubernetes = startKubernetesCollection(target, { ...kubernetesOptions, deadlineMs, token });
    const { serviceAccounts } = await kubernetes.listed;
    if (serviceAccounts) referenceRoles(serviceAccounts);
    // The associations' roles too, before the account looks its roles' policies up.
    await associations;
    // The probe (latency-bound) in the cluster's slot, as the lists were.
    const probe =
      probeSts && serviceAccounts
        ? await probeServiceAccounts({ ...target, region }, probeCandidates(serviceAccounts), {
            ...(typeof options.probe === 'object' ? options.probe : {}),
            token,
            sts: (stsRegion) => probeSts.get(stsRegion),
          })
        : undefined;

    const finished = finish(async () => {
      const result = await kubernetes.done;
      for (const [resource, count] of Object.entries(result.requests)) {
        kubernetesRequests[resource] = (kubernetesRequests[resource] ?? 0) + count;
      }
      const tokenRequests = probe?.requests['serviceaccounts/token'] ?? 0;
      if (tokenRequests > 0)
        kubernetesRequests['serviceaccounts/token'] =
          (kubernetesRequests['serviceaccounts/token'] ?? 0) + tokenRequests;
      clusterErrors.push(...result.errors);
      if (!result.file) return; // the API refused or failed as a whole: one error, no files
      const file = result.file;
      // Once written (or not), the pages' bytes go back to the decode threads to be freed.
      void keep('kubernetes.json', kubernetesListParts(file), { api: 'k8s' }).then(() =>
        options.kubernetes?.decoder?.release?.(file.chunks),
      );
      if (probe) {
        clusterErrors.push(...probe.errors);
        if (probe.results)
          keep('probes.json', json({ results: probe.results }), {
            api: 'k8s:serviceaccounts/token',
            kind: 'TokenRequest',
          });
      }
    });
    return { finished };
  }

  /**
   * The private folder (0700) where accounts' IAM waits between the two passes: the caller's
   * (options.scratchDirectory), or made on first use.
   */
  let asideDirectory: Promise<string> | undefined;
  let asideFiles = 0;
  /** The files set aside and not yet taken back. */
  const asidePaths = new Set<string>();

  /**
   * Once an account's first pass is over, its IAM (roles, and the policy documents read) waits on
   * disk for the second pass instead of in memory: kept for every account until the last one's
   * first pass ends, it grew the collector with the fleet. Only the second pass (a role referenced
   * from an account collected later) reads it again. Where it cannot be written, it stays in memory.
   */
  async function setIamAside(state: AccountState): Promise<void> {
    // One account (an auditor function's unit): no other account's first pass is left to wait
    // for, and its second pass follows at once. Nothing to gain from the disk.
    if (!state.iam || states.length < 2) return;
    try {
      asideDirectory ??=
        options.scratchDirectory === undefined
          ? mkdtemp(join(tmpdir(), 'irsa-audit-iam-'))
          : Promise.resolve(options.scratchDirectory);
      const path = join(await asideDirectory, `${++asideFiles}.json`);
      asidePaths.add(path);
      await writeFile(path, JSON.stringify(state.iam), { mode: 0o600 });
      state.iamAside = path;
      state.iam = undefined;
    } catch {
      // No room or no right to write: the IAM stays in memory, as it did before.
    }
  }

  /** The account's IAM back from disk for the second pass; an error on the account if it cannot be. */
  async function takeIamBack(state: AccountState): Promise<void> {
    const path = state.iamAside;
    if (path === undefined) return;
    state.iamAside = undefined;
    try {
      state.iam = JSON.parse(await readFile(path, 'utf8')) as IamSnapshot;
    } catch (error) {
      state.errors.push({
        api: 'iam:ListRoles',
        code: NOT_WRITTEN_CODE,
        class: 'error',
        message: `the account's IAM, set aside on disk between the collection's two passes, could not be read back: ${error instanceof Error ? error.message : String(error)}`,
      });
    } finally {
      asidePaths.delete(path);
      await rm(path, { force: true }).catch(() => {});
    }
  }

  /**
   * An account's own files, once its roles' policies are all read: iam.json (its roles' policies
   * sorted, as lookups finish in any order, so that two collections of one account diff cleanly)
   * and collection-errors.json. Its IAM is not kept afterwards.
   */
  async function writeAccount(state: AccountState): Promise<void> {
    if (state.iam) {
      const policies = Object.entries(state.iam.RolePolicies).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0,
      );
      const path = `${state.accountId}/iam.json`;
      const why = await write(path, json({ ...state.iam, RolePolicies: Object.fromEntries(policies) }));
      if (why !== null) state.errors.push(notWritten({ api: 'iam:ListRoles' }, path, why));
    } else if (state.errors.length === 0 && options.iam !== 'skip') {
      // An account that could not be assumed still gets its folder, so AUDIT-001 reports it.
      state.errors.push({ api: 'iam:ListRoles', code: 'NotCollected', message: 'no IAM data' });
    }
    state.iam = undefined;
    state.errors.sort(byErrorOrder);
    if (state.errors.length > 0)
      await write(`${state.accountId}/collection-errors.json`, json({ errors: state.errors }));
  }

  try {
    await Promise.all(states.map((state) => accountLimit(() => collectAccount(state))));
    // Roles referenced from another account that was collected after the role's own account; then
    // the account's IAM is complete: written, and let go.
    await Promise.all(
      states.map((state) =>
        accountLimit(async () => {
          await takeIamBack(state);
          // Any node group read an early return left waiting.
          await readLaunchTemplates(state);
          await lookUpPolicies(state);
          await writeAccount(state);
        }),
      ),
    );
    await Promise.all(tails);
    await writer.settled();
    probeSts?.destroy();
  } finally {
    // The IAM set aside between the passes never outlives the run: the folder, when the
    // collection made it; the files it wrote, in the caller's.
    if (options.scratchDirectory === undefined) {
      await asideDirectory?.then((dir) => rm(dir, { recursive: true, force: true })).catch(() => {});
    } else {
      await Promise.all([...asidePaths].map((path) => rm(path, { force: true }).catch(() => {})));
    }
  }
  progress({ phase: 'done', message: `collected ${states.length} account(s), ${clusterCount} cluster(s)` });
  return {
    kubernetesRequests,
    accounts: states.length,
    clusters: clusterCount,
    paths: writer.paths,
    unwritten: writer.unwritten,
  };
}
