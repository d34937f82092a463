/**
 * ClusterRoles and ClusterRoleBindings of one emulated cluster, in memory: the requests
 * @kubernetes/client-node's KubernetesObjectApi (and kubectl) make for them. Discovery of
 * rbac.authorization.k8s.io/v1, list, get, create, update (PUT), patch (merge, strategic merge
 * and server-side apply, the latter approximated as a merge of the applied fields) and delete,
 * with the Status objects of a real kube-apiserver (404 NotFound, 409 AlreadyExists/Conflict,
 * 422 Invalid). Who may write is not checked: any caller the cluster authenticates is an admin.
 */
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { JsonObject } from './fleet-files.ts';

const GROUP = 'rbac.authorization.k8s.io';
const GROUP_VERSION = `${GROUP}/v1`;
const PREFIX = `/apis/${GROUP_VERSION}`;

type RbacResource = 'clusterroles' | 'clusterrolebindings';
type RbacVerb = 'discover' | 'list' | 'get' | 'create' | 'update' | 'patch' | 'delete';

const KINDS: Record<RbacResource, { kind: string; singular: string }> = {
  clusterroles: { kind: 'ClusterRole', singular: 'clusterrole' },
  clusterrolebindings: { kind: 'ClusterRoleBinding', singular: 'clusterrolebinding' },
};
const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update'];

export interface RbacRoute {
  /** The API key the request is counted (and faulted) under, after `k8s:<cluster>:`. */
  readonly apiKey: string;
  readonly verb: RbacVerb | 'unsupported';
  readonly resource?: RbacResource;
  readonly name?: string;
}

export interface RbacRequest {
  readonly body: string;
  readonly contentType: string | undefined;
  readonly query: URLSearchParams;
}

export interface RbacResponse {
  readonly code: number;
  readonly body: unknown;
}

function statusBody(code: number, reason: string, message: string, details?: JsonObject): RbacResponse {
  return {
    code,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    },
  };
}

class RbacFailure extends Error {
  constructor(readonly response: RbacResponse) {
    super(String((response.body as JsonObject).message));
  }
}

function failure(code: number, reason: string, message: string, details?: JsonObject): RbacFailure {
  return new RbacFailure(statusBody(code, reason, message, details));
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch (also what a strategic merge patch does to these kinds: no merge keys). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** The RBAC route of a request path (query string removed), or undefined when it is not RBAC. */
export function rbacRoute(method: string, path: string): RbacRoute | undefined {
  if (path === PREFIX) {
    return method === 'GET'
      ? { apiKey: 'discovery', verb: 'discover' }
      : { apiKey: 'discovery', verb: 'unsupported' };
  }
  if (!path.startsWith(`${PREFIX}/`)) return undefined;
  const [resource, rawName, ...rest] = path.slice(PREFIX.length + 1).split('/');
  if (resource !== 'clusterroles' && resource !== 'clusterrolebindings') return undefined;
  if (rest.length > 0) return undefined;
  if (rawName === undefined) {
    const verb = method === 'GET' ? 'list' : method === 'POST' ? 'create' : 'unsupported';
    return { apiKey: verb === 'list' ? resource : `${resource}:${verb}`, verb, resource };
  }
  const name = decodeURIComponent(rawName);
  const verb =
    ({ GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const)[
      method as 'GET' | 'PUT' | 'PATCH' | 'DELETE'
    ] ?? 'unsupported';
  return { apiKey: `${resource}:${verb}`, verb, resource, name };
}

/** The RBAC objects of one cluster. */
export class KubernetesRbac {
  private readonly stores: Record<RbacResource, Map<string, JsonObject>> = {
    clusterroles: new Map(),
    clusterrolebindings: new Map(),
  };
  private version = 0;

  /** Copies of the stored ClusterRoles, then ClusterRoleBindings, each in creation order. */
  objects(): JsonObject[] {
    return [...this.stores.clusterroles.values(), ...this.stores.clusterrolebindings.values()].map((object) =>
      structuredClone(object),
    );
  }

  handle(route: RbacRoute, request: RbacRequest): RbacResponse {
    try {
      return this.run(route, request);
    } catch (error) {
      if (error instanceof RbacFailure) return error.response;
      throw error;
    }
  }

  private run(route: RbacRoute, request: RbacRequest): RbacResponse {
    const { resource, name } = route;
    if (route.verb === 'discover') return { code: 200, body: this.discovery() };
    if (route.verb === 'unsupported' || !resource) {
      throw failure(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    }
    const store = this.stores[resource];
    const dryRun = request.query.get('dryRun') === 'All';
    switch (route.verb) {
      case 'list':
        return {
          code: 200,
          body: {
            kind: `${KINDS[resource].kind}List`,
            apiVersion: GROUP_VERSION,
            metadata: { resourceVersion: String(this.version) },
            items: [...store.values()],
          },
        };
      case 'create': {
        const object = this.validate(resource, this.parse(request), undefined);
        const objectName = String((object.metadata as JsonObject).name);
        if (store.has(objectName)) {
          throw failure(409, 'AlreadyExists', `${resource}.${GROUP} "${objectName}" already exists`, {
            name: objectName,
            group: GROUP,
            kind: resource,
          });
        }
        return { code: 201, body: this.store(resource, object, undefined, dryRun) };
      }
      case 'get':
        return { code: 200, body: this.existing(resource, name ?? '') };
      case 'update': {
        const current = store.get(name ?? '');
        const object = this.validate(resource, this.parse(request), name, current);
        const wanted = (object.metadata as JsonObject).resourceVersion;
        if (current && wanted !== undefined && wanted !== (current.metadata as JsonObject).resourceVersion) {
          throw this.conflict(resource, name ?? '');
        }
        // RBAC objects allow create on update (kubectl replace of a missing ClusterRole creates it).
        return { code: current ? 200 : 201, body: this.store(resource, object, current, dryRun) };
      }
      case 'patch':
        return this.patch(resource, name ?? '', request, dryRun);
      case 'delete': {
        const current = this.existing(resource, name ?? '');
        if (!dryRun) store.delete(name ?? '');
        return {
          code: 200,
          body: {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: { name, group: GROUP, kind: resource, uid: (current.metadata as JsonObject).uid },
          },
        };
      }
    }
  }

  private patch(resource: RbacResource, name: string, request: RbacRequest, dryRun: boolean): RbacResponse {
    const type = (request.contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const current = this.stores[resource].get(name);
    if (type === 'application/apply-patch+yaml') {
      if (!request.query.get('fieldManager')) {
        throw failure(
          422,
          'Invalid',
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      }
      const applied = this.parse(request, true);
      const merged = current ? (mergePatch(current, applied) as JsonObject) : applied;
      const object = this.validate(resource, merged, name, current);
      return { code: current ? 200 : 201, body: this.store(resource, object, current, dryRun) };
    }
    if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json') {
      throw failure(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (the emulator does not apply ${type || 'untyped'} patches)`,
      );
    }
    const existing = this.existing(resource, name);
    const patched = mergePatch(existing, this.parse(request)) as JsonObject;
    const object = this.validate(resource, patched, name, existing);
    return { code: 200, body: this.store(resource, object, existing, dryRun) };
  }

  private discovery(): JsonObject {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: GROUP_VERSION,
      resources: (Object.keys(KINDS) as RbacResource[]).map((resource) => ({
        name: resource,
        singularName: KINDS[resource].singular,
        namespaced: false,
        kind: KINDS[resource].kind,
        verbs: VERBS,
      })),
    };
  }

  private existing(resource: RbacResource, name: string): JsonObject {
    const object = this.stores[resource].get(name);
    if (!object) {
      throw failure(404, 'NotFound', `${resource}.${GROUP} "${name}" not found`, {
        name,
        group: GROUP,
        kind: resource,
      });
    }
    return object;
  }

  private conflict(resource: RbacResource, name: string): RbacFailure {
    return failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${resource}.${GROUP} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group: GROUP, kind: resource },
    );
  }

  private parse(request: RbacRequest, yaml = false): JsonObject {
    let value: unknown;
    try {
      value =
        yaml || (request.contentType ?? '').includes('yaml')
          ? parseYaml(request.body)
          : JSON.parse(request.body);
    } catch (error) {
      throw failure(400, 'BadRequest', `the request body could not be decoded: ${(error as Error).message}`);
    }
    if (!isObject(value)) throw failure(400, 'BadRequest', 'the request body is not an object');
    return value;
  }

  /** Checks an object about to be stored as `resource` (named `urlName` on the URL, if any). */
  private validate(
    resource: RbacResource,
    object: JsonObject,
    urlName: string | undefined,
    current?: JsonObject,
  ): JsonObject {
    const { kind } = KINDS[resource];
    const apiVersion = object.apiVersion ?? GROUP_VERSION;
    if (apiVersion !== GROUP_VERSION) {
      throw failure(
        400,
        'BadRequest',
        `the API version in the data (${String(apiVersion)}) does not match the expected API version (${GROUP_VERSION})`,
      );
    }
    if ((object.kind ?? kind) !== kind) {
      throw failure(
        400,
        'BadRequest',
        `the kind in the data (${String(object.kind)}) does not match the expected kind (${kind})`,
      );
    }
    const metadata = isObject(object.metadata) ? object.metadata : {};
    const name = metadata.name;
    if (typeof name !== 'string' || name === '') {
      throw failure(
        422,
        'Invalid',
        `${kind}.${GROUP} "" is invalid: metadata.name: Required value: name or generateName is required`,
        { group: GROUP, kind, causes: [{ reason: 'FieldValueRequired', field: 'metadata.name' }] },
      );
    }
    if (urlName !== undefined && name !== urlName) {
      throw failure(
        400,
        'BadRequest',
        `the name of the object (${name}) does not match the name on the URL (${urlName})`,
      );
    }
    const invalid = (field: string, detail: string) =>
      failure(422, 'Invalid', `${kind}.${GROUP} "${name}" is invalid: ${field}: ${detail}`, {
        name,
        group: GROUP,
        kind,
        causes: [{ field, message: detail }],
      });
    if (resource === 'clusterroles') {
      const rules = object.rules ?? [];
      if (!Array.isArray(rules)) throw invalid('rules', 'Invalid value: must be a list');
      rules.forEach((rule: unknown, index) => {
        const verbs = isObject(rule) ? rule.verbs : undefined;
        if (!Array.isArray(verbs) || verbs.length === 0) {
          throw invalid(`rules[${index}].verbs`, 'Required value: verbs must contain at least one value');
        }
      });
    } else {
      const roleRef = object.roleRef;
      if (!isObject(roleRef) || roleRef.kind !== 'ClusterRole' || typeof roleRef.name !== 'string') {
        throw invalid(
          'roleRef.kind',
          'Unsupported value: a ClusterRoleBinding refers to a ClusterRole by name',
        );
      }
      if (roleRef.apiGroup !== GROUP)
        throw invalid('roleRef.apiGroup', `Unsupported value: must be ${GROUP}`);
      if (current && JSON.stringify(current.roleRef) !== JSON.stringify(roleRef)) {
        throw invalid('roleRef', `Invalid value: ${JSON.stringify(roleRef)}: cannot change roleRef`);
      }
      const subjects = object.subjects ?? [];
      if (!Array.isArray(subjects)) throw invalid('subjects', 'Invalid value: must be a list');
      subjects.forEach((subject: unknown, index) => {
        const subjectKind = isObject(subject) ? subject.kind : undefined;
        if (subjectKind !== 'User' && subjectKind !== 'Group' && subjectKind !== 'ServiceAccount') {
          throw invalid(`subjects[${index}].kind`, `Unsupported value: ${JSON.stringify(subjectKind)}`);
        }
      });
    }
    return { ...object, apiVersion: GROUP_VERSION, kind, metadata };
  }

  /** Stores `object` (keeping the identity of `current`) and returns what the API answers. */
  private store(
    resource: RbacResource,
    object: JsonObject,
    current: JsonObject | undefined,
    dryRun: boolean,
  ): JsonObject {
    const metadata = object.metadata as JsonObject;
    const previous = (current?.metadata as JsonObject | undefined) ?? {};
    const stored: JsonObject = {
      ...structuredClone(object),
      metadata: {
        ...structuredClone(metadata),
        uid: previous.uid ?? randomUUID(),
        resourceVersion: String(dryRun ? this.version : this.version + 1),
        creationTimestamp: previous.creationTimestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    };
    delete stored.status;
    if (dryRun) return stored;
    this.version += 1;
    this.stores[resource].set(String(metadata.name), stored);
    return structuredClone(stored);
  }
}
