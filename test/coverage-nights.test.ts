/**
 * The failure matrix through the nightly pipeline (issue 21): the real planner and auditor
 * handlers, dynalite, and the emulator, over nights in which the fleet never changes and only one
 * read fails. Since nothing changed, a night that could not look at something must resolve
 * nothing, and the night after must raise no regression (the failure's own AUDIT-* finding opens
 * on the failed night and resolves on the next; nothing else moves).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FindingStore } from '#shared/history/finding-store.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { type LocalPipeline, type NightResult, startLocalPipeline } from '../demo/local-pipeline.ts';
import type { FailureMode } from '../emulator/faults.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/fleet');

/** One failed read per night: every kind of read the collector makes, at its narrowest. */
const FAILURES: readonly { key: string; mode: FailureMode }[] = [
  { key: 'sts:AssumeRole@345678901234', mode: 'denied' },
  { key: 'iam:ListRoles@210987654321', mode: 'denied' },
  { key: 'iam:GetOpenIDConnectProvider@345678901234', mode: 'html-404' },
  { key: 'iam:ListAttachedRolePolicies@payments-settlement', mode: 'denied' },
  { key: 'eks:ListClusters@210987654321', mode: 'denied' },
  { key: 'eks:DescribeCluster@payments', mode: 'html-404' },
  { key: 'eks:ListPodIdentityAssociations@payments', mode: 'denied' },
  { key: 'eks:ListPodIdentityAssociations@ml-platform', mode: 'html-404' },
  { key: 'k8s:payments:serviceaccounts', mode: 'denied' },
  { key: 'k8s:ml-platform:pods', mode: 'malformed' },
  { key: 'k8s:checkout:mutatingwebhookconfigurations', mode: 'denied' },
];

let dynamo: LocalDynamo;
let pipeline: LocalPipeline;
let store: FindingStore;
let day = 0;
const savedEnv = { ...process.env };

/** Nights a day apart, so that each night's events are that day's. */
async function night(failure?: {
  key: string;
  mode: FailureMode;
}): Promise<{ result: NightResult; at: string }> {
  day++;
  const at = `2026-10-${String(day).padStart(2, '0')}T02:00:00.000Z`;
  pipeline.emulator.setFaults(failure ? { failures: { [failure.key]: failure.mode } } : {});
  const result = await pipeline.runNight(at);
  expect(result.failedRecords).toBe(0);
  expect(result.deadLetters).toBe(0);
  return { result, at };
}

async function changes(at: string) {
  const events = await store.eventsBetween(at, at);
  return events.map((e) => ({
    type: e.type,
    checkId: e.finding.checkId,
    regression: e.regression,
    key: e.finding.findingKey,
  }));
}

const regressionAlerts = (result: NightResult) =>
  result.published.filter((m) => m.attributes.eventType?.StringValue === 'regression');

beforeAll(async () => {
  dynamo = await startDynalite();
  pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo });
  store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
  await night(); // the baseline
});
afterAll(async () => {
  await pipeline?.stop();
  await dynamo?.stop();
  process.env = savedEnv;
});

describe('the failure matrix over nights: nothing resolved on a night it could not look', () => {
  for (const failure of FAILURES) {
    it(`${failure.key} ${failure.mode}: the failed night resolves nothing, the next raises no regression`, async () => {
      const failed = await night(failure);
      const during = await changes(failed.at);
      expect(during.filter((c) => c.type === 'resolved')).toEqual([]);
      // Only the coverage finding opens: nothing of the fleet changed.
      expect(during.filter((c) => !c.checkId.startsWith('AUDIT-'))).toEqual([]);
      expect(during.map((c) => c.checkId).length).toBeGreaterThan(0);
      const digest = failed.result.published.find((m) => m.attributes.eventType?.StringValue === 'digest');
      const operation = failure.key.startsWith('k8s:')
        ? `k8s:${failure.key.split(':')[2]}`
        : (failure.key.split('@')[0] ?? '');
      // The digest names the unread read with where it failed, and counts accounts by the same rule
      // as the findings: only an account that could not be assumed or listed is a failed account.
      const body = digest?.message ?? '';
      expect(body).toMatch(new RegExp(`${operation} [a-z ]+ (on|in) 1 (cluster|account)`));
      const accountLevel =
        /^(sts:AssumeRole|iam:ListRoles|iam:GetOpenIDConnectProvider|eks:ListClusters)@/.test(failure.key);
      expect(body).toContain(`2 planned, ${accountLevel ? '1 audited, 1 failed' : '2 audited, 0 failed'}`);

      const after = await night();
      const next = await changes(after.at);
      expect(next.filter((c) => c.regression)).toEqual([]);
      expect(regressionAlerts(after.result)).toEqual([]);
      // The coverage finding resolves; nothing else moves.
      expect(next.filter((c) => !(c.type === 'resolved' && c.checkId.startsWith('AUDIT-')))).toEqual([]);
    });
  }
});
