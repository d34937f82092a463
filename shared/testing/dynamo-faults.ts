/**
 * A fault-injecting HTTP proxy in front of a local DynamoDB (dynalite), for the pipeline's fault
 * tests: the SDK and the finding store talk to it exactly as to DynamoDB, and a rule decides, per
 * request, whether to forward it or to answer with an error DynamoDB really returns (throttling,
 * an internal error). Nothing is mocked: the requests that pass reach dynalite.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LocalDynamo } from './dynalite.ts';

/** One request as the rule sees it: the operation (`BatchWriteItem`) and the JSON body text. */
export interface DynamoRequest {
  readonly operation: string;
  readonly body: string;
}

export type DynamoFault = 'throttle' | 'internal-error';

/** Decides the fault of a request, or undefined to forward it. */
export type DynamoFaultRule = (request: DynamoRequest) => DynamoFault | undefined;

export interface FaultyDynamo extends LocalDynamo {
  /** Replaces the rule (undefined: forward everything). */
  setRule(rule: DynamoFaultRule | undefined): void;
  /** Requests answered with a fault, by operation. */
  readonly injected: Record<string, number>;
}

const ERRORS: Record<DynamoFault, { status: number; type: string; message: string }> = {
  throttle: {
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
  },
  'internal-error': {
    status: 500,
    type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error (injected)',
  },
};

/** Starts the proxy in front of `target`; stopping it leaves `target` running. */
export async function faultyDynamo(target: LocalDynamo): Promise<FaultyDynamo> {
  let rule: DynamoFaultRule | undefined;
  const injected: Record<string, number> = {};
  const upstream = new URL(target.endpoint);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      const fault = rule?.({ operation, body: body.toString('utf8') });
      if (fault) {
        injected[operation] = (injected[operation] ?? 0) + 1;
        const error = ERRORS[fault];
        res.writeHead(error.status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: error.type, message: error.message }));
        return;
      }
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCALDYNAMO', secretAccessKey: 'local' },
  });
  return {
    endpoint,
    client,
    tableName: target.tableName,
    env: { ...target.env, AWS_ENDPOINT_URL_DYNAMODB: endpoint },
    injected,
    setRule(next) {
      rule = next;
    },
    async stop() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
