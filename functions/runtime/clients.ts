/** AWS clients of the handlers, built once per cold start (endpoints from AWS_ENDPOINT_URL_*). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AccountViewStore } from '#shared/history/account-views.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import { importerOfProductArn } from '#shared/notify/asff.ts';
import type { BatchImport } from '#shared/notify/security-hub.ts';
import type { Environment } from './environment.ts';

const retry = { maxAttempts: 6, retryMode: 'adaptive' as const };

export function findingStore(env: Environment, client = new DynamoDBClient(retry)): FindingStore {
  return new FindingStore({ tableName: env.TABLE_NAME, client, retentionDays: env.RETENTION_DAYS });
}

/** The run's account views (cross-account IRSA), in the finding table. */
export function accountViewStore(env: Environment, client = new DynamoDBClient(retry)): AccountViewStore {
  return new AccountViewStore({ tableName: env.TABLE_NAME, client });
}

export const snsClient = () => new SNSClient(retry);
export const sqsClient = () => new SQSClient(retry);

/**
 * The auditor's Security Hub import (SECURITY_HUB_PRODUCT_ARN), or undefined: BatchImportFindings
 * in the product's region.
 */
export function securityHubImport(env: Environment) {
  const importer = env.SECURITY_HUB_PRODUCT_ARN ? importerOfProductArn(env.SECURITY_HUB_PRODUCT_ARN) : null;
  if (!importer) return undefined;
  const client = new SecurityHubClient({ ...retry, region: importer.region });
  const send: BatchImport = (findings) => client.send(new BatchImportFindingsCommand({ Findings: findings }));
  return { send, importer };
}
