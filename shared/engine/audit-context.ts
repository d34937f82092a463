/**
 * The read-only view of a fleet that checks evaluate against: the snapshot plus indexes and
 * derived facts computed once and shared (role lookups, trust verdicts, workloads), so that no
 * check scans the fleet per resource and every check agrees on the same derivations.
 */

import type {
  Account,
  Cluster,
  Fleet,
  MutatingWebhook,
  MutatingWebhookConfiguration,
  OidcProvider,
  Pod,
  Role,
  ServiceAccount,
} from '../model/fleet.ts';
import { isRoleArn } from '../policy/aws-names.ts';
import { type IamCatalogue, installedCatalogue } from '../policy/iam-catalogue.ts';
import {
  assessWebIdentityTrust,
  DEFAULT_AUDIENCE,
  issuerHostPath,
  oidcProviderArn,
  type ProviderGrant,
  parseArn,
  providerGrants,
  serviceAccountSubject,
  type TrustVerdict,
} from '../policy/irsa-trust.ts';
import { type BundleDecoding, decodeCertificateBundle } from './certificates.ts';
import { keepShape, NO_FLEET } from './shapes.ts';

export const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';
export const AUDIENCE_ANNOTATION = 'eks.amazonaws.com/audience';
export const STS_REGIONAL_ANNOTATION = 'eks.amazonaws.com/sts-regional-endpoints';
export const TOKEN_EXPIRATION_ANNOTATION = 'eks.amazonaws.com/token-expiration';
export const SKIP_CONTAINERS_ANNOTATION = 'eks.amazonaws.com/skip-containers';

/** The role ARN shape IAM accepts in the annotation (CHECKS.md, IRSA-010). */

export type RoleResolution =
  | { readonly kind: 'found'; readonly role: Role; readonly account: Account }
  | { readonly kind: 'missing'; readonly accountId: string; readonly roleName: string }
  /** The role's account is not in the fleet, or its iam.json could not be read. */
  | {
      readonly kind: 'unaudited';
      readonly accountId: string;
      readonly roleName: string;
      readonly why: string;
    };

/** An annotated service account and what its annotation points at. */
export interface ServiceAccountLink {
  readonly serviceAccount: ServiceAccount;
  /** The annotation's value exactly as stored. */
  readonly roleArn: string;
  /** Null when the annotation is malformed (IRSA-010). */
  readonly role: RoleResolution | null;
  readonly subject: string;
  /** The audience of the SA's projected token. */
  readonly audience: string;
}

export type TrustAssessment = TrustVerdict | { readonly result: 'not-evaluated'; readonly reason: string };

/** Pods grouped by their owning workload (a Deployment through its ReplicaSet, a CronJob through its Job). */
export interface Workload {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  readonly serviceAccountName: string;
  /**
   * The ServiceAccount the pods run as; undefined when the cluster has none of that name, or when
   * ServiceAccounts were not collected ({@link AuditContext.serviceAccountIndex} is then null).
   */
  readonly serviceAccount: ServiceAccount | undefined;
  readonly pods: readonly Pod[];
  /**
   * The workload as a finding names it (`kind`, `name`): one object for every result about the
   * workload (a result per check that judges it), not one each.
   */
  readonly ref: { readonly kind: string; readonly name: string };
}

/**
 * A derivation of one audit, worked out once per key (a fleet object) and kept for the audit. The
 * derivation (a method of AuditContext, or a function of this module) is passed in at each call:
 * it is never a closure made per audit. V8's optimised code embeds the closure it calls, and once
 * an audit's closures are freed, every function that called them is thrown away and compiled
 * again in the next audit of the same process (a warm Lambda, the benchmark). See shapes.ts.
 */
class PerAudit<K extends object, V> {
  private readonly values = new WeakMap<K, V>();

  get(context: AuditContext, key: K, derive: (this: AuditContext, key: K) => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      value = derive.call(context, key);
      this.values.set(key, value);
    }
    return value;
  }
}

/** The workload that owns a pod, derived from its owner reference alone (no ReplicaSet or Job objects needed). */
export function workloadOf(pod: Pod): { kind: string; name: string } {
  const owner = pod.owner;
  // A mirror pod of a static manifest is owned by its Node: it is a workload of its own.
  if (owner === null || owner.kind === 'Node') return { kind: 'Pod', name: pod.name };
  if (owner.kind === 'ReplicaSet') {
    const hash = pod.labels['pod-template-hash'];
    if (hash && owner.name.endsWith(`-${hash}`)) {
      return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
    }
    // Trimmed snapshots may drop labels: the Deployment controller suffixes its ReplicaSets with
    // a hash drawn from Kubernetes' safe alphabet (no vowels, no 0, 1, 3).
    const suffixed =
      hash === undefined ? /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}$/.exec(owner.name) : null;
    if (suffixed?.[1]) return { kind: 'Deployment', name: suffixed[1] };
    return owner;
  }
  if (owner.kind === 'Job') {
    // The CronJob controller names its Jobs `<cronjob>-<scheduled time in minutes>`.
    const cron = /^(.+)-(\d{8,})$/.exec(owner.name);
    if (cron?.[1]) return { kind: 'CronJob', name: cron[1] };
  }
  return owner;
}

/**
 * Whether `pod` belongs to the workload of `other`, judged on what {@link workloadOf} reads of an
 * owned pod (its owner, and a ReplicaSet's pod-template-hash) and the workload's namespace and
 * ServiceAccount. False for a pod without an owner, or owned by its Node: each is its own workload.
 */
function sameOwnerAs(pod: Pod, other: Pod): boolean {
  const owner = pod.owner;
  const otherOwner = other.owner;
  return (
    owner !== null &&
    otherOwner !== null &&
    owner.kind !== 'Node' &&
    owner.kind === otherOwner.kind &&
    owner.name === otherOwner.name &&
    pod.namespace === other.namespace &&
    pod.serviceAccountName === other.serviceAccountName &&
    pod.labels['pod-template-hash'] === other.labels['pod-template-hash']
  );
}

export const WEBHOOK_CONFIGURATION_NAME = 'pod-identity-webhook';
export const WEBHOOK_NAME = 'iam-for-pods.amazonaws.com';

/**
 * The pod identity webhook entries among the cluster's MutatingWebhookConfigurations: every
 * webhook named `iam-for-pods.amazonaws.com`, else the webhooks of the configuration EKS names
 * `pod-identity-webhook`. Empty when the webhook is missing (IRSA-003).
 */
export function podIdentityWebhooks(
  configurations: readonly MutatingWebhookConfiguration[],
): MutatingWebhook[] {
  const byName = configurations.flatMap((c) => c.webhooks.filter((w) => w.name === WEBHOOK_NAME));
  if (byName.length > 0) return byName;
  const config = configurations.find((c) => c.name === WEBHOOK_CONFIGURATION_NAME);
  if (!config) return [];
  // A configuration with the EKS name but no webhook entries still marks the webhook as installed.
  return config.webhooks.length > 0
    ? [...config.webhooks]
    : [
        {
          name: WEBHOOK_CONFIGURATION_NAME,
          caBundle: null,
          url: null,
          service: null,
          failurePolicy: null,
          namespaceSelector: null,
          objectSelector: null,
        },
      ];
}

/** A pod identity webhook and where it sits: its configuration, and its index there (a JSON patch path). */
export interface LocatedWebhook {
  readonly webhook: MutatingWebhook;
  readonly configuration: string;
  /** Null for the stand-in of a `pod-identity-webhook` configuration that has no webhook entry. */
  readonly index: number | null;
}

/**
 * The cluster's pod identity webhooks ({@link podIdentityWebhooks}), each located in its
 * configuration: null when MutatingWebhookConfigurations were not collected, empty when the
 * webhook is missing (IRSA-003). The walk every webhook check starts with.
 */
export function clusterPodIdentityWebhooks(cluster: Cluster): readonly LocatedWebhook[] | null {
  const configurations = cluster.kubernetes?.webhookConfigurations;
  if (!configurations) return null;
  return podIdentityWebhooks(configurations).map((webhook) => {
    for (const c of configurations) {
      const index = c.webhooks.indexOf(webhook);
      if (index >= 0) return { webhook, configuration: c.name, index };
    }
    return { webhook, configuration: WEBHOOK_CONFIGURATION_NAME, index: null };
  });
}

/** Why a webhook check is not evaluated on a cluster whose configurations were not listed. */
export const WEBHOOKS_NOT_COLLECTED = 'MutatingWebhookConfigurations were not collected';

export function isActivePod(pod: Pod): boolean {
  return pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

export class AuditContext {
  readonly fleet: Fleet;
  /** The audit's reference time (certificate expiry); passed in, never read from a clock here. */
  readonly now: Date;
  readonly clusters: readonly Cluster[];
  private readonly accountsById: ReadonlyMap<string, Account>;
  private readonly clustersByIssuer: ReadonlyMap<string, Cluster[]>;
  private readonly rolesByAccount = new Map<string, Map<string, Role>>();

  private catalogue: IamCatalogue | undefined;

  /**
   * @param iamCatalogue what IAM defines (IRSA-023); the installed catalogue, read on first use,
   *   when not given.
   */
  constructor(fleet: Fleet, now: Date, iamCatalogue?: IamCatalogue) {
    this.fleet = fleet;
    this.now = now;
    this.catalogue = iamCatalogue;
    this.accountsById = new Map(fleet.accounts.map((a) => [a.accountId, a]));
    this.clusters = fleet.accounts.flatMap((a) => a.clusters);
    const byIssuer = new Map<string, Cluster[]>();
    for (const cluster of this.clusters) {
      const issuer = this.issuerOf(cluster);
      if (issuer === null) continue;
      const key = issuer.toLowerCase();
      byIssuer.set(key, [...(byIssuer.get(key) ?? []), cluster]);
    }
    this.clustersByIssuer = byIssuer;
  }

  get accounts(): readonly Account[] {
    return this.fleet.accounts;
  }

  /** The IAM actions and resource types catalogue (shared/policy/iam-catalogue.ts). */
  get iamCatalogue(): IamCatalogue {
    this.catalogue ??= installedCatalogue();
    return this.catalogue;
  }

  account(accountId: string): Account | undefined {
    return this.accountsById.get(accountId);
  }

  /** The cluster's OIDC issuer without scheme, or null when cluster.json is unusable. */
  issuerOf(cluster: Cluster): string | null {
    const issuer = cluster.info?.issuer;
    return issuer ? issuerHostPath(issuer) : null;
  }

  /** The IAM OIDC provider of `account` for `issuer` (host/path), compared as IAM does: without scheme or trailing slash. */
  providerFor(account: Account, issuer: string): OidcProvider | undefined {
    return this.providersByIssuer(account).get(issuer.toLowerCase());
  }

  /** An account's providers by issuer (lower case), the first one where several share it. */
  private providersByIssuer(account: Account): ReadonlyMap<string, OidcProvider> {
    return this.providersByIssuerOf.get(this, account, this.indexProviders);
  }

  private readonly providersByIssuerOf = new PerAudit<Account, ReadonlyMap<string, OidcProvider>>();

  private indexProviders(account: Account): ReadonlyMap<string, OidcProvider> {
    const byIssuer = new Map<string, OidcProvider>();
    for (const provider of account.iam?.providers ?? []) {
      const issuer = issuerHostPath(provider.url).toLowerCase();
      if (!byIssuer.has(issuer)) byIssuer.set(issuer, provider);
    }
    return byIssuer;
  }

  /**
   * The cluster CA (cluster.json) and a webhook's caBundle, decoded once per audit and content:
   * X.509 parsing is the costliest step per cluster, IRSA-004 and IRSA-030 both read them, and on
   * EKS the webhook's caBundle is the cluster CA itself.
   */
  private readonly bundles = new Map<string, BundleDecoding>();

  clusterCertificateAuthority(cluster: Cluster): BundleDecoding {
    return this.certificateBundle(cluster.info?.certificateAuthorityData);
  }

  webhookCaBundle(webhook: MutatingWebhook): BundleDecoding {
    return this.certificateBundle(webhook.caBundle);
  }

  private certificateBundle(base64Pem: string | null | undefined): BundleDecoding {
    if (!base64Pem) return decodeCertificateBundle(base64Pem);
    let decoded = this.bundles.get(base64Pem);
    if (decoded === undefined) {
      decoded = decodeCertificateBundle(base64Pem);
      this.bundles.set(base64Pem, decoded);
    }
    return decoded;
  }

  /** The clusters of the fleet whose issuer is `issuer` (host/path, any case). */
  clustersWithIssuer(issuer: string): readonly Cluster[] {
    return this.clustersByIssuer.get(issuer.toLowerCase()) ?? [];
  }

  /**
   * Regions holding a cluster whose issuer is unknown (cluster.json unusable): a provider or trust
   * there that matches no known cluster may belong to that one, so hygiene checks cannot judge it.
   */
  get regionsWithUnknownIssuer(): ReadonlySet<string> {
    return new Set(this.clusters.filter((c) => this.issuerOf(c) === null).map((c) => c.region));
  }

  /** Every region directory present in the snapshot (the regions the hygiene checks consider). */
  get auditedRegions(): ReadonlySet<string> {
    return new Set(this.fleet.accounts.flatMap((a) => a.regions));
  }

  private roleIndex(account: Account): Map<string, Role> {
    let index = this.rolesByAccount.get(account.accountId);
    if (!index) {
      // A loop, not a map over the roles: no closure per audit (checks/workloads.ts), no pair per role.
      index = new Map();
      for (const role of account.iam?.roles ?? []) index.set(role.name, role);
      this.rolesByAccount.set(account.accountId, index);
    }
    return index;
  }

  /** Looks a well-formed role ARN up in the fleet (role names are unique per account; the path is ignored). */
  resolveRole(roleArn: string): RoleResolution {
    const arn = parseArn(roleArn);
    const accountId = arn?.accountId ?? '';
    const roleName = arn?.resource.split('/').pop() ?? roleArn;
    const account = this.accountsById.get(accountId);
    if (!account) {
      return {
        kind: 'unaudited',
        accountId,
        roleName,
        why: `account ${accountId} is not in the audited fleet`,
      };
    }
    if (!account.iam) {
      return {
        kind: 'unaudited',
        accountId,
        roleName,
        why: `the IAM data of account ${accountId} could not be read`,
      };
    }
    const role = this.roleIndex(account).get(roleName);
    return role ? { kind: 'found', role, account } : { kind: 'missing', accountId, roleName };
  }

  private readonly serviceAccountIndexes = new PerAudit<
    Cluster,
    ReadonlyMap<string, ServiceAccount> | null
  >();

  /** Service accounts of a cluster, keyed `namespace/name`; null when they were not collected. */
  serviceAccountIndex(cluster: Cluster): ReadonlyMap<string, ServiceAccount> | null {
    return this.serviceAccountIndexes.get(this, cluster, indexServiceAccounts);
  }

  private readonly links = new PerAudit<Cluster, readonly ServiceAccountLink[]>();

  /** The annotated service accounts of a cluster, with their role resolved. */
  serviceAccountLinks(cluster: Cluster): readonly ServiceAccountLink[] {
    return this.links.get(this, cluster, this.linkServiceAccounts);
  }

  private linkServiceAccounts(cluster: Cluster): readonly ServiceAccountLink[] {
    const links: ServiceAccountLink[] = [];
    for (const sa of cluster.kubernetes?.serviceAccounts ?? []) {
      const roleArn = sa.annotations[ROLE_ARN_ANNOTATION];
      if (roleArn === undefined) continue;
      const audience = sa.annotations[AUDIENCE_ANNOTATION];
      links.push({
        serviceAccount: sa,
        roleArn,
        role: this.roleOfAnnotation(roleArn),
        subject: serviceAccountSubject(sa.namespace, sa.name),
        audience: audience?.trim() ? audience : DEFAULT_AUDIENCE,
      });
    }
    return links;
  }

  private readonly annotatedRoles = new Map<string, RoleResolution | null>();

  /**
   * The role an annotation names (null when it is not a role ARN), resolved once per distinct
   * annotation: ServiceAccounts share roles (a role per application, its SAs in several namespaces).
   * Coverage asks it too, so an annotation is parsed once per audit.
   */
  roleOfAnnotation(roleArn: string): RoleResolution | null {
    let role = this.annotatedRoles.get(roleArn);
    if (role === undefined) {
      role = isRoleArn(roleArn) ? this.resolveRole(roleArn) : null;
      this.annotatedRoles.set(roleArn, role);
    }
    return role;
  }

  private readonly trustCache = new WeakMap<ServiceAccountLink, TrustAssessment>();

  private readonly partitions = new PerAudit<Role, string>();

  /** The partition of the role's ARN (`aws` when it names none): one split per role, not per ServiceAccount. */
  private partitionOf(role: Role): string {
    return this.partitions.get(this, role, partitionOfRole);
  }

  /**
   * Whether the SA's role trusts a web-identity token of this SA from this cluster (IRSA-012/013/014),
   * or why that cannot be evaluated (malformed ARN, missing role, unparseable trust, unknown issuer).
   */
  trustOf(cluster: Cluster, link: ServiceAccountLink): TrustAssessment {
    const cached = this.trustCache.get(link);
    if (cached) return cached;
    const assessment = this.assessTrust(cluster, link);
    this.trustCache.set(link, assessment);
    return assessment;
  }

  private assessTrust(cluster: Cluster, link: ServiceAccountLink): TrustAssessment {
    const role = link.role;
    if (role === null)
      return { result: 'not-evaluated', reason: 'the role-arn annotation is malformed (IRSA-010)' };
    if (role.kind === 'unaudited') return { result: 'not-evaluated', reason: role.why };
    if (role.kind === 'missing')
      return { result: 'not-evaluated', reason: `role ${role.roleName} does not exist` };
    if (!role.role.trust.ok) {
      return {
        result: 'not-evaluated',
        reason: `the trust policy of ${role.role.name} cannot be parsed (IRSA-017)`,
      };
    }
    const issuer = this.issuerOf(cluster);
    if (issuer === null)
      return { result: 'not-evaluated', reason: 'the cluster OIDC issuer is unknown (cluster.json)' };
    return assessWebIdentityTrust(role.role.trust.policy, {
      providerArn: oidcProviderArn(this.partitionOf(role.role), role.account.accountId, issuer),
      issuer,
      subject: link.subject,
      audience: link.audience,
    });
  }

  private readonly roleGrants = new PerAudit<Role, ReadonlyMap<Cluster, readonly ProviderGrant[]>>();

  /**
   * The web-identity grants of a role's trust grouped by the fleet cluster whose provider they name
   * (grants for providers of no cluster in the fleet are left out). Empty for an unparseable trust.
   */
  roleGrantsByCluster(role: Role): ReadonlyMap<Cluster, readonly ProviderGrant[]> {
    return this.roleGrants.get(this, role, this.groupRoleGrants);
  }

  private groupRoleGrants(role: Role): ReadonlyMap<Cluster, readonly ProviderGrant[]> {
    const byCluster = new Map<Cluster, ProviderGrant[]>();
    if (!role.trust.ok) return byCluster;
    for (const grant of providerGrants(role.trust.policy)) {
      for (const cluster of this.clustersWithIssuer(grant.issuer)) {
        byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), grant]);
      }
    }
    return byCluster;
  }

  /** Every role of every account whose IAM data was read. */
  get roles(): readonly Role[] {
    return this.fleet.accounts.flatMap((a) => a.iam?.roles ?? []);
  }

  private readonly workloadsOf = new PerAudit<Cluster, readonly Workload[]>();

  /** Active pods (not Succeeded or Failed) grouped by workload and service account, in the order first seen. */
  workloads(cluster: Cluster): readonly Workload[] {
    return this.workloadsOf.get(this, cluster, this.groupWorkloads);
  }

  private readonly runningPodIndexes = new PerAudit<Cluster, ByServiceAccount<Pod> | null>();

  /**
   * The cluster's active pods (not Succeeded or Failed) that run as one ServiceAccount, in the
   * snapshot's order; null when the pods were not collected. Indexed once per cluster and audit:
   * a check that looked through every pod of the cluster for each ServiceAccount would take
   * seconds on a cluster of thousands of each.
   */
  runningPodsOf(cluster: Cluster, namespace: string, serviceAccount: string): readonly Pod[] | null {
    const index = this.runningPodIndexes.get(this, cluster, indexRunningPods);
    return index === null ? null : (index.get(namespace)?.get(serviceAccount) ?? NONE);
  }

  private readonly workloadIndexes = new PerAudit<Cluster, ByServiceAccount<Workload>>();

  /** The workloads of {@link workloads} whose pods run as one ServiceAccount, in their order. */
  workloadsOfServiceAccount(
    cluster: Cluster,
    namespace: string,
    serviceAccount: string,
  ): readonly Workload[] {
    return (
      this.workloadIndexes.get(this, cluster, this.indexWorkloads).get(namespace)?.get(serviceAccount) ?? NONE
    );
  }

  private indexWorkloads(cluster: Cluster): ByServiceAccount<Workload> {
    return byServiceAccount(this.workloads(cluster));
  }

  private groupWorkloads(cluster: Cluster): readonly Workload[] {
    // Nested maps (namespace, kind, name, service account), not a key string per pod: no string
    // is built or hashed per pod but the Deployment name workloadOf cuts from its ReplicaSet's.
    const byNamespace = new Map<string, Map<string, Map<string, Map<string, Pod[]>>>>();
    const workloads: Workload[] = [];
    const accounts = this.serviceAccountIndex(cluster);
    // A list holds pods by name, so a ReplicaSet's replicas come one after another: a pod with the
    // same owner, pod-template-hash, namespace and ServiceAccount as the pod before it (what
    // workloadOf reads of an owned pod) joins that pod's workload without a lookup.
    let last: Pod | null = null;
    let lastPods: Pod[] | null = null;
    for (const pod of cluster.kubernetes?.pods ?? []) {
      if (!isActivePod(pod)) continue;
      if (last !== null && lastPods !== null && sameOwnerAs(pod, last)) {
        lastPods.push(pod);
        continue;
      }
      const owner = workloadOf(pod);
      const byKind = getOrAdd(byNamespace, pod.namespace, newMap);
      const byName = getOrAdd(byKind, owner.kind, newMap);
      const byServiceAccount = getOrAdd(byName, owner.name, newMap);
      let pods = byServiceAccount.get(pod.serviceAccountName);
      if (!pods) {
        pods = [];
        byServiceAccount.set(pod.serviceAccountName, pods);
        workloads.push({
          namespace: pod.namespace,
          kind: owner.kind,
          name: owner.name,
          serviceAccountName: pod.serviceAccountName,
          serviceAccount: accounts?.get(`${pod.namespace}/${pod.serviceAccountName}`),
          pods,
          ref: { kind: owner.kind, name: owner.name },
        });
      }
      pods.push(pod);
      last = pod;
      lastPods = pods;
    }
    return workloads;
  }
}

/** Items by namespace, then ServiceAccount name; each group in the items' order. */
type ByServiceAccount<T> = ReadonlyMap<string, ReadonlyMap<string, readonly T[]>>;

const NONE: readonly never[] = Object.freeze([]);

/** `items` grouped by namespace and ServiceAccount: one pass, each group in the items' order. */
function byServiceAccount<T extends { readonly namespace: string; readonly serviceAccountName: string }>(
  items: readonly T[],
  keep?: (item: T) => boolean,
): ByServiceAccount<T> {
  const index = new Map<string, Map<string, T[]>>();
  for (const item of items) {
    if (keep && !keep(item)) continue;
    let names = index.get(item.namespace);
    if (!names) {
      names = new Map();
      index.set(item.namespace, names);
    }
    const group = names.get(item.serviceAccountName);
    if (group) group.push(item);
    else names.set(item.serviceAccountName, [item]);
  }
  return index;
}

function indexRunningPods(cluster: Cluster): ByServiceAccount<Pod> | null {
  const pods = cluster.kubernetes?.pods;
  return pods ? byServiceAccount(pods, isActivePod) : null;
}

function indexServiceAccounts(cluster: Cluster): ReadonlyMap<string, ServiceAccount> | null {
  const accounts = cluster.kubernetes?.serviceAccounts;
  if (!accounts) return null;
  // A loop, not a map over the accounts: no closure per audit (checks/workloads.ts), no pair per one.
  const index = new Map<string, ServiceAccount>();
  for (const sa of accounts) index.set(`${sa.namespace}/${sa.name}`, sa);
  return index;
}

function partitionOfRole(role: Role): string {
  return parseArn(role.arn)?.partition || 'aws';
}

export function newMap<K, V>(): Map<K, V> {
  return new Map();
}

/** The value of `key`, made with `create` and added when absent. */
export function getOrAdd<K, V>(map: Map<K, V>, key: K, create: () => NoInfer<V>): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

// See shapes.ts.
keepShape(new AuditContext(NO_FLEET, new Date(0)));
