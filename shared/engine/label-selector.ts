/**
 * Kubernetes label-selector semantics (metav1.LabelSelector), for the webhook selectors of
 * IRSA-063: `matchLabels` and `matchExpressions` are ANDed; `In` needs the key with one of the
 * values, `NotIn` holds when the key is absent or its value is none of them, `Exists` and
 * `DoesNotExist` test the key alone; a selector with no requirement matches everything.
 *
 * Labels may be only partly known (a namespace whose labels were not collected: only
 * `kubernetes.io/metadata.name` is certain), so the verdict is three-valued: a requirement on an
 * unknown key is `unknown`, and one requirement that decidedly fails decides the whole selector.
 */
import type { LabelSelector } from '../model/fleet.ts';
import { clip } from '../notify/text.ts';

export type SelectorVerdict = 'match' | 'no-match' | 'unknown';

/** The labels an object is known to carry, and whether those are all of its labels. */
export interface KnownLabels {
  readonly labels: Readonly<Record<string, string>>;
  /** True: `labels` are all the object's labels; false: a key not in `labels` may still be set. */
  readonly complete: boolean;
}

/** The label every namespace carries with its own name (Kubernetes 1.21 and later; immutable). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** What is known of a namespace's labels when only its name is: `kubernetes.io/metadata.name`. */
export function namespaceByName(namespace: string): KnownLabels {
  return { labels: { [NAMESPACE_NAME_LABEL]: namespace }, complete: false };
}

/** One requirement of a selector: a `matchLabels` pair is `In` of its one value. */
export type Requirement = {
  readonly key: string;
  readonly operator: string;
  readonly values: readonly string[];
};

function verdictOf(holds: boolean): SelectorVerdict {
  return holds ? 'match' : 'no-match';
}

function requirementVerdict(req: Requirement, known: KnownLabels): SelectorVerdict {
  const has = Object.hasOwn(known.labels, req.key);
  if (!has && !known.complete) return 'unknown';
  const value = has ? known.labels[req.key] : undefined;
  switch (req.operator) {
    case 'In':
      return verdictOf(value !== undefined && req.values.includes(value));
    case 'NotIn':
      return verdictOf(value === undefined || !req.values.includes(value));
    case 'Exists':
      return verdictOf(value !== undefined);
    case 'DoesNotExist':
      return verdictOf(value === undefined);
    default:
      // The API server rejects any other operator; a snapshot holding one cannot be judged.
      return 'unknown';
  }
}

/**
 * The selector's requirements, its `matchLabels` first: made once for a selector judged against
 * many objects ({@link requirementsVerdict}), not once per object.
 */
export function requirementsOf(selector: LabelSelector): readonly Requirement[] {
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    requirements.push({ key, operator: 'In', values: [value] });
  }
  for (const expression of selector.matchExpressions) requirements.push(expression);
  return requirements;
}

/** The verdict of a selector's requirements ({@link requirementsOf}) on an object with these labels. */
export function requirementsVerdict(
  requirements: readonly Requirement[],
  known: KnownLabels,
): SelectorVerdict {
  let verdict: SelectorVerdict = 'match';
  for (const req of requirements) {
    const v = requirementVerdict(req, known);
    if (v === 'no-match') return 'no-match';
    if (v === 'unknown') verdict = 'unknown';
  }
  return verdict;
}

/** The selector's verdict on an object with these labels. */
export function selectorVerdict(selector: LabelSelector, known: KnownLabels): SelectorVerdict {
  return requirementsVerdict(requirementsOf(selector), known);
}

/**
 * The longest label key or value shown in a message or evidence: longer than any Kubernetes allows
 * (a key's prefix 253 and name 63 characters, a value 63), so a valid one is never cut; a snapshot
 * that says otherwise is not trusted to fill every finding of the cluster with it.
 */
export const SHOWN_LABEL_LENGTH = 320;
/** The longest selector shown (all its requirements together). */
export const SHOWN_SELECTOR_LENGTH = 1_000;

/** Labels as shown in evidence: each key and value cut at SHOWN_LABEL_LENGTH. */
export function shownLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    shown[clip(key, SHOWN_LABEL_LENGTH)] = clip(value, SHOWN_LABEL_LENGTH);
  }
  return shown;
}

/**
 * The selector as one line (`app=web, tier notin (batch), !skip`), for messages and evidence: each
 * key and value cut at SHOWN_LABEL_LENGTH, the whole at SHOWN_SELECTOR_LENGTH (it is quoted in
 * the result of every annotated ServiceAccount of the cluster).
 */
export function describeSelector(selector: LabelSelector): string {
  const label = (text: string) => clip(text, SHOWN_LABEL_LENGTH);
  const parts = [
    ...Object.entries(selector.matchLabels).map(([k, v]) => `${label(k)}=${label(v)}`),
    ...selector.matchExpressions.map((e) => {
      switch (e.operator) {
        case 'Exists':
          return label(e.key);
        case 'DoesNotExist':
          return `!${label(e.key)}`;
        default:
          return `${label(e.key)} ${e.operator.toLowerCase()} (${e.values.map(label).join(',')})`;
      }
    }),
  ];
  return parts.length === 0 ? '{} (everything)' : clip(parts.join(', '), SHOWN_SELECTOR_LENGTH);
}
