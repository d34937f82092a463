/**
 * How to read the permission documents of the roles ServiceAccounts reference (IRSA-023): one
 * GetAccountAuthorizationDetails listing of the whole account, or targeted calls for the referenced
 * roles only. Both run with the real SDK over real HTTP against the emulator (20 ms of latency on
 * every answer, as bench/collection.bench.ts), on synthetic accounts of 1,000 and 10,000 roles:
 *
 * - every role: an IRSA trust policy (about 600 bytes), one inline policy (about 1.2 KB), two
 *   customer-managed policies from a pool of one per 10 roles (each shared by about 20 roles) and
 *   one AWS-managed policy (not read);
 * - every customer-managed policy: 5 versions (IAM's maximum), about 1.3 KB each;
 * - ServiceAccounts reference 10% or 100% of the roles (the CLI's default reads the former kind of
 *   share: the roles the clusters' ServiceAccounts name; the pipeline's web-identity mode the latter).
 *
 * (a) GetAccountAuthorizationDetails, Filter Role + LocalManagedPolicy, 1,000 items a page, every
 *     page; it carries the names as well (no ListAttachedRolePolicies/ListRolePolicies needed).
 * (b) targeted, as shared/collectors/collect-fleet.ts does it: ListAttachedRolePolicies +
 *     ListRolePolicies per referenced role (already paid for IRSA-018, and counted), then
 *     GetRolePolicy per inline policy and GetPolicy + GetPolicyVersion per distinct customer-managed
 *     policy, each read once per account, 8 calls in flight.
 *
 * Counts calls and response bytes (the bodies as received) and wall time; the collector and the
 * emulator share this process, so wall times include the emulator's own work (the counts do not
 * depend on it).
 *
 *   npm run bench:policies                         # 1,000 and 10,000 roles, 10% and 100% referenced
 *   npm run bench:policies -- --sizes 100,1000 --latency 0   # a quick look (the smoke test)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IAMClient, paginateGetAccountAuthorizationDetails } from '@aws-sdk/client-iam';
import pLimit from 'p-limit';
import {
  collectInlinePolicy,
  collectManagedPolicy,
  collectRolePolicies,
  isAwsManagedPolicy,
  type ManagedPolicy,
} from '#shared/collectors/iam.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { assumeRoleIn } from '../emulator/testing.ts';

const ACCOUNT = '100000000000';
const POLICY_CONCURRENCY = 8;
const PAGE = 1_000;

/** The value after `flag` on the command line, if any. */
function argument(flag: string): string | undefined {
  const index = process.argv.indexOf(flag);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const SIZES = (argument('--sizes') ?? '1000,10000').split(',').map(Number);
const SHARES = [0.1, 1];
const LATENCY_MS = Number(argument('--latency') ?? process.env.BENCH_LATENCY_MS ?? 20);

/** A permission document of about `bytes` bytes of JSON: statements of S3 and DynamoDB actions. */
function permissionDocument(seed: string, bytes: number): Record<string, unknown> {
  const statements: Record<string, unknown>[] = [];
  let size = 40;
  for (let i = 0; size < bytes; i++) {
    const statement = {
      Sid: `S${i}`,
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 'dynamodb:GetItem', 'dynamodb:Query'],
      Resource: [`arn:aws:s3:::${seed}-bucket-${i}/*`, `arn:aws:dynamodb:*:${ACCOUNT}:table/${seed}-${i}`],
    };
    statements.push(statement);
    size += JSON.stringify(statement).length;
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** An account of `roles` roles (the shape above) in `dir`, as iam.json. */
async function writeAccount(dir: string, roles: number): Promise<void> {
  const provider = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF`;
  const issuer = 'oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF';
  const pool = Math.max(1, roles / 10);
  const policyArn = (p: number) => `arn:aws:iam::${ACCOUNT}:policy/shared-${p}`;
  const Roles: unknown[] = [];
  const RolePolicies: Record<string, unknown> = {};
  for (let r = 0; r < roles; r++) {
    const name = `app-${r}`;
    Roles.push({
      Path: '/',
      RoleName: name,
      RoleId: `AROA${String(r).padStart(17, '0')}`,
      Arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
      CreateDate: '2025-06-02T18:03:12Z',
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: provider },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: {
                [`${issuer}:sub`]: `system:serviceaccount:ns-${r % 50}:sa-${r}`,
                [`${issuer}:aud`]: 'sts.amazonaws.com',
              },
            },
          },
        ],
      },
    });
    const shared = [r % pool, (r * 7 + 3) % pool].filter((p, i, all) => all.indexOf(p) === i);
    RolePolicies[name] = {
      AttachedPolicies: [
        ...shared.map((p) => ({ PolicyName: `shared-${p}`, PolicyArn: policyArn(p) })),
        { PolicyName: 'AmazonS3ReadOnlyAccess', PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess' },
      ],
      PolicyNames: [`${name}-inline`],
      RolePolicyList: [{ PolicyName: `${name}-inline`, PolicyDocument: permissionDocument(name, 1_200) }],
    };
  }
  const Policies = Array.from({ length: pool }, (_, p) => ({
    PolicyName: `shared-${p}`,
    Arn: policyArn(p),
    DefaultVersionId: 'v5',
    PolicyVersionList: [5, 4, 3, 2, 1].map((v) => ({
      Document: permissionDocument(`shared-${p}-v${v}`, 1_300),
      VersionId: `v${v}`,
      IsDefaultVersion: v === 5,
    })),
  }));
  await mkdir(join(dir, ACCOUNT, 'us-east-1'), { recursive: true });
  await writeFile(join(dir, ACCOUNT, 'iam.json'), JSON.stringify({ Roles, RolePolicies, Policies }));
}

/**
 * An IAM client whose response bodies are counted as they arrive: it talks to the emulator through
 * a loopback proxy that forwards each request and adds up the bytes of each answer's body.
 */
async function countingClient(emulator: Emulator, credentials: Awaited<ReturnType<typeof assumeRoleIn>>) {
  const counted = { bytes: 0 };
  const target = new URL(emulator.endpoint);
  const agent = new Agent({ keepAlive: true });
  const proxy = createServer((req, res) => {
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.on('data', (chunk: Buffer) => {
          counted.bytes += chunk.length;
        });
        answer.pipe(res);
      },
    );
    forward.on('error', (error) => res.destroy(error));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  const client = new IAMClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
  });
  const close = async () => {
    client.destroy();
    agent.destroy();
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  };
  return { client, counted, close };
}

interface Measured {
  readonly calls: number;
  readonly bytes: number;
  readonly wallMs: number;
  /** Roles whose documents were all read, and customer-managed policies read. */
  readonly roles: number;
  readonly policies: number;
}

/** (a) Every page of GetAccountAuthorizationDetails, roles and customer-managed policies. */
async function authorizationDetails(client: IAMClient, counted: { bytes: number }): Promise<Measured> {
  const before = counted.bytes;
  const started = performance.now();
  let calls = 0;
  let roles = 0;
  let policies = 0;
  for await (const page of paginateGetAccountAuthorizationDetails(
    { client, pageSize: PAGE },
    { Filter: ['Role', 'LocalManagedPolicy'] },
  )) {
    calls++;
    roles += page.RoleDetailList?.length ?? 0;
    policies += page.Policies?.length ?? 0;
  }
  return { calls, bytes: counted.bytes - before, wallMs: performance.now() - started, roles, policies };
}

/** (b) The collector's targeted reads for `roleNames`, 8 in flight, each managed policy once. */
async function targeted(
  client: IAMClient,
  counted: { bytes: number },
  roleNames: readonly string[],
): Promise<Measured & { namesCalls: number }> {
  const before = counted.bytes;
  const started = performance.now();
  const limit = pLimit(POLICY_CONCURRENCY);
  const managed = new Map<string, Promise<ManagedPolicy>>();
  const documents: Promise<unknown>[] = [];
  let namesCalls = 0;
  let calls = 0;
  let roles = 0;
  await Promise.all(
    roleNames.map((roleName) =>
      limit(async () => {
        const names = await collectRolePolicies(client, roleName);
        namesCalls += 2;
        const inline = Promise.all(
          names.PolicyNames.map((policyName) =>
            limit(() => {
              calls++;
              return collectInlinePolicy(client, roleName, policyName);
            }),
          ),
        );
        const attached = names.AttachedPolicies.map((p) => p.PolicyArn)
          .filter((arn) => !isAwsManagedPolicy(arn))
          .map((arn) => {
            let read = managed.get(arn);
            if (!read) {
              calls += 2;
              read = limit(() => collectManagedPolicy(client, arn));
              managed.set(arn, read);
            }
            return read;
          });
        documents.push(Promise.all([inline, ...attached]).then(() => roles++));
      }),
    ),
  );
  await Promise.all(documents);
  return {
    calls: calls + namesCalls,
    namesCalls,
    bytes: counted.bytes - before,
    wallMs: performance.now() - started,
    roles,
    policies: managed.size,
  };
}

const MB = (bytes: number) => (bytes / 1_048_576).toFixed(2);
const pad = (value: string | number, width: number) => String(value).padStart(width);

async function main(): Promise<void> {
  console.log(
    `policy documents benchmark: accounts of ${SIZES.join(' and ')} roles; per role 1 inline policy, 2 customer-managed ` +
      `(a pool of 1 per 10 roles, 5 versions each) and 1 AWS-managed; ${LATENCY_MS} ms latency; ` +
      `targeted reads ${POLICY_CONCURRENCY} in flight, GetAccountAuthorizationDetails ${PAGE} items a page\n`,
  );
  const rows: { roles: number; share: number; strategy: string; m: Measured; namesCalls?: number }[] = [];
  for (const size of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'irsa-policy-bench-'));
    let emulator: Emulator | undefined;
    try {
      await writeAccount(dir, size);
      emulator = await startEmulator({ fleetDir: dir, faults: { latencyMs: LATENCY_MS } });
      const credentials = await assumeRoleIn(emulator, ACCOUNT);
      const { client, counted, close } = await countingClient(emulator, credentials);
      // One untimed call, so that neither strategy pays the SDK's first-call setup.
      await collectRolePolicies(client, 'app-0');
      for (const share of SHARES) {
        // The referenced roles spread over the account (one in each run of 10 for 10%, at a varying
        // place, so that they attach as many different policies as any 10% would).
        const step = Math.round(1 / share);
        const referenced = Array.from(
          { length: Math.round(size * share) },
          (_, i) => `app-${i * step + (i % step)}`,
        );
        emulator.resetCounts();
        const b = await targeted(client, counted, referenced);
        const countedCalls = Object.values(emulator.requestCounts()).reduce((n, v) => n + v, 0);
        if (countedCalls !== b.calls)
          throw new Error(`targeted: ${b.calls} calls made, ${countedCalls} served`);
        rows.push({ roles: size, share, strategy: 'targeted', m: b, namesCalls: b.namesCalls });
        emulator.resetCounts();
        const a = await authorizationDetails(client, counted);
        if (emulator.requestCounts()['iam:GetAccountAuthorizationDetails'] !== a.calls)
          throw new Error('GetAccountAuthorizationDetails: calls made and served differ');
        rows.push({ roles: size, share, strategy: 'authorization details', m: a });
      }
      await close();
    } finally {
      await emulator?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  console.log(
    `${'roles'.padEnd(7)}${'referenced'.padEnd(12)}${'strategy'.padEnd(23)}${pad('calls', 8)}${pad('(names)', 9)}` +
      `${pad('MB', 9)}${pad('KB/role', 9)}${pad('wall ms', 9)}${pad('roles', 7)}${pad('policies', 9)}`,
  );
  for (const { roles, share, strategy, m, namesCalls } of rows) {
    const referenced = Math.round(roles * share);
    console.log(
      `${String(roles).padEnd(7)}${`${Math.round(share * 100)}%`.padEnd(12)}${strategy.padEnd(23)}${pad(m.calls, 8)}` +
        `${pad(namesCalls ?? '-', 9)}${pad(MB(m.bytes), 9)}${pad((m.bytes / 1024 / referenced).toFixed(2), 9)}` +
        `${pad(Math.round(m.wallMs), 9)}${pad(m.roles, 7)}${pad(m.policies, 9)}`,
    );
  }
  if (SIZES.length >= 2) {
    const [small, large] = [SIZES[0], SIZES[SIZES.length - 1]];
    console.log(`\ngrowth from ${small} to ${large} roles (x${(Number(large) / Number(small)).toFixed(0)}):`);
    for (const share of SHARES) {
      for (const strategy of ['targeted', 'authorization details']) {
        const of = (roles: number | undefined) =>
          rows.find((r) => r.roles === roles && r.share === share && r.strategy === strategy)?.m;
        const a = of(small);
        const b = of(large);
        if (!a || !b) continue;
        console.log(
          `  ${`${Math.round(share * 100)}%`.padEnd(6)}${strategy.padEnd(23)}calls x${(b.calls / a.calls).toFixed(2)}, ` +
            `bytes x${(b.bytes / a.bytes).toFixed(2)}, wall time x${(b.wallMs / a.wallMs).toFixed(2)}`,
        );
      }
    }
  }
}

await main();
