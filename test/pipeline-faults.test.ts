/**
 * The pipeline under DynamoDB faults (issue 14): the real handlers, the emulator, and dynalite
 * behind a proxy that answers chosen requests with the errors DynamoDB returns. Throttling in the
 * middle of recording a unit is retried and loses nothing; an account whose recording fails on
 * every delivery ends on the dead-letter queue while the others complete, nothing of it is lost or
 * resolved, and the night's digest is still sent, naming it.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SEVERITIES } from '#shared/checks/types.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { type FaultyDynamo, faultyDynamo } from '#shared/testing/dynamo-faults.ts';
import { startLocalPipeline } from '../demo/local-pipeline.ts';
import type { PublishedSnsMessage } from '../emulator/index.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
const ML_ACCOUNT = '345678901234';
const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`;

let dynamo: LocalDynamo | undefined;
let proxy: FaultyDynamo | undefined;
afterEach(async () => {
  await proxy?.stop();
  await dynamo?.stop();
  proxy = undefined;
  dynamo = undefined;
});

async function openKeys(store: FindingStore): Promise<string[]> {
  const open = (await Promise.all(SEVERITIES.map((s) => store.openFindings(s)))).flat();
  return open.map((f) => f.findingId).sort();
}

const digestOf = (published: readonly PublishedSnsMessage[]) =>
  published.find((m) => m.attributes.eventType?.StringValue === 'digest');

describe('the pipeline under DynamoDB faults', () => {
  it('retries throttling in the middle of recording a unit and records the same as without it', async () => {
    dynamo = await startDynalite();
    proxy = await faultyDynamo(dynamo);
    let throttled = 0;
    // The first writes of finding states are throttled, several times over.
    proxy.setRule(({ operation }) =>
      operation === 'BatchWriteItem' && throttled++ < 4 ? 'throttle' : undefined,
    );
    const pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo: proxy });
    try {
      const night = await pipeline.runNight(at(1));
      expect(night.failedRecords).toBe(0);
      expect(proxy.injected.BatchWriteItem).toBe(4);
    } finally {
      await pipeline.stop();
    }
    const faulted = await openKeys(new FindingStore({ tableName: dynamo.tableName, client: dynamo.client }));
    expect(faulted).toHaveLength(22);
  }, 120_000);

  it('an account failing on every delivery ends on the DLQ alone; nothing of it is lost or resolved; the digest names it', async () => {
    dynamo = await startDynalite();
    proxy = await faultyDynamo(dynamo);
    const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
    const pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo: proxy });
    try {
      await pipeline.runNight(at(1));
      const before = await openKeys(store);
      // Night 2: every read of the ML account's findings fails (after the SDK's retries), so its
      // units cannot be compared with what is stored, on every delivery.
      const mlPartition = `{"S":"ACCOUNT#${ML_ACCOUNT}"}`;
      proxy.setRule(({ operation, body }) =>
        operation === 'Query' && body.includes(mlPartition) ? 'internal-error' : undefined,
      );
      const night = await pipeline.runNight(at(2));
      // The ML account's lead and the part it forwarded to the network auditor (its one cluster is
      // private only) each fail on all three deliveries; the lead sent the part once, not thrice.
      expect(night.deadLetters).toBe(2);
      expect(night.failedRecords).toBe(6);
      const digest = digestOf(night.published);
      expect(digest?.attributes.accountsFailed?.StringValue).toBe('1');
      expect(digest?.message).toContain(ML_ACCOUNT);
      expect(digest?.message).toContain('dead-letter queue');
      // Nothing was lost or resolved: the same findings are open, and night 2 resolved nothing.
      expect(await openKeys(store)).toEqual(before);
      expect((await store.eventsBetween(at(2), at(2))).filter((e) => e.type === 'resolved')).toEqual([]);
      const run = (await store.recentRuns(1))[0];
      expect(run).toMatchObject({ accountsPlanned: 2, accountsDone: 2 });
      expect(Object.keys(run?.accountsFailed ?? {})).toEqual([ML_ACCOUNT]);
    } finally {
      await pipeline.stop();
    }
  }, 180_000);
});
