/**
 * Alerts and the digest are delivered at least once (issue 14): a delivery that dies between
 * claiming an alert and publishing it (a Lambda killed at its timeout) leaves a claim that the
 * next delivery takes over once stale; two deliveries of one message at once send one alert; every
 * published message carries a dedup key, the same on every delivery, for subscribers. The real
 * use-case (auditAccount), the real finding store on dynalite, the sample fleet's files.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_LEASE_MS, FindingStore } from '#shared/history/finding-store.ts';
import type { SnsMessage } from '#shared/notify/sns-message.ts';
import { auditAccount } from '#shared/pipeline/audit-account.ts';
import type { WorkMessage } from '#shared/pipeline/work-message.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { faultyDynamo } from '#shared/testing/dynamo-faults.ts';
import { writeNight2Fleet } from '../demo/seed-001-story.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
const ACCOUNT = '210987654321';
let work: string;
let night2: string;
let dynamo: LocalDynamo;
let store: FindingStore;

/** The snapshot files of one account of a fleet directory, as the collector would give them. */
async function accountFiles(fleet: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  async function walk(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else files.set(relative(fleet, path), await readFile(path, 'utf8'));
    }
  }
  await walk(join(fleet, ACCOUNT));
  return files;
}

const message = (runId: string, runAt: string): WorkMessage => ({
  version: 1,
  runId,
  runAt,
  accountId: ACCOUNT,
});

/** A notifier that records what it publishes; `hang` makes its next publish never answer (a killed Lambda). */
function recordingNotifier() {
  const published: SnsMessage[] = [];
  let hang = false;
  return {
    published,
    hangNext() {
      hang = true;
    },
    notifier: {
      publish(m: SnsMessage): Promise<string> {
        if (hang) {
          hang = false;
          return new Promise(() => {});
        }
        published.push(m);
        return Promise.resolve(`msg-${published.length}`);
      },
    },
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'irsa-delivery-'));
  night2 = join(work, 'night2');
  await writeNight2Fleet(FLEET, night2, '2026-11-01T14:30:00Z');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
afterEach(async () => {
  await dynamo?.stop();
});

/** Night 1 (the baseline), then the deps of night 2 whose audit of payments regresses. */
async function afterBaseline() {
  dynamo = await startDynalite();
  store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
  const quiet = recordingNotifier();
  await store.startRun('n1', '2026-11-01T02:00:00.000Z', 1);
  await auditAccount(message('n1', '2026-11-01T02:00:00.000Z'), {
    store,
    notifier: quiet.notifier,
    collect: () => accountFiles(FLEET),
    now: () => new Date('2026-11-01T02:01:00.000Z'),
  });
  await store.startRun('n2', '2026-11-02T02:00:00.000Z', 1);
  return { collect: () => accountFiles(night2), message: message('n2', '2026-11-02T02:00:00.000Z') };
}

const regressions = (published: readonly SnsMessage[]) =>
  published.filter((m) => m.attributes.eventType?.StringValue === 'regression');

describe("a delivery that dies while completing a unit's first audit", () => {
  it('leaves the next night a normal one: its regressions are alerted, not taken for a baseline', async () => {
    const target = await startDynalite();
    const proxy = await faultyDynamo(target);
    dynamo = target;
    store = new FindingStore({ tableName: target.tableName, client: proxy.client });
    const night1 = message('n1', '2026-11-01T02:00:00.000Z');
    await store.startRun('n1', night1.runAt, 1);
    // The first delivery of night 1 dies completing the payments unit, between its two completion
    // writes (the unit state, and the run's record of the unit): the second of them fails.
    let completionWrites = 0;
    proxy.setRule(({ operation, body }) => {
      const completion =
        operation === 'UpdateItem' &&
        body.includes('payments') &&
        (body.includes('lastCompleteRunId') || body.includes('"S":"complete"'));
      // The second, and its retries by the SDK.
      return completion && ++completionWrites >= 2 ? 'internal-error' : undefined;
    });
    const quiet = recordingNotifier();
    const at1 = () => new Date('2026-11-01T02:01:00.000Z');
    await expect(
      auditAccount(night1, { store, notifier: quiet.notifier, collect: () => accountFiles(FLEET), now: at1 }),
    ).rejects.toThrow();
    // Its re-delivery completes night 1: still the unit's baseline, so no alert.
    proxy.setRule(undefined);
    await auditAccount(night1, {
      store,
      notifier: quiet.notifier,
      collect: () => accountFiles(FLEET),
      now: at1,
    });
    expect(regressions(quiet.published)).toEqual([]);
    // Night 2: seed 001's regression on payments is alerted.
    await store.startRun('n2', '2026-11-02T02:00:00.000Z', 1);
    const loud = recordingNotifier();
    await auditAccount(message('n2', '2026-11-02T02:00:00.000Z'), {
      store,
      notifier: loud.notifier,
      collect: () => accountFiles(night2),
      now: () => new Date('2026-11-02T02:01:00.000Z'),
    });
    expect(regressions(loud.published).map((a) => a.attributes.cluster?.StringValue)).toEqual(['payments']);
    await proxy.stop();
  }, 120_000);
});

describe('delivery of alerts and the digest', () => {
  it('a delivery killed between claiming and publishing: the next one publishes the alert, with the same dedup key', async () => {
    const { collect, message: m } = await afterBaseline();
    const first = recordingNotifier();
    first.hangNext();
    const t0 = Date.parse('2026-11-02T02:01:00.000Z');
    // The first delivery claims the alert and hangs in Publish: it is never awaited, as a killed Lambda.
    void auditAccount(m, { store, notifier: first.notifier, collect, now: () => new Date(t0) });
    const unit = { accountId: ACCOUNT, region: 'eu-west-1', cluster: 'payments' };
    for (let i = 0; i < 200 && !(await store.getUnitRun('n2', unit).then((r) => r !== null)); i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect(first.published).toEqual([]);

    // Re-delivered after the visibility timeout: the claim is stale, and taken over.
    const second = recordingNotifier();
    const result = await auditAccount(m, {
      store,
      notifier: second.notifier,
      collect,
      now: () => new Date(t0 + ALERT_LEASE_MS + 60_000),
    });
    const alerts = regressions(second.published);
    expect(alerts.map((a) => a.attributes.cluster?.StringValue)).toEqual(['payments']);
    expect(alerts[0]?.attributes.dedupKey?.StringValue).toBe('regression#n2#210987654321#eu-west-1#payments');
    expect(result.alertsPublished).toBe(1);
    const digest = second.published.find((p) => p.attributes.eventType?.StringValue === 'digest');
    expect(digest?.attributes.dedupKey?.StringValue).toBe('digest#n2');
    expect(Object.keys(digest?.attributes ?? {}).length).toBeLessThanOrEqual(10);

    // A third delivery sends nothing again.
    const third = recordingNotifier();
    await auditAccount(m, {
      store,
      notifier: third.notifier,
      collect,
      now: () => new Date(t0 + 2 * ALERT_LEASE_MS),
    });
    expect(third.published).toEqual([]);
  });

  it('two deliveries of one message at once publish each alert and the digest once', async () => {
    const { collect, message: m } = await afterBaseline();
    const both = recordingNotifier();
    const at = () => new Date('2026-11-02T02:01:00.000Z');
    const results = await Promise.allSettled([
      auditAccount(m, { store, notifier: both.notifier, collect, now: at }),
      auditAccount(m, { store, notifier: both.notifier, collect, now: at }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(regressions(both.published).map((a) => a.attributes.cluster?.StringValue)).toEqual(['payments']);
    expect(both.published.filter((p) => p.attributes.eventType?.StringValue === 'digest')).toHaveLength(1);
  });

  it('a failed publish gives the claim back: the record fails, and its retry publishes', async () => {
    const { collect, message: m } = await afterBaseline();
    const failing = {
      publish: () =>
        Promise.reject(Object.assign(new Error('SNS is down'), { name: 'InternalErrorException' })),
    };
    const at = () => new Date('2026-11-02T02:01:00.000Z');
    await expect(auditAccount(m, { store, notifier: failing, collect, now: at })).rejects.toThrow(
      'SNS is down',
    );
    const retry = recordingNotifier();
    await auditAccount(m, { store, notifier: retry.notifier, collect, now: at });
    expect(regressions(retry.published)).toHaveLength(1);
  });
});
