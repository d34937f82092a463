/**
 * A real DynamoDB-protocol server (dynalite) in-process, with the finding store's table, for
 * tests, the demo and the store benchmark. Nothing is mocked: the AWS SDK talks HTTP to it.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput } from '../history/table.ts';

export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Environment for code that builds its own clients (the handlers). */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startDynalite(tableName = 'irsa-audit-findings'): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'AKIDLOCALDYNAMO', secretAccessKey: 'local' };
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
  await createLocalTable(client, tableName);
  return {
    endpoint,
    client,
    tableName,
    env: { AWS_ENDPOINT_URL_DYNAMODB: endpoint, TABLE_NAME: tableName },
    async stop() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Creates the finding store's table and waits until it is ACTIVE. With createTableMs: 0 dynalite
 * still answers CreateTable with CREATING and marks the table ACTIVE in a timer after the
 * response, so a request sent at once can get ResourceNotFoundException (seen under load).
 */
export async function createLocalTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (attempt >= 500)
      throw new Error(`dynalite: table ${tableName} is still ${Table?.TableStatus} after 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
