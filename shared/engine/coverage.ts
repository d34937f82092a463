/**
 * An input that could not be read is never an empty input (docs/checks.md, "Coverage").
 *
 * Each check declares the inputs it reads (`Check.reads`) and where: at the result's cluster, its
 * account, the account of the ServiceAccount's role, a region of any account, or anywhere. The
 * collection records every failed read (`collection-errors.json`); this module turns each
 * recorded failure into the inputs it left unread, for exactly the resources it covers, and the
 * engine turns every pass or fail that depends on one of them into not-evaluated, naming the
 * failed read. No check has to special-case a failure for this to hold.
 */
import { makeResult } from '../checks/results.ts';
import type { CheckResult, Subject } from '../checks/types.ts';
import type { Account, Cluster, CollectionError, Fleet, ServiceAccount } from '../model/fleet.ts';
import { AuditContext, getOrAdd, newMap, ROLE_ARN_ANNOTATION } from './audit-context.ts';
import { keepShape, NO_FLEET } from './shapes.ts';

/**
 * What a check can read, named for the snapshot file or Kubernetes kind it comes from:
 * - `iam`: the account's roles, trust policies and OIDC providers (iam.json; iam:ListRoles,
 *   iam:ListOpenIDConnectProviders, iam:GetOpenIDConnectProvider);
 * - `role-policies`: one role's attached and inline policies (iam:ListAttachedRolePolicies, iam:ListRolePolicies);
 * - `role-policy-documents`: the documents of one role's inline and customer-managed policies
 *   (iam:GetRolePolicy, iam:GetPolicy, iam:GetPolicyVersion, iam:GetAccountAuthorizationDetails);
 * - `cluster-list`: the clusters of one region of the account (eks:ListClusters; account:ListRegions for every region);
 * - `cluster`: the cluster's DescribeCluster (cluster.json);
 * - `pod-identity-associations`: eks:ListPodIdentityAssociations of the cluster, and
 *   eks:DescribePodIdentityAssociation of each association (its role);
 * - `addons`: the cluster's EKS add-ons (eks:ListAddons, eks:DescribeAddon of the Pod Identity agent);
 * - `node-groups`: the cluster's managed node groups (eks:ListNodegroups, eks:DescribeNodegroup);
 * - `launch-templates`: the launch template versions those name (ec2:DescribeLaunchTemplateVersions);
 * - `ServiceAccount`, `Pod`, `MutatingWebhookConfiguration`, `Namespace`: the cluster's Kubernetes lists (kubernetes.json);
 * - `Service`, `EndpointSlice`: the Services a pod identity webhook names, and their EndpointSlices (kubernetes.json);
 * - `TokenRequest`: the live probe's token requests (probes.json).
 */
export const INPUTS = [
  'iam',
  'role-policies',
  'role-policy-documents',
  'cluster-list',
  'cluster',
  'pod-identity-associations',
  'addons',
  'node-groups',
  'launch-templates',
  'ServiceAccount',
  'Pod',
  'MutatingWebhookConfiguration',
  'Namespace',
  'Service',
  'EndpointSlice',
  'TokenRequest',
] as const;
export type InputName = (typeof INPUTS)[number];

/**
 * Where a check reads an input, relative to a result's subject:
 * - `cluster`: the subject's cluster (its account, region and name);
 * - `account`: the subject's account (for a role-scope result, the role's account);
 * - `role`: the account of the role that the subject's ServiceAccount names in its annotation
 *   (and, for `role-policies` and `role-policy-documents`, that role);
 * - `region`: the subject's region, in any account of the fleet (hygiene checks: a provider or a
 *   trust may belong to a cluster of another account there);
 * - `fleet`: anywhere in the fleet;
 * - `subject-role`: the role the subject itself names (its `roleName`, in its account): a node
 *   group's node role (IRSA-061).
 */
/**
 * The fields of a result's subject that say where it reads its inputs: a subject, or a result
 * that carries them itself (results.ts), so that no subject is built per result to ask.
 */
export type SubjectPlace = Pick<
  Subject,
  'accountId' | 'region' | 'cluster' | 'namespace' | 'serviceAccount' | 'roleName'
>;

export type InputPlace = 'cluster' | 'account' | 'role' | 'region' | 'fleet' | 'subject-role';

export interface InputRead {
  readonly input: InputName;
  readonly at: InputPlace;
}

/** Shorthand for a check's declaration: `reads('cluster', 'ServiceAccount', 'Pod')`. */
export function reads(at: InputPlace, ...inputs: InputName[]): InputRead[] {
  return inputs.map((input) => ({ input, at }));
}

/** One input left unread by a recorded failure, at the place the failure covers. */
export interface UnreadInput {
  readonly input: InputName;
  readonly accountId: string;
  /** Null: every region of the account. */
  readonly region: string | null;
  /** Null: not a cluster input, or every cluster of the region. */
  readonly cluster: string | null;
  /** For `role-policies` and `role-policy-documents`: the role; null: every role of the account. */
  readonly role: string | null;
  /** The failure that left it unread. */
  readonly error: CollectionError;
}

const ROLE_INPUTS: InputName[] = ['role-policies', 'role-policy-documents'];
const KUBERNETES_INPUTS: readonly InputName[] = [
  'ServiceAccount',
  'Pod',
  'MutatingWebhookConfiguration',
  'Namespace',
  'Service',
  'EndpointSlice',
];
const CLUSTER_INPUTS: readonly InputName[] = [
  'cluster',
  'pod-identity-associations',
  'addons',
  'node-groups',
  'launch-templates',
  ...KUBERNETES_INPUTS,
  'TokenRequest',
];

/** The operation name without the resource older snapshots appended (`eks:DescribeCluster (r/c)`). */
export function operationOf(api: string): string {
  const open = api.indexOf(' (');
  return open === -1 ? api : api.slice(0, open);
}

/** The inputs a failed operation leaves unread, for an error recorded at an account or a cluster. */
export function inputsLeftUnread(error: CollectionError, level: 'account' | 'cluster'): readonly InputName[] {
  const api = operationOf(error.api);
  if (error.kind === 'TokenRequest') return ['TokenRequest'];
  if (error.kind) return [error.kind];
  switch (api) {
    case 'sts:AssumeRole':
      return ['iam', ...ROLE_INPUTS, 'cluster-list', ...CLUSTER_INPUTS];
    case 'iam:ListRoles':
    case 'iam:ListOpenIDConnectProviders':
    case 'iam:GetOpenIDConnectProvider':
      return ['iam'];
    case 'iam:ListAttachedRolePolicies':
    case 'iam:ListRolePolicies':
      // Without the names, the documents to read are unknown too.
      return ROLE_INPUTS;
    case 'iam:GetRolePolicy':
    case 'iam:GetPolicy':
    case 'iam:GetPolicyVersion':
    case 'iam:GetAccountAuthorizationDetails':
      return ['role-policy-documents'];
    case 'account:ListRegions':
    case 'eks:ListClusters':
      // Clusters never listed: nothing of theirs was read either.
      return ['cluster-list', ...CLUSTER_INPUTS];
    case 'eks:DescribeCluster':
      // Recorded on a cluster that was described but has no endpoint or CA yet (older
      // snapshots): only its Kubernetes API was left unread.
      return level === 'cluster' && error.code === 'NoEndpoint'
        ? [...KUBERNETES_INPUTS, 'TokenRequest']
        : CLUSTER_INPUTS;
    case 'eks:ListPodIdentityAssociations':
    case 'eks:DescribePodIdentityAssociation':
      return ['pod-identity-associations'];
    case 'eks:ListAddons':
    case 'eks:DescribeAddon':
      return ['addons'];
    case 'eks:ListNodegroups':
    case 'eks:DescribeNodegroup':
      // Without the node groups, the launch templates they name are unknown too.
      return ['node-groups', 'launch-templates'];
    case 'ec2:DescribeLaunchTemplateVersions':
      return ['launch-templates'];
    case 'pipeline:AccountView':
      // Another account's unit did not share its IAM and clusters with this one (cross-account.ts).
      return ['iam', ...ROLE_INPUTS, 'cluster-list', ...CLUSTER_INPUTS];
    default:
      // The cluster's Kubernetes API as a whole (`k8s`, `k8s:<resource>` without a kind).
      if (api === 'k8s' || api.startsWith('k8s:')) return [...KUBERNETES_INPUTS, 'TokenRequest'];
      // An operation this version does not know: assume it left everything at its level unread.
      return level === 'cluster'
        ? CLUSTER_INPUTS
        : ['iam', ...ROLE_INPUTS, 'cluster-list', ...CLUSTER_INPUTS];
  }
}

/**
 * The resource in parentheses of an older snapshot's api (`eks:ListClusters (us-east-1)`): what
 * `/ \((.+)\)$/` matches, found without a regular expression, whose backtracking takes quadratic
 * time on a long api holding many ` (` (a hostile collection-errors.json).
 */
export function legacyResource(api: string): string | null {
  if (!api.endsWith(')')) return null;
  // `.` matches no line terminator: the resource starts after the last one.
  const lineStart = Math.max(...['\n', '\r', '\u2028', '\u2029'].map((c) => api.lastIndexOf(c))) + 1;
  const open = api.indexOf(' (', lineStart);
  if (open === -1 || open + 2 >= api.length - 1) return null;
  return api.slice(open + 2, -1);
}

/** Every input the fleet's recorded failures left unread, at the place each covers. */
export function unreadInputs(fleet: Fleet): UnreadInput[] {
  const out: UnreadInput[] = [];
  for (const account of fleet.accounts) {
    for (const error of account.collectionErrors) out.push(...accountLevel(account, error));
    for (const cluster of account.clusters) {
      for (const error of cluster.collectionErrors) {
        for (const input of inputsLeftUnread(error, 'cluster')) {
          out.push({
            input,
            accountId: cluster.accountId,
            region: cluster.region,
            cluster: cluster.name,
            role: null,
            error,
          });
        }
      }
    }
  }
  return out;
}

function accountLevel(account: Account, error: CollectionError): UnreadInput[] {
  const resource = legacyResource(error.api);
  let region = error.region ?? null;
  let cluster: string | null = null;
  let role = error.role ?? null;
  const api = operationOf(error.api);
  if (resource !== null) {
    if (api === 'eks:ListClusters') region ??= resource;
    else if (api === 'eks:DescribeCluster' || api === 'eks:ListPodIdentityAssociations') {
      const slash = resource.indexOf('/');
      region ??= resource.slice(0, slash);
      cluster = resource.slice(slash + 1);
    } else if (api.startsWith('iam:')) role ??= resource;
  }
  return inputsLeftUnread(error, cluster === null ? 'account' : 'cluster').map((input) => ({
    input,
    accountId: account.accountId,
    region: CLUSTER_INPUTS.includes(input) || input === 'cluster-list' ? region : null,
    cluster: CLUSTER_INPUTS.includes(input) ? cluster : null,
    role: ROLE_INPUTS.includes(input) ? role : null,
    error,
  }));
}

/**
 * Whether an unread input covers the place where a result reads it: its account (null: any
 * account), region, cluster and role (null: the place does not narrow it).
 */
function covers(
  unread: UnreadInput,
  accountId: string | null,
  region: string | null,
  cluster: string | null,
  role: string | null,
): boolean {
  if (accountId !== null && unread.accountId !== accountId) return false;
  if (unread.region !== null && region !== null && unread.region !== region) return false;
  if (unread.cluster !== null && cluster !== null && unread.cluster !== cluster) return false;
  if (unread.role !== null && role !== null && unread.role !== role) return false;
  return true;
}

function firstCovering(
  candidates: readonly UnreadInput[] | undefined,
  accountId: string | null,
  region: string | null,
  cluster: string | null,
  role: string | null,
): UnreadInput | undefined {
  if (candidates === undefined) return undefined;
  for (const unread of candidates) if (covers(unread, accountId, region, cluster, role)) return unread;
  return undefined;
}

const NO_GAPS: readonly UnreadInput[] = Object.freeze([]);

/** The fleet's unread inputs, indexed by input, and the lookups the engine needs per result. */
export class Coverage {
  private readonly byInput = new Map<InputName, UnreadInput[]>();
  /** The same, by account too: a result's place names its account, and a fleet has many. */
  private readonly byInputAndAccount = new Map<InputName, Map<string, UnreadInput[]>>();
  /** The fleet's clusters by account, region and name: found without a key string per result. */
  private readonly clusters = new Map<string, Map<string, Map<string, Cluster>>>();
  /** Each cluster's role-arn annotations by namespace and ServiceAccount name (null: not collected). */
  private readonly roleArns = new Map<Cluster, ReadonlyMap<string, ReadonlyMap<string, string>> | null>();

  constructor(
    fleet: Fleet,
    private readonly context: AuditContext,
  ) {
    for (const unread of unreadInputs(fleet)) {
      const list = this.byInput.get(unread.input) ?? [];
      list.push(unread);
      this.byInput.set(unread.input, list);
      const byAccount = this.byInputAndAccount.get(unread.input) ?? new Map<string, UnreadInput[]>();
      this.byInputAndAccount.set(unread.input, byAccount);
      const inAccount = byAccount.get(unread.accountId) ?? [];
      byAccount.set(unread.accountId, inAccount);
      inAccount.push(unread);
    }
    for (const cluster of context.clusters) {
      const regions = getOrAdd(this.clusters, cluster.accountId, newMap);
      getOrAdd(regions, cluster.region, newMap).set(cluster.name, cluster);
    }
  }

  get empty(): boolean {
    return this.byInput.size === 0;
  }

  /**
   * The unread inputs among `declared` that the result's subject depends on (empty: it stands).
   * Called for every result of the fleet: nothing is built unless an unread input of the same
   * kind, in the same account where the place names one, is there to compare.
   */
  gapsOf(declared: readonly InputRead[], subject: SubjectPlace): readonly UnreadInput[] {
    let gaps: UnreadInput[] | null = null;
    for (const read of declared) {
      const hit = this.gapOf(read, subject);
      if (hit === undefined) continue;
      gaps ??= [];
      gaps.push(hit);
    }
    return gaps ?? NO_GAPS;
  }

  /** The first unread input that covers where the subject reads `read`. */
  private gapOf(read: InputRead, subject: SubjectPlace): UnreadInput | undefined {
    const anywhere = this.byInput.get(read.input);
    if (anywhere === undefined) return undefined;
    const { accountId, region, cluster, roleName } = subject;
    switch (read.at) {
      case 'cluster':
        if (cluster === null) return undefined;
        return firstCovering(this.inAccount(read, anywhere, accountId), accountId, region, cluster, null);
      case 'account':
        return firstCovering(this.inAccount(read, anywhere, accountId), accountId, region, cluster, null);
      case 'region':
        // A result of no region (a role-level IRSA-017) does not depend on any region's clusters.
        if (region === null) return undefined;
        return firstCovering(anywhere, null, region, null, null);
      case 'fleet':
        return firstCovering(anywhere, null, null, null, null);
      case 'subject-role':
        if (roleName === null) return undefined;
        return firstCovering(this.inAccount(read, anywhere, accountId), accountId, null, null, roleName);
      case 'role': {
        const arn = this.roleArnOf(subject);
        const role = arn === null ? null : this.roleOf(arn);
        if (role === null) return undefined;
        return firstCovering(
          this.inAccount(read, anywhere, role.accountId),
          role.accountId,
          null,
          null,
          role.name,
        );
      }
    }
  }

  /**
   * The unread inputs of `read` that can cover a place of the account: only that account's
   * failures can (covers() compares the account); all of them (`anywhere`) when the place names none.
   */
  private inAccount(
    read: InputRead,
    anywhere: readonly UnreadInput[],
    accountId: string | null,
  ): readonly UnreadInput[] | undefined {
    return accountId === null ? anywhere : this.byInputAndAccount.get(read.input)?.get(accountId);
  }

  /** Role ARNs already read: the same annotations come back for each result of each check. */
  private readonly roles = new Map<
    string,
    { readonly accountId: string; readonly name: string | null } | null
  >();

  /**
   * The account and name of a role ARN (annotation), or null when it is not a role ARN: as the
   * audit's context resolved it for the checks (one parse per distinct annotation for both).
   */
  private roleOf(arn: string): { readonly accountId: string; readonly name: string | null } | null {
    let role = this.roles.get(arn);
    if (role === undefined) {
      const resolved = this.context.roleOfAnnotation(arn);
      role =
        resolved === null
          ? null
          : resolved.kind === 'found'
            ? { accountId: resolved.account.accountId, name: resolved.role.name }
            : { accountId: resolved.accountId, name: resolved.roleName };
      this.roles.set(arn, role);
    }
    return role;
  }

  /** The role ARN the subject's ServiceAccount is annotated with, if any (well-formed or not). */
  private roleArnOf(subject: SubjectPlace): string | null {
    const { accountId, region, namespace, serviceAccount } = subject;
    if (subject.cluster === null || serviceAccount === null || namespace === null) return null;
    if (accountId === null || region === null) return null;
    const cluster = this.clusters.get(accountId)?.get(region)?.get(subject.cluster);
    if (!cluster) return null;
    let roleArns = this.roleArns.get(cluster);
    if (roleArns === undefined) {
      roleArns = annotatedRoles(this.context.serviceAccountIndex(cluster));
      this.roleArns.set(cluster, roleArns);
    }
    return roleArns?.get(namespace)?.get(serviceAccount) ?? null;
  }
}

/** The role-arn annotation of each ServiceAccount of the index, by namespace and name. */
function annotatedRoles(
  index: ReadonlyMap<string, ServiceAccount> | null,
): ReadonlyMap<string, ReadonlyMap<string, string>> | null {
  if (index === null) return null;
  const byNamespace = new Map<string, Map<string, string>>();
  for (const sa of index.values()) {
    const roleArn = sa.annotations[ROLE_ARN_ANNOTATION];
    if (roleArn !== undefined) getOrAdd(byNamespace, sa.namespace, newMap).set(sa.name, roleArn);
  }
  return byNamespace;
}

/** Where an unread input was, in words: `cluster payments (eu-west-1)`, `account 111122223333`. */
export function describePlace(unread: UnreadInput): string {
  if (unread.cluster !== null) return `cluster ${unread.cluster} (${unread.region ?? ''})`;
  if (unread.role !== null) return `role ${unread.role} of account ${unread.accountId}`;
  if (unread.region !== null) return `region ${unread.region} of account ${unread.accountId}`;
  return `account ${unread.accountId}`;
}

/** The not-evaluated result that replaces a pass or fail whose input could not be read. */
export function notEvaluatedFor(result: CheckResult, gaps: readonly UnreadInput[]): CheckResult {
  const reasons = [
    ...new Set(
      gaps.map(
        (gap) =>
          `${operationOf(gap.error.api)} failed on ${describePlace(gap)} (${gap.error.class ?? 'error'}: ${gap.error.code})`,
      ),
    ),
  ];
  return makeResult(
    { id: result.checkId, name: result.name, title: result.title, severity: result.severity },
    'not-evaluated',
    result,
    `not evaluated: ${reasons.join('; ')}, so ${gaps
      .map((g) => g.input)
      .filter((v, i, a) => a.indexOf(v) === i)
      .join(', ')} could not be read`,
    {
      unread: gaps.map((gap) => ({
        input: gap.input,
        api: operationOf(gap.error.api),
        code: gap.error.code,
      })),
    },
    null,
  );
}

// See shapes.ts.
keepShape(new Coverage(NO_FLEET, new AuditContext(NO_FLEET, new Date(0))));
