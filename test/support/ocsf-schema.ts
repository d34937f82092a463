/**
 * The OCSF schema files vendored in test/fixtures/schemas/ocsf/, read as the OCSF server compiles
 * them: a class is its own attributes over those of the classes it extends (and of the profiles
 * applied), an object likewise over the objects it extends, each attribute's type and enum from
 * the dictionary unless the class or object says otherwise. `validateEvent` reports every required
 * attribute that is missing, every value of the wrong type or outside its enum, every attribute the
 * schema does not define, and every `at_least_one`/`just_one` constraint broken, each by its path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './run-cli.ts';

export const OCSF_SCHEMA_DIR = join(REPO_ROOT, 'test/fixtures/schemas/ocsf');

type Json = Record<string, unknown>;
interface AttributeDef {
  readonly requirement?: string;
  readonly type?: string;
  readonly is_array?: boolean;
  readonly enum?: Record<string, unknown>;
  readonly profile?: string | null;
}
interface Resolved {
  readonly attributes: Record<string, AttributeDef>;
  readonly constraints: { at_least_one?: string[]; just_one?: string[] };
}

const read = (path: string): Json => JSON.parse(readFileSync(join(OCSF_SCHEMA_DIR, path), 'utf8')) as Json;
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const dictionary = read('dictionary.json') as {
  attributes: Record<string, AttributeDef>;
  types: { attributes: Record<string, { type?: string }> };
};

export const OCSF_SCHEMA_VERSION = (read('version.json') as { version: string }).version;

export function categoryUid(name: string): number {
  const categories = read('categories.json') as { attributes: Record<string, { uid: number }> };
  const uid = categories.attributes[name]?.uid;
  if (uid === undefined) throw new Error(`no category ${name}`);
  return uid;
}

/** Merges each attribute's definition over its parent's (the child's keys win). */
function merge(
  base: Record<string, AttributeDef>,
  over: Record<string, unknown>,
  profiles: readonly string[],
) {
  const out: Record<string, AttributeDef> = { ...base };
  for (const [name, def] of Object.entries(over)) {
    if (name === '$include') {
      // Only the profiles applied (the others are not vendored): profiles/<name>.json.
      for (const included of def as string[]) {
        const name = /^profiles\/(.+)\.json$/.exec(included)?.[1] ?? '';
        if (!profiles.includes(name)) continue;
        const profile = read(included) as { attributes: Json };
        Object.assign(out, merge(out, profile.attributes, profiles));
      }
      continue;
    }
    out[name] = { ...(out[name] ?? {}), ...(def as AttributeDef) };
  }
  return out;
}

/** A class (events/...), with the profiles applied. */
export function resolveClass(
  path: string,
  profiles: readonly string[],
): Resolved & { uid: number; name: string; category: string } {
  const own = read(path) as {
    uid?: number;
    name: string;
    extends?: string;
    category?: string;
    attributes: Json;
  };
  let attributes: Record<string, AttributeDef> = {};
  let category = own.category;
  if (own.extends) {
    const parentPath =
      own.extends === 'base_event' ? 'events/base_event.json' : `events/findings/${own.extends}.json`;
    const parent = resolveClass(parentPath, profiles);
    attributes = parent.attributes;
    category ??= parent.category;
  }
  return {
    uid: own.uid ?? 0,
    name: own.name,
    category: category ?? '',
    attributes: merge(attributes, own.attributes, profiles),
    constraints: {},
  };
}

const objects = new Map<string, Resolved>();

/** An object (objects/<name>.json) with what it extends. */
export function resolveObject(name: string, profiles: readonly string[]): Resolved {
  const cached = objects.get(`${name}|${profiles.join(',')}`);
  if (cached) return cached;
  const file = `objects/${name}.json`;
  if (!existsSync(join(OCSF_SCHEMA_DIR, file))) throw new Error(`object ${name} is not vendored (${file})`);
  const own = read(file) as { extends?: string; constraints?: Resolved['constraints']; attributes: Json };
  const parent =
    own.extends && own.extends !== 'object'
      ? resolveObject(own.extends, profiles)
      : { attributes: {}, constraints: {} };
  const resolved = {
    attributes: merge(parent.attributes, own.attributes, profiles),
    constraints: { ...parent.constraints, ...(own.constraints ?? {}) },
  };
  objects.set(`${name}|${profiles.join(',')}`, resolved);
  return resolved;
}

/** The base type of a dictionary type (`timestamp_t` -> `long_t`). */
function baseType(type: string): string {
  let current = type;
  for (let i = 0; i < 5; i++) {
    const next = dictionary.types.attributes[current]?.type;
    if (!next) return current;
    current = next;
  }
  return current;
}

function checkScalar(value: unknown, type: string, path: string, errors: string[]): void {
  const base = baseType(type);
  const ok =
    base === 'integer_t' || base === 'long_t'
      ? Number.isInteger(value)
      : base === 'float_t'
        ? typeof value === 'number'
        : base === 'boolean_t'
          ? typeof value === 'boolean'
          : base === 'json_t'
            ? value !== undefined
            : typeof value === 'string';
  if (!ok) errors.push(`${path}: ${JSON.stringify(value)} is not ${type}`);
}

function checkValue(
  value: unknown,
  name: string,
  def: AttributeDef,
  path: string,
  profiles: readonly string[],
  errors: string[],
) {
  const dict = dictionary.attributes[name] ?? {};
  const type = def.type ?? dict.type ?? 'string_t';
  const isArray = def.is_array ?? dict.is_array ?? false;
  const items = isArray ? value : [value];
  if (isArray && !Array.isArray(value)) {
    errors.push(`${path}: must be an array`);
    return;
  }
  // The dictionary's enum and the class's or object's (OCSF adds the latter to the former); the
  // compiled ids (class_uid, category_uid, type_uid) are the class's alone.
  const compiled = name === 'class_uid' || name === 'category_uid' || name === 'type_uid';
  const enumeration = compiled && def.enum ? def.enum : { ...(dict.enum ?? {}), ...(def.enum ?? {}) };
  (items as unknown[]).forEach((item, i) => {
    const at = isArray ? `${path}[${i}]` : path;
    if (type.endsWith('_t')) {
      checkScalar(item, type, at, errors);
      if (Object.keys(enumeration).length > 0 && !(String(item) in enumeration))
        errors.push(`${at}: ${JSON.stringify(item)} is not one of ${Object.keys(enumeration).join(', ')}`);
    } else if (type === 'object') {
      if (!isObject(item)) errors.push(`${at}: must be an object`);
    } else {
      validateObject(item, resolveObject(type, profiles), at, profiles, errors);
    }
  });
}

function validateObject(
  value: unknown,
  schema: Resolved,
  path: string,
  profiles: readonly string[],
  errors: string[],
) {
  if (!isObject(value)) {
    errors.push(`${path}: must be an object`);
    return;
  }
  const applies = (def: AttributeDef) => typeof def.profile !== 'string' || profiles.includes(def.profile);
  for (const [name, def] of Object.entries(schema.attributes)) {
    if (!applies(def)) continue;
    const present = value[name] !== undefined && value[name] !== null;
    if (!present) {
      if (def.requirement === 'required') errors.push(`${path}.${name}: required, missing`);
      continue;
    }
    checkValue(value[name], name, def, `${path}.${name}`, profiles, errors);
  }
  for (const name of Object.keys(value)) {
    const def = schema.attributes[name];
    if (!def || !applies(def)) errors.push(`${path}.${name}: not an attribute of the schema`);
  }
  const present = (names: readonly string[]) =>
    names.filter((n) => value[n] !== undefined && value[n] !== null);
  const atLeastOne = schema.constraints.at_least_one;
  if (atLeastOne && present(atLeastOne).length === 0)
    errors.push(`${path}: needs at least one of ${atLeastOne.join(', ')}`);
  const justOne = schema.constraints.just_one;
  if (justOne && present(justOne).length !== 1)
    errors.push(`${path}: needs exactly one of ${justOne.join(', ')}`);
}

/** Every way `event` breaks the class (empty when it is valid). */
export function validateEvent(event: unknown, classPath: string, profiles: readonly string[]): string[] {
  const schema = compiledClass(classPath, profiles);
  const errors: string[] = [];
  validateObject(event, schema, '$', profiles, errors);
  return errors;
}

/**
 * The class as the OCSF server compiles it: base_event's category_uid and class_uid enums (0 only)
 * become the class's own, and type_uid's are class_uid * 100 + each activity_id.
 */
export function compiledClass(classPath: string, profiles: readonly string[]): Resolved {
  const schema = resolveClass(classPath, profiles);
  const category = categoryUid(schema.category);
  const classUid = category * 1000 + schema.uid;
  const activities = Object.keys({
    ...(dictionary.attributes.activity_id?.enum ?? {}),
    ...(schema.attributes.activity_id?.enum ?? {}),
  });
  const only = (values: readonly (string | number)[]) =>
    Object.fromEntries(values.map((v) => [String(v), {}]));
  return {
    constraints: schema.constraints,
    attributes: {
      ...schema.attributes,
      category_uid: { ...schema.attributes.category_uid, enum: only([category]) },
      class_uid: { ...schema.attributes.class_uid, enum: only([classUid]) },
      type_uid: {
        ...schema.attributes.type_uid,
        enum: only(activities.map((a) => classUid * 100 + Number(a))),
      },
    },
  };
}

/** The paths of the required attributes of the class and, below them, of each object it uses. */
export function requiredPaths(classPath: string, profiles: readonly string[]): string[] {
  const schema = resolveClass(classPath, profiles);
  const out: string[] = [];
  const walk = (attributes: Record<string, AttributeDef>, prefix: string, depth: number) => {
    for (const [name, def] of Object.entries(attributes)) {
      if (typeof def.profile === 'string' && !profiles.includes(def.profile)) continue;
      if (def.requirement !== 'required') continue;
      out.push(`${prefix}${name}`);
      const type = def.type ?? dictionary.attributes[name]?.type ?? '';
      const isArray = def.is_array ?? dictionary.attributes[name]?.is_array;
      if (depth < 3 && !type.endsWith('_t') && type !== 'object' && !isArray)
        walk(resolveObject(type, profiles).attributes, `${prefix}${name}.`, depth + 1);
    }
  };
  walk(schema.attributes, '', 0);
  return out;
}
