/**
 * How the notifications name things: units, resources, changes, severities and the history
 * command. Shared by the email text and the chat notification so both say the same thing.
 */
import { SEVERITIES, type Severity, severityRank } from '../checks/types.ts';
import type { AuditUnit, ChangeType, FindingChange, StoredFinding } from '../history/types.ts';
import { clip, oneLine, plural, shellWord } from './text.ts';

/** Longest name (account, region, cluster, namespace, role, workload) shown before it is clipped. */
export const MAX_NAME_CHARS = 256;

/** A stored name made one line and clipped; `?` when absent. */
export function name(value: string | null | undefined): string {
  const line = oneLine(value ?? '');
  return line === '' ? '?' : clip(line, MAX_NAME_CHARS);
}

export function severityLabel(severity: Severity): string {
  return severity.toUpperCase();
}

/** `account 210987654321, region eu-west-1, cluster checkout` or `account 210987654321 (account-wide)`. */
export function unitLabel(unit: AuditUnit): string {
  if (unit.cluster === null) return `account ${name(unit.accountId)} (account-wide findings)`;
  return `account ${name(unit.accountId)}, region ${name(unit.region)}, cluster ${name(unit.cluster)}`;
}

/** `210987654321 / eu-west-1 / checkout` or `210987654321 (account)`, as the CLI groups findings. */
export function unitPath(unit: AuditUnit): string {
  if (unit.cluster === null) return `${name(unit.accountId)} (account)`;
  return `${name(unit.accountId)} / ${name(unit.region)} / ${name(unit.cluster)}`;
}

/** The CLI command that shows the unit's history. */
export function historyCommand(unit: AuditUnit): string {
  const account = `--account ${shellWord(name(unit.accountId))}`;
  return unit.cluster === null
    ? `irsa-audit history ${account}`
    : `irsa-audit history --cluster ${shellWord(name(unit.cluster))} ${account}`;
}

/**
 * What the finding is about: `service account checkout/cart-api · Deployment checkout/cart-api ·
 * role cart-api`; the cluster or account itself when no narrower resource applies.
 */
export function resourceLabel(finding: StoredFinding, unit: AuditUnit): string {
  const parts: string[] = [];
  const namespace = finding.namespace === null ? null : name(finding.namespace);
  if (finding.serviceAccount !== null)
    parts.push(`service account ${namespace ?? '?'}/${name(finding.serviceAccount)}`);
  else if (namespace !== null && finding.workload === null) parts.push(`namespace ${namespace}`);
  if (finding.workload !== null) {
    const workload = `${name(finding.workload.kind)} ${namespace === null ? '' : `${namespace}/`}${name(finding.workload.name)}`;
    parts.push(workload);
  }
  if (finding.roleName !== null) {
    const otherAccount = finding.accountId !== null && finding.accountId !== unit.accountId;
    parts.push(
      `role ${name(finding.roleName)}${otherAccount ? ` (account ${name(finding.accountId)})` : ''}`,
    );
  }
  if (finding.resource !== null && oneLine(finding.resource) !== '') parts.push(name(finding.resource));
  if (parts.length === 0) {
    parts.push(
      finding.cluster !== null
        ? `cluster ${name(finding.cluster)}`
        : `account ${name(finding.accountId ?? unit.accountId)}`,
    );
  }
  return parts.join(' · ');
}

/** What changed, in words: `newly failing`, `reopened ...`, `severity raised from medium to high`. */
export function changeLabel(change: FindingChange): string {
  const severity = change.finding.severity;
  const previous = change.previousSeverity;
  switch (change.type) {
    case 'opened':
      return 'newly failing';
    case 'reopened':
      return previous !== null && previous !== severity
        ? `reopened: failing again after it was resolved or exempted (was ${previous}, now ${severity})`
        : 'reopened: failing again after it was resolved or exempted';
    case 'severity-changed':
      if (previous === null) return `severity changed to ${severity}`;
      return severityRank(severity) < severityRank(previous)
        ? `severity raised from ${previous} to ${severity}`
        : `severity lowered from ${previous} to ${severity}`;
    case 'resolved':
      return 'resolved';
    case 'exempted':
      return 'exempted';
  }
}

const CHANGE_ORDER: Readonly<Record<ChangeType, number>> = {
  opened: 0,
  reopened: 1,
  'severity-changed': 2,
  exempted: 3,
  resolved: 4,
};

/** Most severe first, then opened before reopened before raised, then by check and finding. */
export function compareChanges(a: FindingChange, b: FindingChange): number {
  return (
    severityRank(a.finding.severity) - severityRank(b.finding.severity) ||
    CHANGE_ORDER[a.type] - CHANGE_ORDER[b.type] ||
    a.finding.checkId.localeCompare(b.finding.checkId) ||
    a.finding.findingKey.localeCompare(b.finding.findingKey)
  );
}

/** The most severe of the severities given, or null for none. */
export function mostSevere(severities: Iterable<Severity>): Severity | null {
  let best: Severity | null = null;
  for (const severity of severities) {
    if (best === null || severityRank(severity) < severityRank(best)) best = severity;
  }
  return best;
}

/** `1 critical, 2 high` (non-zero counts, most severe first), or `none`. */
export function severityCounts(
  counts: Readonly<Record<Severity, number>>,
  options: { all?: boolean } = {},
): string {
  const parts = SEVERITIES.filter((s) => options.all || (counts[s] ?? 0) > 0).map(
    (s) => `${counts[s] ?? 0} ${s}`,
  );
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** How many changes there are of each severity. */
export function countBySeverity(changes: readonly FindingChange[]): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const change of changes) counts[change.finding.severity] += 1;
  return counts;
}

/** Groups listed in an overflow line before the rest is only counted. */
const OVERFLOW_GROUPS = 12;

/**
 * `... and 412 more: 300 high IRSA-030, 100 medium IRSA-032, 12 low IRSA-040` (by severity and
 * check, most severe then most numerous first; past 12 groups the rest is counted).
 */
export function overflowByCheck(omitted: readonly FindingChange[], ellipsis = '...'): string {
  const groups = new Map<string, { severity: Severity; checkId: string; count: number }>();
  for (const change of omitted) {
    const checkId = clip(oneLine(change.finding.checkId), 32);
    const key = `${change.finding.severity}|${checkId}`;
    const group = groups.get(key) ?? { severity: change.finding.severity, checkId, count: 0 };
    group.count += 1;
    groups.set(key, group);
  }
  const sorted = [...groups.values()].sort(
    (a, b) =>
      severityRank(a.severity) - severityRank(b.severity) ||
      b.count - a.count ||
      a.checkId.localeCompare(b.checkId),
  );
  const shown = sorted.slice(0, OVERFLOW_GROUPS).map((g) => `${g.count} ${g.severity} ${g.checkId}`);
  const rest = sorted.slice(OVERFLOW_GROUPS);
  if (rest.length > 0) {
    const count = rest.reduce((sum, g) => sum + g.count, 0);
    shown.push(`${count} in ${plural(rest.length, 'other group')}`);
  }
  return `${ellipsis} and ${omitted.length} more: ${shown.join(', ')}`;
}
