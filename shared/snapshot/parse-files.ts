/**
 * Pure parsers, one per snapshot file: text in, model (or an input error naming the field) out.
 * The directory walk that feeds them lives in load-fleet.ts.
 */
import type { z } from 'zod';
import { CREDENTIAL_VARIABLES, REDACTED_VALUE } from '../model/credentials.ts';
import type {
  AccountIam,
  AddonState,
  ClusterAddons,
  ClusterInfo,
  ClusterNodeGroups,
  CollectionError,
  Container,
  EndpointSlice,
  EnvSource,
  KubernetesData,
  KubernetesKind,
  LabelSelector,
  ManagedPolicy,
  MutatingWebhookConfiguration,
  Namespace,
  NodeGroup,
  Pod,
  PodIdentityAssociation,
  ProbeResult,
  RolePolicies,
  Service,
  ServiceAccount,
} from '../model/fleet.ts';
import { parsePolicyDocument } from '../policy/policy-document.ts';
import {
  addonsFileSchema,
  clusterFileSchema,
  collectionErrorsFileSchema,
  collectionMarkerSchema,
  endpointSliceSchema,
  iamFileSchema,
  KUBERNETES_KINDS,
  kubernetesFileSchema,
  LATER_KUBERNETES_KINDS,
  namespaceSchema,
  nodegroupsFileSchema,
  podIdentityAssociationsFileSchema,
  podSchema,
  probesFileSchema,
  serviceAccountSchema,
  serviceSchema,
  webhookConfigurationSchema,
} from './schemas.ts';

/** Why a file was rejected: the field (a path such as `Roles[2].Arn`) and what is wrong with it. */
export interface FileProblem {
  readonly field: string | null;
  readonly message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: FileProblem };

function formatPath(path: readonly PropertyKey[]): string | null {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? null : out;
}

function joinPath(prefix: string, rest: string | null): string {
  if (rest === null) return prefix;
  return rest.startsWith('[') ? `${prefix}${rest}` : `${prefix}.${rest}`;
}

function zodProblem(error: z.ZodError, prefix?: string): FileProblem {
  const issue = error.issues[0];
  const field = issue ? formatPath(issue.path) : null;
  return {
    field: prefix === undefined ? field : joinPath(prefix, field),
    message: issue?.message ?? 'invalid',
  };
}

function parseJson(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, problem: { field: null, message: `not valid JSON: ${detail}` } };
  }
}

/** Parses `<account>/iam.json`. */
export function parseIamFile(text: string, accountId: string): Parsed<AccountIam> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = iamFileSchema.safeParse(json.value);
  if (!result.success) return { ok: false, problem: zodProblem(result.error) };
  const file = result.data;
  const rolePolicies = new Map<string, RolePolicies>();
  for (const [roleName, policies] of Object.entries(file.RolePolicies ?? {})) {
    const documents = policies.RolePolicyList;
    rolePolicies.set(roleName, {
      attached: (policies.AttachedPolicies ?? []).map((p) => ({ name: p.PolicyName, arn: p.PolicyArn })),
      // A snapshot with the documents but not the names (get-account-authorization-details alone)
      // names the inline policies through them.
      inline: policies.PolicyNames ?? documents?.map((p) => p.PolicyName) ?? [],
      inlineDocuments: documents ? new Map(documents.map((p) => [p.PolicyName, p.PolicyDocument])) : null,
    });
  }
  const managedPolicies = new Map<string, ManagedPolicy>();
  for (const policy of file.Policies ?? []) {
    const versions = policy.PolicyVersionList ?? [];
    const byDefault =
      versions.find((v) => v.IsDefaultVersion === true) ??
      versions.find((v) => policy.DefaultVersionId && v.VersionId === policy.DefaultVersionId);
    managedPolicies.set(policy.Arn, {
      arn: policy.Arn,
      name: policy.PolicyName,
      defaultVersionId: byDefault?.VersionId ?? policy.DefaultVersionId ?? null,
      document: byDefault?.Document ?? null,
    });
  }
  return {
    ok: true,
    value: {
      roles: file.Roles.map((role) => ({
        accountId,
        name: role.RoleName,
        arn: role.Arn,
        trust: parsePolicyDocument(role.AssumeRolePolicyDocument),
      })),
      providers: (file.OpenIDConnectProviders ?? []).map((p) => ({
        arn: p.Arn,
        url: p.Url,
        clientIds: p.ClientIDList ?? [],
      })),
      rolePolicies,
      managedPolicies,
    },
  };
}

/** Parses `<cluster>/cluster.json` (the output of `aws eks describe-cluster`). */
export function parseClusterFile(text: string): Parsed<ClusterInfo> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = clusterFileSchema.safeParse(json.value);
  if (!result.success) return { ok: false, problem: zodProblem(result.error) };
  const { cluster } = result.data;
  return {
    ok: true,
    value: {
      name: cluster.name,
      arn: cluster.arn ?? null,
      endpoint: cluster.endpoint ?? null,
      issuer: cluster.identity?.oidc?.issuer ?? null,
      certificateAuthorityData: cluster.certificateAuthority?.data ?? null,
      autoMode: cluster.computeConfig?.enabled ?? null,
    },
  };
}

type ItemParser<T> = (item: unknown, index: number) => Parsed<T>;

function itemParser<S extends z.ZodType, T>(schema: S, map: (value: z.infer<S>) => T): ItemParser<T> {
  return (item, index) => {
    const result = schema.safeParse(item);
    if (result.success) return { ok: true, value: map(result.data) };
    return { ok: false, problem: zodProblem(result.error, `items[${index}]`) };
  };
}

const ROLE_ARN_FIELD = 'f:eks.amazonaws.com/role-arn';

/** The latest managedFields time at which the role-arn annotation was written, if recorded. */
function roleArnAnnotatedAt(
  managedFields:
    | readonly { time?: string | null; fieldsV1?: Record<string, unknown> | null }[]
    | null
    | undefined,
): string | null {
  let latest: string | null = null;
  for (const entry of managedFields ?? []) {
    const metadata = entry.fieldsV1?.['f:metadata'] as Record<string, unknown> | undefined;
    const annotations = metadata?.['f:annotations'] as Record<string, unknown> | undefined;
    if (
      annotations &&
      ROLE_ARN_FIELD in annotations &&
      entry.time &&
      (latest === null || entry.time > latest)
    ) {
      latest = entry.time;
    }
  }
  return latest;
}

const parseServiceAccount = itemParser(
  serviceAccountSchema,
  ({ metadata }): ServiceAccount => ({
    namespace: metadata.namespace,
    name: metadata.name,
    annotations: metadata.annotations ?? {},
    creationTimestamp: metadata.creationTimestamp ?? null,
    roleArnAnnotatedAt: roleArnAnnotatedAt(metadata.managedFields),
  }),
);

const REFERENCE_KINDS: ReadonlySet<string> = new Set(['secretKeyRef', 'configMapKeyRef']);

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * Where a variable gets its value: a non-empty literal, else the kind of its `valueFrom` (of a
 * Secret or ConfigMap reference, the name, key and `optional` too). Null when it has neither: the
 * variable is then empty, as the API server leaves out an empty `value`.
 */
/** Where a non-empty literal value comes from: one object, shared by every such variable. */
const LITERAL_SOURCE: EnvSource = Object.freeze({ kind: 'literal', name: null, key: null, optional: false });

function envSource(value: string | null, valueFrom: unknown): EnvSource | null {
  if (value !== null && value !== '') return LITERAL_SOURCE;
  if (!valueFrom || typeof valueFrom !== 'object' || Array.isArray(valueFrom)) return null;
  const [kind, ref] = Object.entries(valueFrom)[0] ?? [];
  if (kind === undefined) return null;
  if (!REFERENCE_KINDS.has(kind) || !ref || typeof ref !== 'object') {
    return { kind, name: null, key: null, optional: false };
  }
  const { name, key, optional } = ref as Record<string, unknown>;
  return { kind, name: stringOrNull(name), key: stringOrNull(key), optional: optional === true };
}

interface ContainerSpec {
  readonly name: string;
  readonly env?: readonly { name: string; value?: string | null; valueFrom?: unknown }[] | null;
}

function toContainer(container: ContainerSpec, init: boolean): Container {
  const env = new Map<string, string | null>();
  const sources = new Map<string, EnvSource>();
  for (const variable of container.env ?? []) {
    // A variable set through valueFrom has no value (null); a credential's value is never kept,
    // even from a snapshot written by hand (an empty one hides nothing).
    const value = variable.value ?? null;
    env.set(
      variable.name,
      value !== null && value !== '' && CREDENTIAL_VARIABLES.has(variable.name) ? REDACTED_VALUE : value,
    );
    // A later entry of the same name wins, as in the kubelet.
    const source = envSource(value, variable.valueFrom);
    if (source) sources.set(variable.name, source);
    else sources.delete(variable.name);
  }
  return { name: container.name, init, env, sources };
}

/** Whether two container specs make the same Container: the same name and environment. */
function sameContainerSpec(a: ContainerSpec, b: ContainerSpec): boolean {
  const envA = a.env ?? [];
  const envB = b.env ?? [];
  if (a.name !== b.name || envA.length !== envB.length) return false;
  return envA.every((x, i) => {
    const y = envB[i];
    return (
      y !== undefined &&
      x.name === y.name &&
      (x.value ?? null) === (y.value ?? null) &&
      (x.valueFrom === y.valueFrom || JSON.stringify(x.valueFrom) === JSON.stringify(y.valueFrom))
    );
  });
}

function sameContainerSpecs(a: readonly ContainerSpec[], b: readonly ContainerSpec[]): boolean {
  return a.length === b.length && a.every((spec, i) => sameContainerSpec(spec, b[i] as ContainerSpec));
}

/** The containers of the pod parsed last, and their specs (init containers, then the others). */
let lastPod: {
  readonly init: readonly ContainerSpec[];
  readonly main: readonly ContainerSpec[];
  readonly containers: readonly Container[];
} | null = null;

/**
 * A pod's containers, init containers first. A list holds pods by name, so the replicas of a
 * workload come one after another, and their containers are alike: a pod whose specs equal those
 * of the pod parsed before it shares that pod's Container objects (read-only, as the whole model).
 * That halves the memory of a loaded snapshot's pods (a container's two maps of its environment
 * were most of a pod's 1.8 KB), and the checks' walks over pods meet fewer distinct objects.
 */
function podContainers(init: readonly ContainerSpec[], main: readonly ContainerSpec[]): readonly Container[] {
  if (lastPod && sameContainerSpecs(init, lastPod.init) && sameContainerSpecs(main, lastPod.main)) {
    return lastPod.containers;
  }
  const containers = [...init.map((c) => toContainer(c, true)), ...main.map((c) => toContainer(c, false))];
  lastPod = { init, main, containers };
  return containers;
}

const parsePod = itemParser(podSchema, ({ metadata, spec, status }): Pod => {
  const owners = metadata.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller === true) ?? owners[0] ?? null;
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    // The API server defaults an unset serviceAccountName to "default".
    serviceAccountName: spec.serviceAccountName || spec.serviceAccount || 'default',
    phase: status?.phase ?? null,
    creationTimestamp: metadata.creationTimestamp ?? null,
    labels: metadata.labels ?? {},
    annotations: metadata.annotations ?? {},
    owner: owner ? { kind: owner.kind, name: owner.name } : null,
    containers: podContainers(spec.initContainers ?? [], spec.containers),
    volumes: (spec.volumes ?? []).map((volume) => ({
      name: volume.name,
      tokenAudiences: (volume.projected?.sources ?? []).flatMap((source) =>
        source.serviceAccountToken ? [source.serviceAccountToken.audience ?? ''] : [],
      ),
    })),
  };
});

const parseWebhookConfiguration = itemParser(
  webhookConfigurationSchema,
  ({ metadata, webhooks }): MutatingWebhookConfiguration => ({
    name: metadata.name,
    webhooks: (webhooks ?? []).map((w) => ({
      name: w.name,
      caBundle: w.clientConfig?.caBundle ?? null,
      url: w.clientConfig?.url ?? null,
      service: w.clientConfig?.service
        ? { namespace: w.clientConfig.service.namespace, name: w.clientConfig.service.name }
        : null,
      failurePolicy: w.failurePolicy ?? null,
      namespaceSelector: labelSelector(w.namespaceSelector),
      objectSelector: labelSelector(w.objectSelector),
    })),
  }),
);

/** A stored label selector; null when the snapshot has none (not `{}`, which matches everything). */
function labelSelector(
  selector:
    | {
        matchLabels?: Record<string, string> | null;
        matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
      }
    | null
    | undefined,
): LabelSelector | null {
  if (!selector) return null;
  return {
    matchLabels: selector.matchLabels ?? {},
    matchExpressions: (selector.matchExpressions ?? []).map((e) => ({
      key: e.key,
      operator: e.operator,
      values: e.values ?? [],
    })),
  };
}

const parseNamespace = itemParser(
  namespaceSchema,
  ({ metadata }): Namespace => ({ name: metadata.name, labels: metadata.labels ?? {} }),
);

const parseService = itemParser(
  serviceSchema,
  ({ metadata, spec }): Service => ({
    namespace: metadata.namespace,
    name: metadata.name,
    type: spec?.type ?? null,
    selector: spec?.selector ?? null,
  }),
);

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const parseEndpointSlice = itemParser(
  endpointSliceSchema,
  ({ metadata, endpoints }): EndpointSlice => ({
    namespace: metadata.namespace,
    name: metadata.name,
    serviceName: metadata.labels?.[SERVICE_NAME_LABEL] ?? null,
    endpoints: (endpoints ?? []).map((e) => ({
      ready: e.conditions?.ready ?? null,
      target: e.targetRef ? { kind: e.targetRef.kind ?? null, name: e.targetRef.name ?? null } : null,
    })),
  }),
);

/** Parses one item into `into`; returns the problem if it is invalid. */
function collect<T>(parse: ItemParser<T>, item: unknown, index: number, into: T[]): FileProblem | null {
  const parsed = parse(item, index);
  if (!parsed.ok) return parsed.problem;
  into.push(parsed.value);
  return null;
}

/** Parses `<cluster>/kubernetes.json` (a `kubectl get ... -o json` List of mixed kinds). */
export function parseKubernetesFile(text: string): Parsed<KubernetesData> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const envelope = kubernetesFileSchema.safeParse(json.value);
  if (!envelope.success) return { ok: false, problem: zodProblem(envelope.error) };
  const serviceAccounts: ServiceAccount[] = [];
  const pods: Pod[] = [];
  const webhookConfigurations: MutatingWebhookConfiguration[] = [];
  const namespaces: Namespace[] = [];
  const services: Service[] = [];
  const endpointSlices: EndpointSlice[] = [];
  const seen = new Set<KubernetesKind>();
  const items = envelope.data.items;
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    const kind = item?.kind;
    let problem: FileProblem | null;
    switch (kind) {
      case 'ServiceAccount':
        problem = collect(parseServiceAccount, item, index, serviceAccounts);
        break;
      case 'Pod':
        problem = collect(parsePod, item, index, pods);
        break;
      case 'MutatingWebhookConfiguration':
        problem = collect(parseWebhookConfiguration, item, index, webhookConfigurations);
        break;
      case 'Namespace':
        problem = collect(parseNamespace, item, index, namespaces);
        break;
      case 'Service':
        problem = collect(parseService, item, index, services);
        break;
      case 'EndpointSlice':
        problem = collect(parseEndpointSlice, item, index, endpointSlices);
        break;
      default:
        continue; // other kinds are not read by any check
    }
    if (problem) return { ok: false, problem };
    seen.add(kind);
  }
  // Without `collected`, every kind of the first snapshots counts as collected (the later ones
  // only when items of them are present); with it, a kind is collected when listed there or when
  // items of it are present.
  const declared = envelope.data.collected;
  const collected = (kind: KubernetesKind): boolean =>
    (declared ? declared.includes(kind) : !LATER_KUBERNETES_KINDS.has(kind)) || seen.has(kind);
  return {
    ok: true,
    value: {
      serviceAccounts: collected('ServiceAccount') ? serviceAccounts : null,
      pods: collected('Pod') ? pods : null,
      webhookConfigurations: collected('MutatingWebhookConfiguration') ? webhookConfigurations : null,
      namespaces: collected('Namespace') ? namespaces : null,
      services: collected('Service') ? services : null,
      endpointSlices: collected('EndpointSlice') ? endpointSlices : null,
    },
  };
}

export { KUBERNETES_KINDS };

/** Parses `<cluster>/pod-identity-associations.json`. */
export function parsePodIdentityAssociationsFile(text: string): Parsed<PodIdentityAssociation[]> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = podIdentityAssociationsFileSchema.safeParse(json.value);
  if (!result.success) return { ok: false, problem: zodProblem(result.error) };
  return {
    ok: true,
    value: result.data.associations.map((a) => ({
      namespace: a.namespace,
      serviceAccount: a.serviceAccount,
      roleArn: a.roleArn ?? null,
      associationArn: a.associationArn ?? null,
    })),
  };
}

/** `collection.json`: the status its collection left (`complete`, or `collecting` when it never ended). */
export function parseCollectionMarker(text: string): Parsed<{ status: string; startedAt: string | null }> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = collectionMarkerSchema.safeParse(json.value);
  if (!result.success) return { ok: false, problem: zodProblem(result.error) };
  return { ok: true, value: { status: result.data.status, startedAt: result.data.startedAt ?? null } };
}

/** Parses `<cluster>/addons.json`. */
export function parseAddonsFile(text: string): Parsed<ClusterAddons> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = addonsFileSchema.safeParse(json.value);
  if (!result.success) return { ok: false, problem: zodProblem(result.error) };
  const described = new Map<string, AddonState>();
  for (const { addon } of result.data.described) {
    described.set(addon.addonName, {
      name: addon.addonName,
      status: addon.status ?? null,
      version: addon.addonVersion ?? null,
      issues: (addon.health?.issues ?? []).map((i) => [i.code, i.message].filter(Boolean).join(': ')),
    });
  }
  return { ok: true, value: { names: result.data.addons, described } };
}

/** Parses `<cluster>/nodegroups.json`. */
export function parseNodegroupsFile(text: string): Parsed<ClusterNodeGroups> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = nodegroupsFileSchema.safeParse(json.value);
  if (!result.success) return { ok: false, problem: zodProblem(result.error) };
  const described = new Map<string, NodeGroup>();
  for (const { nodegroup } of result.data.described) {
    const template = nodegroup.launchTemplate;
    described.set(nodegroup.nodegroupName, {
      name: nodegroup.nodegroupName,
      nodeRole: nodegroup.nodeRole ?? null,
      status: nodegroup.status ?? null,
      amiType: nodegroup.amiType ?? null,
      launchTemplate:
        template && (template.id || template.name)
          ? { id: template.id ?? null, name: template.name ?? null, version: template.version ?? null }
          : null,
    });
  }
  return {
    ok: true,
    value: {
      names: result.data.nodegroups,
      described,
      launchTemplateVersions: result.data.launchTemplateVersions.map((v) => {
        const options = v.LaunchTemplateData?.MetadataOptions;
        return {
          templateId: v.LaunchTemplateId ?? null,
          templateName: v.LaunchTemplateName ?? null,
          versionNumber: v.VersionNumber,
          defaultVersion: v.DefaultVersion === true,
          metadataOptions: options
            ? {
                httpTokens: options.HttpTokens ?? null,
                httpPutResponseHopLimit: options.HttpPutResponseHopLimit ?? null,
                httpEndpoint: options.HttpEndpoint ?? null,
              }
            : null,
        };
      }),
    },
  };
}

/** Parses a `collection-errors.json` (account or cluster folder). */
export function parseCollectionErrorsFile(text: string): Parsed<CollectionError[]> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = collectionErrorsFileSchema.safeParse(json.value);
  if (!result.success) return { ok: false, problem: zodProblem(result.error) };
  return {
    ok: true,
    value: result.data.errors.map((e) => {
      const { class: failureClass, status, region, role, ...rest } = e;
      return {
        ...rest,
        kind: e.kind ?? null,
        ...(failureClass === undefined ? {} : { class: failureClass }),
        ...(status === undefined ? {} : { status }),
        ...(region === undefined ? {} : { region }),
        ...(role === undefined ? {} : { role }),
      };
    }),
  };
}

/** Parses `<cluster>/probes.json` (the live probe's outcomes, IRSA-040). */
export function parseProbesFile(text: string): Parsed<ProbeResult[]> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = probesFileSchema.safeParse(json.value);
  if (!result.success) return { ok: false, problem: zodProblem(result.error) };
  return {
    ok: true,
    value: result.data.results.map((r) => ({
      namespace: r.namespace,
      serviceAccount: r.serviceAccount,
      roleArn: r.roleArn,
      audience: r.audience,
      outcome: r.outcome,
      errorCode: r.errorCode ?? null,
      message: r.message ?? null,
      assumedRoleArn: r.assumedRoleArn ?? null,
    })),
  };
}
