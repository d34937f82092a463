/** AWS clients of the handlers, built once per cold start (endpoints from AWS_ENDPOINT_URL_*). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AccountViewStore } from '#shared/history/account-views.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
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
