/**
 * Security Hub from the pipeline: each night's new, changed and resolved findings go to
 * BatchImportFindings (the real SDK client against the emulator, which validates every finding as
 * ASFF and keeps what it imported), into the hub account's default product. Night 1 imports the open
 * findings; night 2, after the fix, archives the resolved ones. A finding Security Hub refuses, or a
 * call that stays throttled, is logged naming the findings, and changes nothing in the store.
 */
import { Console } from 'node:console';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type AwsSecurityFinding,
  BatchImportFindingsCommand,
  SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FindingStore } from '#shared/history/finding-store.ts';
import type { FindingChange, StoredFinding } from '#shared/history/types.ts';
import { asffId } from '#shared/notify/asff.ts';
import {
  type ImportAnswer,
  MAX_FINDINGS_PER_IMPORT,
  SecurityHubImport,
} from '#shared/notify/security-hub.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { type LocalPipelineOptions, type NightResult, startLocalPipeline } from '../demo/local-pipeline.ts';
import { writeNight2Fleet } from '../demo/seed-001-story.ts';
import { SecurityHubState, startEmulator } from '../emulator/index.ts';

const FLEET = resolve(import.meta.dirname, '../examples/fleet');
const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`;

type Asff = Record<string, unknown> & {
  Id: string;
  AwsAccountId: string;
  ProductArn: string;
  RecordState: string;
  Compliance: { Status: string };
  Workflow: { Status: string };
  GeneratorId: string;
  ProductFields: Record<string, string>;
};

let work: string;
let brokenFleet: string;
let dynamo: LocalDynamo | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'irsa-security-hub-'));
  brokenFleet = join(work, 'broken');
  // Seed 001's night 2: the payments cluster's webhook CA broken, its pods not mutated.
  await writeNight2Fleet(FLEET, brokenFleet, '2026-11-01T14:30:00Z');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
afterEach(async () => {
  await dynamo?.stop();
  dynamo = undefined;
});

/** Nights in order, each its own pipeline on its fleet, one store and one Security Hub for all. */
async function nights(
  plan: { fleet: string; at: string; before?: (hub: SecurityHubState) => void }[],
  options: Omit<LocalPipelineOptions, 'fleetDir' | 'dynamo'> = {},
) {
  dynamo = await startDynalite();
  const hub = new SecurityHubState();
  const results: NightResult[] = [];
  let productArn = '';
  for (const night of plan) {
    // ERROR for every night of this file: the handlers' logger takes its level once, at their import.
    const pipeline = await startLocalPipeline({
      logLevel: 'ERROR',
      ...options,
      fleetDir: night.fleet,
      dynamo,
      securityHub: hub,
    });
    productArn = pipeline.securityHubProductArn ?? '';
    night.before?.(hub);
    try {
      results.push(await pipeline.runNight(night.at));
    } finally {
      await pipeline.stop();
    }
  }
  const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
  return { results, hub, store, productArn };
}

async function storedFindings(store: FindingStore): Promise<StoredFinding[]> {
  const all: StoredFinding[] = [];
  for (const account of ['210987654321', '345678901234'])
    all.push(...(await store.findingsOfAccount(account)));
  return all;
}

const hubFindings = (hub: SecurityHubState, productArn: string) => hub.findings(productArn) as Asff[];

describe('Security Hub from the pipeline (handlers + dynalite + the emulator)', () => {
  it('night 1 imports the open findings; night 2, after the fix, archives the resolved ones', async () => {
    const { results, hub, store, productArn } = await nights([
      { fleet: brokenFleet, at: at(1) },
      { fleet: FLEET, at: at(2) },
    ]);
    const [night1, night2] = results;
    expect(night1?.failedRecords).toBe(0);
    expect(productArn).toMatch(/^arn:aws:securityhub:[a-z0-9-]+:(\d{12}):product\/\1\/default$/);
    const hubAccount = productArn.split(':')[4];

    // Night 1: every finding the store holds, imported, none refused; at most 100 per call.
    const imports1 = night1?.securityHubImports ?? [];
    expect(imports1.length).toBeGreaterThan(0);
    for (const call of imports1) {
      expect(call.failed).toEqual([]);
      expect(call.findings.length).toBeLessThanOrEqual(MAX_FINDINGS_PER_IMPORT);
      expect(call.accountId).toBe(hubAccount);
    }
    const afterNight1 = await storedFindings(store);
    const sent1 = imports1.flatMap((c) => c.findings) as Asff[];
    expect(sent1.map((f) => f.Id).sort()).toEqual(afterNight1.map((f) => asffId(f)).sort());
    for (const f of sent1) {
      expect(f.AwsAccountId).toBe(hubAccount);
      expect(f.ProductArn).toBe(productArn);
      expect(f.RecordState).toBe('ACTIVE');
    }
    const broken = sent1.filter(
      (f) =>
        f.ProductFields['irsa-audit/Cluster'] === 'payments' &&
        ['IRSA-004', 'IRSA-030'].includes(f.GeneratorId),
    );
    expect(broken.map((f) => f.GeneratorId).sort()).toEqual(['IRSA-004', 'IRSA-030']);
    // The exempted findings of the sample config are not part of this run (no config): all NEW.
    expect(new Set(sent1.map((f) => f.Workflow.Status))).toEqual(new Set(['NEW']));

    // Night 2: only the changes, the two resolved findings, ARCHIVED.
    const sent2 = (night2?.securityHubImports ?? []).flatMap((c) => c.findings) as Asff[];
    expect(sent2.map((f) => f.Id).sort()).toEqual(broken.map((f) => f.Id).sort());
    for (const f of sent2) {
      expect(f.RecordState).toBe('ARCHIVED');
      expect(f.Workflow.Status).toBe('RESOLVED');
      expect(f.Compliance.Status).toBe('PASSED');
    }
    const held = hubFindings(hub, productArn);
    expect(held.length).toBe(sent1.length);
    const archived = held.filter((f) => f.RecordState === 'ARCHIVED');
    expect(archived.map((f) => f.Id).sort()).toEqual(broken.map((f) => f.Id).sort());
    for (const f of archived) expect(f.Compliance.Status).toBe('PASSED');
    expect(held.filter((f) => f.RecordState === 'ACTIVE').length).toBe(sent1.length - 2);
  }, 180_000);

  it('a finding Security Hub refuses is logged by its id; the others are imported and the store is as without Security Hub', async () => {
    // The handlers' logger writes through a Console of its own (Powertools, outside POWERTOOLS_DEV).
    const lines: string[] = [];
    const spy = vi.spyOn(Console.prototype, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    let refusedIds: string[] = [];
    let outcome: Awaited<ReturnType<typeof nights>>;
    try {
      outcome = await nights([
        {
          fleet: brokenFleet,
          at: at(1),
          before: (hub) =>
            hub.reject((f) => {
              const fields = f.ProductFields as Record<string, string>;
              if (f.GeneratorId !== 'IRSA-030' || fields['irsa-audit/Cluster'] !== 'payments') return null;
              refusedIds.push(String(f.Id));
              return 'Refused by the test: this finding is not accepted.';
            }),
        },
      ]);
    } finally {
      spy.mockRestore();
    }
    refusedIds = [...new Set(refusedIds)];
    const { results, hub, store, productArn } = outcome;
    expect(results[0]?.failedRecords).toBe(0);
    expect(refusedIds.length).toBe(1);
    const calls = results[0]?.securityHubImports ?? [];
    expect(calls.flatMap((c) => c.failed)).toEqual([
      {
        Id: refusedIds[0],
        ErrorCode: 'InvalidInput',
        ErrorMessage: 'Refused by the test: this finding is not accepted.',
      },
    ]);
    const stored = await storedFindings(store);
    // The store holds every finding, the refused one too, open.
    expect(stored.some((f) => f.checkId === 'IRSA-030' && f.state === 'open')).toBe(true);
    const held = hubFindings(hub, productArn).map((f) => f.Id);
    expect(held.sort()).toEqual(
      stored
        .map((f) => asffId(f))
        .filter((id) => id !== refusedIds[0])
        .sort(),
    );
    const logged = lines
      .join('')
      .split('\n')
      .filter((l) => l.includes('Security Hub refused'));
    expect(logged.length).toBe(1);
    expect(logged[0]).toContain(refusedIds[0]);
    expect(logged[0]).toContain('"level":"ERROR"');
  }, 180_000);

  it('throttling: retried by the SDK; a call that stays throttled is logged, and the night completes', async () => {
    const retried = await nights([{ fleet: FLEET, at: at(1) }], {
      faults: { throttle: { 'securityhub:BatchImportFindings': 2 } },
    });
    expect(retried.results[0]?.failedRecords).toBe(0);
    const storedOnce = await storedFindings(retried.store);
    expect(hubFindings(retried.hub, retried.productArn).length).toBe(storedOnce.length);
    await dynamo?.stop();

    // Throttled on every attempt (the SDK's six, backing off): one account, to keep the wait short.
    const refused = await nights([{ fleet: FLEET, at: at(1) }], {
      accounts: '210987654321',
      faults: { throttle: { 'securityhub:BatchImportFindings': 1000 } },
    });
    expect(refused.results[0]?.failedRecords).toBe(0);
    expect(refused.results[0]?.deadLetters).toBe(0);
    expect(hubFindings(refused.hub, refused.productArn)).toEqual([]);
    // The store recorded the night as it would have without Security Hub.
    expect((await refused.store.findingsOfAccount('210987654321')).length).toBe(
      storedOnce.filter((f) => f.accountId === '210987654321').length,
    );
  }, 180_000);
});

const importer = { accountId: '111122223333', region: 'eu-west-1', partition: 'aws' };
const change = (i: number): FindingChange => ({
  type: 'opened',
  previousSeverity: null,
  regression: true,
  finding: {
    findingId: `f${i}`,
    findingKey: `k${i}`,
    checkId: 'IRSA-013',
    title: 'The trust policy does not admit the service account',
    severity: 'high',
    state: 'open',
    accountId: '210987654321',
    region: 'eu-west-1',
    cluster: 'checkout',
    namespace: 'shop',
    serviceAccount: `sa-${i}`,
    roleName: 'cart',
    workload: null,
    resource: null,
    message: 'm',
    remediation: null,
    firstSeenAt: at(1),
    openedAt: at(1),
    resolvedAt: null,
  },
});

describe('SecurityHubImport (the batching and its errors)', () => {
  it('sends at most 100 per call; a failed call and refused findings are logged by id, never thrown', async () => {
    const sizes: number[] = [];
    const errors: string[] = [];
    let call = 0;
    const hub = new SecurityHubImport({
      importer,
      logger: { info() {}, error: (m) => errors.push(m) },
      send: async (findings): Promise<ImportAnswer> => {
        sizes.push(findings.length);
        call++;
        if (call === 2) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        if (call === 3)
          return {
            SuccessCount: findings.length - 1,
            FailedCount: 1,
            FailedFindings: [{ Id: findings[0]?.Id, ErrorCode: 'InvalidInput', ErrorMessage: 'no' }],
          };
        return { SuccessCount: findings.length, FailedCount: 0, FailedFindings: [] };
      },
    });
    await hub.add(
      Array.from({ length: 150 }, (_, i) => change(i)),
      at(1),
    );
    expect(sizes).toEqual([100]);
    await hub.add(
      Array.from({ length: 110 }, (_, i) => change(150 + i)),
      at(1),
    );
    const result = await hub.flush();
    expect(sizes).toEqual([100, 100, 60]);
    expect(result.calls).toBe(3);
    expect(result.imported).toBe(100 + 59);
    expect(result.failedIds.length).toBe(101);
    expect(errors[0]).toMatch(/ThrottlingException: Rate exceeded/);
    expect(errors[0]).toContain(asffId({ ...change(100).finding }));
    expect(errors[1]).toMatch(/refused 1 of 60 .*\(InvalidInput: no\)/);
  });
});

describe("the emulator's Security Hub, through the real SDK", () => {
  it('refuses a finding of another account or product, and an invalid one, naming why; takes the rest', async () => {
    const emulator = await startEmulator({ fleetDir: FLEET });
    try {
      const client = new SecurityHubClient({
        region: emulator.env.AWS_REGION,
        endpoint: emulator.endpoint,
        credentials: {
          accessKeyId: emulator.env.AWS_ACCESS_KEY_ID ?? '',
          secretAccessKey: emulator.env.AWS_SECRET_ACCESS_KEY ?? '',
        },
      });
      const account = emulator.managementAccountId;
      const region = emulator.env.AWS_REGION ?? '';
      const hub = new SecurityHubImport({
        importer: { accountId: account, region, partition: 'aws' },
        logger: { info() {}, error() {} },
        send: (findings) => client.send(new BatchImportFindingsCommand({ Findings: findings })),
      });
      await hub.add([change(1), change(2)], at(1));
      expect(await hub.flush()).toMatchObject({ imported: 2, failedIds: [] });
      const good = emulator.securityHub.findings()[0] as unknown as AwsSecurityFinding;
      const answer = await client.send(
        new BatchImportFindingsCommand({
          Findings: [
            { ...good, Id: 'other-account', AwsAccountId: '999999999999' },
            { ...good, Id: 'no-title', Title: undefined },
            { ...good, Id: 'long-title', Title: 't'.repeat(257) },
            {
              ...good,
              Id: 'bad-type',
              FindingProviderFields: { ...good.FindingProviderFields, Types: ['Nope/x'] },
            },
            { ...good, Id: 'fine' },
          ],
        }),
      );
      expect(answer.SuccessCount).toBe(1);
      expect(answer.FailedCount).toBe(4);
      expect(answer.FailedFindings?.map((f) => [f.Id, f.ErrorCode])).toEqual([
        ['other-account', 'AccessDeniedException'],
        ['no-title', 'InvalidInput'],
        ['long-title', 'InvalidInput'],
        ['bad-type', 'InvalidInput'],
      ]);
      expect(answer.FailedFindings?.[2]?.ErrorMessage).toMatch(/Title should NOT be longer than 256/);
      await expect(
        client.send(new BatchImportFindingsCommand({ Findings: Array.from({ length: 101 }, () => good) })),
      ).rejects.toMatchObject({ name: 'InvalidInputException' });
      client.destroy();
    } finally {
      await emulator.stop();
    }
  });
});
