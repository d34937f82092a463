/**
 * The review of one permission policy against the IAM catalogue (IRSA-023, docs/checks.md): the
 * grants that can never work, and the document with each such statement corrected.
 *
 * - Every statement (Deny and `NotAction` too): an action, or an action pattern, that names no
 *   action of its service is undefined (`s3:GetObjects`); the correction is the nearest defined
 *   name, if one is near enough to be a typo, else the action is dropped (dropping changes nothing:
 *   it granted or denied nothing).
 * - Allow statements with `Action` and `Resource`, for each action without a wildcard: it must be
 *   able to match, by one of the statement's Resource entries, an ARN of one of the resource types
 *   the catalogue gives it (required or not), or `*` when it has none. The correction moves the
 *   action to a statement of its own, with the same Effect and Condition, on the resources it acts
 *   on: the entry cut back to its parent (`arn:aws:s3:::b/*` to `arn:aws:s3:::b`), or extended to
 *   its children (`arn:aws:s3:::b` to `arn:aws:s3:::b/*`), or else the type's ARN template with
 *   the entry's partition, region and account and `<Name>` placeholders for the user to fill.
 * - An action of a service the catalogue does not know is not judged: its service is reported
 *   unknown, and the policy is then not evaluated unless another grant fails.
 */

import { wildcardMatch } from '../../policy/evaluate.ts';
import type { CatalogueAction, IamCatalogue, ServiceCatalogue } from '../../policy/iam-catalogue.ts';
import type { PermissionPolicy, PermissionStatement } from '../../policy/permission-policy.ts';
import { canBeStar, canMatchTemplate } from '../../policy/resource-match.ts';

export interface UndefinedAction {
  readonly kind: 'undefined-action';
  readonly statementIndex: number;
  readonly sid: string | null;
  readonly action: string;
  /** The nearest action the service defines, when the name looks like a typo of it. */
  readonly suggestion: string | null;
  /**
   * When the suggestion would not act on the statement's resources either: the entries on which it
   * does (the correction then moves it to a statement of its own, as for a resource mismatch).
   */
  readonly suggestionResources?: readonly string[];
}

export interface ResourceMismatch {
  readonly kind: 'resource-mismatch';
  readonly statementIndex: number;
  readonly sid: string | null;
  readonly action: string;
  /** The action's resource types and their ARN templates; empty: the action takes only `*`. */
  readonly resourceTypes: readonly { readonly name: string; readonly arn: string }[];
  readonly resources: readonly string[];
  /** The Resource entries that make the grant work; `<Name>` marks a value to fill in. */
  readonly corrected: readonly string[];
}

export type GrantProblem = UndefinedAction | ResourceMismatch;

export interface PolicyReview {
  readonly problems: readonly GrantProblem[];
  /** Service prefixes the catalogue does not know (their actions were not judged). */
  readonly unknownServices: readonly string[];
  /** The corrected statements, by the index of the statement they replace. */
  readonly corrections: ReadonlyMap<number, readonly Record<string, unknown>[]>;
  /** The whole document with every corrected statement in place; null when nothing failed. */
  readonly correctedDocument: Record<string, unknown> | null;
  /** Whether a corrected resource holds a `<Name>` placeholder (the document is then a draft). */
  readonly hasPlaceholders: boolean;
}

const WILDCARD = /[*?]/;

/** Reviews a parsed permission policy; pure given the catalogue. */
export function reviewPolicy(policy: PermissionPolicy, catalogue: IamCatalogue): PolicyReview {
  const problems: GrantProblem[] = [];
  const unknown = new Set<string>();
  for (const statement of policy.statements) {
    const judgesResources =
      statement.effect === 'Allow' && statement.action !== undefined && statement.resource !== undefined;
    for (const action of statement.action ?? statement.notAction ?? []) {
      if (action === '*') continue;
      const colon = action.indexOf(':');
      const prefix = colon === -1 ? '' : action.slice(0, colon);
      const name = colon === -1 ? '' : action.slice(colon + 1);
      const service = prefix === '' ? null : catalogue.service(prefix);
      if (service === null) {
        // An entry without a service prefix cannot have been stored by IAM: nothing to judge.
        if (prefix !== '') unknown.add(prefix.toLowerCase());
        continue;
      }
      const where = { statementIndex: statement.index, sid: statement.sid ?? null, action };
      if (WILDCARD.test(name)) {
        if (!matchesAnyAction(service, name)) {
          problems.push({ kind: 'undefined-action', ...where, suggestion: null });
        }
        continue;
      }
      const defined = service.actions.get(name.toLowerCase());
      const resources = judgesResources ? (statement.resource as readonly string[]) : null;
      if (!defined) {
        const suggestion = nearestAction(service, prefix, name);
        const suggested = suggestion
          ? service.actions.get(suggestion.slice(prefix.length + 1).toLowerCase())
          : null;
        const misfit = suggested && resources ? resourceMisfit(service, suggested, resources) : null;
        problems.push({
          kind: 'undefined-action',
          ...where,
          suggestion,
          ...(misfit ? { suggestionResources: misfit.corrected } : {}),
        });
        continue;
      }
      if (!resources) continue;
      const misfit = resourceMisfit(service, defined, resources);
      if (misfit) problems.push({ kind: 'resource-mismatch', ...where, resources, ...misfit });
    }
  }
  const corrections = correct(policy, problems);
  return {
    problems,
    unknownServices: [...unknown].sort(),
    corrections,
    correctedDocument: problems.length === 0 ? null : correctedDocument(policy, corrections),
    hasPlaceholders: problems.some((p) =>
      (p.kind === 'resource-mismatch' ? p.corrected : (p.suggestionResources ?? [])).some(isPlaceholder),
    ),
  };
}

/** Null when some entry can match an ARN the action acts on; else its types and the corrected entries. */
function resourceMisfit(
  service: ServiceCatalogue,
  action: CatalogueAction,
  resources: readonly string[],
): Pick<ResourceMismatch, 'resourceTypes' | 'corrected'> | null {
  const types = action.resourceTypes.map((type) => ({
    name: type,
    arn: service.resourceTypes.get(type) ?? null,
  }));
  // A resource type the catalogue lists for the action but does not describe could be anything.
  if (types.some((type) => type.arn === null)) return null;
  const known = types as { name: string; arn: string }[];
  const works =
    known.length === 0
      ? resources.some(canBeStar)
      : resources.some((entry) => known.some((type) => canMatchTemplate(entry, type.arn)));
  return works ? null : { resourceTypes: known, corrected: correctedResources(resources, known) };
}

/**
 * Whether an action pattern (`Get*`, `?etObject`) names some action of the service, matched as IAM
 * matches it (the catalogue's keys are lower case). Not through a regular expression built from the
 * pattern: `a*a*a*...b` would backtrack exponentially on a long action name.
 */
function matchesAnyAction(service: ServiceCatalogue, pattern: string): boolean {
  const lower = pattern.toLowerCase();
  for (const key of service.actions.keys()) if (wildcardMatch(lower, key)) return true;
  return false;
}

/** Typos only: at most two edits, or a plural `s` (`GetObjects`); ties go to the first name in order. */
function nearestAction(service: ServiceCatalogue, prefix: string, name: string): string | null {
  const wanted = name.toLowerCase();
  // Names far longer than any action cannot be a typo of one; skip the distance for them.
  if (wanted.length > 200) return null;
  let best: { name: string; distance: number } | null = null;
  for (const [key, action] of [...service.actions].sort(([a], [b]) => a.localeCompare(b))) {
    const distance = editDistance(wanted, key, 2);
    if (distance <= 2 && (best === null || distance < best.distance)) best = { name: action.name, distance };
  }
  return best === null ? null : `${prefix}:${best.name}`;
}

/** Levenshtein distance, or `limit + 1` as soon as it must exceed `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] as number;
}

const isPlaceholder = (entry: string) => /<[A-Za-z]+>/.test(entry);

/**
 * How many separators, from the end of a Resource entry, the search for its parent tries. An ARN
 * has a handful; an entry of a snapshot is untrusted and may have hundreds of thousands (IAM itself
 * caps a role's inline policies at 10,240 characters), and each try copies and matches the entry
 * cut there: without a bound, quadratic in its length (an entry of 250,000 slashes took 5 s).
 */
const MAX_PARENT_CUTS = 32;

/** The Resource entries on which the action works, derived from the ones written (module comment). */
function correctedResources(
  resources: readonly string[],
  types: readonly { name: string; arn: string }[],
): string[] {
  if (types.length === 0) return ['*'];
  const out = new Set<string>();
  for (const entry of resources) {
    for (const type of types) {
      // The parent: the entry cut at its last separator that leaves a matching ARN (of the last
      // MAX_PARENT_CUTS separators).
      for (let cut = entry.length - 1, tries = 0; cut > 0 && tries < MAX_PARENT_CUTS; cut--) {
        const char = entry[cut];
        if (char !== '/' && char !== ':') continue;
        tries++;
        const parent = entry.slice(0, cut);
        if (parent.split(':').length >= 6 && canMatchTemplate(parent, type.arn)) {
          out.add(parent);
          break;
        }
      }
      // The children.
      for (const suffix of ['/*', ':*']) {
        if (canMatchTemplate(entry + suffix, type.arn)) out.add(entry + suffix);
      }
    }
  }
  if (out.size > 0) return [...out];
  // Nothing near: the template of the type closest to what was written, to be filled in.
  const first = resources[0] ?? '';
  const fields = first.split(':');
  const fill = (index: number, fallback: string) => {
    const value = fields[index];
    return value && !WILDCARD.test(value) && !value.includes('$') ? value : fallback;
  };
  const nearest = [...types].sort(
    (a, b) => commonPrefix(b.arn, first) - commonPrefix(a.arn, first) || a.name.localeCompare(b.name),
  )[0] as { arn: string };
  return [
    nearest.arn
      .replace('${Partition}', fill(1, 'aws'))
      .replace('${Region}', fill(3, '*'))
      .replace('${Account}', fill(4, '*'))
      .replace(/\$\{([A-Za-z]+)\}/g, '<$1>'),
  ];
}

function commonPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** One value or a list, as IAM writes a single-entry list. */
const oneOrMany = (values: readonly string[]): string | string[] =>
  values.length === 1 ? (values[0] as string) : [...values];

function correct(
  policy: PermissionPolicy,
  problems: readonly GrantProblem[],
): Map<number, Record<string, unknown>[]> {
  const out = new Map<number, Record<string, unknown>[]>();
  for (const statement of policy.statements) {
    const own = problems.filter((p) => p.statementIndex === statement.index);
    if (own.length > 0) out.set(statement.index, correctStatement(statement, own));
  }
  return out;
}

function correctStatement(
  statement: PermissionStatement,
  problems: readonly GrantProblem[],
): Record<string, unknown>[] {
  const field = statement.action !== undefined ? 'Action' : 'NotAction';
  const written = (statement.action ?? statement.notAction ?? []) as readonly string[];
  const moved = new Map<string, { actions: string[]; resources: readonly string[] }>();
  const kept: string[] = [];
  const move = (action: string, resources: readonly string[]) => {
    const key = JSON.stringify(resources);
    const group = moved.get(key) ?? { actions: [], resources };
    group.actions.push(action);
    moved.set(key, group);
  };
  for (const action of written) {
    const problem = problems.find((p) => p.action === action);
    if (!problem) {
      kept.push(action);
    } else if (
      problem.kind === 'undefined-action' &&
      problem.suggestion !== null &&
      problem.suggestionResources
    ) {
      move(problem.suggestion, problem.suggestionResources);
    } else if (problem.kind === 'undefined-action') {
      if (problem.suggestion !== null) kept.push(problem.suggestion);
      // In NotAction an undefined name excludes nothing: dropping the last one would turn the
      // statement into "every action but none" and is not IAM's to accept; keep it as written.
      else if (field === 'NotAction') kept.push(action);
    } else {
      move(action, problem.corrected);
    }
  }
  const out: Record<string, unknown>[] = [];
  if (kept.length > 0) out.push({ ...statement.written, [field]: oneOrMany([...new Set(kept)]) });
  for (const group of moved.values()) {
    const { Sid: _sid, ...rest } = statement.written;
    out.push({ ...rest, Action: oneOrMany(group.actions), Resource: oneOrMany(group.resources) });
  }
  return out;
}

function correctedDocument(
  policy: PermissionPolicy,
  corrections: ReadonlyMap<number, readonly Record<string, unknown>[]>,
): Record<string, unknown> {
  const statements = policy.statements.flatMap((s) => corrections.get(s.index) ?? [s.written]);
  return { ...policy.written, Statement: statements };
}
