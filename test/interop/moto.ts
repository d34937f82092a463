/**
 * moto_server (Python moto, an AWS implementation not written here) as a child process on a free
 * loopback port, for the interop suite. One endpoint serves IAM, STS, EKS, Organizations,
 * DynamoDB, SNS and SQS; the AWS SDK reaches it through AWS_ENDPOINT_URL. When moto_server is not
 * on PATH the suite skips (see {@link MOTO_SKIP_REASON}).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** moto's default account: the caller's account with any credentials it did not issue. */
export const MOTO_DEFAULT_ACCOUNT = '123456789012';

/** Why the suite is skipped, or null when moto_server is on PATH. */
export const MOTO_SKIP_REASON: string | null =
  spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).status === 0
    ? null
    : 'moto_server is not on PATH (pip install "moto[server]"): the interop suite against moto is skipped';

if (MOTO_SKIP_REASON) console.warn(`[interop] ${MOTO_SKIP_REASON}`);

export interface Moto {
  readonly endpoint: string;
  /** Environment for the SDK (and for child processes): endpoint, region, fake credentials. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** Fake credentials: moto accepts any, and maps keys it did not issue to its default account. */
export const FAKE_CREDENTIALS = { accessKeyId: 'AKIAINTEROPTEST00000', secretAccessKey: 'interop-secret' };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts moto_server and waits until it answers (at most `timeoutMs`). */
export async function startMoto(timeoutMs = 20_000): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // An empty MOTO_ACCOUNT_ID would be taken as the account id: leave it out altogether.
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'MOTO_ACCOUNT_ID')),
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      // moto's dashboard answers once the server is up.
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
