/**
 * Issue 14, items 2 and 3: an account's lead unit routes its clusters (shared/pipeline/routing.ts).
 * The real planner and auditor handlers, dynalite and the emulator (demo/local-pipeline.ts), on
 * examples/cross-account-fleet: two private-only `prod` clusters (a network auditor reaches their
 * VPCs), public `platform`, `ml` and `ml-batch`, and cross-account roles in three audited accounts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SEVERITIES } from '#shared/checks/types.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import type { StoredFinding } from '#shared/history/types.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { type FaultyDynamo, faultyDynamo } from '#shared/testing/dynamo-faults.ts';
import { type LocalPipeline, privateClusterVpcs, startLocalPipeline } from '../demo/local-pipeline.ts';
import type { PublishedSnsMessage } from '../emulator/index.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/cross-account-fleet');
const ANALYTICS = '246802468024';
const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`;

interface Expected {
  checkId: string;
  accountId: string | null;
  region: string | null;
  cluster: string | null;
  namespace: string | null;
  serviceAccount: string | null;
}
const EXPECTED: Expected[] = JSON.parse(readFileSync(join(FLEET, 'expected-findings.json'), 'utf8')).findings;
const identity = (f: Expected) =>
  [f.checkId, f.accountId, f.region, f.cluster, f.namespace, f.serviceAccount].map((v) => v ?? '-').join(' ');

let dynamo: LocalDynamo | undefined;
let proxy: FaultyDynamo | undefined;
let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.stop();
  await proxy?.stop();
  await dynamo?.stop();
  pipeline = undefined;
  proxy = undefined;
  dynamo = undefined;
});

async function openFindings(store: FindingStore): Promise<StoredFinding[]> {
  return (await Promise.all(SEVERITIES.map((s) => store.openFindings(s)))).flat();
}

const digestOf = (published: readonly PublishedSnsMessage[]) =>
  published.filter((m) => m.attributes.eventType?.StringValue === 'digest');

describe('an account fanned out by its lead', () => {
  it('with one cluster per unit: every finding check reports, IAM listed once per account, one digest after the last part', async () => {
    dynamo = await startDynalite();
    const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
    pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo, clustersPerUnit: 1 });
    const night = await pipeline.runNight(at(1));
    expect(night.failedRecords).toBe(0);
    expect(night.deadLetters).toBe(0);

    // The same findings as `check` on the directory (its expected-findings.json), no more.
    const open = await openFindings(store);
    expect(open.map(identity).sort()).toEqual(EXPECTED.map(identity).sort());

    // 3 leads (one per account); analytics' 3 clusters: ml with its lead, ml-batch a part on the
    // default queue, prod a part on the network's queue; apps' prod likewise on the network's.
    const run = await store.getRun(night.runId);
    expect(run).toMatchObject({ accountsPlanned: 3, accountsDone: 3, partsPlanned: 3, partsDone: 3 });
    expect(run?.clustersAudited).toBe(5);
    // IAM is listed by the leads only: once per account, however many parts.
    expect(pipeline.emulator.requestCounts()['iam:ListRoles']).toBe(3);
    const units = await store.unitRuns(night.runId);
    expect(
      units.map((u) => `${u.unit.accountId}/${u.unit.region ?? '-'}/${u.unit.cluster ?? '-'}`).sort(),
    ).toEqual(
      [
        `${ANALYTICS}/-/-`,
        `${ANALYTICS}/eu-west-1/prod`,
        `${ANALYTICS}/us-east-1/ml`,
        `${ANALYTICS}/us-east-1/ml-batch`,
        '444455556666/-/-',
        '444455556666/eu-west-1/platform',
        '777788889999/-/-',
        '777788889999/eu-west-1/prod',
      ].sort(),
    );
    // One digest, sent by the last unit to finish, counting every cluster.
    const digests = digestOf(night.published);
    expect(digests).toHaveLength(1);
    expect(digests[0]?.message).toContain('Clusters: 5 audited');
  }, 180_000);

  it('a night fanned out records what a night audited whole records, and resolves nothing', async () => {
    dynamo = await startDynalite();
    const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
    pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo });
    await pipeline.runNight(at(1));
    const before = (await openFindings(store)).map((f) => f.findingId).sort();
    await pipeline.stop();
    pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo, clustersPerUnit: 1 });
    const night = await pipeline.runNight(at(2));
    expect((await openFindings(store)).map((f) => f.findingId).sort()).toEqual(before);
    expect(await store.eventsBetween(at(2), at(2))).toEqual([]);
    expect(night.published.filter((m) => m.attributes.eventType?.StringValue === 'regression')).toEqual([]);
  }, 180_000);

  it("a part failing on every delivery ends on the DLQ alone; its cluster's findings stay open; the digest names its clusters", async () => {
    dynamo = await startDynalite();
    proxy = await faultyDynamo(dynamo);
    const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
    pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo: proxy });
    await pipeline.runNight(at(1));
    const before = (await openFindings(store)).map((f) => f.findingId).sort();
    const prodFindings = (await openFindings(store)).filter(
      (f) => f.accountId === ANALYTICS && f.cluster === 'prod',
    );
    expect(prodFindings.length).toBeGreaterThan(0);

    // Night 2: every read of analytics/prod's stored findings fails (after the SDK's retries): the
    // network auditor's part for it fails on every delivery; the lead and the other parts do not.
    proxy.setRule(({ operation, body }) =>
      operation === 'Query' &&
      body.includes(`"ACCOUNT#${ANALYTICS}"`) &&
      body.includes('"FINDING#eu-west-1#prod#"')
        ? 'internal-error'
        : undefined,
    );
    const night = await pipeline.runNight(at(2));
    expect(night.deadLetters).toBe(1);
    expect(night.failedRecords).toBe(3);
    const run = await store.getRun(night.runId);
    expect(run).toMatchObject({ accountsDone: 3, partsDone: run?.partsPlanned });
    expect(Object.keys(run?.accountsFailed ?? {})).toEqual([]);
    expect(Object.keys(run?.partsFailed ?? {})).toEqual([`${ANALYTICS} private@eu-west-1#1`]);
    // The digest went, once, and names the account and the cluster not audited.
    const digests = digestOf(night.published);
    expect(digests).toHaveLength(1);
    expect(digests[0]?.message).toContain(ANALYTICS);
    expect(digests[0]?.message).toContain('clusters prod of eu-west-1');
    // Nothing lost or resolved.
    proxy.setRule(undefined);
    expect((await openFindings(store)).map((f) => f.findingId).sort()).toEqual(before);
    expect((await store.eventsBetween(at(2), at(2))).filter((e) => e.type === 'resolved')).toEqual([]);
  }, 240_000);

  it('without a network auditor, each private-only cluster is AUDIT-002 naming its VPC and the setting that reaches it', async () => {
    dynamo = await startDynalite();
    const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
    pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo, networks: [] });
    await pipeline.runNight(at(1));
    const vpcs = await privateClusterVpcs(FLEET);
    expect(vpcs).toHaveLength(2);
    const unreachable = (await openFindings(store)).filter((f) => f.checkId === 'AUDIT-002');
    expect(unreachable.map((f) => `${f.accountId}/${f.cluster}`).sort()).toEqual([
      `${ANALYTICS}/prod`,
      '777788889999/prod',
    ]);
    for (const finding of unreachable) {
      expect(finding.message).toContain('PrivateEndpoint');
      expect(finding.message).toContain('reachesVpcIds');
      expect(vpcs.some((vpc) => finding.message.includes(vpc))).toBe(true);
    }
    // The public clusters were read by the default auditor: their in-cluster checks ran.
    expect((await openFindings(store)).some((f) => f.cluster === 'ml' && f.checkId === 'IRSA-022')).toBe(
      true,
    );
  }, 180_000);
});
