/**
 * EKS access entries in the emulator (restJson1, as @aws-sdk/client-eks sends them):
 * CreateAccessEntry, DescribeAccessEntry, UpdateAccessEntry and ListAccessEntries, kept in memory
 * per cluster. A cluster whose `accessConfig.authenticationMode` (cluster.json; default
 * API_AND_CONFIG_MAP) is CONFIG_MAP refuses every access entry operation, as EKS does.
 * Access policies (AssociateAccessPolicy, ...) are not served: `irsa-audit enroll` uses none.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from './fleet-files.ts';

export const ACCESS_ENTRY_OPERATIONS = [
  'CreateAccessEntry',
  'DescribeAccessEntry',
  'UpdateAccessEntry',
  'ListAccessEntries',
] as const;
export type AccessEntryOperation = (typeof ACCESS_ENTRY_OPERATIONS)[number];

export interface AccessEntryRoute {
  readonly operation: AccessEntryOperation;
  readonly clusterName: string;
  /** The principal ARN of the path (decoded), for Describe and Update. */
  readonly principalArn?: string;
}

/** The cluster an operation applies to: where it is, and its cluster.json `cluster` object. */
export interface AccessEntryCluster {
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  readonly cluster: JsonObject;
}

export interface AccessEntry {
  readonly clusterName: string;
  readonly principalArn: string;
  readonly kubernetesGroups: readonly string[];
  readonly accessEntryArn: string;
  readonly createdAt: Date;
  readonly modifiedAt: Date;
  readonly tags: Readonly<Record<string, string>>;
  readonly username: string;
  readonly type: string;
}

/** What an operation answers: the response body, or the error EKS would return. */
export type AccessEntryResult =
  | { readonly ok: true; readonly body: JsonObject }
  | {
      readonly ok: false;
      readonly status: number;
      readonly code: string;
      readonly message: string;
      readonly fields: JsonObject;
    };

const ENTRY_TYPES = new Set([
  'STANDARD',
  'EC2',
  'EC2_LINUX',
  'EC2_WINDOWS',
  'FARGATE_LINUX',
  'HYBRID_LINUX',
  'HYPERPOD_LINUX',
]);
const PRINCIPAL_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)\/(?:[^/]+\/)*([^/]+)$/;
const RESERVED_PREFIXES = ['system:', 'eks:', 'aws:', 'amazon:', 'iam:'];
const MODE_MESSAGE =
  "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.";
const PAGE_TOKEN_PREFIX = 'emu-ae1.';

/** The access entry operation of a request (`method` and the URL path), if it is one. */
export function accessEntryRoute(method: string, pathname: string): AccessEntryRoute | undefined {
  // Split before decoding: the principal ARN segment carries its slashes as %2F.
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const [root, clusterName, collection, principalArn] = parts;
  if (root !== 'clusters' || !clusterName || collection !== 'access-entries') return undefined;
  if (parts.length === 3) {
    if (method === 'POST') return { operation: 'CreateAccessEntry', clusterName };
    if (method === 'GET') return { operation: 'ListAccessEntries', clusterName };
  }
  if (parts.length === 4 && principalArn) {
    if (method === 'GET') return { operation: 'DescribeAccessEntry', clusterName, principalArn };
    if (method === 'POST') return { operation: 'UpdateAccessEntry', clusterName, principalArn };
  }
  return undefined;
}

export function isAccessEntryOperation(operation: string): operation is AccessEntryOperation {
  return (ACCESS_ENTRY_OPERATIONS as readonly string[]).includes(operation);
}

/** The cluster's authentication mode, as DescribeCluster reports it (EKS's default when absent). */
export function authenticationMode(cluster: JsonObject): string {
  const mode = (cluster.accessConfig as JsonObject | undefined)?.authenticationMode;
  return typeof mode === 'string' && mode !== '' ? mode : 'API_AND_CONFIG_MAP';
}

function fail(status: number, code: string, message: string, fields: JsonObject = {}): AccessEntryResult {
  return { ok: false, status, code, message, fields };
}

function invalid(message: string, clusterName: string): AccessEntryResult {
  return fail(400, 'InvalidParameterException', message, { clusterName });
}

/** The Kubernetes user name EKS generates for a principal (role paths dropped, session appended). */
export function defaultUsername(principalArn: string): string {
  const match = PRINCIPAL_ARN.exec(principalArn);
  if (!match) return principalArn;
  const [, partition, accountId, kind, name] = match;
  return kind === 'role'
    ? `arn:${partition}:sts::${accountId}:assumed-role/${name}/{{SessionName}}`
    : principalArn;
}

function entryJson(entry: AccessEntry): JsonObject {
  return {
    ...entry,
    kubernetesGroups: [...entry.kubernetesGroups],
    tags: { ...entry.tags },
    createdAt: entry.createdAt.getTime() / 1000,
    modifiedAt: entry.modifiedAt.getTime() / 1000,
  };
}

function copy(entry: AccessEntry): AccessEntry {
  return { ...entry, kubernetesGroups: [...entry.kubernetesGroups], tags: { ...entry.tags } };
}

function parseBody(body: string): JsonObject | undefined {
  if (body.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(body);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
}

/** The access entries of every emulated cluster, in memory. */
export class EksAccessEntries {
  private readonly byCluster = new Map<string, Map<string, AccessEntry>>();

  private entriesOf(cluster: { accountId: string; region: string; name: string }): Map<string, AccessEntry> {
    const key = `${cluster.accountId}/${cluster.region}/${cluster.name}`;
    let entries = this.byCluster.get(key);
    if (!entries) {
      entries = new Map();
      this.byCluster.set(key, entries);
    }
    return entries;
  }

  /** Copies of the stored entries of one cluster, in creation order. */
  list(cluster: { accountId: string; region: string; name: string }): AccessEntry[] {
    return [...this.entriesOf(cluster).values()].map(copy);
  }

  /** Runs one access entry operation on `cluster` (the caller's account and region already matched). */
  handle(
    route: AccessEntryRoute,
    cluster: AccessEntryCluster,
    request: { body: string; query: URLSearchParams },
  ): AccessEntryResult {
    const clusterName = cluster.name;
    if (authenticationMode(cluster.cluster) === 'CONFIG_MAP') {
      return fail(400, 'InvalidRequestException', MODE_MESSAGE, { clusterName });
    }
    const entries = this.entriesOf(cluster);
    if (route.operation === 'ListAccessEntries') return this.listEntries(entries, request.query, clusterName);
    const input = parseBody(request.body);
    if (!input) return invalid('The request body is not a JSON object.', clusterName);
    if (route.operation === 'CreateAccessEntry') return this.create(entries, cluster, input);
    const principalArn = route.principalArn ?? '';
    const existing = entries.get(principalArn);
    if (!existing) {
      return fail(
        404,
        'ResourceNotFoundException',
        `The specified access entry resource could not be found on cluster ${clusterName}: ${principalArn}.`,
        { clusterName },
      );
    }
    if (route.operation === 'DescribeAccessEntry')
      return { ok: true, body: { accessEntry: entryJson(existing) } };
    return this.update(entries, existing, input, clusterName);
  }

  private create(
    entries: Map<string, AccessEntry>,
    cluster: AccessEntryCluster,
    input: JsonObject,
  ): AccessEntryResult {
    const clusterName = cluster.name;
    const principalArn = input.principalArn;
    if (typeof principalArn !== 'string' || principalArn === '') {
      return invalid('principalArn is required.', clusterName);
    }
    const match = PRINCIPAL_ARN.exec(principalArn);
    if (!match) {
      // STS session ARNs (assumed-role/...) are temporary principals: EKS refuses them too.
      return invalid(
        `The specified principalArn is invalid: ${principalArn} is not the ARN of an IAM role or user.`,
        clusterName,
      );
    }
    const type = input.type === undefined ? 'STANDARD' : input.type;
    if (typeof type !== 'string' || !ENTRY_TYPES.has(type)) {
      return invalid(`The access entry type ${String(type)} is not valid.`, clusterName);
    }
    const checked = this.checkNames(input, clusterName, type);
    if (!checked.ok) return checked.error;
    if (entries.has(principalArn)) {
      return fail(
        409,
        'ResourceInUseException',
        'The specified access entry resource is already in use on this cluster.',
        {
          clusterName,
        },
      );
    }
    const [, partition, principalAccount, kind, name] = match;
    const now = new Date();
    const tags = input.tags && typeof input.tags === 'object' ? (input.tags as Record<string, string>) : {};
    const entry: AccessEntry = {
      clusterName,
      principalArn,
      kubernetesGroups: checked.groups ?? [],
      accessEntryArn: `arn:${partition}:eks:${cluster.region}:${cluster.accountId}:access-entry/${clusterName}/${kind}/${principalAccount}/${name}/${randomUUID()}`,
      createdAt: now,
      modifiedAt: now,
      tags: { ...tags },
      username: checked.username ?? defaultUsername(principalArn),
      type,
    };
    entries.set(principalArn, entry);
    return { ok: true, body: { accessEntry: entryJson(entry) } };
  }

  private update(
    entries: Map<string, AccessEntry>,
    existing: AccessEntry,
    input: JsonObject,
    clusterName: string,
  ): AccessEntryResult {
    const checked = this.checkNames(input, clusterName, existing.type);
    if (!checked.ok) return checked.error;
    const updated: AccessEntry = {
      ...existing,
      kubernetesGroups: checked.groups ?? existing.kubernetesGroups,
      username: checked.username ?? existing.username,
      modifiedAt: new Date(),
    };
    entries.set(existing.principalArn, updated);
    return { ok: true, body: { accessEntry: entryJson(updated) } };
  }

  /** Validates `kubernetesGroups` and `username` of a Create or Update input. */
  private checkNames(
    input: JsonObject,
    clusterName: string,
    type: string,
  ):
    | { ok: true; groups: string[] | undefined; username: string | undefined }
    | { ok: false; error: AccessEntryResult } {
    const groups = input.kubernetesGroups === undefined ? undefined : stringList(input.kubernetesGroups);
    if (input.kubernetesGroups !== undefined && !groups) {
      return { ok: false, error: invalid('kubernetesGroups must be a list of strings.', clusterName) };
    }
    if (groups && groups.length > 0 && type !== 'STANDARD') {
      return {
        ok: false,
        error: invalid(
          'kubernetesGroups can only be specified for access entries with a type of "STANDARD".',
          clusterName,
        ),
      };
    }
    const reservedGroup = groups?.find((group) => group.startsWith('system:'));
    if (reservedGroup) {
      return {
        ok: false,
        error: invalid(
          `The kubernetes group ${reservedGroup} is not valid: it cannot start with system:.`,
          clusterName,
        ),
      };
    }
    const username = input.username;
    if (username !== undefined && (typeof username !== 'string' || username === '')) {
      return { ok: false, error: invalid('username must be a non-empty string.', clusterName) };
    }
    if (typeof username === 'string' && RESERVED_PREFIXES.some((prefix) => username.startsWith(prefix))) {
      return {
        ok: false,
        error: invalid(
          `The username ${username} is not valid: it cannot start with ${RESERVED_PREFIXES.join(', ')}.`,
          clusterName,
        ),
      };
    }
    return { ok: true, groups, username: username as string | undefined };
  }

  private listEntries(
    entries: Map<string, AccessEntry>,
    query: URLSearchParams,
    clusterName: string,
  ): AccessEntryResult {
    if (query.get('associatedPolicyArn')) {
      // No access policy can be associated in the emulator: no entry has one.
      return { ok: true, body: { accessEntries: [] } };
    }
    const rawMax = query.get('maxResults');
    const max = rawMax === null || rawMax === '' ? 100 : Number(rawMax);
    if (!Number.isInteger(max) || max < 1 || max > 100) {
      return invalid('maxResults must be an integer between 1 and 100.', clusterName);
    }
    let offset = 0;
    const token = query.get('nextToken');
    if (token) {
      offset = token.startsWith(PAGE_TOKEN_PREFIX)
        ? Number(token.slice(PAGE_TOKEN_PREFIX.length))
        : Number.NaN;
      if (!Number.isInteger(offset) || offset < 0)
        return invalid('The pagination token is not valid.', clusterName);
    }
    const arns = [...entries.keys()];
    const slice = arns.slice(offset, offset + max);
    const end = offset + slice.length;
    return {
      ok: true,
      body: {
        accessEntries: slice,
        ...(end < arns.length ? { nextToken: `${PAGE_TOKEN_PREFIX}${end}` } : {}),
      },
    };
  }
}
