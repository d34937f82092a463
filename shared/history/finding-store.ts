/**
 * The finding store on DynamoDB (single table, see table.ts and docs/finding-store.md). No
 * transaction anywhere (dynalite has none, and none is needed): every write is idempotent by its
 * key, and the few that must happen once (an account counted in a run, an alert, the digest) are
 * conditional writes that claim a flag.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { SEVERITIES, type Severity } from '../checks/types.ts';
import type { ReconcileOutput, StoredFindingRecord } from './reconcile.ts';
import { DEFAULT_RETENTION_DAYS, expiresAt, keys, parseUnitKey, TABLE, unitKey } from './table.ts';
import type { AuditUnit, ChangeType, FindingChange, StoredFinding } from './types.ts';

export interface UnitStateRecord {
  readonly unit: AuditUnit;
  readonly firstAuditAt: string | null;
  readonly lastAuditAt: string | null;
  readonly lastCompleteRunId: string | null;
  /** The run whose audit of the unit was its baseline (its first complete audit). */
  readonly baselineRunId: string | null;
  readonly openBySeverity: Record<Severity, number>;
}

export interface RunRecord {
  readonly runId: string;
  readonly startedAt: string;
  readonly accountsPlanned: number;
  readonly accountsDone: number;
  readonly clustersAudited: number;
  readonly clustersPartial: number;
  readonly clustersBaselined: number;
  readonly newFindings: number;
  readonly resolvedFindings: number;
  readonly regressions: number;
  readonly accountsFailed: Record<string, string>;
  /** Parts of accounts the leads forwarded (shared/pipeline/routing.ts), and how many are done. */
  readonly partsPlanned: number;
  readonly partsDone: number;
  /** `<account> <part id>` -> why the part could not be audited. */
  readonly partsFailed: Record<string, string>;
  readonly completedAt: string | null;
  readonly digestClaimedAt: string | null;
}

export interface UnitRunRecord {
  readonly runId: string;
  readonly unit: AuditUnit;
  readonly status: 'complete';
  readonly auditedAt: string;
  readonly baseline: boolean;
  readonly partial: boolean;
  readonly opened: number;
  readonly resolved: number;
  readonly regressions: number;
  /** The most severe regression's severity, null without regressions. */
  readonly maxSeverity: Severity | null;
  readonly openBySeverity: Record<Severity, number>;
  readonly durationMs: number;
  readonly errors: readonly string[];
  /** The failed reads of the unit (`eks:ListPodIdentityAssociations denied`); absent in older records. */
  readonly unread?: readonly string[];
  readonly alertMessageId: string | null;
}

export interface HistoryEvent {
  readonly at: string;
  readonly runId: string;
  readonly type: ChangeType;
  readonly regression: boolean;
  readonly previousSeverity: Severity | null;
  readonly unit: AuditUnit;
  readonly finding: StoredFinding;
}

/**
 * How long a claim to publish an alert or the digest holds. Publishing takes milliseconds; a
 * re-delivered message comes back after the queue's visibility timeout (hours), so a claim older
 * than this was left by a delivery that died before publishing, and is taken over. Two deliveries
 * of one message at the same moment still send one alert.
 */
export const ALERT_LEASE_MS = 5 * 60_000;

/** The key of an item in the table or an index: where a paged Query resumes (ExclusiveStartKey). */
export type PageKey = Record<string, string>;

/**
 * One paged access pattern: a Query (table or index) and how its items read. The history queries
 * page with these (query-history.ts) and put the key where a page ended in their cursor.
 */
export interface PageSpec<T> {
  readonly pattern: string;
  readonly input: Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>;
  /** The attributes of a key of this Query: the table's key, plus the index's when on an index. */
  readonly keyNames: readonly string[];
  /** The partition the Query reads: a start key must be in it. */
  readonly partition: { readonly name: string; readonly value: string };
  readonly map: (item: Record<string, unknown>) => T;
}

export interface Page<T> {
  readonly items: T[];
  /** Where the next page starts, or null when the Query has nothing more. */
  readonly next: PageKey | null;
}

export interface RunCounters {
  readonly clustersAudited: number;
  readonly clustersPartial: number;
  readonly clustersBaselined: number;
  readonly newFindings: number;
  readonly resolvedFindings: number;
  readonly regressions: number;
}

export interface FindingStoreOptions {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  /** History retention (TTL), in days. */
  readonly retentionDays?: number;
}

const emptyBySeverity = () => Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

/** Items of the table carry bookkeeping attributes; these are stripped from what callers read. */
const BOOKKEEPING = new Set([
  'pk',
  'sk',
  'type',
  'expiresAt',
  'gsi1pk',
  'gsi1sk',
  'gsi2pk',
  'gsi2sk',
  'gsi3pk',
  'gsi3sk',
  'gsi4pk',
  'gsi4sk',
  'gsi5pk',
  'gsi5sk',
  'unitKey',
]);

function strip<T>(item: Record<string, unknown>): T {
  return Object.fromEntries(Object.entries(item).filter(([k]) => !BOOKKEEPING.has(k))) as T;
}

export class FindingStore {
  readonly tableName: string;
  readonly retentionDays: number;
  private readonly doc: DynamoDBDocumentClient;
  /** Read capacity consumed, by access pattern (the store benchmark reads it). */
  readonly consumed: Record<string, number> = {};
  /** Items written, by kind (the store benchmark reads it). */
  readonly written: Record<string, number> = {};

  constructor(options: FindingStoreOptions) {
    this.tableName = options.tableName;
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
  }

  private count(kind: string, n = 1): void {
    this.written[kind] = (this.written[kind] ?? 0) + n;
  }

  private async query(
    pattern: string,
    input: Omit<QueryCommandInput, 'TableName'>,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          ...input,
          ReturnConsumedCapacity: 'TOTAL',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      this.consumed[pattern] = (this.consumed[pattern] ?? 0) + (page.ConsumedCapacity?.CapacityUnits ?? 0);
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      start = page.LastEvaluatedKey;
      if (input.Limit !== undefined && items.length >= input.Limit) break;
    } while (start);
    return items;
  }

  private async get(
    pattern: string,
    key: { pk: string; sk: string },
  ): Promise<Record<string, unknown> | undefined> {
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: key,
        ConsistentRead: true,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.consumed[pattern] = (this.consumed[pattern] ?? 0) + (result.ConsumedCapacity?.CapacityUnits ?? 0);
    return result.Item as Record<string, unknown> | undefined;
  }

  // ---- the auditor's writes, in the order it makes them -------------------------------------------

  /** Starts a run; a second start of the same run id returns the existing record. */
  async startRun(runId: string, startedAt: string, accountsPlanned: number): Promise<RunRecord> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.run(runId),
            type: 'run',
            runId,
            startedAt,
            accountsPlanned,
            accountsDone: 0,
            clustersAudited: 0,
            clustersPartial: 0,
            clustersBaselined: 0,
            newFindings: 0,
            resolvedFindings: 0,
            regressions: 0,
            accountsFailed: {},
            partsFailed: {},
            expiresAt: expiresAt(startedAt, this.retentionDays),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      this.count('run');
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const run = await this.getRun(runId);
    if (!run) throw new Error(`run ${runId} vanished from table ${this.tableName}`);
    return run;
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    const item = await this.get('run', keys.run(runId));
    return item ? toRun(item) : null;
  }

  async getUnitState(unit: AuditUnit): Promise<UnitStateRecord | null> {
    const item = await this.get('unit state', keys.unitState(unit));
    if (!item) return null;
    return {
      unit,
      firstAuditAt: (item.firstAuditAt as string | undefined) ?? null,
      lastAuditAt: (item.lastAuditAt as string | undefined) ?? null,
      lastCompleteRunId: (item.lastCompleteRunId as string | undefined) ?? null,
      baselineRunId: (item.baselineRunId as string | undefined) ?? null,
      openBySeverity: {
        ...emptyBySeverity(),
        ...(item.openBySeverity as Record<Severity, number> | undefined),
      },
    };
  }

  async getUnitRun(
    runId: string,
    unit: AuditUnit,
  ): Promise<(UnitRunRecord & { alertClaimed: boolean }) | null> {
    const item = await this.get('unit run', keys.unitRun(runId, unit));
    if (!item) return null;
    return { ...strip<UnitRunRecord>(item), unit, alertClaimed: item.alertClaimedAt !== undefined };
  }

  /** Every finding state of a unit (all states), for the comparison. */
  async loadFindings(unit: AuditUnit): Promise<StoredFindingRecord[]> {
    const { pk } = keys.unitState(unit);
    const items = await this.query('findings of a unit', {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': keys.findingPrefix(unit.region, unit.cluster) },
      ConsistentRead: true,
    });
    return items.map((item) => strip<StoredFindingRecord>(item));
  }

  /**
   * Writes one unit's changes: each event first (conditional: a re-delivered run does not record it
   * twice), then the finding states (idempotent puts of the same content).
   */
  async writeChanges(
    unit: AuditUnit,
    runId: string,
    runAt: string,
    output: ReconcileOutput,
  ): Promise<{ newEvents: number }> {
    // Before the first finding write, the unit state says that this run is rewriting the unit's
    // findings: until completeUnit stores the new counts (and removes the mark), the unit's
    // openBySeverity may be stale, and the digest counts that unit's open findings instead
    // (openCountsFromUnits). Only units with a change pay this write: a quiet night does not.
    if (output.writes.length > 0) await this.markWriting(unit, runId);
    let newEvents = 0;
    for (const change of output.changes) {
      const created = await this.putEvent(unit, runId, runAt, change);
      if (created) newEvents++;
    }
    const puts = output.writes.map((record) => ({ PutRequest: { Item: this.findingItem(unit, record) } }));
    for (let i = 0; i < puts.length; i += 25) {
      let batch: Record<string, unknown>[] = puts.slice(i, i + 25);
      for (let attempt = 0; batch.length > 0; attempt++) {
        const result = await this.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: batch as never } }),
        );
        batch = (result.UnprocessedItems?.[this.tableName] ?? []) as Record<string, unknown>[];
        if (batch.length > 0) {
          if (attempt >= 8)
            throw new Error(`DynamoDB left ${batch.length} finding writes unprocessed in ${this.tableName}`);
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        }
      }
    }
    this.count('finding state', puts.length);
    return { newEvents };
  }

  private async markWriting(unit: AuditUnit, runId: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.unitState(unit),
        ...setAll({
          type: 'unit',
          unitKey: unitKey(unit),
          accountId: unit.accountId,
          region: unit.region,
          cluster: unit.cluster,
          ...keys.unitIndex(unit),
          writingRunId: runId,
        }),
      }),
    );
    this.count('unit state');
  }

  private findingItem(unit: AuditUnit, record: StoredFindingRecord): Record<string, unknown> {
    const open = record.state === 'open';
    return {
      ...keys.findingState(unit, record.findingId),
      type: 'finding',
      unitKey: unitKey(unit),
      ...record,
      ...(open
        ? {
            ...keys.openBySeverity(record.severity, record.checkId, unit, record.findingId),
            ...keys.openByUnit(record.severity, record.checkId, unit, record.findingId),
          }
        : {}),
      // Resolved findings leave with the history; open and exempted ones stay.
      ...(record.state === 'resolved' && record.resolvedAt
        ? { expiresAt: expiresAt(record.resolvedAt, this.retentionDays) }
        : {}),
    };
  }

  private async putEvent(
    unit: AuditUnit,
    runId: string,
    runAt: string,
    change: FindingChange,
  ): Promise<boolean> {
    const id = change.finding.findingId;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.event(unit, runAt, id),
            ...keys.findingHistory(id, runAt),
            ...keys.eventsByDay(runAt, unit, id),
            type: 'event',
            unitKey: unitKey(unit),
            at: runAt,
            runId,
            changeType: change.type,
            regression: change.regression,
            previousSeverity: change.previousSeverity,
            finding: change.finding,
            expiresAt: expiresAt(runAt, this.retentionDays),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      this.count('event');
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Claims the right to publish a unit's alert in a run: false when it was published, or claimed
   * less than ALERT_LEASE_MS ago (another delivery is publishing it). A claim older than that
   * whose alert was never marked published was left by a delivery that died between claiming and
   * publishing: it is taken over, so the alert is sent at least once.
   */
  async claimAlert(runId: string, unit: AuditUnit, at: string): Promise<boolean> {
    return this.claim(keys.unitRun(runId, unit), 'alertClaimedAt', at, 'unit run', 'alertPublishedAt');
  }

  /** Marks a unit's alert published (right after SNS accepted it), so no later delivery sends it again. */
  async markAlertPublished(runId: string, unit: AuditUnit, messageId: string, at: string): Promise<void> {
    await this.markPublished(keys.unitRun(runId, unit), { alertPublishedAt: at, alertMessageId: messageId });
  }

  /** The message id of a unit's alert published by an earlier delivery, if any. */
  async publishedAlert(runId: string, unit: AuditUnit): Promise<string | null> {
    const item = await this.get('unit run', keys.unitRun(runId, unit));
    return typeof item?.alertMessageId === 'string' ? item.alertMessageId : null;
  }

  /** Marks the run's digest published. */
  /**
   * Whether a delivery of this account's lead already sent its parts (routing.ts): a re-delivered
   * lead does not send them again. Marked after sending, so a crash in between sends twice (a part
   * is idempotent), never zero times.
   */
  async partsSent(runId: string, accountId: string): Promise<boolean> {
    return (await this.get('parts sent', keys.partsSent(runId, accountId))) !== undefined;
  }

  async markPartsSent(
    runId: string,
    accountId: string,
    partIds: readonly string[],
    at: string,
  ): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.partsSent(runId, accountId),
          type: 'parts-sent',
          runId,
          accountId,
          partIds: [...partIds],
          sentAt: at,
          expiresAt: expiresAt(at, this.retentionDays),
        },
      }),
    );
    this.count('parts sent');
  }

  async markDigestPublished(runId: string, at: string): Promise<void> {
    await this.markPublished(keys.run(runId), { digestPublishedAt: at });
  }

  private async markPublished(
    key: { pk: string; sk: string },
    values: Record<string, string>,
  ): Promise<void> {
    const names = Object.keys(values);
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: `SET ${names.map((n) => `#${n} = :${n}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((n) => [`#${n}`, n])),
        ExpressionAttributeValues: Object.fromEntries(names.map((n) => [`:${n}`, values[n]])),
      }),
    );
  }

  /** Gives a claim back (the publish failed): the next delivery publishes. */
  async releaseAlert(runId: string, unit: AuditUnit): Promise<void> {
    await this.release(keys.unitRun(runId, unit), 'alertClaimedAt');
  }

  async releaseDigest(runId: string): Promise<void> {
    await this.release(keys.run(runId), 'digestClaimedAt');
  }

  private async release(key: { pk: string; sk: string }, attribute: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'REMOVE #a',
        ExpressionAttributeNames: { '#a': attribute },
      }),
    );
  }

  /** Claims the right to publish the run's digest (a lease, as claimAlert). */
  async claimDigest(runId: string, at: string): Promise<boolean> {
    return this.claim(keys.run(runId), 'digestClaimedAt', at, 'run', 'digestPublishedAt');
  }

  private async claim(
    key: { pk: string; sk: string },
    attribute: string,
    at: string,
    kind: string,
    published: string,
  ): Promise<boolean> {
    const stale = new Date(Date.parse(at) - ALERT_LEASE_MS).toISOString();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET #a = :at, expiresAt = if_not_exists(expiresAt, :ttl)',
          // Free, or claimed long ago by a delivery that never said it published (it died).
          ConditionExpression: 'attribute_not_exists(#a) OR (#a < :stale AND attribute_not_exists(#p))',
          ExpressionAttributeNames: { '#a': attribute, '#p': published },
          ExpressionAttributeValues: {
            ':at': at,
            ':stale': stale,
            ':ttl': expiresAt(at, this.retentionDays),
          },
        }),
      );
      this.count(kind);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Records a unit's audit as complete in the run, and as the unit's last complete audit. */
  async completeUnit(record: UnitRunRecord): Promise<void> {
    const { unit } = record;
    const state = setAll({
      type: 'unit',
      unitKey: unitKey(unit),
      accountId: unit.accountId,
      region: unit.region,
      cluster: unit.cluster,
      lastAuditAt: record.auditedAt,
      lastCompleteRunId: record.runId,
      // A re-delivery that finds this run's state but not its record must decide the baseline the same.
      ...(record.baseline ? { baselineRunId: record.runId } : {}),
      openBySeverity: record.openBySeverity,
      ...keys.unitIndex(unit),
    });
    // The counts now agree with the unit's finding states: the mark of writeChanges goes.
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.unitState(unit),
        UpdateExpression: `${state.UpdateExpression}, #firstAuditAt = if_not_exists(#firstAuditAt, :lastAuditAt) REMOVE #writingRunId`,
        ExpressionAttributeNames: {
          ...state.ExpressionAttributeNames,
          '#firstAuditAt': 'firstAuditAt',
          '#writingRunId': 'writingRunId',
        },
        ExpressionAttributeValues: state.ExpressionAttributeValues,
      }),
    );
    this.count('unit state');
    // The run's record last: once it says complete, no delivery touches the unit again, so
    // everything it stands for (the unit state above) must be written before it.
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.unitRun(record.runId, unit),
        ...setAll({
          type: 'unit-run',
          unitKey: unitKey(unit),
          runId: record.runId,
          status: record.status,
          auditedAt: record.auditedAt,
          baseline: record.baseline,
          partial: record.partial,
          opened: record.opened,
          resolved: record.resolved,
          regressions: record.regressions,
          maxSeverity: record.maxSeverity,
          openBySeverity: record.openBySeverity,
          durationMs: record.durationMs,
          errors: record.errors,
          unread: record.unread ?? [],
          alertMessageId: record.alertMessageId,
          expiresAt: expiresAt(record.auditedAt, this.retentionDays),
        }),
      }),
    );
    this.count('unit run');
  }

  /**
   * Counts an account as done in a run, once: the marker is a conditional put, the run's counters
   * move only when it is new. `partsPlanned`: the parts its lead forwarded (routing.ts), which the
   * run then also waits for. Returns the run after the update and whether this call counted it.
   */
  async completeAccount(
    runId: string,
    accountId: string,
    at: string,
    counters: RunCounters,
    failure: string | null,
    partsPlanned = 0,
  ): Promise<{ run: RunRecord; counted: boolean }> {
    return this.completeWork(runId, { accountId, partId: null }, at, counters, failure, partsPlanned);
  }

  /** Counts a part of an account (routing.ts) as done in a run, once, as completeAccount does. */
  async completePart(
    runId: string,
    accountId: string,
    partId: string,
    at: string,
    counters: RunCounters,
    failure: string | null,
  ): Promise<{ run: RunRecord; counted: boolean }> {
    return this.completeWork(runId, { accountId, partId }, at, counters, failure, 0);
  }

  private async completeWork(
    runId: string,
    work: { accountId: string; partId: string | null },
    at: string,
    counters: RunCounters,
    failure: string | null,
    partsPlanned: number,
  ): Promise<{ run: RunRecord; counted: boolean }> {
    const { accountId, partId } = work;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...(partId === null ? keys.accountRun(runId, accountId) : keys.partRun(runId, accountId, partId)),
            type: partId === null ? 'account-run' : 'part-run',
            runId,
            accountId,
            ...(partId === null ? { partsPlanned } : { partId }),
            completedAt: at,
            failure,
            ...counters,
            expiresAt: expiresAt(at, this.retentionDays),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      this.count(partId === null ? 'account run' : 'part run');
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const run = await this.getRun(runId);
      if (!run) throw new Error(`run ${runId} not found in table ${this.tableName}`);
      return { run, counted: false };
    }
    const failedMap = partId === null ? 'accountsFailed' : 'partsFailed';
    const failedKey = partId === null ? accountId : `${accountId} ${partId}`;
    const result = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.run(runId),
        UpdateExpression:
          `ADD ${partId === null ? 'accountsDone' : 'partsDone'} :one, partsPlanned :parts, ` +
          'clustersAudited :audited, clustersPartial :partial, clustersBaselined :baselined, ' +
          'newFindings :new, resolvedFindings :resolved, regressions :regressions' +
          (failure === null ? '' : ` SET ${failedMap}.#work = :failure`),
        ExpressionAttributeNames: failure === null ? undefined : { '#work': failedKey },
        ExpressionAttributeValues: {
          ':one': 1,
          ':parts': partsPlanned,
          ':audited': counters.clustersAudited,
          ':partial': counters.clustersPartial,
          ':baselined': counters.clustersBaselined,
          ':new': counters.newFindings,
          ':resolved': counters.resolvedFindings,
          ':regressions': counters.regressions,
          ...(failure === null ? {} : { ':failure': failure }),
        },
        ConditionExpression: 'attribute_exists(pk)',
        ReturnValues: 'ALL_NEW',
      }),
    );
    this.count('run');
    return { run: toRun(result.Attributes as Record<string, unknown>), counted: true };
  }

  async completeRun(runId: string, at: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.run(runId),
        UpdateExpression: 'SET completedAt = if_not_exists(completedAt, :at)',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
    this.count('run');
  }

  // ---- the access patterns people use (irsa-audit history, the query API) -------------------------

  /**
   * Up to `limit` items of one Query for which `keep` holds, from `start`. The next page starts
   * after the last item returned (its key, built from its attributes), so a filter or a page cut
   * short by the limit never skips or repeats an item.
   */
  async queryPage<T>(
    spec: PageSpec<T>,
    options: { limit: number; start?: PageKey | null; keep?: (value: T) => boolean },
  ): Promise<Page<T>> {
    const items: T[] = [];
    const keyOf = (item: Record<string, unknown>): PageKey =>
      Object.fromEntries(spec.keyNames.map((name) => [name, String(item[name])]));
    let start: Record<string, unknown> | undefined =
      options.start && Object.keys(options.start).length > 0 ? options.start : undefined;
    let last: Record<string, unknown> | undefined;
    for (;;) {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          ...spec.input,
          // Read somewhat more than needed: a filter may drop some, and each request costs at least half a unit.
          Limit: Math.min(1_000, Math.max(100, options.limit - items.length)),
          ReturnConsumedCapacity: 'TOTAL',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      this.consumed[spec.pattern] =
        (this.consumed[spec.pattern] ?? 0) + (page.ConsumedCapacity?.CapacityUnits ?? 0);
      for (const item of (page.Items ?? []) as Record<string, unknown>[]) {
        if (items.length >= options.limit) return { items, next: last ? keyOf(last) : null };
        const value = spec.map(item);
        if (options.keep && !options.keep(value)) continue;
        items.push(value);
        last = item;
      }
      if (!page.LastEvaluatedKey) return { items, next: null };
      if (items.length >= options.limit) return { items, next: page.LastEvaluatedKey as PageKey };
      start = page.LastEvaluatedKey;
    }
  }

  private spec<T>(
    pattern: string,
    index: { name: string; partitionKey: string; sortKey: string } | null,
    partition: string,
    range: { condition: string; values: Record<string, string> } | null,
    map: (item: Record<string, unknown>) => T,
  ): PageSpec<T> {
    const pkName = index ? index.partitionKey : TABLE.partitionKey;
    const skName = index ? index.sortKey : TABLE.sortKey;
    return {
      pattern,
      input: {
        ...(index ? { IndexName: index.name } : {}),
        KeyConditionExpression: `#pk = :pk${range ? ` AND ${range.condition}` : ''}`,
        ExpressionAttributeNames: { '#pk': pkName, ...(range ? { '#sk': skName } : {}) },
        ExpressionAttributeValues: { ':pk': partition, ...(range?.values ?? {}) },
      },
      keyNames: [TABLE.partitionKey, TABLE.sortKey, ...(index ? [index.partitionKey, index.sortKey] : [])],
      partition: { name: pkName, value: partition },
      map,
    };
  }

  /** Paged: open findings of one unit, most severe first (gsi3). */
  openOfUnitPages(unit: AuditUnit): PageSpec<StoredFinding> {
    return this.spec(
      'open findings of a cluster',
      TABLE.indexes.openByUnit,
      `OPEN#${unitKey(unit)}`,
      null,
      publicFinding,
    );
  }

  /** Paged: open findings fleet-wide of one severity, optionally of one check (gsi2). */
  openPages(severity: Severity, checkId?: string): PageSpec<StoredFinding> {
    return this.spec(
      'open findings by severity and check',
      TABLE.indexes.openBySeverity,
      `OPEN#${severity}`,
      checkId ? { condition: 'begins_with(#sk, :check)', values: { ':check': `${checkId}#` } } : null,
      publicFinding,
    );
  }

  /** Paged: every finding (any state) of an account, or of one unit of it. */
  accountPages(accountId: string, region?: string | null, cluster?: string | null): PageSpec<StoredFinding> {
    return this.spec(
      'findings of an account',
      null,
      `ACCOUNT#${accountId}`,
      {
        condition: 'begins_with(#sk, :prefix)',
        values: {
          ':prefix':
            region === undefined ? keys.findingPrefix() : keys.findingPrefix(region, cluster ?? null),
        },
      },
      publicFinding,
    );
  }

  /** Paged: the history of one finding, oldest first (gsi1). */
  historyPages(findingId: string): PageSpec<HistoryEvent> {
    return this.spec(
      'history of one finding',
      TABLE.indexes.findingHistory,
      `FINDING#${findingId}`,
      null,
      toEvent,
    );
  }

  /** Paged: the changes of one unit from `since` to `until` (inclusive), oldest first. */
  unitEventPages(unit: AuditUnit, since: string, until: string): PageSpec<HistoryEvent> {
    return this.spec(
      'what was open on a cluster at a date',
      null,
      keys.event(unit, '', '').pk,
      { condition: '#sk BETWEEN :from AND :to', values: { ':from': since, ':to': `${until}~` } },
      toEvent,
    );
  }

  /** Paged: the changes fleet-wide on one day (`yyyy-mm-dd`), from `since` to `until` (gsi4). */
  dayEventPages(day: string, since: string, until: string): PageSpec<HistoryEvent> {
    return this.spec(
      'changes since a date',
      TABLE.indexes.eventsByDay,
      `DAY#${day}`,
      { condition: '#sk BETWEEN :from AND :to', values: { ':from': since, ':to': `${until}~` } },
      toEvent,
    );
  }

  /** Open findings of one cluster (or the account level), most severe first. */
  async openFindingsOfUnit(unit: AuditUnit): Promise<StoredFinding[]> {
    const index = TABLE.indexes.openByUnit;
    const items = await this.query('open findings of a cluster', {
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey },
      ExpressionAttributeValues: { ':pk': `OPEN#${unitKey(unit)}` },
    });
    return items.map((item) => publicFinding(item));
  }

  /** Open findings fleet-wide of one severity, optionally of one check. */
  async openFindings(severity: Severity, checkId?: string): Promise<StoredFinding[]> {
    const index = TABLE.indexes.openBySeverity;
    const items = await this.query('open findings by severity and check', {
      IndexName: index.name,
      KeyConditionExpression: checkId ? '#pk = :pk AND begins_with(#sk, :check)' : '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey, ...(checkId ? { '#sk': index.sortKey } : {}) },
      ExpressionAttributeValues: {
        ':pk': `OPEN#${severity}`,
        ...(checkId ? { ':check': `${checkId}#` } : {}),
      },
    });
    return items.map((item) => publicFinding(item));
  }

  /**
   * Open findings fleet-wide by severity, for the digest: the sum of every unit state's
   * `openBySeverity` (one Query of gsi5, O(units)). A unit state carries the counts of the unit's
   * last complete audit, which are its open findings until the unit is audited again, whether or
   * not it was audited this run (a failed account, a message on the DLQ, a deleted cluster). A unit
   * marked `writingRunId` (its findings were rewritten and the audit did not complete) is counted
   * from its open findings instead (gsi3, O(that unit's findings)). Equal to
   * {@link countOpenBySeverity}, for a fraction of the reads.
   */
  async openCountsFromUnits(): Promise<{
    openBySeverity: Record<Severity, number>;
    units: number;
    recounted: AuditUnit[];
  }> {
    const index = TABLE.indexes.units;
    const items = await this.query('open counts from unit states', {
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey },
      ExpressionAttributeValues: { ':pk': 'UNITS' },
    });
    const counts = emptyBySeverity();
    const recounted: AuditUnit[] = [];
    for (const item of items) {
      if (item.writingRunId === undefined) {
        const unitCounts = (item.openBySeverity as Partial<Record<Severity, number>> | undefined) ?? {};
        for (const severity of SEVERITIES) counts[severity] += Number(unitCounts[severity] ?? 0);
        continue;
      }
      const unit = parseUnitKey(String(item[index.sortKey]));
      recounted.push(unit);
      const open = await this.query('open counts from unit states', {
        IndexName: TABLE.indexes.openByUnit.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': TABLE.indexes.openByUnit.partitionKey, '#s': 'severity' },
        ExpressionAttributeValues: { ':pk': `OPEN#${unitKey(unit)}` },
        ProjectionExpression: '#s',
      });
      for (const finding of open) counts[finding.severity as Severity]++;
    }
    return { openBySeverity: counts, units: items.length, recounted };
  }

  /**
   * Counts open findings fleet-wide by severity from the findings themselves (gsi2, `Select:
   * COUNT`, reading every open finding): the reference {@link openCountsFromUnits} is tested
   * against, and what the digest used to read.
   */
  async countOpenBySeverity(): Promise<Record<Severity, number>> {
    const index = TABLE.indexes.openBySeverity;
    const counts = emptyBySeverity();
    for (const severity of SEVERITIES) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: index.name,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': index.partitionKey },
            ExpressionAttributeValues: { ':pk': `OPEN#${severity}` },
            Select: 'COUNT',
            ReturnConsumedCapacity: 'TOTAL',
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        this.consumed['open counts by severity'] =
          (this.consumed['open counts by severity'] ?? 0) + (page.ConsumedCapacity?.CapacityUnits ?? 0);
        counts[severity] += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return counts;
  }

  /** Every finding (any state) of an account, or of one cluster of it. */
  async findingsOfAccount(
    accountId: string,
    region?: string | null,
    cluster?: string | null,
  ): Promise<StoredFinding[]> {
    const items = await this.query('findings of an account', {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': `ACCOUNT#${accountId}`,
        ':prefix': region === undefined ? keys.findingPrefix() : keys.findingPrefix(region, cluster ?? null),
      },
    });
    return items.map((item) => publicFinding(item));
  }

  /** The history of one finding, oldest first. */
  async findingHistory(findingId: string): Promise<HistoryEvent[]> {
    const index = TABLE.indexes.findingHistory;
    const items = await this.query('history of one finding', {
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey },
      ExpressionAttributeValues: { ':pk': `FINDING#${findingId}` },
    });
    return items.map(toEvent);
  }

  /** The changes of one unit up to `until` (inclusive), oldest first. */
  async unitEvents(unit: AuditUnit, until: string): Promise<HistoryEvent[]> {
    const items = await this.query('what was open on a cluster at a date', {
      KeyConditionExpression: 'pk = :pk AND sk <= :until',
      ExpressionAttributeValues: { ':pk': keys.event(unit, '', '').pk, ':until': `${until}~` },
    });
    return items.map(toEvent);
  }

  /**
   * What was open on a unit at a date: the last change of each finding up to that date, replayed.
   * A finding still open whose opening event has expired (TTL) is taken from its state.
   */
  async openAt(unit: AuditUnit, at: string): Promise<StoredFinding[]> {
    const last = new Map<string, HistoryEvent>();
    for (const event of await this.unitEvents(unit, at)) last.set(event.finding.findingId, event);
    const open = new Map<string, StoredFinding>();
    for (const [id, event] of last) {
      if (event.type === 'opened' || event.type === 'reopened' || event.type === 'severity-changed')
        open.set(id, { ...event.finding, state: 'open' });
    }
    for (const finding of await this.openFindingsOfUnit(unit)) {
      if (!last.has(finding.findingId) && finding.openedAt !== null && finding.openedAt <= at)
        open.set(finding.findingId, finding);
    }
    return [...open.values()];
  }

  /** The changes fleet-wide from `since` to `until`, by day (one Query per day). */
  async eventsBetween(since: string, until: string): Promise<HistoryEvent[]> {
    const index = TABLE.indexes.eventsByDay;
    const events: HistoryEvent[] = [];
    const day = new Date(`${since.slice(0, 10)}T00:00:00Z`);
    const last = until.slice(0, 10);
    for (let guard = 0; day.toISOString().slice(0, 10) <= last && guard < 3_660; guard++) {
      const items = await this.query('changes since a date', {
        IndexName: index.name,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey },
        ExpressionAttributeValues: {
          ':pk': `DAY#${day.toISOString().slice(0, 10)}`,
          ':from': since,
          ':to': `${until}~`,
        },
      });
      events.push(...items.map(toEvent));
      day.setUTCDate(day.getUTCDate() + 1);
    }
    return events;
  }

  /** The last `limit` runs, newest first. */
  async recentRuns(limit: number): Promise<RunRecord[]> {
    const items = await this.query('runs of the last N nights', {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': 'RUNS', ':prefix': 'RUN#' },
      ScanIndexForward: false,
      Limit: limit,
    });
    return items.slice(0, limit).map(toRun);
  }

  /** The units audited in one run. */
  async unitRuns(runId: string): Promise<UnitRunRecord[]> {
    const items = await this.query('units of a run', {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `RUN#${runId}`, ':prefix': 'UNIT#' },
    });
    return items.map((item) => ({ ...strip<UnitRunRecord>(item), unit: parseUnitKey(String(item.unitKey)) }));
  }
}

/** `SET #a = :a, ...` for every attribute, names escaped (DynamoDB reserves hundreds of words). */
function setAll(values: Record<string, unknown>) {
  const names = Object.keys(values);
  return {
    UpdateExpression: `SET ${names.map((n) => `#${n} = :${n}`).join(', ')}`,
    ExpressionAttributeNames: Object.fromEntries(names.map((n) => [`#${n}`, n])),
    ExpressionAttributeValues: Object.fromEntries(names.map((n) => [`:${n}`, values[n]])),
  };
}

function publicFinding(item: Record<string, unknown>): StoredFinding {
  const { lastChangeRunId: _r, previous: _p, lastSeenAt: _s, ...finding } = strip<StoredFindingRecord>(item);
  return finding;
}

function toEvent(item: Record<string, unknown>): HistoryEvent {
  return {
    at: String(item.at),
    runId: String(item.runId),
    type: item.changeType as ChangeType,
    regression: Boolean(item.regression),
    previousSeverity: (item.previousSeverity as Severity | null | undefined) ?? null,
    unit: parseUnitKey(String(item.unitKey)),
    finding: item.finding as StoredFinding,
  };
}

function toRun(item: Record<string, unknown>): RunRecord {
  const n = (key: string) => Number(item[key] ?? 0);
  return {
    runId: String(item.runId),
    startedAt: String(item.startedAt),
    accountsPlanned: n('accountsPlanned'),
    accountsDone: n('accountsDone'),
    clustersAudited: n('clustersAudited'),
    clustersPartial: n('clustersPartial'),
    clustersBaselined: n('clustersBaselined'),
    newFindings: n('newFindings'),
    resolvedFindings: n('resolvedFindings'),
    regressions: n('regressions'),
    accountsFailed: (item.accountsFailed as Record<string, string> | undefined) ?? {},
    partsPlanned: n('partsPlanned'),
    partsDone: n('partsDone'),
    partsFailed: (item.partsFailed as Record<string, string> | undefined) ?? {},
    completedAt: (item.completedAt as string | undefined) ?? null,
    digestClaimedAt: (item.digestClaimedAt as string | undefined) ?? null,
  };
}
