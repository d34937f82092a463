/**
 * The fleet model the checks read: a snapshot directory (see docs/fleet-format.md) validated
 * once by the loader and reduced to the fields the checks use. Nothing here does I/O.
 */
import type { ParseResult } from '../policy/policy-document.ts';

/** A file of the snapshot that could not be read or failed validation (reported as AUDIT-004). */
export interface InputError {
  readonly accountId: string | null;
  readonly region: string | null;
  readonly cluster: string | null;
  /** Path of the file relative to the fleet directory, e.g. `111122223333/iam.json`. */
  readonly file: string;
  /** The offending field as a path (`Roles[3].RoleName`), or null when the file as a whole is at fault. */
  readonly field: string | null;
  readonly message: string;
}

/**
 * An API call of the live collection that failed (written to `collection-errors.json`): the
 * audit could not look, which AUDIT-001/002/003 report; it is never taken as "all clear".
 */
export interface CollectionError {
  /**
   * The operation, e.g. `sts:AssumeRole`, `iam:ListRoles`, `eks:ListPodIdentityAssociations`,
   * `k8s:pods`, or `k8s` for a cluster's Kubernetes API as a whole. Older snapshots may carry the
   * resource in parentheses (`eks:DescribeCluster (us-east-1/prod)`); the loader splits it off.
   */
  readonly api: string;
  /** Short machine-readable cause: `AccessDenied`, `Unauthorized`, `Forbidden`, `ECONNREFUSED`, `TLS` ... */
  readonly code: string;
  readonly message: string;
  /** What kind of failure it was (classified once, where it happened); absent in older snapshots. */
  readonly class?: FailureClass;
  /** The HTTP status of the answer, when there was one. */
  readonly status?: number;
  /** The region the failed read concerns (e.g. eks:ListClusters of one region). */
  readonly region?: string;
  /** The IAM role the failed read concerns (its policies). */
  readonly role?: string;
  /** For a Kubernetes list that was denied: its kind; `TokenRequest` for a denied live probe (IRSA-040). */
  readonly kind?: KubernetesKind | 'TokenRequest' | null;
}

/**
 * The kinds of failed read, each with its own message and fix (docs/checks.md, "Coverage"):
 * - unreachable: DNS, connection refused or reset, no answer within the deadline, TLS, a private endpoint;
 * - denied: 401/403, AccessDenied and its kin;
 * - not-found: 404 or an API the endpoint does not implement;
 * - throttled: still throttled after the retries;
 * - server-error: 5xx after the retries;
 * - malformed: a 2xx answer that is not what the API returns;
 * - error: anything else.
 */
export const FAILURE_CLASSES = [
  'unreachable',
  'denied',
  'not-found',
  'throttled',
  'server-error',
  'malformed',
  'error',
] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

export interface Fleet {
  readonly accounts: readonly Account[];
  readonly inputErrors: readonly InputError[];
}

export interface Account {
  readonly accountId: string;
  /** Null when `iam.json` is missing or invalid: IAM-side checks are then not evaluated. */
  readonly iam: AccountIam | null;
  /** Region directories present for this account (audited, even when they hold no cluster). */
  readonly regions: readonly string[];
  readonly clusters: readonly Cluster[];
  /** Account-level collection failures (role not assumable, IAM or EKS listing denied). */
  readonly collectionErrors: readonly CollectionError[];
}

export interface AccountIam {
  readonly roles: readonly Role[];
  readonly providers: readonly OidcProvider[];
  /** Permissions per role name; a role left out has unknown permissions. */
  readonly rolePolicies: ReadonlyMap<string, RolePolicies>;
  /**
   * The account's customer-managed policies whose documents the snapshot holds (`Policies`), by
   * ARN; a policy left out has an unknown document (IRSA-023 is then not evaluated).
   */
  readonly managedPolicies: ReadonlyMap<string, ManagedPolicy>;
}

/** A policy document as the snapshot holds it: URL-encoded or JSON text, or the decoded object. */
export type PolicyDocumentSource = string | Readonly<Record<string, unknown>>;

export interface ManagedPolicy {
  readonly arn: string;
  readonly name: string;
  /** The default version's id and document; null when the snapshot does not hold that version. */
  readonly defaultVersionId: string | null;
  readonly document: PolicyDocumentSource | null;
}

export interface Role {
  readonly accountId: string;
  readonly name: string;
  readonly arn: string;
  readonly trust: ParseResult;
}

export interface RolePolicies {
  readonly attached: readonly { readonly name: string; readonly arn: string }[];
  readonly inline: readonly string[];
  /**
   * The inline policies' documents by policy name (`RolePolicyList`); null when the snapshot holds
   * none for the role (IRSA-023 is then not evaluated).
   */
  readonly inlineDocuments: ReadonlyMap<string, PolicyDocumentSource> | null;
}

export interface OidcProvider {
  readonly arn: string;
  /** Issuer without scheme, e.g. `oidc.eks.us-east-1.amazonaws.com/id/ABC`. */
  readonly url: string;
  readonly clientIds: readonly string[];
}

export interface Cluster {
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  /** Null when `cluster.json` is missing or invalid. */
  readonly info: ClusterInfo | null;
  /** Null when `kubernetes.json` is missing or invalid. */
  readonly kubernetes: KubernetesData | null;
  /** Null when `pod-identity-associations.json` is present but invalid; empty when absent. */
  readonly podIdentityAssociations: readonly PodIdentityAssociation[] | null;
  /** Cluster-level collection failures (Kubernetes API unreachable or refusing, a list denied). */
  readonly collectionErrors: readonly CollectionError[];
  /**
   * The cluster's EKS add-ons (`addons.json`): absent (undefined) or null when the file is absent or
   * invalid (PODID-004 is then not evaluated).
   */
  readonly addons?: ClusterAddons | null;
  /**
   * The cluster's EKS managed node groups and the launch template versions they use
   * (`nodegroups.json`): absent (undefined) or null when the file is absent or invalid (IRSA-060
   * and IRSA-061 are then not evaluated).
   */
  readonly nodeGroups?: ClusterNodeGroups | null;
  /** Results of the live probe (`probes.json`); null when the cluster was not probed or the file is invalid. */
  readonly probes: readonly ProbeResult[] | null;
}

/**
 * The live probe (IRSA-040) of one annotated ServiceAccount: a TokenRequest with the audience its
 * pods get, then sts:AssumeRoleWithWebIdentity. Only the outcome is kept, never a token or credentials.
 */
export interface ProbeResult {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The role-arn annotation the probe used, as stored. */
  readonly roleArn: string;
  readonly audience: string;
  /** pass: STS issued credentials; fail: STS refused (errorCode); error: the probe could not complete. */
  readonly outcome: 'pass' | 'fail' | 'error';
  /** STS's error code (`InvalidIdentityToken`, `AccessDenied` ...), or the cause of an error outcome. */
  readonly errorCode: string | null;
  /** STS's message (tokens redacted). */
  readonly message: string | null;
  /** On a pass: the assumed-role session ARN STS returned. */
  readonly assumedRoleArn: string | null;
}

export interface ClusterInfo {
  readonly name: string;
  readonly arn: string | null;
  /** The Kubernetes API endpoint (`https://...`), for the fixes of AUDIT-002. */
  readonly endpoint: string | null;
  /** `identity.oidc.issuer`, e.g. `https://oidc.eks.us-east-1.amazonaws.com/id/ABC`. */
  readonly issuer: string | null;
  /** `certificateAuthority.data`: base64 of the cluster CA's PEM. */
  readonly certificateAuthorityData: string | null;
  /**
   * `computeConfig.enabled`: EKS Auto Mode runs the cluster's nodes. Null or absent when
   * DescribeCluster did not say (an older snapshot, or a cluster created before Auto Mode).
   */
  readonly autoMode?: boolean | null;
}

/** The Kubernetes objects of one cluster; a kind that was not collected is null. */
export interface KubernetesData {
  readonly serviceAccounts: readonly ServiceAccount[] | null;
  readonly pods: readonly Pod[] | null;
  readonly webhookConfigurations: readonly MutatingWebhookConfiguration[] | null;
  /** Every namespace with its labels (IRSA-063, PODID-003); null when not collected (older snapshots). */
  readonly namespaces: readonly Namespace[] | null;
  /**
   * The Services a pod identity webhook names in `clientConfig.service` (IRSA-064), those that
   * exist; null when not collected (older snapshots). Only those Services are read.
   */
  readonly services: readonly Service[] | null;
  /** The EndpointSlices of those Services (`kubernetes.io/service-name`); null when not collected. */
  readonly endpointSlices: readonly EndpointSlice[] | null;
}

export type KubernetesKind =
  | 'ServiceAccount'
  | 'Pod'
  | 'MutatingWebhookConfiguration'
  | 'Namespace'
  | 'Service'
  | 'EndpointSlice';

export interface Namespace {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A Service, reduced to what IRSA-064 reads: its type and the pod selector behind it. */
export interface Service {
  readonly namespace: string;
  readonly name: string;
  /** `spec.type` (`ClusterIP`, `NodePort`, `LoadBalancer`, `ExternalName`); null when absent (ClusterIP). */
  readonly type: string | null;
  /** `spec.selector`; null for a Service without one (its endpoints are managed by hand). */
  readonly selector: Readonly<Record<string, string>> | null;
}

/** One endpoint of an EndpointSlice. */
export interface SliceEndpoint {
  /** `conditions.ready`: null when absent, which Kubernetes reads as ready. */
  readonly ready: boolean | null;
  /** The object behind the endpoint (`targetRef`, usually a Pod); null when absent. */
  readonly target: { readonly kind: string | null; readonly name: string | null } | null;
}

export interface EndpointSlice {
  readonly namespace: string;
  readonly name: string;
  /** The Service it belongs to (label `kubernetes.io/service-name`); null when absent. */
  readonly serviceName: string | null;
  readonly endpoints: readonly SliceEndpoint[];
}

export interface ServiceAccount {
  readonly namespace: string;
  readonly name: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly creationTimestamp: string | null;
  /** When the role-arn annotation was last written, from managedFields where the snapshot has them. */
  readonly roleArnAnnotatedAt: string | null;
}

export interface OwnerReference {
  readonly kind: string;
  readonly name: string;
}

export interface Container {
  readonly name: string;
  readonly init: boolean;
  /** Environment variables with a literal value; those set through `valueFrom` map to null. */
  readonly env: ReadonlyMap<string, string | null>;
  /**
   * Where each variable that is set gets its value, never the value: a literal, or its
   * `valueFrom` reference. A variable with neither (an empty value) is absent.
   */
  readonly sources: ReadonlyMap<string, EnvSource>;
}

/** Where a container's environment variable gets its value (docs/fleet-format.md, kubernetes.json). */
export interface EnvSource {
  /** `literal`, or the kind of its `valueFrom`: `secretKeyRef`, `configMapKeyRef`, `fieldRef`, ... */
  readonly kind: string;
  /** The Secret's or ConfigMap's name and key (null for a literal or another kind, or when absent). */
  readonly name: string | null;
  readonly key: string | null;
  /** `optional: true` on the reference: the variable is unset when the object or key is missing. */
  readonly optional: boolean;
}

export interface PodVolume {
  readonly name: string;
  /** Audiences of the projected `serviceAccountToken` sources of this volume (empty string when unset). */
  readonly tokenAudiences: readonly string[];
}

export interface Pod {
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccountName: string;
  readonly phase: string | null;
  readonly creationTimestamp: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** The controller owner (or the first owner reference), null for a bare pod. */
  readonly owner: OwnerReference | null;
  readonly containers: readonly Container[];
  readonly volumes: readonly PodVolume[];
}

/** One requirement of a label selector's `matchExpressions`. */
export interface LabelSelectorRequirement {
  readonly key: string;
  /** `In`, `NotIn`, `Exists`, `DoesNotExist` (kept as stored: another value is undecidable). */
  readonly operator: string;
  readonly values: readonly string[];
}

/** A Kubernetes label selector; `{}` (no requirement) matches every object. */
export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

export interface MutatingWebhook {
  readonly name: string;
  /** `clientConfig.caBundle`; null when absent. */
  readonly caBundle: string | null;
  /** `clientConfig.url` (a webhook outside the cluster, e.g. EKS's on the control plane); null when absent. */
  readonly url: string | null;
  /** `clientConfig.service`: the in-cluster Service the API server calls; null when absent. */
  readonly service: { readonly namespace: string; readonly name: string } | null;
  /**
   * `failurePolicy` as stored (`Fail` or `Ignore`). The API server always fills it (v1 default
   * `Fail`), so null means the snapshot did not record it (an older snapshot): not evaluated.
   */
  readonly failurePolicy: string | null;
  /** `namespaceSelector`; the API server defaults it to `{}`, so null means not recorded. */
  readonly namespaceSelector: LabelSelector | null;
  /** `objectSelector`; the API server defaults it to `{}`, so null means not recorded. */
  readonly objectSelector: LabelSelector | null;
}

export interface MutatingWebhookConfiguration {
  readonly name: string;
  readonly webhooks: readonly MutatingWebhook[];
}

/** The add-ons of a cluster (`aws eks list-addons`), and the described ones (`aws eks describe-addon`). */
export interface ClusterAddons {
  /** The add-on names ListAddons returned. */
  readonly names: readonly string[];
  /** The described add-ons by name (the collector describes only `eks-pod-identity-agent`). */
  readonly described: ReadonlyMap<string, AddonState>;
}

export interface AddonState {
  readonly name: string;
  /** `ACTIVE`, `DEGRADED`, `CREATE_FAILED`, `CREATING`, ...; null when absent. */
  readonly status: string | null;
  readonly version: string | null;
  /** `health.issues`: each issue's code and message. */
  readonly issues: readonly string[];
}

/**
 * A cluster's EKS managed node groups (`aws eks list-nodegroups`, `describe-nodegroup`) and the
 * versions of the launch templates they name (`aws ec2 describe-launch-template-versions`).
 */
export interface ClusterNodeGroups {
  /** The node group names ListNodegroups returned. */
  readonly names: readonly string[];
  /** The described node groups by name. */
  readonly described: ReadonlyMap<string, NodeGroup>;
  /** The launch template versions read for them (each template's versions the node groups name). */
  readonly launchTemplateVersions: readonly LaunchTemplateVersion[];
}

export interface NodeGroup {
  readonly name: string;
  /** `nodeRole`: the ARN of the IAM role its nodes (and any pod that reaches their IMDS) get. */
  readonly nodeRole: string | null;
  readonly status: string | null;
  readonly amiType: string | null;
  /** `launchTemplate` (a custom launch template); null when EKS generated the node group's own. */
  readonly launchTemplate: {
    readonly id: string | null;
    readonly name: string | null;
    /** As DescribeNodegroup gives it: a number, `$Default`, `$Latest`, or null (the default). */
    readonly version: string | null;
  } | null;
}

export interface LaunchTemplateVersion {
  readonly templateId: string | null;
  readonly templateName: string | null;
  readonly versionNumber: number;
  readonly defaultVersion: boolean;
  /**
   * `LaunchTemplateData.MetadataOptions` as stored; null when the version sets none (EC2 then
   * applies the AMI's and the account's defaults, which the snapshot does not hold).
   */
  readonly metadataOptions: {
    readonly httpTokens: string | null;
    readonly httpPutResponseHopLimit: number | null;
    readonly httpEndpoint: string | null;
  } | null;
}

export interface PodIdentityAssociation {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly roleArn: string | null;
  readonly associationArn: string | null;
}
