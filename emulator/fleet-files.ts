/**
 * Reads a fleet snapshot directory (docs/fleet-format.md) as the raw API objects the emulator
 * serves. Unlike the auditor's loader, nothing is reduced to a model: the emulator answers with
 * what the snapshot holds, so only the fields it routes on are validated.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { KUBERNETES_KINDS } from '#shared/snapshot/schemas.ts';

const ACCOUNT_DIR = /^\d{12}$/;

/** Raised when the fleet directory cannot be served (a file that is not valid JSON, no accounts). */
export class EmulatorFleetError extends Error {
  override readonly name = 'EmulatorFleetError';
}

const roleSchema = z.looseObject({
  RoleName: z.string().min(1),
  Arn: z.string().min(1),
  AssumeRolePolicyDocument: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
});
const providerSchema = z.looseObject({ Url: z.string().min(1), Arn: z.string().optional() });
/** A policy document as the snapshot may hold it: the API's URL-encoded string, a JSON string, or the object. */
const documentSchema = z.union([z.string(), z.record(z.string(), z.unknown())]);
const rolePoliciesSchema = z.looseObject({
  AttachedPolicies: z.array(z.looseObject({ PolicyName: z.string(), PolicyArn: z.string() })).nullish(),
  PolicyNames: z.array(z.string()).nullish(),
  /** The inline policies with their documents (`get-account-authorization-details` RolePolicyList). */
  RolePolicyList: z
    .array(z.looseObject({ PolicyName: z.string(), PolicyDocument: documentSchema }))
    .nullish(),
});
/** A customer-managed policy with its versions (`get-account-authorization-details` Policies). */
const managedPolicySchema = z.looseObject({
  PolicyName: z.string().min(1),
  Arn: z.string().min(1),
  DefaultVersionId: z.string().nullish(),
  PolicyVersionList: z
    .array(
      z.looseObject({
        Document: documentSchema,
        VersionId: z.string().min(1),
        IsDefaultVersion: z.boolean().nullish(),
      }),
    )
    .nullish(),
});
const iamFileSchema = z.looseObject({
  Roles: z.array(roleSchema).nullish(),
  OpenIDConnectProviders: z.array(providerSchema).nullish(),
  RolePolicies: z.record(z.string(), rolePoliciesSchema).nullish(),
  Policies: z.array(managedPolicySchema).nullish(),
});
const clusterFileSchema = z.looseObject({
  cluster: z.looseObject({
    name: z.string().min(1),
    certificateAuthority: z.looseObject({ data: z.string().nullish() }).nullish(),
  }),
});
const kubeObjectSchema = z.looseObject({
  kind: z.string().optional(),
  metadata: z.looseObject({ name: z.string().optional(), namespace: z.string().nullish() }).optional(),
});
const kubernetesFileSchema = z.looseObject({
  items: z.array(kubeObjectSchema),
  collected: z.array(z.string()).nullish(),
});
const associationsFileSchema = z.looseObject({
  associations: z.array(z.looseObject({ associationId: z.string().optional() })),
});
const addonsFileSchema = z.looseObject({
  addons: z.array(z.string()),
  described: z.array(z.looseObject({ addon: z.looseObject({ addonName: z.string() }) })).optional(),
});
const nodegroupsFileSchema = z.looseObject({
  nodegroups: z.array(z.string()),
  described: z.array(z.looseObject({ nodegroup: z.looseObject({ nodegroupName: z.string() }) })).optional(),
  launchTemplateVersions: z
    .array(
      z.looseObject({
        LaunchTemplateId: z.string().optional(),
        LaunchTemplateName: z.string().optional(),
        VersionNumber: z.number().int(),
      }),
    )
    .optional(),
});
const emulatorFileSchema = z.looseObject({ externalId: z.string().min(1).optional() });

export type JsonObject = Record<string, unknown>;
export type FleetRole = z.infer<typeof roleSchema>;
export type FleetOidcProvider = z.infer<typeof providerSchema> & { Arn: string };
export type FleetRolePolicies = z.infer<typeof rolePoliciesSchema>;
export type FleetManagedPolicy = z.infer<typeof managedPolicySchema>;
export type KubeObject = z.infer<typeof kubeObjectSchema>;

/** A kind a snapshot's kubernetes.json can hold, as kubectl names it (the loader's list). */
export type KubernetesKind = (typeof KUBERNETES_KINDS)[number];

export interface FleetAccountFiles {
  readonly accountId: string;
  readonly roles: readonly FleetRole[];
  readonly oidcProviders: readonly FleetOidcProvider[];
  readonly rolePolicies: Readonly<Record<string, FleetRolePolicies>>;
  /** The customer-managed policies with their versions (iam.json `Policies`), in file order. */
  readonly policies: readonly FleetManagedPolicy[];
  /** Region directories of the account (sorted), with or without clusters. */
  readonly regions: readonly string[];
}

export interface FleetClusterFiles {
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  /** `cluster.json`'s `cluster` object, as `aws eks describe-cluster` printed it. */
  readonly cluster: JsonObject;
  /** The snapshot cluster CA (`certificateAuthority.data`, base64 PEM), if any. */
  readonly caData: string | undefined;
  /** Objects of kubernetes.json by kind, in file order (none when kubernetes.json is missing). */
  readonly objects: Readonly<Record<KubernetesKind, readonly KubeObject[]>>;
  /** The kinds that were collected (all kinds unless the file's `collected` field says otherwise). */
  readonly collected: ReadonlySet<KubernetesKind>;
  readonly associations: readonly JsonObject[];
  /** addons.json: the add-on names and the describe-addon `addon` objects (none when absent). */
  readonly addons: { readonly names: readonly string[]; readonly described: readonly JsonObject[] };
  /**
   * nodegroups.json: the node group names, the describe-nodegroup `nodegroup` objects, and the
   * launch template versions they run (EC2 serves them per account and region; none when absent).
   */
  readonly nodegroups: {
    readonly names: readonly string[];
    readonly described: readonly JsonObject[];
    readonly launchTemplateVersions: readonly JsonObject[];
  };
}

export interface FleetFiles {
  readonly accounts: readonly FleetAccountFiles[];
  readonly clusters: readonly FleetClusterFiles[];
  /** From the optional `<fleet>/emulator.json`: the ExternalId that sts:AssumeRole must carry. */
  readonly externalId: string | undefined;
}

async function listDirectories(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

/** Reads and validates one JSON file; `undefined` when it does not exist. */
async function readJson<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EmulatorFleetError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EmulatorFleetError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new EmulatorFleetError(`${path}${where}: ${issue?.message ?? 'unexpected shape'}`);
  }
  return parsed.data;
}

function isKind(kind: string | undefined): kind is KubernetesKind {
  return (KUBERNETES_KINDS as readonly (string | undefined)[]).includes(kind);
}

async function readCluster(
  fleetDir: string,
  accountId: string,
  region: string,
  name: string,
): Promise<FleetClusterFiles | undefined> {
  const base = join(fleetDir, accountId, region, name);
  const clusterFile = await readJson(join(base, 'cluster.json'), clusterFileSchema);
  // Without cluster.json there is nothing EKS could describe: the cluster does not exist.
  if (!clusterFile) return undefined;
  const kubernetes = await readJson(join(base, 'kubernetes.json'), kubernetesFileSchema);
  const associations = await readJson(join(base, 'pod-identity-associations.json'), associationsFileSchema);
  const addons = await readJson(join(base, 'addons.json'), addonsFileSchema);
  const nodegroups = await readJson(join(base, 'nodegroups.json'), nodegroupsFileSchema);
  const objects: Record<KubernetesKind, KubeObject[]> = {
    ServiceAccount: [],
    Pod: [],
    MutatingWebhookConfiguration: [],
    Namespace: [],
    Service: [],
    EndpointSlice: [],
  };
  for (const item of kubernetes?.items ?? []) {
    if (isKind(item.kind)) objects[item.kind].push(item);
  }
  // A snapshot written before namespaces were collected (no `collected`, no Namespace item): the
  // namespaces its ServiceAccounts and Pods live in, labelled with their names, as a cluster has them.
  if (kubernetes && !kubernetes.collected && objects.Namespace.length === 0) {
    const names = new Set(
      [...objects.ServiceAccount, ...objects.Pod].map((o) => o.metadata?.namespace ?? 'default'),
    );
    for (const name of [...names].sort()) {
      objects.Namespace.push({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      });
    }
  }
  // A missing kubernetes.json means nothing was collected: every list is refused.
  const collected = new Set<KubernetesKind>(
    kubernetes ? (kubernetes.collected ?? KUBERNETES_KINDS).filter(isKind) : [],
  );
  return {
    accountId,
    region,
    name,
    // The directory names the cluster, as for the auditor's loader.
    cluster: { ...clusterFile.cluster, name },
    caData: clusterFile.cluster.certificateAuthority?.data ?? undefined,
    objects,
    collected,
    associations: associations?.associations ?? [],
    addons: { names: addons?.addons ?? [], described: (addons?.described ?? []).map((d) => d.addon) },
    nodegroups: {
      names: nodegroups?.nodegroups ?? [],
      described: (nodegroups?.described ?? []).map((d) => d.nodegroup),
      launchTemplateVersions: nodegroups?.launchTemplateVersions ?? [],
    },
  };
}

/** Reads the whole fleet directory. */
export async function readFleetFiles(fleetDir: string): Promise<FleetFiles> {
  let accountIds: string[];
  try {
    accountIds = (await listDirectories(fleetDir)).filter((name) => ACCOUNT_DIR.test(name));
  } catch (error) {
    throw new EmulatorFleetError(`cannot read the fleet directory ${fleetDir}: ${(error as Error).message}`);
  }
  if (accountIds.length === 0) {
    throw new EmulatorFleetError(`no account directories (12-digit account ids) in ${fleetDir}`);
  }
  const accounts: FleetAccountFiles[] = [];
  const clusters: FleetClusterFiles[] = [];
  for (const accountId of accountIds) {
    const iam = await readJson(join(fleetDir, accountId, 'iam.json'), iamFileSchema);
    const regions = await listDirectories(join(fleetDir, accountId));
    accounts.push({
      accountId,
      roles: iam?.Roles ?? [],
      oidcProviders: (iam?.OpenIDConnectProviders ?? []).map((provider) => ({
        ...provider,
        Arn: provider.Arn ?? `arn:aws:iam::${accountId}:oidc-provider/${provider.Url}`,
      })),
      rolePolicies: iam?.RolePolicies ?? {},
      policies: iam?.Policies ?? [],
      regions,
    });
    for (const region of regions) {
      for (const name of await listDirectories(join(fleetDir, accountId, region))) {
        const cluster = await readCluster(fleetDir, accountId, region, name);
        if (cluster) clusters.push(cluster);
      }
    }
  }
  const emulatorFile = await readJson(join(fleetDir, 'emulator.json'), emulatorFileSchema);
  return { accounts, clusters, externalId: emulatorFile?.externalId };
}
