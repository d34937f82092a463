/**
 * A real DynamoDB-protocol server (dynalite) in-process, with the finding store's table, for
 * tests, the demo and the store benchmark. Nothing is mocked: the AWS SDK talks HTTP to it.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  // createTableMs: 0 makes the table ACTIVE at once.
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
