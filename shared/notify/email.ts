/**
 * The plain text of the notifications (the `default` and `email` keys): what an email reader
 * needs to act without opening anything else. Lines are not wrapped, so commands stay copyable.
 */

import type { Severity } from '../checks/types.ts';
import type { FindingChange, RunDigest, UnitAuditOutcome } from '../history/types.ts';
import { defangUrls } from '../sinks/email.ts';
import {
  changeLabel,
  countBySeverity,
  historyCommand,
  mostSevere,
  name,
  overflowByCheck,
  resourceLabel,
  severityCounts,
  severityLabel,
  unitLabel,
  unitPath,
} from './describe.ts';
import {
  cleanText,
  clip,
  formatDuration,
  formatTime,
  listPart,
  oneLine,
  plural,
  type TextPart,
} from './text.ts';

/** Longest title and message shown in the email; a command longer than the limit is not shown. */
export const EMAIL_TITLE_MAX_CHARS = 200;
export const EMAIL_MESSAGE_MAX_CHARS = 1000;
export const EMAIL_COMMAND_MAX_CHARS = 4000;
/** How many resolved and other changes an alert lists before it only counts them. */
export const EMAIL_MAX_MINOR_CHANGES = 50;
/** How many failed accounts and regressed clusters a digest lists before it only counts them. */
export const DIGEST_MAX_FAILED_ACCOUNTS = 50;
export const DIGEST_MAX_REGRESSED_UNITS = 200;

/** The share of the text budget the resolved and the other changes may each take first. */
const MINOR_CHANGES_SHARE = 0.05;
const INDENT = '    ';
const COMMAND_INDENT = '        ';

/** The changes of one outcome, split the way the alert shows them. */
export interface AlertView {
  readonly outcome: UnitAuditOutcome;
  /** Most severe first. */
  readonly regressions: readonly FindingChange[];
  readonly resolved: readonly FindingChange[];
  /** Neither regressions nor resolutions: a lowered severity, an exemption. */
  readonly others: readonly FindingChange[];
  readonly maxSeverity: Severity;
  readonly consoleUrl: string | null;
}

function regressionBlock(change: FindingChange, view: AlertView): string {
  const f = change.finding;
  const lines = [
    `${severityLabel(f.severity)}  ${name(f.checkId)}  ${clip(oneLine(f.title), EMAIL_TITLE_MAX_CHARS)}`,
    `${INDENT}resource: ${defangUrls(resourceLabel(f, view.outcome.unit))}`,
    `${INDENT}change:   ${changeLabel(change)}`,
    `${INDENT}${defangUrls(clip(oneLine(f.message), EMAIL_MESSAGE_MAX_CHARS))}`,
  ];
  const command = f.remediation === null ? '' : cleanText(f.remediation).trim();
  if (command === '') {
    lines.push(`${INDENT}fix: no command recorded; see the check's documentation`);
  } else if (command.length > EMAIL_COMMAND_MAX_CHARS) {
    lines.push(
      `${INDENT}fix: the command is ${command.length} characters long; see it with ${historyCommand(view.outcome.unit)}`,
    );
  } else {
    lines.push(`${INDENT}fix:`);
    for (const line of command.split('\n')) lines.push(`${COMMAND_INDENT}${line}`);
  }
  // A blank line after each regression.
  return `${lines.join('\n')}\n`;
}

function minorLine(change: FindingChange, view: AlertView, withChange: boolean): string {
  const f = change.finding;
  const what = `  - ${severityLabel(f.severity)}  ${name(f.checkId)}  ${defangUrls(resourceLabel(f, view.outcome.unit))}`;
  return withChange ? `${what}: ${changeLabel(change)}` : what;
}

/** The alert for one unit: heading, regressions, resolved findings, other changes, footer. */
export function alertText(view: AlertView): TextPart[] {
  const { outcome } = view;
  const count = view.regressions.length;
  const parts: TextPart[] = [
    `IRSA regressions: ${unitLabel(outcome.unit)}`,
    `${plural(count, 'regression')} (${severityCounts(countBySeverity(view.regressions))}) in the audit of ${formatTime(outcome.auditedAt)}, run ${name(outcome.runId)}.`,
  ];
  if (outcome.partial) {
    parts.push(
      'This audit was partial: part of the unit could not be read, and findings it could not see were left as they were.',
    );
  }
  parts.push('');
  parts.push(
    listPart(view.regressions, {
      render: (change) => regressionBlock(change, view),
      overflow: (omitted) =>
        `${overflowByCheck(omitted)}\n${INDENT}(${historyCommand(outcome.unit)} lists them all.)\n`,
    }),
  );
  if (view.resolved.length > 0) {
    parts.push(`Resolved (${view.resolved.length}):`);
    parts.push(
      listPart(view.resolved, {
        render: (change) => minorLine(change, view, false),
        max: EMAIL_MAX_MINOR_CHANGES,
        // Before the regressions take the rest, each gets a small share.
        priority: 0,
        share: MINOR_CHANGES_SHARE,
        overflow: (omitted) => `  ... and ${omitted.length} more`,
      }),
    );
    parts.push('');
  }
  if (view.others.length > 0) {
    parts.push(`Other changes (${view.others.length}):`);
    parts.push(
      listPart(view.others, {
        render: (change) => minorLine(change, view, true),
        max: EMAIL_MAX_MINOR_CHANGES,
        // Before the regressions take the rest, each gets a small share.
        priority: 0,
        share: MINOR_CHANGES_SHARE,
        overflow: (omitted) => `  ... and ${omitted.length} more`,
      }),
    );
    parts.push('');
  }
  const where = outcome.unit.cluster === null ? 'in this account' : 'on this cluster';
  parts.push(
    `Open findings ${where} after this audit: ${severityCounts(outcome.openBySeverity, { all: true })}.`,
  );
  parts.push(`History: ${historyCommand(outcome.unit)}`);
  if (view.consoleUrl !== null) parts.push(`Console: ${view.consoleUrl}`);
  parts.push('');
  parts.push(`-- irsa-audit nightly audit, ${unitPath(outcome.unit)}`);
  return parts;
}

/** `eks:ListPodIdentityAssociations denied on 12 clusters`. */
export function unreadLine(u: RunDigest['unreadInputs'][number]): string {
  const where = [
    u.clusters > 0 ? `on ${plural(u.clusters, 'cluster')}` : null,
    u.accounts > 0 ? `in ${plural(u.accounts, 'account')}` : null,
  ]
    .filter(Boolean)
    .join(' and ');
  return `${u.read} ${where}`;
}

/** The nightly digest: the run, accounts, clusters, finding counts and the regressed units. */
export function digestText(digest: RunDigest, consoleUrl: string | null): TextPart[] {
  const failed = digest.accountsFailed;
  const openMost = mostSevere(
    (Object.entries(digest.openBySeverity) as [Severity, number][]).filter(([, n]) => n > 0).map(([s]) => s),
  );
  const openTotal = Object.values(digest.openBySeverity).reduce((sum, n) => sum + n, 0);
  const parts: TextPart[] = [
    `IRSA audit nightly digest, run ${name(digest.runId)}`,
    `Started ${formatTime(digest.startedAt)}, completed ${formatTime(digest.completedAt)} (${formatDuration(Date.parse(digest.completedAt) - Date.parse(digest.startedAt))}).`,
    '',
    `Accounts: ${digest.accountsPlanned} planned, ${digest.accountsAudited} audited, ${failed.length} failed.`,
  ];
  if (failed.length > 0) {
    parts.push(
      listPart(failed, {
        render: (f) => `  - ${name(f.accountId)}: ${defangUrls(clip(oneLine(f.reason), 300))}`,
        max: DIGEST_MAX_FAILED_ACCOUNTS,
        priority: 0,
        share: 0.5,
        overflow: (omitted) => `  ... and ${plural(omitted.length, 'more account')}`,
      }),
    );
  }
  const unread = digest.unreadInputs ?? [];
  if (unread.length > 0) {
    parts.push(
      'Could not be read (what depends on it was not evaluated, and nothing was resolved by it):',
      listPart(unread, {
        render: (u) => `  - ${unreadLine(u)}`,
        max: DIGEST_MAX_FAILED_ACCOUNTS,
        priority: 0,
        share: 0.3,
        overflow: (omitted) => `  ... and ${plural(omitted.length, 'more read')}`,
      }),
    );
  }
  parts.push(
    `Clusters: ${digest.clustersAudited} audited, ${digest.clustersPartial} partial (something in them could not be read: AUDIT-002/003), ${digest.clustersBaselined} baselined (first audit: findings recorded, no alert).`,
    `Findings this run: ${digest.newFindings} new, ${digest.resolvedFindings} resolved, ${plural(digest.regressions, 'regression')}.`,
    `Open findings after the run: ${severityCounts(digest.openBySeverity, { all: true })} (${openTotal} in all${openMost === null ? '' : `, most severe ${openMost}`}).`,
    '',
  );
  const units = digest.regressedUnits;
  if (units.length === 0) {
    parts.push('No cluster has regressions.');
  } else {
    parts.push(`Clusters with regressions (${units.length}), most severe first:`);
    parts.push(
      listPart(units, {
        render: (u) =>
          `  - ${severityLabel(u.maxSeverity).padEnd(8)}  ${unitPath(u.unit)}: ${plural(u.regressions, 'regression')}`,
        max: DIGEST_MAX_REGRESSED_UNITS,
        overflow: (omitted) =>
          `  ... and ${plural(omitted.length, 'more cluster')} with ${plural(
            omitted.reduce((sum, u) => sum + u.regressions, 0),
            'regression',
          )}`,
      }),
    );
  }
  parts.push('');
  if (units.length > 0)
    parts.push('Each of them got its own alert, with the details and the commands that fix them.');
  parts.push('History of a cluster: irsa-audit history --cluster NAME --account ID');
  if (consoleUrl !== null) parts.push(`Console: ${consoleUrl}`);
  return parts;
}
