/**
 * The finding store's single DynamoDB table: key names, indexes and item keys, in one place that
 * the store, the tests (dynalite) and the CDK stack all read. docs/finding-store.md explains the
 * design and the access patterns; every read is a Query or GetItem, never a Scan.
 *
 * | item            | pk                      | sk                                      | indexes |
 * |-----------------|-------------------------|-----------------------------------------|---------|
 * | unit state      | ACCOUNT#<acct>          | UNIT#<region>#<cluster>                 | gsi5 (every unit's open counts) |
 * | finding state   | ACCOUNT#<acct>          | FINDING#<region>#<cluster>#<findingId>  | open: gsi2 (by severity), gsi3 (by unit) |
 * | event (change)  | EVENTS#<unitKey>        | <at>#<findingId>                        | gsi1 (a finding's history), gsi4 (by day) |
 * | run             | RUNS                    | RUN#<runId>                             |         |
 * | unit in a run   | RUN#<runId>             | UNIT#<unitKey>                          |         |
 * | account in a run| RUN#<runId>             | ACCOUNT#<acct>                          |         |
 *
 * Region and cluster are `-` for the account-level unit. History items (events, runs, resolved
 * findings) carry `expiresAt` (epoch seconds) for DynamoDB TTL.
 */
import { createHash } from 'node:crypto';
import { type Severity, severityRank } from '../checks/types.ts';
import type { AuditUnit } from './types.ts';

export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  indexes: {
    /** The history of one finding: gsi1pk = FINDING#<findingId>, gsi1sk = <at>. */
    findingHistory: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    /** Open findings fleet-wide: gsi2pk = OPEN#<severity>, gsi2sk = <checkId>#<unitKey>#<findingId>. */
    openBySeverity: { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    /** Open findings of one unit: gsi3pk = OPEN#<unitKey>, gsi3sk = <severityRank>#<checkId>#<findingId>. */
    openByUnit: { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
    /** Changes fleet-wide by day: gsi4pk = DAY#<yyyy-mm-dd>, gsi4sk = <at>#<unitKey>#<findingId>. */
    eventsByDay: { name: 'gsi4', partitionKey: 'gsi4pk', sortKey: 'gsi4sk' },
    /**
     * Every unit state, with only what the digest sums: gsi5pk = UNITS, gsi5sk = <unitKey>. The
     * digest's fleet-wide open counts are one Query of this index, O(units), not O(findings).
     */
    units: {
      name: 'gsi5',
      partitionKey: 'gsi5pk',
      sortKey: 'gsi5sk',
      include: ['openBySeverity', 'writingRunId'],
    },
  },
} as const;

/** Default retention of history (events, runs, resolved findings), in days. */
export const DEFAULT_RETENTION_DAYS = 400;

const part = (value: string | null) => value ?? '-';

/** `<acct>#<region>#<cluster>`, `-` for the account level. */
export function unitKey(unit: AuditUnit): string {
  return `${unit.accountId}#${part(unit.region)}#${part(unit.cluster)}`;
}

export function parseUnitKey(key: string): AuditUnit {
  const [accountId = '', region = '-', cluster = '-'] = key.split('#');
  return { accountId, region: region === '-' ? null : region, cluster: cluster === '-' ? null : cluster };
}

/** A finding's id: stable across runs, unique fleet-wide (the unit is part of it). */
export function findingIdOf(unit: AuditUnit, findingKey: string): string {
  return createHash('sha256')
    .update(`${unitKey(unit)}\n${findingKey}`)
    .digest('base64url')
    .slice(0, 22);
}

export const keys = {
  unitState: (unit: AuditUnit) => ({
    pk: `ACCOUNT#${unit.accountId}`,
    sk: `UNIT#${part(unit.region)}#${part(unit.cluster)}`,
  }),
  findingState: (unit: AuditUnit, findingId: string) => ({
    pk: `ACCOUNT#${unit.accountId}`,
    sk: `FINDING#${part(unit.region)}#${part(unit.cluster)}#${findingId}`,
  }),
  /** sk prefix of every finding of a unit (region and cluster given) or of an account (neither). */
  findingPrefix: (region?: string | null, cluster?: string | null) =>
    region === undefined ? 'FINDING#' : `FINDING#${part(region)}#${part(cluster ?? null)}#`,
  event: (unit: AuditUnit, at: string, findingId: string) => ({
    pk: `EVENTS#${unitKey(unit)}`,
    sk: `${at}#${findingId}`,
  }),
  run: (runId: string) => ({ pk: 'RUNS', sk: `RUN#${runId}` }),
  unitRun: (runId: string, unit: AuditUnit) => ({ pk: `RUN#${runId}`, sk: `UNIT#${unitKey(unit)}` }),
  accountRun: (runId: string, accountId: string) => ({ pk: `RUN#${runId}`, sk: `ACCOUNT#${accountId}` }),
  /** The parts a lead sent (shared/pipeline/routing.ts), so that a re-delivered lead does not send them again. */
  partsSent: (runId: string, accountId: string) => ({ pk: `RUN#${runId}`, sk: `PARTSSENT#${accountId}` }),
  /** A part of an account's audit (shared/pipeline/routing.ts), done in the run. */
  partRun: (runId: string, accountId: string, partId: string) => ({
    pk: `RUN#${runId}`,
    sk: `PART#${accountId}#${partId}`,
  }),
  openBySeverity: (severity: Severity, checkId: string, unit: AuditUnit, findingId: string) => ({
    gsi2pk: `OPEN#${severity}`,
    gsi2sk: `${checkId}#${unitKey(unit)}#${findingId}`,
  }),
  openByUnit: (severity: Severity, checkId: string, unit: AuditUnit, findingId: string) => ({
    gsi3pk: `OPEN#${unitKey(unit)}`,
    gsi3sk: `${severityRank(severity)}#${checkId}#${findingId}`,
  }),
  findingHistory: (findingId: string, at: string) => ({ gsi1pk: `FINDING#${findingId}`, gsi1sk: at }),
  unitIndex: (unit: AuditUnit) => ({ gsi5pk: 'UNITS', gsi5sk: unitKey(unit) }),
  eventsByDay: (at: string, unit: AuditUnit, findingId: string) => ({
    gsi4pk: `DAY#${at.slice(0, 10)}`,
    gsi4sk: `${at}#${unitKey(unit)}#${findingId}`,
  }),
};

/** Epoch seconds, `days` after `iso`, for the TTL attribute. */
export function expiresAt(iso: string, days: number): number {
  return Math.floor(Date.parse(iso) / 1000) + Math.round(days * 86_400);
}

/** The CreateTable input (tests against dynalite; the CDK stack declares the same shape). */
export function createTableInput(tableName: string) {
  const index = (i: {
    name: string;
    partitionKey: string;
    sortKey: string;
    include?: readonly string[];
  }) => ({
    IndexName: i.name,
    KeySchema: [
      { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
    ],
    Projection: i.include
      ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...i.include] }
      : { ProjectionType: 'ALL' as const },
  });
  const indexes = Object.values(TABLE.indexes);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' as const },
    ],
    AttributeDefinitions: [
      TABLE.partitionKey,
      TABLE.sortKey,
      ...indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
    ].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
    GlobalSecondaryIndexes: indexes.map(index),
  };
}
