/**
 * The SNS messages of the nightly pipeline, as pure builders: one alert per unit with regressions,
 * one digest per run. Every message goes to the same topic and carries, in one MessageStructure=json
 * publish, readable text for email (`default`, `email`) and an AWS Chatbot custom notification for
 * Slack/Teams (`https`); see sns-message.ts for why and chatbot.ts for the chat format.
 *
 * Message attributes, for subscription filter policies:
 * - every message: `eventType` ('regression' | 'digest'), `maxSeverity` (critical ... low, or
 *   'none' in a digest without open findings), `regressions` (Number);
 * - an alert: `accountId`, and `region` and `cluster` unless the unit is account-wide (absent,
 *   so `{"cluster": [{"exists": false}]}` selects account-wide alerts);
 * - a digest: `accountsFailed` (Number); no `accountId`/`cluster`: it is about the whole fleet,
 *   and a per-account or per-cluster filter should not let it through.
 * For example Slack with `{"eventType": ["regression"], "maxSeverity": ["critical", "high"]}`,
 * an email list with `{"eventType": ["digest"]}`.
 *
 * Size: a message stays within a budget (default 240 KiB, SNS allows 256 KiB with the attributes).
 * Findings are listed most severe first, whole; those that do not fit are counted by severity and
 * check ("... and 412 more: 300 high IRSA-030, ..."). The JSON is built with JSON.stringify from
 * well-formed strings and measured in UTF-8 bytes, never cut.
 */

import type { Severity } from '../checks/types.ts';
import type { AuditUnit, FindingChange, RunDigest, UnitAuditOutcome } from '../history/types.ts';
import { escapeSlack, forSlack } from '../sinks/slack.ts';
import {
  CHATBOT_DESCRIPTION_MAX_CHARS,
  type ChatbotInput,
  chatbotNotification,
  code,
  codeBlock,
  link,
} from './chatbot.ts';
import {
  changeLabel,
  compareChanges,
  countBySeverity,
  historyCommand,
  mostSevere,
  name,
  overflowByCheck,
  resourceLabel,
  severityCounts,
  severityLabel,
  unitPath,
} from './describe.ts';
import { type AlertView, alertText, digestText, unreadLine } from './email.ts';
import {
  attributeBytes,
  budgetOf,
  fitSubject,
  numberAttribute,
  publishBytes,
  type SnsAttributeValue,
  type SnsMessage,
  stringAttribute,
  structureText,
} from './sns-message.ts';
import {
  clip,
  composeText,
  formatDuration,
  formatTime,
  jsonBytes,
  listPart,
  oneLine,
  plural,
  type TextPart,
} from './text.ts';

export type { SnsAttributeValue, SnsMessage } from './sns-message.ts';
export { DEFAULT_BUDGET_BYTES, MIN_BUDGET_BYTES, SNS_MAX_PUBLISH_BYTES } from './sns-message.ts';

export interface NotifyOptions {
  /**
   * Bytes the whole publish may take (message, attributes and subject, in UTF-8): default
   * 240 KiB, from MIN_BUDGET_BYTES (16 KiB) to SNS's 262,144.
   */
  readonly budgetBytes?: number;
}

export interface AlertOptions extends NotifyOptions {
  /** Where people see the unit's findings (a console, a dashboard); a function builds it per unit. */
  readonly consoleUrl?: string | ((unit: AuditUnit) => string);
}

export interface DigestOptions extends NotifyOptions {
  readonly consoleUrl?: string;
}

export type NotificationEventType = 'regression' | 'digest';

const SUBJECT_PREFIX = '[irsa-audit]';
/** Chat: title and message shown per regression; a command longer than this is left to the email. */
const CHAT_TITLE_MAX_CHARS = 120;
const CHAT_TEXT_MAX_CHARS = 300;
const CHAT_COMMAND_MAX_CHARS = 500;
const CHAT_MAX_FAILED_ACCOUNTS = 10;
const CHAT_MAX_REGRESSED_UNITS = 30;

const SEVERITY_EMOJI: Readonly<Record<Severity, string>> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':white_circle:',
};

/**
 * The alert for one unit's audit: null when it is a baseline (first audit: summarised in the
 * digest) or has no regression (newly failing, reopened, or raised in severity).
 */
export function regressionAlert(outcome: UnitAuditOutcome, options: AlertOptions = {}): SnsMessage | null {
  if (outcome.baseline) return null;
  const regressions = outcome.changes.filter((c) => c.regression).sort(compareChanges);
  const maxSeverity = mostSevere(regressions.map((c) => c.finding.severity));
  if (maxSeverity === null) return null;
  const budget = budgetOf(options.budgetBytes);
  const rawUrl =
    typeof options.consoleUrl === 'function' ? options.consoleUrl(outcome.unit) : options.consoleUrl;
  const view: AlertView = {
    outcome,
    regressions,
    resolved: outcome.changes.filter((c) => !c.regression && c.type === 'resolved').sort(compareChanges),
    others: outcome.changes.filter((c) => !c.regression && c.type !== 'resolved').sort(compareChanges),
    maxSeverity,
    consoleUrl: cleanUrl(rawUrl),
  };
  const unit = outcome.unit;
  const attributes: Record<string, SnsAttributeValue> = {
    eventType: stringAttribute('regression' satisfies NotificationEventType),
    maxSeverity: stringAttribute(maxSeverity),
    regressions: numberAttribute(regressions.length),
    accountId: stringAttribute(name(unit.accountId)),
  };
  if (unit.region !== null) attributes.region = stringAttribute(name(unit.region));
  if (unit.cluster !== null) attributes.cluster = stringAttribute(name(unit.cluster));
  return assemble({
    subject: alertSubject(view),
    attributes,
    text: alertText(view),
    chat: alertChat(view, budget),
    budget,
  });
}

/** The nightly digest of a run. */
export function digestMessage(digest: RunDigest, options: DigestOptions = {}): SnsMessage {
  const budget = budgetOf(options.budgetBytes);
  const open = (Object.entries(digest.openBySeverity) as [Severity, number][]).filter(([, n]) => n > 0);
  const maxOpen = mostSevere(open.map(([severity]) => severity));
  const consoleUrl = cleanUrl(options.consoleUrl);
  const failed = digest.accountsFailed.length;
  const subject = fitSubject([
    `${SUBJECT_PREFIX} Nightly digest: ${plural(digest.regressions, 'regression')}, ${digest.newFindings} new, ${digest.resolvedFindings} resolved, ${plural(failed, 'account')} failed`,
    `${SUBJECT_PREFIX} Nightly digest: ${plural(digest.regressions, 'regression')}, ${plural(failed, 'account')} failed`,
    `${SUBJECT_PREFIX} Nightly digest of run ${digest.runId}`,
  ]);
  return assemble({
    subject,
    attributes: {
      eventType: stringAttribute('digest' satisfies NotificationEventType),
      maxSeverity: stringAttribute(maxOpen ?? 'none'),
      regressions: numberAttribute(digest.regressions),
      accountsFailed: numberAttribute(failed),
    },
    text: digestText(digest, consoleUrl),
    chat: digestChat(digest, maxOpen, consoleUrl, budget),
    budget,
  });
}

/**
 * The chat description's share of the budget: all of Chatbot's 8,000 characters with the default
 * budget, less with a small one, so that the email text keeps most of it.
 */
function chatDescriptionChars(budget: number): number {
  return Math.min(CHATBOT_DESCRIPTION_MAX_CHARS, Math.floor(budget / 16));
}

function cleanUrl(url: string | undefined): string | null {
  const line = oneLine(url ?? '');
  return line === '' ? null : clip(line, 2048);
}

interface Parts {
  readonly subject: string;
  readonly attributes: Readonly<Record<string, SnsAttributeValue>>;
  readonly text: readonly TextPart[];
  readonly chat: ChatbotInput;
  readonly budget: number;
}

/**
 * Fits the text in what the subject, attributes and chat notification leave of the budget. The
 * text is in the message twice (`default` and `email`): each byte of it counts twice.
 */
function assemble(parts: Parts): SnsMessage {
  const https = JSON.stringify(chatbotNotification(parts.chat));
  const fixed =
    Buffer.byteLength(structureText({ default: '', email: '', https })) +
    attributeBytes(parts.attributes) +
    Buffer.byteLength(parts.subject);
  const text = composeText(parts.text, (t) => 2 * jsonBytes(t), parts.budget - fixed).text;
  const message: SnsMessage = {
    subject: parts.subject,
    message: structureText({ default: text, email: text, https }),
    messageStructure: 'json',
    attributes: parts.attributes,
  };
  const bytes = publishBytes(message);
  if (bytes > parts.budget) {
    // Cannot happen when the measures above add up; fail loudly rather than have SNS refuse it.
    throw new Error(
      `the notification "${parts.subject}" takes ${bytes} bytes, over its budget of ${parts.budget}`,
    );
  }
  return message;
}

function alertSubject(view: AlertView): string {
  const unit = view.outcome.unit;
  const head = `${SUBJECT_PREFIX} ${severityLabel(view.maxSeverity)}: ${plural(view.regressions.length, 'regression')}`;
  if (unit.cluster === null) return fitSubject([`${head} in account ${unit.accountId}`]);
  return fitSubject([
    `${head} on ${unit.cluster} (${unit.accountId} ${unit.region ?? ''})`,
    `${head} on ${unit.cluster} (${unit.accountId})`,
    `${head} on ${unit.cluster}`,
  ]);
}

/** `irsa-audit/210987654321/eu-west-1/checkout`: the chat thread of the unit's alerts. */
function threadOf(unit: AuditUnit): string {
  return `irsa-audit/${name(unit.accountId)}/${unit.region === null ? '-' : name(unit.region)}/${unit.cluster === null ? '-' : name(unit.cluster)}`;
}

function chatWhere(unit: AuditUnit): string {
  if (unit.cluster === null) return `account ${code(name(unit.accountId))}`;
  return `${code(name(unit.cluster))} (${code(name(unit.accountId))} / ${code(name(unit.region))})`;
}

function chatRegression(change: FindingChange, unit: AuditUnit): string {
  const f = change.finding;
  const lines = [
    `${SEVERITY_EMOJI[f.severity]} *${severityLabel(f.severity)}* ${code(name(f.checkId))} ${clip(oneLine(f.title), CHAT_TITLE_MAX_CHARS)}: *${changeLabel(change)}*`,
    // What a cluster wrote (names, values in the message) reaches the channel as text, never mrkdwn.
    forSlack(clip(resourceLabel(f, unit), CHAT_TEXT_MAX_CHARS)),
    forSlack(clip(oneLine(f.message), CHAT_TEXT_MAX_CHARS)),
  ];
  const command = f.remediation === null ? '' : f.remediation.trim();
  const block = command === '' ? null : codeBlock(command, CHAT_COMMAND_MAX_CHARS);
  if (block !== null) lines.push(block);
  else if (command !== '') lines.push(`fix: in the email, or ${code(historyCommand(unit))}`);
  return `${lines.join('\n')}\n`;
}

function alertChat(view: AlertView, budget: number): ChatbotInput {
  const { outcome } = view;
  const unit = outcome.unit;
  const count = view.regressions.length;
  const description: TextPart[] = [
    `*${plural(count, 'regression')}* (${severityCounts(countBySeverity(view.regressions))}) on ${chatWhere(unit)} in the audit of ${formatTime(outcome.auditedAt)}`,
  ];
  if (outcome.partial)
    description.push(':warning: Partial audit: findings it could not see were left as they were.');
  description.push('');
  description.push(
    listPart(view.regressions, {
      render: (change) => chatRegression(change, unit),
      overflow: (omitted) => clip(overflowByCheck(omitted, '…'), 600),
    }),
  );
  if (view.resolved.length > 0) {
    const checks = [...new Set(view.resolved.map((c) => name(c.finding.checkId)))].join(', ');
    description.push(
      `:white_check_mark: ${plural(view.resolved.length, 'finding')} resolved: ${clip(checks, 300)}`,
    );
  }
  const target = escapeSlack(unit.cluster === null ? `account ${name(unit.accountId)}` : name(unit.cluster));
  return {
    id: `${outcome.runId}/${threadOf(unit)}`,
    title: `${SEVERITY_EMOJI[view.maxSeverity]} IRSA: ${plural(count, 'regression')} on ${target}`,
    description,
    descriptionMaxChars: chatDescriptionChars(budget),
    nextSteps: [
      `See the history: ${code(historyCommand(unit))}`,
      view.consoleUrl === null ? '' : link(view.consoleUrl, 'Open in the console'),
    ],
    keywords: [severityLabel(view.maxSeverity), unit.accountId, unit.region ?? '', unit.cluster ?? ''],
    // One thread per unit: the next nights' alerts of the same cluster join it.
    threadId: threadOf(unit),
    summary: `IRSA regressions on ${unitPath(unit)}`,
    eventType: 'irsa-audit.regression',
    additionalContext: {
      runId: outcome.runId,
      accountId: unit.accountId,
      region: unit.region ?? '',
      cluster: unit.cluster ?? '',
      maxSeverity: view.maxSeverity,
      regressions: String(count),
    },
  };
}

function digestChat(
  digest: RunDigest,
  maxOpen: Severity | null,
  consoleUrl: string | null,
  budget: number,
): ChatbotInput {
  const units = digest.regressedUnits;
  const failed = digest.accountsFailed;
  const description: TextPart[] = [
    `Run ${code(name(digest.runId))}, completed ${formatTime(digest.completedAt)} (${formatDuration(Date.parse(digest.completedAt) - Date.parse(digest.startedAt))})`,
    `*Accounts:* ${digest.accountsPlanned} planned, ${digest.accountsAudited} audited, ${failed.length} failed`,
  ];
  if (failed.length > 0) {
    description.push(
      listPart(failed, {
        render: (f) => `:x: ${code(name(f.accountId))}: ${forSlack(clip(oneLine(f.reason), 200))}`,
        max: CHAT_MAX_FAILED_ACCOUNTS,
        priority: 0,
        share: 0.4,
        overflow: (omitted) => `… and ${plural(omitted.length, 'more account')}`,
      }),
    );
  }
  const unread = digest.unreadInputs ?? [];
  if (unread.length > 0) {
    description.push(
      '*Could not be read:*',
      listPart(unread, {
        render: (u) => `:warning: ${unreadLine(u)}`,
        max: CHAT_MAX_FAILED_ACCOUNTS,
        priority: 0,
        share: 0.2,
        overflow: (omitted) => `… and ${plural(omitted.length, 'more read')}`,
      }),
    );
  }
  description.push(
    `*Clusters:* ${digest.clustersAudited} audited, ${digest.clustersPartial} partial, ${digest.clustersBaselined} baselined`,
    `*Findings:* ${digest.newFindings} new, ${digest.resolvedFindings} resolved, ${plural(digest.regressions, 'regression')}`,
    `*Open:* ${severityCounts(digest.openBySeverity, { all: true })}`,
    '',
  );
  if (units.length === 0) {
    description.push('No cluster has regressions.');
  } else {
    description.push(`*Clusters with regressions (${units.length}):*`);
    description.push(
      listPart(units, {
        render: (u) =>
          `${SEVERITY_EMOJI[u.maxSeverity]} ${code(unitPath(u.unit))}: ${plural(u.regressions, 'regression')}`,
        max: CHAT_MAX_REGRESSED_UNITS,
        overflow: (omitted) => `… and ${plural(omitted.length, 'more cluster')}`,
      }),
    );
  }
  return {
    id: `${digest.runId}/digest`,
    title: `:bar_chart: IRSA nightly digest: ${plural(digest.regressions, 'regression')}${units.length > 0 ? ` in ${plural(units.length, 'cluster')}` : ''}`,
    description,
    descriptionMaxChars: chatDescriptionChars(budget),
    nextSteps: [
      `History of a cluster: ${code('irsa-audit history --cluster NAME --account ID')}`,
      consoleUrl === null ? '' : link(consoleUrl, 'Open in the console'),
    ],
    keywords: ['digest', maxOpen === null ? 'no open findings' : severityLabel(maxOpen)],
    summary: `IRSA nightly digest, run ${name(digest.runId)}`,
    eventType: 'irsa-audit.digest',
    additionalContext: {
      runId: digest.runId,
      regressions: String(digest.regressions),
      accountsFailed: String(failed.length),
      maxOpenSeverity: maxOpen ?? 'none',
    },
  };
}
