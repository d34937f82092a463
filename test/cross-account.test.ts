/**
 * Cross-account IRSA in the pipeline (issue 14): one message audits one account, and each unit
 * shares its account's view (IAM, clusters) with the others of the run. On the sample fleet, the
 * ServiceAccount data/lake-reader of ml-platform (account 345678901234) names a role of account
 * 210987654321: the pipeline must evaluate it as `check` does, and follow the ordering rule when
 * the role's account is late or fails (shared/pipeline/cross-account.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SEVERITIES } from '#shared/checks/types.ts';
import { runAudit } from '#shared/engine/run-audit.ts';
import { AccountViewStore } from '#shared/history/account-views.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import { ACCOUNT_VIEW_API, viewOf, withAccountViews } from '#shared/pipeline/cross-account.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import { directorySource, memorySource } from '#shared/snapshot/snapshot-source.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { faultyDynamo } from '#shared/testing/dynamo-faults.ts';
import { startLocalPipeline } from '../demo/local-pipeline.ts';
import { type ExpectedFinding, identity, REPO_ROOT } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');
const expected: ExpectedFinding[] = JSON.parse(
  readFileSync(join(FLEET, 'expected-findings.json'), 'utf8'),
).findings;
const ROLE_ACCOUNT = '210987654321';
const SA_ACCOUNT = '345678901234';
const LAKE_READER = {
  checkId: 'IRSA-022',
  cluster: 'ml-platform',
  namespace: 'data',
  serviceAccount: 'lake-reader',
};
const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`;

let dynamo: LocalDynamo | undefined;
afterEach(async () => {
  await dynamo?.stop();
  dynamo = undefined;
});

async function openIdentities(store: FindingStore): Promise<string[]> {
  const open = (await Promise.all(SEVERITIES.map((s) => store.openFindings(s)))).flat();
  return open.map((f) => identity({ ...f, namespace: f.namespace, serviceAccount: f.serviceAccount })).sort();
}

describe('cross-account roles in the pipeline', () => {
  it("finds what check finds on the sample fleet, the cross-account role's IRSA-022 included", async () => {
    dynamo = await startDynalite();
    const pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo });
    try {
      const night = await pipeline.runNight(at(1));
      expect(night.failedRecords).toBe(0);
    } finally {
      await pipeline.stop();
    }
    const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
    expect(await openIdentities(store)).toEqual(expected.map(identity).sort());
  });

  it('leaves it not evaluated, never resolved, on a night the role account cannot be audited', async () => {
    dynamo = await startDynalite();
    const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
    const pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo });
    try {
      await pipeline.runNight(at(1));
      const unit = { accountId: SA_ACCOUNT, region: 'us-east-1', cluster: 'ml-platform' };
      const open = async () => (await store.openFindingsOfUnit(unit)).map((f) => f.checkId);
      expect(await open()).toContain('IRSA-022');
      pipeline.emulator.setFaults({ deniedAccounts: [ROLE_ACCOUNT] });
      await pipeline.runNight(at(2));
      // The role's account shared a failed view: IRSA-022 was not evaluated, so it stays open.
      expect(await open()).toContain('IRSA-022');
      const events = await store.eventsBetween(at(2), at(2));
      expect(events.filter((e) => e.type === 'resolved' && e.finding.accountId === SA_ACCOUNT)).toEqual([]);
    } finally {
      await pipeline.stop();
    }
  });
});

describe('a unit whose view never comes', () => {
  it("resolves nothing by absence: another account's role findings about its clusters stay open", async () => {
    const fleet = join(REPO_ROOT, 'examples/cross-account-fleet');
    const SHARED = '444455556666';
    dynamo = await startDynalite();
    const proxy = await faultyDynamo(dynamo);
    const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
    const pipeline = await startLocalPipeline({ fleetDir: fleet, dynamo: proxy, viewWaitSeconds: 2 });
    try {
      await pipeline.runNight(at(1));
      const apps = { accountId: '777788889999', region: 'eu-west-1', cluster: 'prod' };
      const sharedRoleFindings = async () =>
        (await store.openFindingsOfUnit(apps)).filter((f) => f.accountId === SHARED).map((f) => f.findingId);
      const before = await sharedRoleFindings();
      expect(before.length).toBeGreaterThan(0);
      // Night 2: the shared account's unit cannot share its view (its write fails on every delivery).
      proxy.setRule(({ operation, body }) =>
        operation === 'PutItem' && body.includes(`"VIEW#${SHARED}"`) ? 'internal-error' : undefined,
      );
      const night = await pipeline.runNight(at(2));
      expect(night.deadLetters).toBe(1);
      expect((await sharedRoleFindings()).sort()).toEqual([...before].sort());
      expect((await store.eventsBetween(at(2), at(2))).filter((e) => e.type === 'resolved')).toEqual([]);
    } finally {
      await pipeline.stop();
      await proxy.stop();
    }
  }, 180_000);
});

describe('the ordering rule (withAccountViews)', () => {
  const message = { version: 1 as const, runId: 'r1', runAt: at(3), accountId: SA_ACCOUNT };

  /** The SA account's own snapshot files, as its unit collected them. */
  async function ownFiles(): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    const source = directorySource(FLEET);
    for (const path of [
      `${SA_ACCOUNT}/iam.json`,
      `${SA_ACCOUNT}/us-east-1/ml-platform/cluster.json`,
      `${SA_ACCOUNT}/us-east-1/ml-platform/kubernetes.json`,
      `${SA_ACCOUNT}/us-east-1/ml-platform/pod-identity-associations.json`,
    ]) {
      const read = await source.readText(path);
      if (read.ok) files.set(path, read.text);
    }
    return files;
  }

  /** The role account's view, as its unit would share it. */
  async function roleAccountView() {
    const files = new Map<string, string>();
    const source = directorySource(FLEET);
    const read = await source.readText(`${ROLE_ACCOUNT}/iam.json`);
    if (read.ok) files.set(`${ROLE_ACCOUNT}/iam.json`, read.text);
    return viewOf(ROLE_ACCOUNT, files);
  }

  async function lakeReader(files: Map<string, string>) {
    const fleet = await loadFleet(memorySource(files));
    return runAudit(fleet, { now: new Date(at(3)) }).findings.find(
      (f) =>
        f.checkId === LAKE_READER.checkId &&
        f.cluster === LAKE_READER.cluster &&
        f.serviceAccount === LAKE_READER.serviceAccount,
    );
  }

  it('waits for a view that comes late, and evaluates with it', async () => {
    dynamo = await startDynalite();
    const views = new AccountViewStore({
      tableName: dynamo.tableName,
      client: dynamo.client,
      chunkBytes: 1_000,
    });
    await views.putPlan('r1', [ROLE_ACCOUNT, SA_ACCOUNT], at(3));
    const late = roleAccountView().then(
      (view) =>
        new Promise<void>((resolve) => setTimeout(() => resolve(views.putView('r1', view, at(3))), 400)),
    );
    const result = await withAccountViews(message, await ownFiles(), { views, waitMs: 10_000, pollMs: 50 });
    await late;
    expect(result.missing).toEqual([]);
    expect(result.read).toEqual([ROLE_ACCOUNT]);
    expect(result.waitedMs).toBeGreaterThanOrEqual(300);
    // The IAM came back whole through several chunks of 1,000 bytes.
    expect(result.files.get(`${ROLE_ACCOUNT}/iam.json`)).toBe((await roleAccountView()).iamJson);
    expect((await lakeReader(result.files))?.status).toBe('fail');
  });

  it('goes on without a view that does not come in time: what depends on it is not evaluated', async () => {
    dynamo = await startDynalite();
    const views = new AccountViewStore({ tableName: dynamo.tableName, client: dynamo.client });
    await views.putPlan('r1', [ROLE_ACCOUNT, SA_ACCOUNT], at(3));
    const started = Date.now();
    const result = await withAccountViews(message, await ownFiles(), { views, waitMs: 300, pollMs: 50 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result.missing).toEqual([ROLE_ACCOUNT]);
    const finding = await lakeReader(result.files);
    expect(finding?.status).toBe('not-evaluated');
    expect(finding?.message).toContain(ACCOUNT_VIEW_API);
    // The unit shared its own view first, whatever happened next.
    expect((await views.headers('r1')).map((h) => h.accountId)).toEqual([SA_ACCOUNT]);
  });

  it('does not wait for, nor evaluate, an account the run does not audit', async () => {
    dynamo = await startDynalite();
    const views = new AccountViewStore({ tableName: dynamo.tableName, client: dynamo.client });
    await views.putPlan('r1', [SA_ACCOUNT], at(3));
    const result = await withAccountViews(message, await ownFiles(), { views, waitMs: 10_000, pollMs: 50 });
    expect(result.waitedMs).toBeLessThan(1_000);
    const finding = await lakeReader(result.files);
    expect(finding?.status).toBe('not-evaluated');
    expect(finding?.message).toContain('is not audited');
  });
});
