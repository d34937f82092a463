/**
 * The auditor's use-case for one work message: collect one account, run the checks, record every
 * unit (cluster, or the account level) in the finding store, alert on regressions, count the
 * account in the run, and send the digest when it was the run's last account.
 *
 * With Security Hub configured, each unit's changes go to BatchImportFindings once stored
 * (shared/notify/security-hub.ts); an import that fails is logged, never fails the audit.
 *
 * Safe to repeat (SQS delivers at least once): units already complete in the run are skipped,
 * events and the account's count are conditional writes, alerts and the digest are claimed
 * before they are published and released when publishing fails.
 */
import { type Severity, severityRank } from '../checks/types.ts';
import type { AuditConfig } from '../config/audit-config.ts';
import { runAudit } from '../engine/run-audit.ts';
import type { FindingStore, RunCounters, RunRecord, UnitRunRecord } from '../history/finding-store.ts';
import { recordUnit, resultsByUnit } from '../history/record-audit.ts';
import { unitKey } from '../history/table.ts';
import type { AuditUnit, RunDigest, UnitAuditOutcome } from '../history/types.ts';
import type { AsffImporter } from '../notify/asff.ts';
import { digestMessage, regressionAlert } from '../notify/messages.ts';
import { type BatchImport, SecurityHubImport, type SecurityHubImportResult } from '../notify/security-hub.ts';
import type { SnsMessage } from '../notify/sns-message.ts';
import { loadFleet } from '../snapshot/load-fleet.ts';
import { memorySource } from '../snapshot/snapshot-source.ts';
import { ACCOUNT_VIEW_API, type CrossAccountDeps, withAccountViews } from './cross-account.ts';
import type { Notifier } from './notifier.ts';
import { type PartPlan, partMessage } from './routing.ts';
import type { WorkMessage } from './work-message.ts';

export interface PipelineLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  /** Errors that do not fail the audit (a Security Hub import); default: `warn`. */
  error?(message: string, extra?: Record<string, unknown>): void;
}

export interface AuditAccountDeps {
  readonly store: FindingStore;
  readonly notifier: Notifier;
  /**
   * Collects the account of the message into snapshot files (collectFleet, in production); a lead
   * also says which parts of the account it left to other units (routing.ts).
   */
  readonly collect: (message: WorkMessage) => Promise<ReadonlyMap<string, string> | CollectedAccount>;
  /** Sends a lead's part messages (to its own queue, or a network's): required when it forwards parts. */
  readonly forward?: (messages: readonly WorkMessage[]) => Promise<void>;
  readonly config?: AuditConfig;
  readonly now?: () => Date;
  readonly logger?: PipelineLogger;
  /**
   * The run's account views (cross-account IRSA, see cross-account.ts): the unit shares its
   * account's and reads the others'. Without them, roles in other accounts are not evaluated.
   */
  readonly views?: CrossAccountDeps;
  /**
   * Import each unit's changes into Security Hub: BatchImportFindings, into this account's default
   * product (absent: no import).
   */
  readonly securityHub?: { readonly send: BatchImport; readonly importer: AsffImporter };
}

/** What a lead collected, and the parts of its account it leaves to other units. */
export interface CollectedAccount {
  readonly files: ReadonlyMap<string, string>;
  readonly parts: readonly PartPlan[];
}

export interface AccountAuditResult {
  readonly accountId: string;
  readonly outcomes: readonly UnitAuditOutcome[];
  readonly alertsPublished: number;
  /** This delivery counted the account in the run (false on a re-delivery). */
  readonly counted: boolean;
  readonly digestPublished: boolean;
  readonly failure: string | null;
  /** The parts this lead forwarded (none for a part, or an account one unit carries). */
  readonly partsForwarded: number;
  /** What went to Security Hub (null when it is not configured). */
  readonly securityHub: SecurityHubImportResult | null;
}

const silent: PipelineLogger = { info() {}, warn() {} };

/** An account's counts in its run before any unit is counted. */
function noCounts(): { -readonly [K in keyof RunCounters]: number } {
  return {
    clustersAudited: 0,
    clustersPartial: 0,
    clustersBaselined: 0,
    newFindings: 0,
    resolvedFindings: 0,
    regressions: 0,
  };
}

export async function auditAccount(
  message: WorkMessage,
  deps: AuditAccountDeps,
): Promise<AccountAuditResult> {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silent;
  const { store } = deps;
  const gathered = await deps.collect(message);
  const collected = gathered instanceof Map ? gathered : (gathered as CollectedAccount).files;
  const parts = gathered instanceof Map || message.part ? [] : (gathered as CollectedAccount).parts;
  if (parts.length > 0 && (!deps.views || !deps.forward))
    throw new Error(
      `account ${message.accountId} has clusters for other units (${parts.length} part(s)), but this auditor has no account views or queue to forward them with`,
    );
  const forward = async () => {
    if (parts.length === 0 || !deps.forward) return;
    if (await store.partsSent(message.runId, message.accountId)) {
      logger.info('parts already sent by an earlier delivery', { parts: parts.length });
      return;
    }
    await deps.forward(parts.map((part) => partMessage(message, part)));
    await store.markPartsSent(
      message.runId,
      message.accountId,
      parts.map((p) => p.id),
      now().toISOString(),
    );
    logger.info('account fanned out', {
      parts: parts.map((p) => ({ id: p.id, clusters: p.clusters.length, network: p.network })),
    });
  };
  let files: ReadonlyMap<string, string> = collected;
  let missingViews: readonly string[] = [];
  if (deps.views) {
    // The parts go once the account's view is shared (they read its IAM from it).
    const shared = await withAccountViews(message, collected, deps.views, { afterShare: forward });
    files = shared.files;
    missingViews = shared.missing;
    if (shared.missing.length > 0)
      logger.warn('other accounts did not share their views in time', {
        missing: shared.missing,
        waitedMs: shared.waitedMs,
      });
    logger.info('account views read', { accounts: shared.read, waitedMs: shared.waitedMs });
  }
  const fleet = await loadFleet(memorySource(files, `account ${message.accountId}`));
  const report = runAudit(fleet, { now: now(), config: deps.config });
  const units = resultsByUnit(fleet, report.findings).filter((u) => isThisUnits(message, parts, u.unit));
  if (missingViews.length > 0) {
    // Another account's roles may trust these clusters (their findings belong to these units): with
    // its view missing, such a finding's absence proves nothing, so no unit resolves by absence.
    for (const unit of units) {
      unit.partial = true;
      unit.errors.push(`${ACCOUNT_VIEW_API}: the views of ${missingViews.join(', ')} were not available`);
    }
  }

  const counters = noCounts();
  const outcomes: UnitAuditOutcome[] = [];
  let alertsPublished = 0;
  const hub = deps.securityHub
    ? new SecurityHubImport({
        send: deps.securityHub.send,
        importer: deps.securityHub.importer,
        config: deps.config,
        logger: { info: logger.info.bind(logger), error: (logger.error ?? logger.warn).bind(logger) },
      })
    : null;
  let securityHub: SecurityHubImportResult | null = null;
  // What was stored goes to Security Hub even when a later unit fails the record (a re-delivery
  // skips the units already complete, and their changes with them).
  try {
    for (const entry of units) {
      const recorded = await recordUnit({ store, runId: message.runId, runAt: message.runAt, now }, entry);
      const { outcome } = recorded;
      outcomes.push(outcome);
      if (hub && !recorded.alreadyComplete && outcome.changes.length > 0)
        await hub.add(outcome.changes, message.runAt);
      const isCluster = outcome.unit.cluster !== null;
      if (recorded.alreadyComplete) {
        const done = recorded.completed;
        if (done)
          addCounts(
            counters,
            isCluster,
            done.partial,
            done.baseline,
            done.opened,
            done.resolved,
            done.regressions,
          );
        continue;
      }
      const opened = outcome.changes.filter((c) => c.type === 'opened' || c.type === 'reopened').length;
      const resolved = outcome.changes.filter((c) => c.type === 'resolved').length;
      const regressions = outcome.changes.filter((c) => c.regression);
      addCounts(counters, isCluster, outcome.partial, outcome.baseline, opened, resolved, regressions.length);

      let alertMessageId: string | null = null;
      const alert = regressionAlert(outcome);
      if (alert) {
        const sent = await deliverAlert(message.runId, outcome.unit, alert, deps);
        alertMessageId = sent.messageId;
        if (sent.publishedNow) alertsPublished++;
      }
      const maxSeverity = regressions.reduce<Severity | null>(
        (max, c) =>
          max === null || severityRank(c.finding.severity) < severityRank(max) ? c.finding.severity : max,
        null,
      );
      await store.completeUnit({
        runId: message.runId,
        unit: outcome.unit,
        status: 'complete',
        auditedAt: outcome.auditedAt,
        baseline: outcome.baseline,
        partial: outcome.partial,
        opened,
        resolved,
        regressions: regressions.length,
        maxSeverity,
        openBySeverity: outcome.openBySeverity,
        durationMs: outcome.durationMs,
        errors: recorded.errors.slice(0, 20),
        unread: recorded.unread,
        alertMessageId,
      });
      logger.info('unit audited', {
        unit: outcome.unit,
        baseline: outcome.baseline,
        partial: outcome.partial,
        opened,
        resolved,
        regressions: regressions.length,
      });
    }
  } finally {
    if (hub) securityHub = await hub.flush();
  }
  if (securityHub && securityHub.calls > 0)
    logger.info('Security Hub import', {
      imported: securityHub.imported,
      failed: securityHub.failedIds.length,
      calls: securityHub.calls,
    });

  const unreachable = report.findings.find(
    (f) => f.checkId === 'AUDIT-001' && f.status === 'fail' && f.accountId === message.accountId,
  );
  // A part reports no account failure: that is its lead's (it read the account's IAM from the lead).
  const failure = unreachable && !message.part ? unreachable.message : null;
  if (failure) logger.warn('account not audited', { accountId: message.accountId, reason: failure });
  const { run, counted } = message.part
    ? await store.completePart(
        message.runId,
        message.accountId,
        message.part.id,
        now().toISOString(),
        counters,
        // The account's own failure (AUDIT-001) is its lead's to report; a part fails only when none
        // of its clusters could be recorded.
        partFailure(message, units),
      )
    : await store.completeAccount(
        message.runId,
        message.accountId,
        now().toISOString(),
        counters,
        failure,
        parts.length,
      );
  const digestPublished = runDone(run) ? await publishDigest(run, deps) : false;
  return {
    accountId: message.accountId,
    outcomes,
    alertsPublished,
    counted,
    digestPublished,
    failure,
    partsForwarded: parts.length,
    securityHub,
  };
}

/** Every planned account and every part their leads forwarded is done: the digest can go. */
export function runDone(run: RunRecord): boolean {
  return run.accountsDone >= run.accountsPlanned && run.partsDone >= run.partsPlanned;
}

const placeOf = (region: string | null, cluster: string | null) => `${region}/${cluster}`;

/**
 * Whether a unit's results are this message's to record: a lead records its account's unit and the
 * clusters it read itself; a part, only its own clusters. Other accounts' units are theirs.
 */
function isThisUnits(message: WorkMessage, parts: readonly PartPlan[], unit: AuditUnit): boolean {
  if (unit.accountId !== message.accountId) return false;
  const place = placeOf(unit.region, unit.cluster);
  if (message.part) {
    const { region, clusters } = message.part;
    return unit.cluster !== null && clusters.some((name) => placeOf(region, name) === place);
  }
  return (
    unit.cluster === null || !parts.some((p) => p.clusters.some((name) => placeOf(p.region, name) === place))
  );
}

/** A part whose clusters left no unit (its account could not be assumed, say) counts as failed, named. */
function partFailure(message: WorkMessage, units: readonly { unit: AuditUnit }[]): string | null {
  const part = message.part;
  if (!part || units.length > 0) return null;
  return `clusters ${part.clusters.join(', ')} of ${part.region} (part ${part.id}) were not audited: nothing of them could be read`;
}

function addCounts(
  counters: { -readonly [K in keyof RunCounters]: number },
  isCluster: boolean,
  partial: boolean,
  baseline: boolean,
  opened: number,
  resolved: number,
  regressions: number,
): void {
  if (isCluster) {
    counters.clustersAudited++;
    if (partial) counters.clustersPartial++;
    if (baseline) counters.clustersBaselined++;
  }
  counters.newFindings += opened;
  counters.resolvedFindings += resolved;
  counters.regressions += regressions;
}

/**
 * The last delivery of a message failed (it goes to the dead-letter queue): the account is counted
 * in the run as failed, with the reason, so that the run completes and its digest, naming the
 * account, is still sent. Nothing of the account is recorded: its findings stay as they were.
 */
export async function accountGivenUp(
  message: WorkMessage,
  reason: string,
  deps: Pick<AuditAccountDeps, 'store' | 'notifier' | 'now'>,
): Promise<{ counted: boolean; digestPublished: boolean }> {
  const now = deps.now ?? (() => new Date());
  const why = `its audit failed on every delivery and the message went to the dead-letter queue: ${reason}`;
  const { run, counted } = message.part
    ? await deps.store.completePart(
        message.runId,
        message.accountId,
        message.part.id,
        now().toISOString(),
        noCounts(),
        `clusters ${message.part.clusters.join(', ')} of ${message.part.region} (part ${message.part.id}): ${why}`,
      )
    : await deps.store.completeAccount(
        message.runId,
        message.accountId,
        now().toISOString(),
        noCounts(),
        why,
      );
  const digestPublished = runDone(run)
    ? await publishDigest(run, { ...deps, collect: async () => new Map() })
    : false;
  return { counted, digestPublished };
}

/** How long a delivery waits for another delivery of the same message to publish a unit's alert. */
const ALERT_WAIT_MS = 10_000;

/**
 * Publishes a unit's alert at least once (README, "Delivery"): claim, publish with its dedup key,
 * mark published; a claim left by a delivery that died is taken over once it is stale. When
 * another live delivery holds the claim, this one waits for it to be marked published, and fails
 * the record if it is not (the message comes back later), never completing the unit without it.
 */
async function deliverAlert(
  runId: string,
  unit: AuditUnit,
  alert: SnsMessage,
  deps: AuditAccountDeps,
): Promise<{ messageId: string | null; publishedNow: boolean }> {
  const now = deps.now ?? (() => new Date());
  const { store } = deps;
  if (await store.claimAlert(runId, unit, now().toISOString())) {
    let messageId: string;
    try {
      messageId = await deps.notifier.publish(withDedupKey(alert, `regression#${runId}#${unitKey(unit)}`));
    } catch (error) {
      await store.releaseAlert(runId, unit);
      throw error;
    }
    await store.markAlertPublished(runId, unit, messageId, now().toISOString());
    return { messageId, publishedNow: true };
  }
  const waitUntil = Date.now() + ALERT_WAIT_MS;
  for (;;) {
    const published = await store.publishedAlert(runId, unit);
    if (published !== null) return { messageId: published, publishedNow: false };
    if (Date.now() >= waitUntil) {
      throw new Error(
        `the alert of ${unitKey(unit)} in run ${runId} is claimed by another delivery that has not published it: this record is retried`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The message with its dedup key: the same for every delivery of one alert or digest, so subscribers can drop repeats. */
export function withDedupKey(message: SnsMessage, key: string): SnsMessage {
  return {
    ...message,
    attributes: { ...message.attributes, dedupKey: { DataType: 'String', StringValue: key } },
  };
}

/** Sends the run's digest once, when every planned account is done. */
export async function publishDigest(run: RunRecord, deps: AuditAccountDeps): Promise<boolean> {
  const now = deps.now ?? (() => new Date());
  const { store } = deps;
  const at = now().toISOString();
  if (!(await store.claimDigest(run.runId, at))) return false;
  try {
    const digest = await buildDigest(run, store, at);
    await deps.notifier.publish(withDedupKey(digestMessage(digest), `digest#${run.runId}`));
  } catch (error) {
    await store.releaseDigest(run.runId);
    throw error;
  }
  await store.markDigestPublished(run.runId, now().toISOString());
  await store.completeRun(run.runId, at);
  return true;
}

/** How many clusters (and accounts, for an account's own reads) each failed read was counted on. */
function countUnread(units: readonly UnitRunRecord[]): RunDigest['unreadInputs'] {
  const counts = new Map<string, { read: string; clusters: number; accounts: number }>();
  for (const unit of units) {
    for (const read of unit.unread ?? []) {
      const entry = counts.get(read) ?? { read, clusters: 0, accounts: 0 };
      if (unit.unit.cluster === null) entry.accounts++;
      else entry.clusters++;
      counts.set(read, entry);
    }
  }
  return [...counts.values()].sort(
    (a, b) =>
      b.clusters + b.accounts - (a.clusters + a.accounts) || (a.read < b.read ? -1 : a.read > b.read ? 1 : 0),
  );
}

export async function buildDigest(run: RunRecord, store: FindingStore, at: string): Promise<RunDigest> {
  const units = await store.unitRuns(run.runId);
  const regressed = units
    .filter((u) => u.regressions > 0)
    .map((u) => ({ unit: u.unit, regressions: u.regressions, maxSeverity: u.maxSeverity ?? 'low' }))
    .sort(
      (a, b) => severityRank(a.maxSeverity) - severityRank(b.maxSeverity) || b.regressions - a.regressions,
    );
  return {
    runId: run.runId,
    startedAt: run.startedAt,
    completedAt: at,
    accountsPlanned: run.accountsPlanned,
    accountsAudited: run.accountsDone - Object.keys(run.accountsFailed).length,
    accountsFailed: [
      ...Object.entries(run.accountsFailed).map(([accountId, reason]) => ({ accountId, reason })),
      // A part that failed: its account was audited, but not these clusters.
      ...Object.entries(run.partsFailed).map(([key, reason]) => ({
        accountId: key.split(' ')[0] ?? key,
        reason,
      })),
    ],
    clustersAudited: run.clustersAudited,
    clustersPartial: run.clustersPartial,
    clustersBaselined: run.clustersBaselined,
    newFindings: run.newFindings,
    resolvedFindings: run.resolvedFindings,
    regressions: run.regressions,
    openBySeverity: (await store.openCountsFromUnits()).openBySeverity,
    unreadInputs: countUnread(units),
    regressedUnits: regressed,
  };
}
