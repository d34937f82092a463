/**
 * No credential kept (docs/fleet-format.md, kubernetes.json): pods of the emulated fleet carry
 * static AWS credentials in their environment, as literals, through Secret references, and in a
 * bare pod's last-applied-configuration. A real collection (the CLI, pages decoded on the
 * collector's thread and on decode threads), the checks over it, `check --live`, and the nightly
 * pipeline (DynamoDB, SNS, its Powertools logs) must never carry one of those values out.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { startLocalPipeline } from '../demo/local-pipeline.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { REPO_ROOT, runCliAsync } from './support/run-cli.ts';

const FLEET = resolve(REPO_ROOT, 'examples/fleet');

// Fake, but shaped like the real thing, and found nowhere else in the repository.
const ACCESS_KEY_ID = 'AKIAEXAMPLESECRETKEY1';
const SECRET_ACCESS_KEY = 'Zt8qW3mJx5Rv0LkN7pYc2HbF9sDg4TaE6uQiOw1V';
const SESSION_TOKEN =
  'IQoJb3JpZ2luX2VjEXAMPLEFAKEh7Kd2Qp9Lx4Vm8Rt3Wz6Nc1Yb5Gs0FjTq7Hv2Mx9Pk4Ld8Rw3Ns6Bz1Cy5Gt0Jf7Uh2Ke9Qm4Xp8Vr3Ws6Yn1Za5';
/** The values, and pieces of them (a value cut short, or the start of a token, is still a leak). */
const SECRETS = [
  ACCESS_KEY_ID,
  SECRET_ACCESS_KEY,
  SESSION_TOKEN,
  SECRET_ACCESS_KEY.slice(0, 12),
  SECRET_ACCESS_KEY.slice(-12),
  SESSION_TOKEN.slice(20, 40),
  SESSION_TOKEN.slice(-16),
];
const leaked = (text: string) => SECRETS.filter((secret) => text.includes(secret));

const CREDENTIAL_SECRET = 'static-aws-credentials';
const CREDENTIAL_KEYS = {
  AWS_ACCESS_KEY_ID: 'access-key-id',
  AWS_SECRET_ACCESS_KEY: 'secret-access-key',
  AWS_SESSION_TOKEN: 'session-token',
} as const;

type EnvVar = { name: string; value?: string; valueFrom?: Record<string, unknown> };

const literals = (): EnvVar[] => [
  { name: 'AWS_ACCESS_KEY_ID', value: ACCESS_KEY_ID },
  { name: 'AWS_SECRET_ACCESS_KEY', value: SECRET_ACCESS_KEY },
  { name: 'AWS_SESSION_TOKEN', value: SESSION_TOKEN },
];
const secretRefs = (): EnvVar[] =>
  Object.entries(CREDENTIAL_KEYS).map(([name, key]) => ({
    name,
    valueFrom: { secretKeyRef: { name: CREDENTIAL_SECRET, key } },
  }));

/** The bare pod: static keys instead of IRSA, applied with kubectl (so its manifest is in an annotation). */
const STATIC_POD = 'static-keys-debug';
function staticKeysPod(): Record<string, unknown> {
  const manifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: STATIC_POD, namespace: 'payments' },
    spec: {
      serviceAccountName: 'settlement',
      initContainers: [{ name: 'fetch', image: 'amazon/aws-cli:2', env: literals() }],
      containers: [
        {
          name: 'shell',
          image: 'amazon/aws-cli:2',
          env: [
            ...literals(),
            { name: 'AWS_REGION', valueFrom: { configMapKeyRef: { name: 'aws-settings', key: 'region' } } },
            { name: 'AWS_ROLE_SESSION_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'DB_PASSWORD', value: SECRET_ACCESS_KEY },
          ],
        },
      ],
    },
  };
  return {
    ...manifest,
    metadata: {
      ...manifest.metadata,
      creationTimestamp: '2026-10-30T08:00:00Z',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(manifest)}\n` },
    },
    spec: { ...manifest.spec, serviceAccount: 'settlement', nodeName: 'ip-10-29-12-32' },
    status: { phase: 'Running' },
  };
}

interface FleetItem {
  kind: string;
  metadata: { namespace?: string };
  spec?: { containers?: { env?: EnvVar[] }[] };
}

/**
 * A copy of the sample fleet in which every pod outside kube-system carries the three variables,
 * every other one as literals and the rest through a Secret, plus the bare pod on payments.
 */
async function writeCredentialFleet(toDir: string): Promise<void> {
  await cp(FLEET, toDir, { recursive: true });
  const files = readdirSync(toDir, { recursive: true, encoding: 'utf8' }).filter((path) =>
    path.endsWith('kubernetes.json'),
  );
  for (const path of files) {
    const file = join(toDir, path);
    const list = JSON.parse(await readFile(file, 'utf8')) as { items: FleetItem[] };
    let index = 0;
    for (const item of list.items) {
      if (item.kind !== 'Pod' || item.metadata.namespace === 'kube-system') continue;
      const container = item.spec?.containers?.[0];
      if (!container) continue;
      container.env = [...(container.env ?? []), ...(index++ % 2 === 0 ? literals() : secretRefs())];
    }
    if (path.includes('payments')) list.items.push(staticKeysPod() as unknown as FleetItem);
    await writeFile(file, `${JSON.stringify(list, null, 2)}\n`);
  }
}

/** Every file under `dir`, as text, by path. */
function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const path of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const full = join(dir, path);
    if (statSync(full).isFile()) files.set(path, readFileSync(full, 'utf8'));
  }
  return files;
}

const work = mkdtempSync(join(tmpdir(), 'irsa-no-credential-'));
const credentialFleet = join(work, 'fleet');

beforeAll(async () => {
  await writeCredentialFleet(credentialFleet);
  // The fleet served does hold the values: otherwise every assertion below would pass for nothing.
  const served = [...filesUnder(credentialFleet).values()].join('\n');
  expect(leaked(served)).toEqual(SECRETS);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a collection keeps no credential it reads', () => {
  let emulator: Emulator;
  const env = () => ({ ...emulator.env, NODE_NO_WARNINGS: '1' });

  beforeAll(async () => {
    emulator = await startEmulator({ fleetDir: credentialFleet });
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it.each([
    ['on the collector’s thread', '0'],
    ['on decode threads', '2'],
  ])('collect, with the pages decoded %s, writes and prints none of the values', async (_, threads) => {
    const out = join(work, `collected-${threads}`);
    // With its progress on stderr (no -q): every line it prints is looked at too.
    const collect = await runCliAsync(
      ['collect', '--out', out, '--organization', '--role-name', 'irsa-auditor', '--threads', threads],
      { env: env() },
    );
    expect(collect.status, collect.stderr).toBe(0);
    expect(leaked(collect.stdout)).toEqual([]);
    expect(leaked(collect.stderr)).toEqual([]);
    const files = filesUnder(out);
    expect([...files.keys()].filter((path) => path.endsWith('kubernetes.json'))).toHaveLength(5);
    for (const [path, text] of files) expect(leaked(text), path).toEqual([]);

    // What the collector kept: the literal's place, and the Secret's name and key.
    const payments = JSON.parse(
      files.get(join('210987654321', 'eu-west-1', 'payments', 'kubernetes.json')) ?? '',
    );
    type CollectedPod = {
      kind: string;
      metadata: { name: string; annotations?: Record<string, string> };
      spec: { containers: { env?: EnvVar[] }[]; initContainers?: { env?: EnvVar[] }[] };
    };
    const pods = (payments.items as CollectedPod[]).filter((i) => i.kind === 'Pod');
    const bare = pods.find((p) => p.metadata.name === STATIC_POD);
    if (!bare) throw new Error(`${STATIC_POD} was not collected`);
    const redacted = Object.keys(CREDENTIAL_KEYS).map((name) => ({ name, value: '<redacted>' }));
    expect(bare.spec.initContainers?.[0]?.env).toEqual(redacted);
    expect(bare.spec.containers[0]?.env).toEqual([
      ...redacted,
      { name: 'AWS_REGION', valueFrom: { configMapKeyRef: { name: 'aws-settings', key: 'region' } } },
      { name: 'AWS_ROLE_SESSION_NAME', valueFrom: { fieldRef: {} } },
    ]);
    // The manifest kubectl apply left on the pod is the whole spec, values and all: not kept.
    expect(bare.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
    // The pods given the variables through the Secret keep its name and key, nothing more.
    const variables = pods.flatMap((p) => p.spec.containers.flatMap((c) => c.env ?? []));
    const referencing = variables.filter((e) => e.valueFrom?.secretKeyRef);
    // Payments: five pods, the 2nd and 4th through the Secret, the others and the bare pod literals.
    expect(referencing).toHaveLength(2 * 3);
    expect(new Set(referencing.map((e) => JSON.stringify(e)))).toEqual(
      new Set(
        Object.entries(CREDENTIAL_KEYS).map(([name, key]) =>
          JSON.stringify({ name, valueFrom: { secretKeyRef: { name: CREDENTIAL_SECRET, key } } }),
        ),
      ),
    );
    const literal = variables.filter((e) => e.name in CREDENTIAL_KEYS && e.value !== undefined);
    expect(literal).toHaveLength(4 * 3);
    expect(new Set(literal.map((e) => e.value))).toEqual(new Set(['<redacted>']));

    // The checks over it, in every format, print none either (and see the unmutated bare pod).
    for (const format of ['table', 'json']) {
      const check = await runCliAsync(['check', out, '--format', format]);
      expect(leaked(check.stdout), format).toEqual([]);
      expect(leaked(check.stderr), format).toEqual([]);
      if (format === 'json') expect(check.stdout).toContain(STATIC_POD);
    }
  });

  it('check --live prints none of the values', async () => {
    for (const format of ['table', 'json']) {
      const run = await runCliAsync(
        ['check', '--live', '--organization', '--role-name', 'irsa-auditor', '--format', format],
        { env: env() },
      );
      expect(run.stdout).toContain('IRSA-030');
      expect(leaked(run.stdout), format).toEqual([]);
      expect(leaked(run.stderr), format).toEqual([]);
    }
  });

  it('reads the snapshot written by hand too, values and all, without printing one', async () => {
    const check = await runCliAsync(['check', credentialFleet, '--format', 'json']);
    expect(check.stdout).toContain(STATIC_POD);
    expect(leaked(check.stdout)).toEqual([]);
    expect(leaked(check.stderr)).toEqual([]);
  });
});

describe('the nightly pipeline keeps no credential it reads', () => {
  let dynamo: LocalDynamo;
  const savedEnv = { ...process.env };

  afterAll(async () => {
    await dynamo?.stop();
    process.env = savedEnv;
  });

  it('stores, sends and logs none of the values', async () => {
    dynamo = await startDynalite();
    // Everything the handlers write to stdout and stderr: the Powertools logger, at DEBUG.
    const logged: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    };
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const published: string[] = [];
    try {
      // Night 1 on the sample fleet (the baseline), night 2 on the fleet with credentials: the
      // bare pod is a regression, so an alert about it is sent.
      for (const [fleet, time] of [
        [FLEET, '2026-11-01T02:00:00.000Z'],
        [credentialFleet, '2026-11-02T02:00:00.000Z'],
      ] as const) {
        const pipeline = await startLocalPipeline({ fleetDir: fleet, dynamo, logLevel: 'DEBUG' });
        try {
          const night = await pipeline.runNight(time);
          expect(night.failedRecords).toBe(0);
          published.push(...night.published.map((m) => JSON.stringify(m)));
        } finally {
          await pipeline.stop();
        }
      }
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }

    const log = logged.join('');
    expect(log).toContain('"message":"account audited"');
    expect(log).toContain('"level":"DEBUG"');
    expect(published.some((m) => m.includes('"regression"') && m.includes(STATIC_POD))).toBe(true);

    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamo.client.send(
        new ScanCommand({ TableName: dynamo.tableName, ExclusiveStartKey: start }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    const stored = JSON.stringify(items);
    expect(stored).toContain(STATIC_POD);

    // Every channel at once, so that a failure names each one that carried a value.
    expect({ log: leaked(log), sns: leaked(published.join('\n')), dynamodb: leaked(stored) }).toEqual({
      log: [],
      sns: [],
      dynamodb: [],
    });
  }, 120_000);
});
