/**
 * The nightly pipeline end to end: the real planner and auditor handlers, dynalite as DynamoDB,
 * the emulator as AWS (STS, IAM, EKS, Organizations, SNS, SQS) and as every cluster's Kubernetes
 * API. Nights are played on copies of the sample fleet, changed as a story requires.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FindingStore } from '#shared/history/finding-store.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { type LocalPipelineOptions, type NightResult, startLocalPipeline } from '../demo/local-pipeline.ts';
import { STORY_CLUSTER, writeNight2Fleet } from '../demo/seed-001-story.ts';
import type { PublishedSnsMessage } from '../emulator/index.ts';

const FLEET = resolve(import.meta.dirname, '../examples/fleet');
const PAYMENTS = {
  accountId: STORY_CLUSTER.accountId,
  region: STORY_CLUSTER.region,
  cluster: STORY_CLUSTER.cluster,
};
const ML_ACCOUNT = '345678901234';

let work: string;
let storyFleet: string;
let dynamo: LocalDynamo;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'irsa-pipeline-'));
  storyFleet = join(work, 'story');
  await writeNight2Fleet(FLEET, storyFleet, '2026-11-01T14:30:00Z');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

afterEach(async () => {
  await dynamo?.stop();
});

/** Plays nights in order, each on its fleet; a fresh store per test. */
async function nights(
  plan: ({ fleet: string; at: string; redeliver?: boolean } & Omit<
    LocalPipelineOptions,
    'fleetDir' | 'dynamo'
  >)[],
): Promise<{ results: NightResult[]; store: FindingStore }> {
  dynamo = await startDynalite();
  const results: NightResult[] = [];
  for (const night of plan) {
    const { fleet, at, redeliver, ...options } = night;
    const pipeline = await startLocalPipeline({ ...options, fleetDir: fleet, dynamo });
    try {
      results.push(await pipeline.runNight(at, { redeliver }));
    } finally {
      await pipeline.stop();
    }
  }
  return { results, store: new FindingStore({ tableName: dynamo.tableName, client: dynamo.client }) };
}

const ofType = (night: NightResult | undefined, type: string) =>
  (night?.published ?? []).filter((m) => m.attributes.eventType?.StringValue === type);
const emailOf = (message: PublishedSnsMessage | undefined) => {
  const structure = JSON.parse(message?.message ?? '{}') as Record<string, string>;
  return structure.email ?? structure.default ?? '';
};
const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`;

describe('the nightly pipeline (handlers + dynalite + emulator)', () => {
  it('night 1 is a baseline: the findings are stored, one digest is sent and no alert', async () => {
    const { results, store } = await nights([{ fleet: FLEET, at: at(1) }]);
    const [night] = results;
    expect(night?.failedRecords).toBe(0);
    expect(night?.deadLetters).toBe(0);
    expect(ofType(night, 'regression')).toHaveLength(0);
    expect(ofType(night, 'digest')).toHaveLength(1);
    const legacy = await store.openFindingsOfUnit({
      accountId: '210987654321',
      region: 'eu-west-1',
      cluster: 'legacy',
    });
    expect(legacy.map((f) => f.checkId).sort()).toEqual(['IRSA-001', 'IRSA-010', 'IRSA-033']);
    const runs = await store.recentRuns(5);
    expect(runs[0]).toMatchObject({
      accountsPlanned: 2,
      accountsDone: 2,
      clustersBaselined: 5,
      regressions: 0,
    });
    expect(runs[0]?.completedAt).not.toBeNull();
  }, 60_000);

  it("alerts on seed 001's regression, resolves it when fixed, and alerts again when it reopens", async () => {
    const { results, store } = await nights([
      { fleet: FLEET, at: at(1) },
      { fleet: storyFleet, at: at(2) },
      { fleet: FLEET, at: at(3) },
      { fleet: storyFleet, at: at(4) },
    ]);
    const [, broken, fixed, again] = results;
    const alerts = ofType(broken, 'regression');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.attributes).toMatchObject({
      cluster: { StringValue: 'payments' },
      accountId: { StringValue: '210987654321' },
      maxSeverity: { StringValue: 'critical' },
    });
    const text = emailOf(alerts[0]);
    expect(text).toContain('IRSA-004');
    expect(text).toContain('IRSA-030');
    expect(text).toContain('newly failing');
    expect(text).toContain('kubectl --context payments rollout restart deployment/ledger-writer -n payments');

    expect(ofType(fixed, 'regression')).toHaveLength(0);
    expect(emailOf(ofType(fixed, 'digest')[0])).toMatch(/2 resolved|resolved: 2|Resolved\D+2/i);

    const reopened = ofType(again, 'regression');
    expect(reopened).toHaveLength(1);
    expect(emailOf(reopened[0])).toContain('reopened');
    const open = await store.openFindingsOfUnit(PAYMENTS);
    expect(open.map((f) => f.checkId).sort()).toEqual(['IRSA-004', 'IRSA-030']);
    const history = await store.findingHistory(open.find((f) => f.checkId === 'IRSA-004')?.findingId ?? '');
    expect(history.map((e) => e.type)).toEqual(['opened', 'resolved', 'reopened']);
    // What was open on the cluster on night 2, asked on night 4.
    const then = await store.openAt(PAYMENTS, at(2));
    expect(then.map((f) => f.checkId).sort()).toEqual(['IRSA-004', 'IRSA-030']);
    expect(await store.openAt(PAYMENTS, at(3))).toHaveLength(0);
  }, 120_000);

  it('a raised severity is a regression; an exemption is recorded and is not', async () => {
    const exemption = {
      checkId: 'IRSA-010',
      scope: { cluster: 'legacy', namespace: 'orders', serviceAccount: 'order-sync' },
      reason: 'order-sync is being retired (CHG-1234)',
      expires: '2027-12-31',
    };
    const { results, store } = await nights([
      { fleet: FLEET, at: at(1) },
      {
        fleet: FLEET,
        at: at(2),
        auditConfig: { severities: { 'IRSA-033': 'critical' }, exemptions: [exemption] },
      },
    ]);
    const alerts = ofType(results[1], 'regression');
    expect(alerts).toHaveLength(1);
    const text = emailOf(alerts[0]);
    expect(text).toContain('IRSA-033');
    expect(text).toContain('severity raised from high to critical');
    // The exemption is reported as a change, not as a regression.
    expect(text).toMatch(/Other changes[\s\S]*IRSA-010[^\n]*exempted/);
    expect(alerts[0]?.attributes.regressions?.StringValue).toBe('1');
    expect(alerts[0]?.attributes.maxSeverity?.StringValue).toBe('critical');
    const legacy = { accountId: '210987654321', region: 'eu-west-1', cluster: 'legacy' };
    const findings = await store.findingsOfAccount('210987654321', 'eu-west-1', 'legacy');
    expect(findings.find((f) => f.checkId === 'IRSA-010')?.state).toBe('exempted');
    expect(findings.find((f) => f.checkId === 'IRSA-033')).toMatchObject({
      state: 'open',
      severity: 'critical',
    });
    const history = await store.findingHistory(
      findings.find((f) => f.checkId === 'IRSA-033')?.findingId ?? '',
    );
    expect(history.map((e) => [e.type, e.regression, e.previousSeverity])).toEqual([
      ['opened', false, null],
      ['severity-changed', true, 'high'],
    ]);
    expect((await store.openFindingsOfUnit(legacy)).map((f) => f.checkId).sort()).toEqual([
      'IRSA-001',
      'IRSA-033',
    ]);
  }, 90_000);

  it('an unreachable cluster opens AUDIT-002 and resolves nothing it could not see', async () => {
    const { results, store } = await nights([
      { fleet: storyFleet, at: at(1) },
      { fleet: FLEET, at: at(2), faults: { unreachableClusters: ['payments'] } },
    ]);
    const alerts = ofType(results[1], 'regression');
    expect(alerts).toHaveLength(1);
    expect(emailOf(alerts[0])).toContain('AUDIT-002');
    const open = await store.openFindingsOfUnit(PAYMENTS);
    // The webhook and pod findings stay open: the cluster was not seen, so they were not resolved.
    expect(open.map((f) => f.checkId).sort()).toEqual(['AUDIT-002', 'IRSA-004', 'IRSA-030']);
    const [unit] = (await store.unitRuns(results[1]?.runId ?? '')).filter(
      (u) => u.unit.cluster === 'payments',
    );
    expect(unit).toMatchObject({ partial: true, resolved: 0 });
  }, 90_000);

  it('a re-delivered schedule and re-delivered messages send each alert once and record each change once', async () => {
    const { results, store } = await nights([
      { fleet: FLEET, at: at(1) },
      { fleet: storyFleet, at: at(2), redeliver: true },
    ]);
    const night = results[1];
    expect(ofType(night, 'regression')).toHaveLength(1);
    expect(ofType(night, 'digest')).toHaveLength(1);
    const open = await store.openFindingsOfUnit(PAYMENTS);
    for (const finding of open) {
      expect((await store.findingHistory(finding.findingId)).map((e) => e.type)).toEqual(['opened']);
    }
    const [run] = await store.recentRuns(1);
    expect(run).toMatchObject({ accountsPlanned: 2, accountsDone: 2, regressions: 2 });
  }, 90_000);

  it('completes a night despite throttling and server errors from AWS and Kubernetes', async () => {
    const { results, store } = await nights([
      {
        fleet: storyFleet,
        at: at(1),
        faults: {
          throttle: {
            'iam:ListRoles': 2,
            'eks:DescribeCluster': 2,
            'k8s:payments:pods': 2,
            'sns:Publish': 1,
          },
          serverErrors: { 'sts:AssumeRole': 1, 'k8s:checkout:serviceaccounts': 1 },
        },
      },
    ]);
    expect(results[0]?.failedRecords).toBe(0);
    expect(results[0]?.deadLetters).toBe(0);
    expect((await store.openFindingsOfUnit(PAYMENTS)).map((f) => f.checkId).sort()).toEqual([
      'IRSA-004',
      'IRSA-030',
    ]);
    expect(ofType(results[0], 'digest')).toHaveLength(1);
  }, 90_000);

  it('one account that cannot be audited fails alone: the others complete, nothing of it is resolved', async () => {
    const { results, store } = await nights([
      { fleet: FLEET, at: at(1) },
      { fleet: FLEET, at: at(2), faults: { deniedAccounts: [ML_ACCOUNT] } },
    ]);
    const night = results[1];
    const alerts = ofType(night, 'regression');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.attributes.accountId?.StringValue).toBe(ML_ACCOUNT);
    expect(emailOf(alerts[0])).toContain('AUDIT-001');
    const digest = emailOf(ofType(night, 'digest')[0]);
    expect(digest).toContain(ML_ACCOUNT);
    const [run] = await store.recentRuns(1);
    expect(run?.accountsDone).toBe(2);
    expect(Object.keys(run?.accountsFailed ?? {})).toEqual([ML_ACCOUNT]);
    // ml-platform's findings from night 1 are still open: unseen is not resolved.
    const ml = await store.openFindingsOfUnit({
      accountId: ML_ACCOUNT,
      region: 'us-east-1',
      cluster: 'ml-platform',
    });
    expect(ml.length).toBeGreaterThanOrEqual(5);
    expect(run?.resolvedFindings).toBe(0);
  }, 90_000);
});

describe('the auditor with a message it cannot read', () => {
  it('names the problem, fails only that record, and the message ends on the DLQ', async () => {
    dynamo = await startDynalite();
    const pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo });
    try {
      const { SQSClient, SendMessageCommand } = await import('@aws-sdk/client-sqs');
      const sqs = new SQSClient({});
      await sqs.send(
        new SendMessageCommand({ QueueUrl: pipeline.queueUrl, MessageBody: '{"version":1,"runId":"x"}' }),
      );
      const night = await pipeline.runNight(at(1));
      expect(night.deadLetters).toBe(1);
      expect(night.failedRecords).toBe(3);
      expect(ofType(night, 'digest')).toHaveLength(1);
      sqs.destroy();
    } finally {
      await pipeline.stop();
    }
  }, 60_000);
});

// Keeps the fixture honest: the story fleet differs from the sample fleet only where the story says.
it('the seed 001 story changes only the payments cluster', async () => {
  const file = (root: string, cluster: string) =>
    join(root, '210987654321', 'eu-west-1', cluster, 'kubernetes.json');
  expect(await readFile(file(storyFleet, 'checkout'), 'utf8')).toBe(
    await readFile(file(FLEET, 'checkout'), 'utf8'),
  );
  expect(await readFile(file(storyFleet, 'payments'), 'utf8')).not.toBe(
    await readFile(file(FLEET, 'payments'), 'utf8'),
  );
  await writeFile(join(work, 'touched'), '');
});
