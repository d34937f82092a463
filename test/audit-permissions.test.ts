/**
 * The permission list (shared/aws/audit-permissions.ts) against what the code really calls: a real
 * collection and a real night of the pipeline (planner, auditor, SQS event source) run against the
 * emulator, which counts every AWS operation it serves. Every operation counted must be listed,
 * with the role that makes it; the member role's list must be exactly what the collectors call,
 * and nothing in it may write. This is what keeps the member stack's policy and the code together.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_PERMISSIONS,
  HUB_PERMISSIONS,
  HUB_RESOURCE_PERMISSIONS,
  iamActionOf,
  isReadOnlyAction,
  MEMBER_AUDIT_ACTIONS,
  MEMBER_PERMISSIONS,
  NON_MUTATING_ACTIONS,
} from '#shared/aws/audit-permissions.ts';
import { collectFleet } from '#shared/collectors/collect-fleet.ts';
import { startLocalPipeline } from '../demo/local-pipeline.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';

const FLEET = resolve(import.meta.dirname, '../examples/fleet');
const MEMBER_SERVICES = new Set(['iam', 'eks', 'ec2', 'account']);

/** The IAM actions of the AWS operations the emulator counted (Kubernetes requests left out). */
function awsActions(counts: Record<string, number>): string[] {
  return [
    ...new Set(
      Object.keys(counts)
        .filter((key) => !key.startsWith('k8s:'))
        .map(iamActionOf),
    ),
  ].sort();
}

const listed = (entries: readonly { action: string }[]) => new Set(entries.map((e) => e.action));

describe('the collectors call exactly the listed actions', () => {
  let emulator: Emulator;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    emulator = await startEmulator({ fleetDir: FLEET });
    Object.assign(process.env, emulator.env);
  });
  afterAll(async () => {
    await emulator?.stop();
    process.env = savedEnv;
  });

  it('an organization-wide collection through the audit role (as the auditor runs it)', async () => {
    emulator.resetCounts();
    // No region list: the collector asks each account for its enabled regions, as the pipeline does.
    const { clusters } = await collectFleet({
      accounts: { kind: 'organization' },
      auditRole: { roleName: 'irsa-auditor' },
    });
    expect(clusters).toBeGreaterThan(0);
    const actions = awsActions(emulator.requestCounts());

    const inMemberAccounts = actions.filter((a) => MEMBER_SERVICES.has(a.split(':')[0] ?? ''));
    // Exactly the member role's list: nothing called is missing, nothing listed is unused.
    expect(inMemberAccounts).toEqual([...MEMBER_AUDIT_ACTIONS].sort());
    // The rest is the hub's own calls (STS into the members, Organizations).
    const hub = listed(HUB_PERMISSIONS);
    expect(
      actions.filter((a) => !MEMBER_SERVICES.has(a.split(':')[0] ?? '')).filter((a) => !hub.has(a)),
    ).toEqual([]);
    expect(actions).toContain('sts:AssumeRole');
    expect(actions).toContain('organizations:ListAccounts');
  });

  it('the current-account selection only adds sts:GetCallerIdentity, which needs no permission', async () => {
    emulator.resetCounts();
    await collectFleet({ accounts: { kind: 'current' }, regions: ['eu-west-1'] });
    const actions = awsActions(emulator.requestCounts());
    expect(actions).toContain('sts:GetCallerIdentity');
    const all = listed(ALL_PERMISSIONS);
    expect(actions.filter((a) => !all.has(a))).toEqual([]);
    expect(ALL_PERMISSIONS.find((p) => p.action === 'sts:GetCallerIdentity')?.granted).toBe(false);
  });
});

describe('a night of the pipeline calls only listed actions', () => {
  it('planner, auditor and the SQS event source (the local pipeline plays EventBridge and Lambda)', async () => {
    const savedEnv = { ...process.env };
    // With the Security Hub import on, as the hub's securityHub setting turns it on.
    const pipeline = await startLocalPipeline({ fleetDir: FLEET, securityHub: true });
    try {
      // What the setup did (create the topic and queues, subscribe) is CloudFormation's part.
      pipeline.emulator.resetCounts();
      const night = await pipeline.runNight('2026-11-02T02:00:00.000Z');
      expect(night.accountsPlanned).toBeGreaterThan(0);
      expect(night.published.length).toBeGreaterThan(0);
      const actions = awsActions(pipeline.emulator.requestCounts());
      const all = listed(ALL_PERMISSIONS);
      expect(actions.filter((a) => !all.has(a))).toEqual([]);
      // The pipeline's own resources: publish, send, and what the event source mapping does.
      const hubResources = listed(HUB_RESOURCE_PERMISSIONS);
      for (const action of [
        'sns:Publish',
        'sqs:SendMessage',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'securityhub:BatchImportFindings',
      ]) {
        expect(actions).toContain(action);
        expect(hubResources.has(action)).toBe(true);
      }
    } finally {
      await pipeline.stop();
      process.env = savedEnv;
    }
  });
});

describe('the list itself', () => {
  it('grants the member role only reads: Get/List/Describe verbs, no wildcard, no write', () => {
    for (const permission of MEMBER_PERMISSIONS) {
      expect(permission.access, permission.action).toBe('read');
      expect(isReadOnlyAction(permission.action), permission.action).toBe(true);
      expect(permission.action).not.toMatch(/\*/);
    }
    expect(MEMBER_AUDIT_ACTIONS.length).toBe(new Set(MEMBER_AUDIT_ACTIONS).size);
  });

  it('marks every non-read action a write, and keeps writes to the hub functions on hub resources', () => {
    for (const permission of ALL_PERMISSIONS) {
      // A read by its verb, or one of the two non-mutating exceptions; anything else is a write.
      const read = isReadOnlyAction(permission.action) || NON_MUTATING_ACTIONS.has(permission.action);
      expect(permission.access, permission.action).toBe(read ? 'read' : 'write');
      if (permission.access === 'write') {
        expect(
          permission.holders.every((h) => h.startsWith('hub ')),
          permission.action,
        ).toBe(true);
        expect(permission.action, 'no IAM or EKS write anywhere').not.toMatch(/^(iam|eks):/);
      }
    }
  });

  it('names the code or the service behind every action, and why', () => {
    const actions = ALL_PERMISSIONS.map((p) => p.action);
    expect(actions.length).toBe(new Set(actions).size);
    for (const permission of ALL_PERMISSIONS) {
      expect(permission.action).toMatch(/^[a-z0-9-]+:[A-Z][A-Za-z]+$/);
      expect(permission.calledBy.trim().length, permission.action).toBeGreaterThan(0);
      expect(permission.why.trim().length, permission.action).toBeGreaterThan(0);
    }
  });

  it('classifies verbs: reads are Get/List/Describe/Query, anything else or any wildcard is not', () => {
    expect(isReadOnlyAction('iam:ListRoles')).toBe(true);
    expect(isReadOnlyAction('eks:DescribeCluster')).toBe(true);
    expect(isReadOnlyAction('iam:PassRole')).toBe(false);
    expect(isReadOnlyAction('eks:CreateAccessEntry')).toBe(false);
    expect(isReadOnlyAction('iam:Get*')).toBe(false);
    expect(isReadOnlyAction('*')).toBe(false);
    expect(isReadOnlyAction('iam:Listing')).toBe(false);
    expect(isReadOnlyAction('dynamodb:Query')).toBe(true);
    expect(isReadOnlyAction('dynamodb:QueryAll')).toBe(false);
    expect(iamActionOf('sqs:SendMessageBatch')).toBe('sqs:SendMessage');
    expect(iamActionOf('iam:ListRoles')).toBe('iam:ListRoles');
  });
});

describe('docs/permissions.md', () => {
  it('lists exactly the actions of the list, each once, with the holders the list gives', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../docs/permissions.md'), 'utf8');
    const section = doc.split('<!-- permissions:begin -->')[1]?.split('<!-- permissions:end -->')[0] ?? '';
    const rows = section
      .split('\n')
      .map((line) => line.match(/^\| `([a-z0-9-]+:[A-Za-z]+)` \| ([^|]+) \|/))
      .filter((m): m is RegExpMatchArray => m !== null);
    expect(rows.map((m) => m[1]).sort()).toEqual(ALL_PERMISSIONS.map((p) => p.action).sort());
    for (const [, action, holders] of rows) {
      const entry = ALL_PERMISSIONS.find((p) => p.action === action);
      for (const holder of entry?.holders ?? []) expect(holders, String(action)).toContain(holder);
    }
  });
});
