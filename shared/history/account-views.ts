/**
 * What one account's unit of a run shares with the others (docs/finding-store.md, "Account views"):
 * its IAM as collected (iam.json: roles with their trust, OIDC providers, the policies of its
 * web-identity roles) and its clusters' OIDC issuers. A unit whose ServiceAccounts name roles in
 * another audited account, or whose clusters another account's roles trust, reads that account's
 * view instead of listing its IAM again: IAM is read once per account per run, and the pipeline
 * evaluates cross-account IRSA as `check --live --organization` does.
 *
 * Items, in the run's partition of the finding table (`RUN#<runId>`), all with a short TTL:
 * - the plan: `PLAN`, the accounts the run audits (so a unit knows which accounts to wait for);
 * - a view's header: `VIEW#<acct>`: status, its clusters and the issuers its roles trust, and the
 *   version of its IAM chunks;
 * - the IAM itself: `VIEWDATA#<acct>#<version>#<n>`, gzip'd iam.json in pieces under DynamoDB's 400 KB
 *   item limit. Chunks are written before the header, under a version of their own, so a reader
 *   never pairs a header with another delivery's chunks.
 */
import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { expiresAt } from './table.ts';

/** Views and the plan serve one run: two days covers a run that is re-driven the next night. */
const VIEW_RETENTION_DAYS = 2;
/** Bytes of gzip'd IAM per chunk item: under DynamoDB's 400 KB item limit with room for the keys. */
export const DEFAULT_CHUNK_BYTES = 350_000;

export interface ViewCluster {
  readonly region: string;
  readonly name: string;
  /** `identity.oidc.issuer` from DescribeCluster; null when it could not be read. */
  readonly issuer: string | null;
}

export interface AccountViewHeader {
  readonly accountId: string;
  /** complete: the IAM was read; failed: it could not be (the account is then unaudited for others). */
  readonly status: 'complete' | 'failed';
  readonly clusters: readonly ViewCluster[];
  /** The EKS OIDC issuers (host/path) that some role of the account trusts. */
  readonly trustedIssuers: readonly string[];
  readonly writtenAt: string;
  readonly version: string | null;
  readonly chunks: number;
}

export interface AccountView extends Omit<AccountViewHeader, 'version' | 'chunks' | 'writtenAt'> {
  /** The account's iam.json, as collected; null when status is failed. */
  readonly iamJson: string | null;
}

export interface AccountViewStoreOptions {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  readonly chunkBytes?: number;
}

const pk = (runId: string) => `RUN#${runId}`;

export class AccountViewStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly chunkBytes: number;

  constructor(options: AccountViewStoreOptions) {
    this.tableName = options.tableName;
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  /** Records the accounts the run audits (the planner; the same list on a re-delivered schedule). */
  async putPlan(runId: string, accounts: readonly string[], at: string): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: pk(runId),
          sk: 'PLAN',
          type: 'plan',
          accounts: [...accounts],
          at,
          expiresAt: expiresAt(at, VIEW_RETENTION_DAYS),
        },
      }),
    );
  }

  /** The accounts the run audits; null for a run planned before plans were recorded. */
  async getPlan(runId: string): Promise<readonly string[] | null> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: pk(runId), sk: 'PLAN' }, ConsistentRead: true }),
    );
    const accounts = result.Item?.accounts;
    return Array.isArray(accounts) ? accounts.map(String) : null;
  }

  /** Writes an account's view: its IAM chunks first, then the header that makes them visible. */
  async putView(runId: string, view: AccountView, at: string): Promise<void> {
    const ttl = expiresAt(at, VIEW_RETENTION_DAYS);
    let version: string | null = null;
    let chunks = 0;
    if (view.iamJson !== null) {
      version = randomUUID();
      const packed = gzipSync(Buffer.from(view.iamJson, 'utf8'));
      for (let offset = 0; offset < packed.length || chunks === 0; offset += this.chunkBytes) {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              pk: pk(runId),
              sk: `VIEWDATA#${view.accountId}#${version}#${String(chunks).padStart(4, '0')}`,
              type: 'view-chunk',
              data: packed.subarray(offset, offset + this.chunkBytes),
              expiresAt: ttl,
            },
          }),
        );
        chunks++;
      }
    }
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: pk(runId),
          sk: `VIEW#${view.accountId}`,
          type: 'view',
          accountId: view.accountId,
          status: view.status,
          clusters: view.clusters.map((c) => ({ region: c.region, name: c.name, issuer: c.issuer ?? '' })),
          trustedIssuers: [...view.trustedIssuers],
          writtenAt: at,
          version,
          chunks,
          expiresAt: ttl,
        },
      }),
    );
  }

  /** Every view header of the run written so far (one Query; headers are small). */
  async headers(runId: string): Promise<AccountViewHeader[]> {
    const out: AccountViewHeader[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :view)',
          // Headers only: the chunks are under VIEWDATA#, so this never reads (nor bills) them.
          ExpressionAttributeValues: { ':pk': pk(runId), ':view': 'VIEW#' },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) out.push(toHeader(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** The IAM (iam.json text) a header points at. */
  async iamOf(runId: string, header: AccountViewHeader): Promise<string | null> {
    if (header.version === null || header.chunks === 0) return null;
    const pieces: Uint8Array[] = [];
    for (let n = 0; n < header.chunks; n++) {
      const result = await this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: {
            pk: pk(runId),
            sk: `VIEWDATA#${header.accountId}#${header.version}#${String(n).padStart(4, '0')}`,
          },
          ConsistentRead: true,
        }),
      );
      const data = result.Item?.data as Uint8Array | undefined;
      if (!data) throw new Error(`account view ${header.accountId} of run ${runId}: chunk ${n} is missing`);
      pieces.push(data);
    }
    return gunzipSync(Buffer.concat(pieces)).toString('utf8');
  }
}

function toHeader(item: Record<string, unknown>): AccountViewHeader {
  const clusters = Array.isArray(item.clusters) ? (item.clusters as Record<string, unknown>[]) : [];
  return {
    accountId: String(item.accountId),
    status: item.status === 'failed' ? 'failed' : 'complete',
    clusters: clusters.map((c) => ({
      region: String(c.region),
      name: String(c.name),
      issuer: c.issuer ? String(c.issuer) : null,
    })),
    trustedIssuers: Array.isArray(item.trustedIssuers) ? item.trustedIssuers.map(String) : [],
    writtenAt: String(item.writtenAt ?? ''),
    version: item.version ? String(item.version) : null,
    chunks: Number(item.chunks ?? 0),
  };
}
