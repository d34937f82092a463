/**
 * The CDK stacks, synthesized and read back with aws-cdk-lib/assertions:
 * - the hub app as the CDK CLI synthesizes it (`npx cdk synth` with cdk.json: local esbuild
 *   bundling, no Docker, cdk-nag AwsSolutions on every stack);
 * - a full configuration (Slack, emails, organization id, the hub's own member stack) and an
 *   account-list configuration, built in-process without bundling;
 * - a configuration with two networks (auditor functions inside VPCs for private clusters);
 * - the member app (the StackSet template).
 * Then: the table, topic, queue, schedule, alarms and functions are what the issue asks for; every
 * IAM statement of every stack is read-only outside the hub's own table, topic and queue; the
 * member role trusts only the hub role with the ExternalId; cdk-nag has no unacknowledged finding
 * and every acknowledgement is needed and has a reason; the RBAC manifest reads only what it must.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  ALL_PERMISSIONS,
  isReadOnlyAction,
  MEMBER_AUDIT_ACTIONS,
  NON_MUTATING_ACTIONS,
} from '#shared/aws/audit-permissions.ts';
import { createTableInput, TABLE } from '#shared/history/table.ts';
import { BATCH_SIZE, MAX_RECEIVE_COUNT } from '#shared/pipeline/limits.ts';
import { FileCatalogue, installedCatalogue } from '#shared/policy/iam-catalogue.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { EXAMPLE_EXTERNAL_ID, type HubConfigInput, parseHubConfig } from '../infra/config.ts';
import { CHATBOT_ENDPOINT, handleEvent } from '../infra/functions/chat-filter/handler.ts';
import { FUNCTION_RUNTIME } from '../infra/lib/audit-function.ts';
import { buildHubApp, STACK_NAMES } from '../infra/lib/hub-app.ts';
import { buildMemberApp, MEMBER_STACK_NAME } from '../infra/lib/member-app.ts';
import { acknowledgements } from '../infra/lib/nag.ts';
import { AUDITOR_METRICS, PENDING_AUDITOR_METRICS } from '../infra/lib/operations.ts';
import { AUDITOR_TIMEOUT, QUERY_ROUTES, SERVICE_NAMES } from '../infra/lib/stateless-stack.ts';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'irsa-infra-'));
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

type Resource = {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};
type TemplateJson = {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown }>;
  Parameters?: Record<string, unknown>;
  Conditions?: Record<string, unknown>;
  Rules?: Record<string, unknown>;
};

const FULL: HubConfigInput = {
  externalId: 'a1b2c3d4e5f60718',
  schedule: 'cron(30 3 * * ? *)',
  organizationId: 'o-abcdefghij',
  memberStackInHub: true,
  auditConfig: { severities: { 'IRSA-018': 'low' }, exemptions: [] },
  subscriptions: {
    email: [
      { address: 'security@example.com' },
      { address: 'oncall@example.com', filter: { eventType: ['regression'] } },
    ],
    slack: { workspaceId: 'T0123ABCDE', channelId: 'C0123ABCDE' },
  },
  operations: { emails: ['ops@example.com'], missedRunHours: 26 },
};
const LISTED: HubConfigInput = {
  externalId: 'a1b2c3d4e5f60718',
  accounts: ['111122223333', '444455556666'],
  apiGatewayCloudWatchRole: false,
  regions: ['eu-west-1'],
};

/** Two networks: one with the security group the stack creates and a peered VPC, one with its own groups. */
const NETWORKS = [
  {
    name: 'core',
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    subnetIds: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
    reachesVpcIds: ['vpc-0a1b2c3d4e5f60718', 'vpc-0feedfacecafe0001'],
  },
  {
    name: 'edge-2',
    vpcId: 'vpc-0bbbbbbbbbbbbbbb2',
    subnetIds: ['subnet-0bbbbbbbbbbbbbbb3'],
    securityGroupIds: ['sg-0bbbbbbbbbbbbbbb4', 'sg-0bbbbbbbbbbbbbbb5'],
  },
] satisfies HubConfigInput['networks'];
const NETWORKED: HubConfigInput = {
  externalId: 'a1b2c3d4e5f60718',
  clustersPerUnit: 25,
  networks: NETWORKS,
  securityHub: { enabled: true },
};

/** Templates by stack name. */
type Synth = Record<string, TemplateJson>;
const cli: Synth = {};
const full: Synth = {};
const listed: Synth = {};
const networked: Synth = {};
const member: Synth = {};
let cliOut = '';
let cdkJsonContext: Record<string, unknown> = {};

function readAssembly(dir: string, into: Synth): void {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.template.json'))) {
    into[file.replace('.template.json', '')] = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  }
}
const template = (synth: Synth, name: string) => {
  const json = synth[name];
  if (!json) throw new Error(`no template ${name} (have ${Object.keys(synth).join(', ')})`);
  return Template.fromJSON(json as unknown as Record<string, unknown>);
};
const resourcesOf = (t: TemplateJson, type: string) =>
  Object.entries(t.Resources).filter(([, r]) => r.Type === type);

beforeAll(async () => {
  cdkJsonContext = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
  // 1. As the CDK CLI does it: cdk.json, the app command, bundling with the local esbuild, cdk-nag.
  cliOut = join(scratch, 'cli');
  await run('npx', ['cdk', 'synth', '--quiet', '--output', cliOut], {
    cwd: ROOT,
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', AWS_EC2_METADATA_DISABLED: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  readAssembly(cliOut, cli);
  // 2. In-process, without bundling (the code assets are the CLI run's business).
  for (const [config, into, name] of [
    [FULL, full, 'full'],
    [LISTED, listed, 'listed'],
    [NETWORKED, networked, 'networked'],
  ] as const) {
    const outdir = join(scratch, name);
    buildHubApp({ outdir, config, context: NO_BUNDLING }).app.synth();
    readAssembly(outdir, into);
  }
  const memberOut = join(scratch, 'member');
  buildMemberApp({ outdir: memberOut }).app.synth();
  readAssembly(memberOut, member);
}, 240_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('cdk synth as the CLI runs it', () => {
  it('synthesizes both hub stacks with cdk-nag and no violation', () => {
    expect(Object.keys(cli).sort()).toEqual([STACK_NAMES.stateful, STACK_NAMES.stateless].sort());
    const report = JSON.parse(readFileSync(join(cliOut, 'validation-report.json'), 'utf8'));
    const reports = report.pluginReports as { pluginName: string; violations: { ruleName: string }[] }[];
    expect(reports.filter((p) => p.pluginName === 'AwsSolutions').flatMap((p) => p.violations)).toEqual([]);
    // The one annotation: cdk.json's ExternalId is the example to replace before deploying.
    expect(reports.flatMap((p) => p.violations.map((v) => v.ruleName))).toEqual([
      'Annotation::irsa-audit:example-external-id',
    ]);
  });

  it('bundled every function as ESM that loads and exports its handler', async () => {
    const manifest = JSON.parse(readFileSync(join(cliOut, `${STACK_NAMES.stateless}.assets.json`), 'utf8'));
    const dirs = Object.values(manifest.files as Record<string, { source: { path: string } }>)
      .map((f) => f.source.path)
      .filter((p) => p.startsWith('asset.'));
    expect(dirs.length).toBe(3);
    for (const dir of dirs) {
      const files = readdirSync(join(cliOut, dir));
      expect(files).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map']));
      const bundle = await import(join(cliOut, dir, 'index.mjs'));
      expect(typeof bundle.handler, dir).toBe('function');
    }
  });

  it("bundles the EC2 client into the auditor's function (loadEc2Sdk's import), nothing left to require at run time", () => {
    const manifest = JSON.parse(readFileSync(join(cliOut, `${STACK_NAMES.stateless}.assets.json`), 'utf8'));
    const dirs = Object.values(manifest.files as Record<string, { source: { path: string } }>)
      .map((f) => f.source.path)
      .filter((p) => p.startsWith('asset.'));
    const auditor = dirs.find((dir) => readdirSync(join(cliOut, dir)).includes('iam-data')) as string;
    const code = readFileSync(join(cliOut, auditor, 'index.mjs'), 'utf8');
    expect(code).toContain('DescribeLaunchTemplateVersions');
    // The package's name stays only as data (the SDK's user agent names it), never as a module
    // to load at run time.
    expect(code).not.toMatch(/\(\s*["']@aws-sdk\/client-ec2["']\s*\)/);
    expect(code).not.toContain('IRSA_SDK_BUNDLED');
  });

  it("ships the IAM action catalogue beside the auditor's bundle only, where IRSA-023 reads it", () => {
    const manifest = JSON.parse(readFileSync(join(cliOut, `${STACK_NAMES.stateless}.assets.json`), 'utf8'));
    const dirs = Object.values(manifest.files as Record<string, { source: { path: string } }>)
      .map((f) => f.source.path)
      .filter((p) => p.startsWith('asset.'));
    const withCatalogue = dirs.filter((dir) => readdirSync(join(cliOut, dir)).includes('iam-data'));
    expect(withCatalogue).toHaveLength(1);
    const shipped = new FileCatalogue(join(cliOut, withCatalogue[0] as string, 'iam-data'));
    expect(shipped.version).toBe(installedCatalogue().version);
    expect(shipped.service('s3')?.actions.get('listbucket')?.resourceTypes).toContain('bucket');
  });
});

describe('stateful stack', () => {
  it('declares the finding table from shared/history/table.ts: on demand, PITR, encrypted, TTL, retained', () => {
    const t = template(cli, STACK_NAMES.stateful);
    const shape = createTableInput('x');
    t.resourceCountIs('AWS::DynamoDB::Table', 1);
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        TableName: 'irsa-audit-findings',
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
        DeletionProtectionEnabled: true,
        KeySchema: shape.KeySchema,
      }),
    });
    const table = resourcesOf(cli[STACK_NAMES.stateful] as TemplateJson, 'AWS::DynamoDB::Table')[0]?.[1];
    const props = table?.Properties as {
      AttributeDefinitions: unknown[];
      GlobalSecondaryIndexes: { IndexName: string; KeySchema: unknown; Projection: unknown }[];
    };
    const byName = <T extends { AttributeName?: string; IndexName?: string }>(list: T[]) =>
      [...list].sort((a, b) =>
        (a.AttributeName ?? a.IndexName ?? '').localeCompare(b.AttributeName ?? b.IndexName ?? ''),
      );
    expect(byName(props.AttributeDefinitions as { AttributeName: string }[])).toEqual(
      byName(shape.AttributeDefinitions),
    );
    expect(
      byName(props.GlobalSecondaryIndexes).map(({ IndexName, KeySchema, Projection }) => ({
        IndexName,
        KeySchema,
        Projection,
      })),
    ).toEqual(byName(shape.GlobalSecondaryIndexes));
  });

  it('encrypts the alerts topic with a rotated KMS key whose policy admits SNS publishers and CloudWatch', () => {
    const t = template(cli, STACK_NAMES.stateful);
    const [keyId] = Object.keys(t.findResources('AWS::KMS::Key'));
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'irsa-audit-alerts',
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'PublishersThroughSns',
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: { StringEquals: Match.objectLike({ 'kms:ViaService': Match.anyValue() }) },
          }),
          Match.objectLike({
            Sid: 'CloudWatchAlarms',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
    // The topic refuses publishes without TLS.
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('subscribes each email with its filter policy (default: the digest only)', () => {
    const t = template(full, STACK_NAMES.stateful);
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'security@example.com',
      FilterPolicy: { eventType: ['digest'] },
    });
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      FilterPolicy: { eventType: ['regression'] },
    });
  });
});

describe('stateless stack', () => {
  const stateless = () => template(cli, STACK_NAMES.stateless);

  it('gives the work queue a dead-letter queue, both encrypted and TLS-only, visibility >= 6x the auditor timeout', () => {
    const t = stateless();
    const queues = t.findResources('AWS::SQS::Queue');
    const dlqId = Object.keys(queues).find((id) => id.startsWith('DeadLetterQueue'));
    t.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'irsa-audit-work',
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
        maxReceiveCount: MAX_RECEIVE_COUNT,
      },
      SqsManagedSseEnabled: true,
    });
    for (const queue of Object.values(queues)) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const work = Object.values(queues).find((q) => q.Properties.QueueName === 'irsa-audit-work');
    expect(work?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * AUDITOR_TIMEOUT.toSeconds());
    expect(work?.Properties.VisibilityTimeout).toBeLessThanOrEqual(43_200);
    const policies = t.findResources('AWS::SQS::QueuePolicy');
    expect(Object.keys(policies).length).toBe(2);
    for (const policy of Object.values(policies)) {
      expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('feeds the auditor from the queue in batches with partial batch failures, 15 minutes, bounded concurrency', () => {
    const t = stateless();
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: BATCH_SIZE,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: Match.anyValue() },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'irsa-audit-auditor',
      Timeout: 900,
      MemorySize: 2048,
    });
  });

  it('schedules the planner nightly by default, and on the configured cron otherwise', () => {
    const defaultRule = Object.values(stateless().findResources('AWS::Events::Rule'));
    expect(defaultRule.map((r) => r.Properties.ScheduleExpression)).toEqual(['cron(0 2 * * ? *)']);
    const target = JSON.stringify(defaultRule[0]?.Properties.Targets);
    expect(target).toMatch(/Planner/);
    template(full, STACK_NAMES.stateless).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(30 3 * * ? *)',
    });
  });

  it('runs every function on the same defaults: runtime, arm64, ESM bundle, tracing, JSON logs with retention', () => {
    const t = stateless();
    const functions = Object.values(t.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBe(3);
    const logGroups = t.findResources('AWS::Logs::LogGroup');
    for (const fn of functions) {
      const p = fn.Properties;
      expect(p.Runtime).toBe(FUNCTION_RUNTIME.name);
      expect(p.Architectures).toEqual(['arm64']);
      expect(p.Handler).toBe('index.handler');
      expect(p.TracingConfig).toEqual({ Mode: 'Active' });
      expect(p.LoggingConfig.LogFormat).toBe('JSON');
      const group = logGroups[p.LoggingConfig.LogGroup.Ref];
      expect(group?.Properties.RetentionInDays).toBe(90);
      expect(p.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('IrsaAuditor');
    }
  });

  it("sets each function's service name to the one its handler gives observability()", () => {
    const t = stateless();
    for (const [name, service] of Object.entries(SERVICE_NAMES)) {
      const source = readFileSync(join(ROOT, `functions/${name}/handler.ts`), 'utf8');
      expect(source).toContain(`observability('${service}')`);
      t.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `irsa-audit-${name}`,
        Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: service }) },
      });
    }
  });

  it('sets the variables the handlers read (functions/runtime/environment.ts)', () => {
    const t = template(full, STACK_NAMES.stateless);
    const vars = (name: string) =>
      Object.values(t.findResources('AWS::Lambda::Function', { Properties: { FunctionName: name } }))[0]
        ?.Properties.Environment.Variables;
    expect(Object.keys(vars('irsa-audit-planner'))).toEqual(
      expect.arrayContaining([
        'TABLE_NAME',
        'QUEUE_URL',
        'AUDIT_ACCOUNTS',
        'AUDIT_REGIONS',
        'RETENTION_DAYS',
      ]),
    );
    const auditor = vars('irsa-audit-auditor');
    expect(auditor).toMatchObject({
      TABLE_NAME: 'irsa-audit-findings',
      AUDIT_ROLE_NAME: 'irsa-auditor',
      AUDIT_EXTERNAL_ID: 'a1b2c3d4e5f60718',
      RETENTION_DAYS: '400',
      AUDIT_CONFIG: JSON.stringify(parseHubConfig(FULL).auditConfig),
      AUDIT_CLUSTERS_PER_UNIT: '40',
      QUEUE_URL: { Ref: expect.stringMatching(/^WorkQueue/) },
    });
    expect(auditor.TOPIC_ARN).toBeDefined();
    expect(Object.keys(vars('irsa-audit-query'))).toContain('TABLE_NAME');
    expect(Object.keys(vars('irsa-audit-query'))).not.toContain('TOPIC_ARN');
  });

  it('serves the query API with IAM authorization on every method, GET only, validated, logged', () => {
    const t = stateless();
    const methods = Object.values(t.findResources('AWS::ApiGateway::Method'));
    expect(methods.length).toBe(QUERY_ROUTES.length);
    for (const method of methods) {
      expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
      expect(method.Properties.HttpMethod).toBe('GET');
      expect(method.Properties.RequestValidatorId).toBeDefined();
    }
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: 'ERROR', ThrottlingRateLimit: 10 })]),
    });
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      RequestParameters: { 'method.request.querystring.since': true },
    });
    const handler = readFileSync(join(ROOT, 'functions/query/handler.ts'), 'utf8');
    for (const route of QUERY_ROUTES) expect(handler, route.path).toContain(`GET ${route.path}`);
  });
});

describe('operations', () => {
  const alarms = (synth: Synth) =>
    Object.values(template(synth, STACK_NAMES.stateless).findResources('AWS::CloudWatch::Alarm'));

  it("alarms on a missed nightly run: no AuditCompleted in 26 hours (the dead-man's switch)", () => {
    const deadMan = alarms(cli).find((a) => a.Properties.MetricName === AUDITOR_METRICS.auditCompleted);
    expect(deadMan?.Properties).toMatchObject({
      Namespace: 'IrsaAuditor',
      Dimensions: [{ Name: 'service', Value: SERVICE_NAMES.auditor }],
      Statistic: 'Sum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    const p = deadMan?.Properties as { Period: number; EvaluationPeriods: number; DatapointsToAlarm: number };
    expect(p.Period * p.EvaluationPeriods).toBe(26 * 3600);
    expect(p.DatapointsToAlarm).toBe(p.EvaluationPeriods);
    // CloudWatch: periods of an hour or more may span at most 7 days in all.
    expect(p.Period).toBeGreaterThanOrEqual(3600);
    expect(p.Period * p.EvaluationPeriods).toBeLessThanOrEqual(604_800);
  });

  it('alarms on the dead-letter queue and on every function error, all to the encrypted operations topic', () => {
    const all = alarms(cli);
    const t = template(cli, STACK_NAMES.stateless);
    const dlqId = Object.keys(t.findResources('AWS::SQS::Queue')).find((id) =>
      id.startsWith('DeadLetterQueue'),
    );
    expect(
      all.some(
        (a) =>
          a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          JSON.stringify(a.Properties.Dimensions).includes(String(dlqId)) &&
          a.Properties.Threshold === 1,
      ),
    ).toBe(true);
    const errorAlarms = all.filter((a) => a.Properties.MetricName === 'Errors');
    expect(errorAlarms.length).toBe(3);
    const topics = t.findResources('AWS::SNS::Topic');
    const [opsTopic] = Object.keys(topics);
    expect(topics[String(opsTopic)]?.Properties.KmsMasterKeyId).toBeDefined();
    for (const alarm of all) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: opsTopic }]);
  });

  it("charts only metrics the auditor emits (or the ones listed as pending, which it doesn't yet)", () => {
    const source = readFileSync(join(ROOT, 'functions/auditor/handler.ts'), 'utf8');
    for (const metric of Object.values(AUDITOR_METRICS)) {
      const emitted = source.includes(`'${metric}'`);
      expect(emitted, metric).toBe(!PENDING_AUDITOR_METRICS.includes(metric));
    }
    const dashboard = Object.values(
      template(cli, STACK_NAMES.stateless).findResources('AWS::CloudWatch::Dashboard'),
    );
    const body = JSON.stringify(dashboard[0]?.Properties.DashboardBody);
    for (const metric of Object.values(AUDITOR_METRICS).filter((m) => m !== AUDITOR_METRICS.auditCompleted)) {
      expect(body, metric).toContain(metric);
    }
  });
});

// ---- IAM: every statement of every stack ----------------------------------------------------

type Statement = {
  Effect: string;
  Action?: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
type Found = { where: string; kind: 'identity' | 'resource' | 'trust'; role?: string; statement: Statement };

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A policy document, or both branches of an Fn::If around one. */
function documents(doc: unknown): { Statement: Statement | Statement[] }[] {
  const conditional = (doc as { 'Fn::If'?: unknown[] })['Fn::If'];
  if (conditional) return [...documents(conditional[1]), ...documents(conditional[2])];
  return [doc as { Statement: Statement | Statement[] }];
}

function statementsOf(synth: Synth): Found[] {
  const found: Found[] = [];
  for (const [stack, t] of Object.entries(synth)) {
    for (const [id, r] of Object.entries(t.Resources)) {
      const p = r.Properties ?? {};
      const add = (doc: unknown, kind: Found['kind'], role?: string) => {
        for (const d of documents(doc)) {
          for (const statement of list(d.Statement))
            found.push({ where: `${stack}/${id}`, kind, statement, ...(role ? { role } : {}) });
        }
      };
      if (r.Type === 'AWS::IAM::Policy') {
        for (const ref of list(p.Roles as { Ref: string }[])) add(p.PolicyDocument, 'identity', ref.Ref);
      } else if (r.Type === 'AWS::IAM::ManagedPolicy') add(p.PolicyDocument, 'identity');
      else if (r.Type === 'AWS::IAM::Role') {
        add(p.AssumeRolePolicyDocument, 'trust', id);
        for (const policy of list(p.Policies as { PolicyDocument: unknown }[]))
          add(policy.PolicyDocument, 'identity', id);
      } else if (r.Type === 'AWS::KMS::Key') add(p.KeyPolicy, 'resource');
      else if (['AWS::SNS::TopicPolicy', 'AWS::SQS::QueuePolicy'].includes(r.Type))
        add(p.PolicyDocument, 'resource');
    }
  }
  return found;
}

/** An ARN or reference as readable text: `arn:aws:dynamodb:REGION:ACCOUNT:table/x`, `{Id:AWS::SQS::Queue.Arn}`. */
function render(value: unknown, synth: Synth, stack: string): string {
  const t = synth[stack] as TemplateJson;
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Ref' in v) {
    const ref = String(v.Ref);
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': 'REGION',
      'AWS::AccountId': 'ACCOUNT',
    };
    return pseudo[ref] ?? `{${ref}:${t.Resources[ref]?.Type ?? 'Parameter'}}`;
  }
  if ('Fn::GetAtt' in v) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    return `{${id}:${t.Resources[id]?.Type}.${attr}}`;
  }
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => render(part, synth, stack)).join(sep);
  }
  if ('Fn::GetStackOutput' in v) {
    const { StackName, OutputName } = v['Fn::GetStackOutput'] as { StackName: string; OutputName: string };
    const output = synth[StackName]?.Outputs?.[OutputName];
    return output ? render(output.Value, synth, StackName) : `{missing output ${StackName}.${OutputName}}`;
  }
  return JSON.stringify(value);
}

const HUB_OWNED = [
  /^arn:aws:dynamodb:REGION:ACCOUNT:table\/irsa-audit-findings$/,
  /^arn:aws:sns:REGION:ACCOUNT:irsa-audit-alerts$/,
  // the alerts topic's own subscriptions (the Slack filter sets Chatbot's filter policy)
  /^arn:aws:sns:REGION:ACCOUNT:irsa-audit-alerts:\*$/,
  /^\{\w+:AWS::(SQS::Queue|Logs::LogGroup|KMS::Key)\.Arn\}$/,
  // the hub account's own Security Hub default product (the securityHub setting)
  /^arn:aws:securityhub:REGION:ACCOUNT:product\/ACCOUNT\/default$/,
];

/** What the network interface actions may touch: the configured subnets and groups, the stack's group, interfaces. */
const NETWORK_OWNED = [
  /^arn:aws:ec2:REGION:ACCOUNT:network-interface\/\*$/,
  ...NETWORKS.flatMap((n) => n.subnetIds).map(
    (id) => new RegExp(`^arn:aws:ec2:REGION:ACCOUNT:subnet/${id}$`),
  ),
  ...NETWORKS.flatMap((n) => ('securityGroupIds' in n ? n.securityGroupIds : [])).map(
    (id) => new RegExp(`^arn:aws:ec2:REGION:ACCOUNT:security-group/${id}$`),
  ),
  /^arn:aws:ec2:REGION:ACCOUNT:security-group\/\{\w+:AWS::EC2::SecurityGroup\.GroupId\}$/,
];

describe('IAM: least privilege in every stack', () => {
  const all = () =>
    [cli, full, listed, networked, member].flatMap((synth) =>
      statementsOf(synth).map((f) => ({ ...f, synth })),
    );

  it('has no Allow statement with a wildcard action, and no IAM or EKS write anywhere', () => {
    const found = all();
    expect(found.length).toBeGreaterThan(20);
    for (const { where, statement } of found) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of list(statement.Action)) {
        expect(action, where).not.toContain('*');
        if (/^(iam|eks):/i.test(action)) expect(isReadOnlyAction(action), `${where}: ${action}`).toBe(true);
      }
      expect((statement as { NotAction?: unknown }).NotAction, where).toBeUndefined();
    }
  });

  it('grants identities only actions of shared/aws/audit-permissions.ts', () => {
    const known = new Set(ALL_PERMISSIONS.filter((p) => p.granted).map((p) => p.action));
    const granted = new Set<string>();
    for (const { where, kind, statement } of all()) {
      if (kind !== 'identity' || statement.Effect !== 'Allow') continue;
      for (const action of list(statement.Action)) {
        expect(known.has(action), `${where}: ${action} is not in the permission list`).toBe(true);
        granted.add(action);
      }
    }
    // And the list holds nothing the stacks never grant.
    expect([...known].filter((a) => !granted.has(a))).toEqual([]);
  });

  it('scopes every non-read action to the hub-owned table, topic, queue, key or log group', () => {
    const exceptions = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
    for (const { where, kind, statement, synth } of all()) {
      if (kind !== 'identity' || statement.Effect !== 'Allow') continue;
      const stack = where.split('/')[0] ?? '';
      const resources = list(statement.Resource).map((r) => render(r, synth, stack));
      for (const action of list(statement.Action)) {
        if (isReadOnlyAction(action) || NON_MUTATING_ACTIONS.has(action)) continue;
        if (exceptions.has(action)) {
          expect(resources, `${where}: ${action}`).toEqual(['*']);
          continue;
        }
        const owned = action.startsWith('ec2:') ? NETWORK_OWNED : HUB_OWNED;
        for (const resource of resources) {
          expect(
            owned.some((re) => re.test(resource)),
            `${where}: ${action} on ${resource}`,
          ).toBe(true);
        }
      }
    }
  });

  it('lets only the auditor assume roles, and only the member audit role by name (one ARN per listed account)', () => {
    const assumes = (synth: Synth) =>
      statementsOf(synth).filter(
        (f) => f.kind === 'identity' && list(f.statement.Action).includes('sts:AssumeRole'),
      );
    for (const [synth, expected] of [
      [cli, ['arn:aws:iam::*:role/irsa-auditor']],
      [
        listed,
        ['arn:aws:iam::111122223333:role/irsa-auditor', 'arn:aws:iam::444455556666:role/irsa-auditor'],
      ],
    ] as const) {
      const found = assumes(synth);
      expect(found.length).toBe(1);
      expect(found[0]?.role).toMatch(/^AuditorRole/);
      expect(list(found[0]?.statement.Resource).map((r) => render(r, synth, STACK_NAMES.stateless))).toEqual(
        expected,
      );
    }
    const withOrg = assumes(full)[0];
    expect(withOrg?.statement.Condition).toEqual({ StringEquals: { 'aws:ResourceOrgID': 'o-abcdefghij' } });
  });

  it('lists accounts only in the planner, and only for the organization selection', () => {
    const listAccounts = (synth: Synth) =>
      statementsOf(synth).filter((f) => list(f.statement.Action).includes('organizations:ListAccounts'));
    expect(listAccounts(cli).map((f) => f.role)).toEqual([expect.stringMatching(/^PlannerRole/)]);
    expect(listAccounts(listed)).toEqual([]);
  });

  it('attaches no managed policy but the API Gateway logging role, and denies all to the Slack channel', () => {
    for (const synth of [cli, full, listed, networked, member]) {
      for (const t of Object.values(synth)) {
        for (const [, role] of resourcesOf(t, 'AWS::IAM::Role')) {
          const managed = JSON.stringify(role.Properties?.ManagedPolicyArns ?? []);
          if (managed !== '[]') expect(managed).toContain('AmazonAPIGatewayPushToCloudWatchLogs');
        }
      }
    }
    template(listed, STACK_NAMES.stateless).resourceCountIs('AWS::ApiGateway::Account', 0);
    template(full, STACK_NAMES.stateless).hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      GuardrailPolicies: [
        Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':iam::aws:policy/AWSDenyAll'])] }),
      ],
      UserRoleRequired: false,
    });
  });
});

describe('Security Hub (the securityHub setting)', () => {
  const PRODUCT = 'arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default';
  const imports = (synth: Synth) =>
    statementsOf(synth).filter((f) => list(f.statement.Action).includes('securityhub:BatchImportFindings'));
  const auditors = (synth: Synth) =>
    resourcesOf(synth[STACK_NAMES.stateless] as TemplateJson, 'AWS::Lambda::Function').filter(([, r]) =>
      String(r.Properties?.FunctionName).startsWith('irsa-audit-auditor'),
    );
  const productVariable = (fn: Resource) =>
    (fn.Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables
      .SECURITY_HUB_PRODUCT_ARN;

  it("grants the auditors' role BatchImportFindings on the hub's default product only, and tells every auditor", () => {
    const found = imports(networked);
    expect(found.length).toBe(1);
    expect(found[0]?.role).toMatch(/^AuditorRole/);
    expect(found[0]?.kind).toBe('identity');
    expect(list(found[0]?.statement.Action)).toEqual(['securityhub:BatchImportFindings']);
    expect(
      list(found[0]?.statement.Resource).map((r) => render(r, networked, STACK_NAMES.stateless)),
    ).toEqual([PRODUCT]);
    // The default auditor and each network's (they share the role).
    const functions = auditors(networked);
    expect(functions.length).toBe(1 + NETWORKS.length);
    for (const [, fn] of functions)
      expect(render(productVariable(fn), networked, STACK_NAMES.stateless)).toBe(PRODUCT);
  });

  it('is off by default: no grant, no variable', () => {
    for (const synth of [cli, full, listed]) {
      expect(imports(synth)).toEqual([]);
      for (const [, fn] of auditors(synth)) expect(productVariable(fn)).toBeUndefined();
    }
  });

  it('a wrong value fails the synth naming the key', () => {
    expect(() => parseHubConfig({ externalId: 'a1b2c3d4e5f60718', securityHub: { enabled: 'yes' } })).toThrow(
      /securityHub\.enabled: /,
    );
    expect(() =>
      parseHubConfig({ externalId: 'a1b2c3d4e5f60718', securityHub: { region: 'eu-west-1' } }),
    ).toThrow(/securityHub: Unrecognized key/);
    expect(parseHubConfig({ externalId: 'a1b2c3d4e5f60718' }).securityHub).toEqual({ enabled: false });
  });
});

describe('networks: auditor functions inside VPCs for private clusters', () => {
  const t = () => networked[STACK_NAMES.stateless] as TemplateJson;
  const functionNamed = (tj: TemplateJson, name: string) =>
    resourcesOf(tj, 'AWS::Lambda::Function').find(([, r]) => r.Properties?.FunctionName === name);
  const vars = (name: string) =>
    (
      functionNamed(t(), name)?.[1].Properties?.Environment as
        | { Variables: Record<string, unknown> }
        | undefined
    )?.Variables ?? {};
  const queueId = (tj: TemplateJson, name: string) =>
    resourcesOf(tj, 'AWS::SQS::Queue').find(([, r]) => r.Properties?.QueueName === name)?.[0];
  const auditorRoleId = (tj: TemplateJson) =>
    resourcesOf(tj, 'AWS::IAM::Role').find(
      ([, r]) => r.Properties?.RoleName === 'irsa-audit-hub-auditor',
    )?.[0];
  const roleStatements = (synth: Synth) =>
    statementsOf(synth)
      .filter(
        (f) =>
          f.kind === 'identity' && f.role === auditorRoleId(synth[STACK_NAMES.stateless] as TemplateJson),
      )
      .map((f) => f.statement);

  it('gives each network a work queue and a dead-letter queue configured like the main ones, feeding its function', () => {
    const main = resourcesOf(t(), 'AWS::SQS::Queue').find(
      ([, r]) => r.Properties?.QueueName === 'irsa-audit-work',
    )?.[1];
    for (const { name } of NETWORKS) {
      const workId = queueId(t(), `irsa-audit-work-${name}`);
      const dlqId = queueId(t(), `irsa-audit-work-${name}-dlq`);
      expect(workId && dlqId, name).toBeTruthy();
      const work = t().Resources[String(workId)]?.Properties;
      expect(work).toMatchObject({
        SqsManagedSseEnabled: true,
        VisibilityTimeout: main?.Properties?.VisibilityTimeout,
        MessageRetentionPeriod: main?.Properties?.MessageRetentionPeriod,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
          maxReceiveCount: MAX_RECEIVE_COUNT,
        },
      });
      expect(t().Resources[String(dlqId)]?.Properties?.SqsManagedSseEnabled).toBe(true);
      const [fnId] = functionNamed(t(), `irsa-audit-auditor-${name}`) ?? [];
      const mappings = resourcesOf(t(), 'AWS::Lambda::EventSourceMapping').filter(
        ([, r]) => (r.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref === fnId,
      );
      expect(mappings.map(([, r]) => r.Properties)).toEqual([
        expect.objectContaining({
          EventSourceArn: { 'Fn::GetAtt': [workId, 'Arn'] },
          BatchSize: BATCH_SIZE,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          ScalingConfig: { MaximumConcurrency: 10 },
        }),
      ]);
    }
    // Every queue TLS-only: the two main ones and two per network.
    const policies = Object.values(Template.fromJSON(t() as never).findResources('AWS::SQS::QueuePolicy'));
    expect(policies.length).toBe(2 + 2 * NETWORKS.length);
    for (const policy of policies) {
      expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it("attaches each network's function to its subnets with its security groups, sharing the auditor's role", () => {
    const roleId = auditorRoleId(t());
    expect(roleId).toMatch(/^AuditorRole/);
    // One role for every auditor: no new role (network functions get none of their own).
    expect(resourcesOf(t(), 'AWS::IAM::Role').length).toBe(
      resourcesOf(cli[STACK_NAMES.stateless] as TemplateJson, 'AWS::IAM::Role').length,
    );
    const [defaultId, defaultFn] = functionNamed(t(), 'irsa-audit-auditor') ?? [];
    expect(defaultFn?.Properties?.VpcConfig).toBeUndefined();
    expect(defaultFn?.Properties?.Role).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    const created = resourcesOf(t(), 'AWS::EC2::SecurityGroup');
    expect(created.length).toBe(1);
    for (const network of NETWORKS) {
      const [id, fn] = functionNamed(t(), `irsa-audit-auditor-${network.name}`) ?? [];
      expect(id).not.toBe(defaultId);
      const p = fn?.Properties as Record<string, unknown>;
      expect(p.Role).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
      expect(p.Timeout).toBe(AUDITOR_TIMEOUT.toSeconds());
      expect(p.Runtime).toBe(FUNCTION_RUNTIME.name);
      expect(p.Handler).toBe('index.handler');
      const vpc = p.VpcConfig as { SubnetIds: unknown[]; SecurityGroupIds: unknown[] };
      expect(vpc.SubnetIds).toEqual(network.subnetIds);
      expect(vpc.SecurityGroupIds).toEqual(
        'securityGroupIds' in network
          ? network.securityGroupIds
          : [{ 'Fn::GetAtt': [created[0]?.[0], 'GroupId'] }],
      );
      // Its log group is its own; the grant to write it is on the shared role.
      const logGroup = (p.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(t().Resources[logGroup]?.Properties?.LogGroupName).toBe(
        `/aws/lambda/irsa-audit-auditor-${network.name}`,
      );
      expect(
        roleStatements(networked).some(
          (st) =>
            list(st.Action).includes('logs:PutLogEvents') &&
            JSON.stringify(st.Resource).includes(`"${logGroup}"`),
        ),
      ).toBe(true);
    }
    // And the created group's VPC is the network's.
    expect(created[0]?.[1].Properties?.VpcId).toBe(NETWORKS[0]?.vpcId);
  });

  it('gives the created security group no inbound rule and outbound TCP 443 only', () => {
    const [, group] = resourcesOf(t(), 'AWS::EC2::SecurityGroup')[0] ?? [];
    const p = group?.Properties as Record<string, unknown>;
    expect(p.SecurityGroupIngress).toBeUndefined();
    expect(p.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
    ]);
    expect(resourcesOf(t(), 'AWS::EC2::SecurityGroupIngress')).toEqual([]);
    expect(resourcesOf(t(), 'AWS::EC2::SecurityGroupEgress')).toEqual([]);
  });

  it('sets the network variables: AUDIT_NETWORKS on the default auditor, AUDIT_NETWORK and dial on each network', () => {
    const networks = (name: string) =>
      JSON.parse(render(vars(name).AUDIT_NETWORKS, networked, STACK_NAMES.stateless));
    const expected = NETWORKS.map((n) => ({
      name: n.name,
      queueUrl: `{${queueId(t(), `irsa-audit-work-${n.name}`)}:AWS::SQS::Queue}`,
      vpcIds: 'reachesVpcIds' in n ? n.reachesVpcIds : [n.vpcId],
    }));
    expect(networks('irsa-audit-auditor')).toEqual(expected);
    const defaults = vars('irsa-audit-auditor');
    expect(defaults.AUDIT_CLUSTERS_PER_UNIT).toBe('25');
    expect(defaults.QUEUE_URL).toEqual({ Ref: queueId(t(), 'irsa-audit-work') });
    expect(defaults.AUDIT_NETWORK).toBeUndefined();
    expect(defaults.AUDIT_PRIVATE_ENDPOINTS).toBeUndefined();
    for (const { name } of NETWORKS) {
      const own = vars(`irsa-audit-auditor-${name}`);
      expect(own).toMatchObject({
        AUDIT_NETWORK: name,
        AUDIT_PRIVATE_ENDPOINTS: 'dial',
        AUDIT_CLUSTERS_PER_UNIT: '25',
        QUEUE_URL: { Ref: queueId(t(), `irsa-audit-work-${name}`) },
      });
      expect(networks(`irsa-audit-auditor-${name}`)).toEqual(expected);
      // Everything else as the default auditor's (its table, topic and audit settings).
      const rest = (v: Record<string, unknown>) => {
        const { AUDIT_NETWORK, AUDIT_PRIVATE_ENDPOINTS, QUEUE_URL, ...others } = v;
        return others;
      };
      expect(rest(own)).toEqual(rest(defaults));
    }
  });

  it("lets the auditor role send to its own work queue and every network's, and consume every auditor queue", () => {
    const sent = roleStatements(networked)
      .filter((st) => list(st.Action).includes('sqs:SendMessage'))
      .flatMap((st) => list(st.Resource).map((r) => render(r, networked, STACK_NAMES.stateless)));
    const arn = (name: string) => `{${queueId(t(), name)}:AWS::SQS::Queue.Arn}`;
    const queues = ['irsa-audit-work', ...NETWORKS.map((n) => `irsa-audit-work-${n.name}`)].map(arn);
    expect(sent.sort()).toEqual([...queues].sort());
    const consumed = roleStatements(networked)
      .filter((st) => list(st.Action).includes('sqs:ReceiveMessage'))
      .flatMap((st) => list(st.Resource).map((r) => render(r, networked, STACK_NAMES.stateless)));
    expect(consumed.sort()).toEqual([...queues].sort());
    // Sids are unique in the role's policy.
    const sids = roleStatements(networked).flatMap((st) => list((st as { Sid?: string }).Sid));
    expect(sids.length).toBe(new Set(sids).size);
  });

  it('grants the network interface actions, scoped to the networks, only when networks exist', () => {
    // The member role's one EC2 read (launch template versions, IRSA-060) is not a network action.
    const ec2 = (synth: Synth) =>
      statementsOf(synth).filter((f) =>
        list(f.statement.Action).some(
          (a) => a.startsWith('ec2:') && a !== 'ec2:DescribeLaunchTemplateVersions',
        ),
      );
    for (const synth of [cli, full, listed]) {
      expect(ec2(synth)).toEqual([]);
      for (const t of Object.values(synth)) {
        for (const [, fn] of resourcesOf(t, 'AWS::Lambda::Function'))
          expect(fn.Properties?.VpcConfig).toBeUndefined();
        expect(resourcesOf(t, 'AWS::EC2::SecurityGroup')).toEqual([]);
      }
    }
    const found = ec2(networked);
    expect(new Set(found.map((f) => f.role))).toEqual(new Set([auditorRoleId(t())]));
    const by = (action: string) => found.filter((f) => list(f.statement.Action).includes(action));
    const resources = (f: Found | undefined) =>
      list(f?.statement.Resource)
        .map((r) => render(r, networked, STACK_NAMES.stateless))
        .sort();
    for (const action of ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets']) {
      expect(by(action).length, action).toBe(1);
      expect(resources(by(action)[0])).toEqual(['*']);
    }
    const create = by('ec2:CreateNetworkInterface');
    expect(create.length).toBe(1);
    expect(create[0]?.statement.Condition).toBeUndefined();
    const group = resourcesOf(t(), 'AWS::EC2::SecurityGroup')[0]?.[0];
    expect(resources(create[0])).toEqual(
      [
        'arn:aws:ec2:REGION:ACCOUNT:network-interface/*',
        ...NETWORKS.flatMap((n) => n.subnetIds).map((id) => `arn:aws:ec2:REGION:ACCOUNT:subnet/${id}`),
        'arn:aws:ec2:REGION:ACCOUNT:security-group/sg-0bbbbbbbbbbbbbbb4',
        'arn:aws:ec2:REGION:ACCOUNT:security-group/sg-0bbbbbbbbbbbbbbb5',
        `arn:aws:ec2:REGION:ACCOUNT:security-group/{${group}:AWS::EC2::SecurityGroup.GroupId}`,
      ].sort(),
    );
    for (const action of [
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ]) {
      const [manage, ...more] = by(action);
      expect(more, action).toEqual([]);
      expect(resources(manage)).toEqual(['arn:aws:ec2:REGION:ACCOUNT:network-interface/*']);
      const vpcs = list(
        manage?.statement.Condition?.ArnEqualsIfExists?.['ec2:Vpc'] as unknown[] | undefined,
      ).map((r) => render(r, networked, STACK_NAMES.stateless));
      expect(vpcs.sort()).toEqual(NETWORKS.map((n) => `arn:aws:ec2:REGION:ACCOUNT:vpc/${n.vpcId}`).sort());
    }
  });

  it('alarms on each network dead-letter queue and each network function error', () => {
    const alarms = resourcesOf(t(), 'AWS::CloudWatch::Alarm').map(
      ([, a]) => a.Properties as Record<string, unknown>,
    );
    for (const { name } of NETWORKS) {
      const dlqId = queueId(t(), `irsa-audit-work-${name}-dlq`);
      const dlqAlarm = alarms.find((a) => a.AlarmName === `irsa-audit-dead-letters-${name}`);
      expect(dlqAlarm).toMatchObject({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      });
      const [fnId] = functionNamed(t(), `irsa-audit-auditor-${name}`) ?? [];
      expect(
        alarms.some((a) => a.MetricName === 'Errors' && JSON.stringify(a.Dimensions).includes(`"${fnId}"`)),
        name,
      ).toBe(true);
    }
    expect(alarms.filter((a) => a.MetricName === 'Errors').length).toBe(3 + NETWORKS.length);
  });

  it('without networks: three functions, two queues, no network variable but the cluster threshold', () => {
    const plain = cli[STACK_NAMES.stateless] as TemplateJson;
    expect(resourcesOf(plain, 'AWS::Lambda::Function').length).toBe(3);
    expect(resourcesOf(plain, 'AWS::SQS::Queue').length).toBe(2);
    const auditor = functionNamed(plain, 'irsa-audit-auditor')?.[1].Properties?.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(auditor.Variables.AUDIT_NETWORKS).toBeUndefined();
    expect(auditor.Variables.AUDIT_NETWORK).toBeUndefined();
    expect(auditor.Variables.AUDIT_CLUSTERS_PER_UNIT).toBe('40');
    // The default auditor may send only to its own queue.
    const sent = roleStatements(cli)
      .filter((st) => list(st.Action).includes('sqs:SendMessage'))
      .flatMap((st) => list(st.Resource).map((r) => render(r, cli, STACK_NAMES.stateless)));
    expect(sent).toEqual([`{${queueId(plain, 'irsa-audit-work')}:AWS::SQS::Queue.Arn}`]);
  });
});

describe('member stack (the StackSet template)', () => {
  const t = () => member[MEMBER_STACK_NAME] as TemplateJson;

  it('has parameters for the hub role, the ExternalId and an optional organization, and nothing CDK-specific', () => {
    expect(Object.keys(t().Parameters ?? {}).sort()).toEqual(
      ['ExternalId', 'HubAuditorRoleArn', 'OrganizationId', 'RoleName'].sort(),
    );
    expect(t().Rules).toBeUndefined();
    expect(Object.values(t().Resources).map((r) => r.Type)).toEqual(['AWS::IAM::Role']);
    const assets = JSON.parse(
      readFileSync(join(scratch, 'member', `${MEMBER_STACK_NAME}.assets.json`), 'utf8'),
    );
    const files = Object.values(assets.files as Record<string, { source: { path: string } }>);
    expect(files.map((f) => f.source.path)).toEqual([`${MEMBER_STACK_NAME}.template.json`]);
    expect(assets.dockerImages).toEqual({});
  });

  it('trusts only the hub auditor role and requires the ExternalId (and the organization when given)', () => {
    const role = resourcesOf(t(), 'AWS::IAM::Role')[0]?.[1];
    const branches = documents(role?.Properties?.AssumeRolePolicyDocument);
    expect(branches.length).toBe(2);
    for (const [i, doc] of branches.entries()) {
      const statements = list(doc.Statement);
      expect(statements.length).toBe(1);
      const [s] = statements;
      expect(s?.Effect).toBe('Allow');
      expect(s?.Action).toBe('sts:AssumeRole');
      expect(s?.Principal).toEqual({ AWS: { Ref: 'HubAuditorRoleArn' } });
      const expected: Record<string, unknown> = { 'sts:ExternalId': { Ref: 'ExternalId' } };
      if (i === 0) expected['aws:PrincipalOrgID'] = { Ref: 'OrganizationId' };
      expect(s?.Condition).toEqual({ StringEquals: expected });
    }
    const conditional = role?.Properties?.AssumeRolePolicyDocument as { 'Fn::If': unknown[] } | undefined;
    expect(conditional?.['Fn::If'][0]).toBe('HasOrganizationId');
  });

  it('grants exactly the member read actions of shared/aws/audit-permissions.ts', () => {
    const role = resourcesOf(t(), 'AWS::IAM::Role')[0]?.[1];
    const policies = role?.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[];
    const actions = policies.flatMap((p) => p.PolicyDocument.Statement.flatMap((s) => list(s.Action)));
    expect(actions.sort()).toEqual([...MEMBER_AUDIT_ACTIONS].sort());
  });

  it("in the hub app, trusts the auditor function's own role by name", () => {
    const hubMember = full[STACK_NAMES.hubMember] as TemplateJson;
    const role = resourcesOf(hubMember, 'AWS::IAM::Role')[0]?.[1];
    const [doc] = documents(role?.Properties?.AssumeRolePolicyDocument);
    const [s] = list(doc?.Statement);
    expect(render((s?.Principal as { AWS: unknown } | undefined)?.AWS, full, STACK_NAMES.hubMember)).toBe(
      'arn:aws:iam::ACCOUNT:role/irsa-audit-hub-auditor',
    );
    expect(s?.Condition).toEqual({
      StringEquals: { 'sts:ExternalId': 'a1b2c3d4e5f60718', 'aws:PrincipalOrgID': 'o-abcdefghij' },
    });
    template(full, STACK_NAMES.stateless).hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'irsa-audit-hub-auditor',
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
    });
  });
});

describe('cdk-nag', () => {
  it('has a reason for every acknowledgement', () => {
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const a of acknowledgements) expect(a.reason.trim().length, `${a.path} ${a.id}`).toBeGreaterThan(20);
  });

  it('acknowledges nothing that is not a finding: without them, the findings are exactly the acknowledgements', () => {
    const violations = (build: (outdir: string) => void, name: string) => {
      const outdir = join(scratch, name);
      expect(() => build(outdir)).toThrow(/AwsSolutions/);
      const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
      return (
        report.pluginReports as {
          violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
        }[]
      ).flatMap((p) =>
        p.violations.flatMap((v) =>
          v.violatingConstructs.map((c) => ({ id: v.ruleName, path: c.constructPath })),
        ),
      );
    };
    const covers = (scope: string, path: string) => path === scope || path.startsWith(`${scope}/`);
    const before = acknowledgements.length;
    for (const [config, name] of [
      [FULL, 'full-unacknowledged'],
      [LISTED, 'listed-unacknowledged'],
      [NETWORKED, 'networked-unacknowledged'],
    ] as const) {
      const found = violations(
        (outdir) => buildHubApp({ outdir, config, context: NO_BUNDLING, acknowledge: false }).app.synth(),
        name,
      );
      // What the same configuration acknowledges when it does.
      const start = acknowledgements.length;
      buildHubApp({ outdir: join(scratch, `${name}-ok`), config, context: NO_BUNDLING });
      const made = acknowledgements.slice(start);
      for (const ack of made) {
        expect(
          found.some((f) => f.id === ack.id && covers(ack.path, f.path)),
          `${ack.path} ${ack.id} acknowledges no finding`,
        ).toBe(true);
      }
      for (const f of found) {
        expect(
          made.some((ack) => f.id === ack.id && covers(ack.path, f.path)),
          `${f.path} ${f.id} is not acknowledged`,
        ).toBe(true);
      }
    }
    const memberFound = violations(
      (outdir) => buildMemberApp({ outdir, acknowledge: false }).app.synth(),
      'member-unacknowledged',
    );
    expect(memberFound.map((f) => f.id).sort()).toEqual(
      acknowledgements
        .slice(0, before)
        .filter((a) => a.path === `${MEMBER_STACK_NAME}/AuditRole`)
        .map((a) => a.id)
        .sort(),
    );
  });
});

describe('configuration', () => {
  it('ships cdk.json with a valid configuration whose ExternalId is the example to replace', () => {
    const config = parseHubConfig((cdkJsonContext as { irsaAudit: unknown }).irsaAudit);
    expect(config.externalId).toBe(EXAMPLE_EXTERNAL_ID);
    expect(config.schedule).toBe('cron(0 2 * * ? *)');
  });

  it('rejects a wrong value naming the key', () => {
    expect(() => parseHubConfig({ externalId: 'x' })).toThrow(/externalId/);
    expect(() => parseHubConfig({ externalId: 'abcd', logRetentionDays: 10 })).toThrow(/logRetentionDays/);
    expect(() => parseHubConfig({ externalId: 'abcd', accounts: ['12'] })).toThrow(/accounts\.0/);
    expect(() =>
      parseHubConfig({ externalId: 'abcd', subscriptions: { email: [{ address: 'nope' }] } }),
    ).toThrow(/subscriptions\.email\.0\.address/);
    expect(() => parseHubConfig({ externalId: 'abcd', schedule: '0 2 * * *' })).toThrow(/schedule/);
  });

  it('validates networks and clustersPerUnit, naming the key', () => {
    const net = (over: Record<string, unknown> = {}) => ({
      name: 'core',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0'],
      ...over,
    });
    const parse = (networks: unknown[], extra: Record<string, unknown> = {}) =>
      parseHubConfig({ externalId: 'abcd', networks, ...extra });
    // Defaults: no network, 40 clusters a unit, a network reaches its own VPC.
    expect(parseHubConfig({ externalId: 'abcd' })).toMatchObject({ networks: [], clustersPerUnit: 40 });
    expect(parse([net()]).networks).toEqual([{ ...net(), reachesVpcIds: ['vpc-0123456789abcdef0'] }]);
    expect(() => parse([net({ vpcId: 'vpc-123' })])).toThrow(/networks\.0\.vpcId: expected a VPC id/);
    expect(() => parse([net({ subnetIds: ['subnet-XYZ'] })])).toThrow(/networks\.0\.subnetIds\.0/);
    expect(() => parse([net({ subnetIds: [] })])).toThrow(/networks\.0\.subnetIds/);
    expect(() => parse([net({ securityGroupIds: ['sg-1'] })])).toThrow(/networks\.0\.securityGroupIds\.0/);
    expect(() => parse([net({ name: 'Core' })])).toThrow(/networks\.0\.name/);
    expect(() => parse([net({ reachesVpcIds: ['vpc-nope'] })])).toThrow(/networks\.0\.reachesVpcIds\.0/);
    expect(() => parse([net({ extra: true })])).toThrow(/networks\.0/);
    expect(() => parse([net(), net({ vpcId: 'vpc-0123456789abcdef1' })])).toThrow(
      /networks\.1\.name: "core" is also networks\.0\.name/,
    );
    // A VPC reached by two networks: by default (both in the same VPC) and through reachesVpcIds.
    expect(() => parse([net(), net({ name: 'edge' })])).toThrow(
      /networks\.1\.reachesVpcIds\.0: vpc-0123456789abcdef0 is already reached by network "core"/,
    );
    expect(() =>
      parse([
        net({ reachesVpcIds: ['vpc-0123456789abcdef0', 'vpc-0feedfacecafe0001'] }),
        net({
          name: 'edge',
          vpcId: 'vpc-0123456789abcdef1',
          reachesVpcIds: ['vpc-0123456789abcdef1', 'vpc-0feedfacecafe0001'],
        }),
      ]),
    ).toThrow(/networks\.1\.reachesVpcIds\.1: vpc-0feedfacecafe0001 is already reached by network "core"/);
    expect(() => parse([], { clustersPerUnit: 0 })).toThrow(/clustersPerUnit/);
    expect(() => parse([], { clustersPerUnit: 501 })).toThrow(/clustersPerUnit/);
    expect(() => parse([], { clustersPerUnit: 2.5 })).toThrow(/clustersPerUnit/);
    expect(parse([], { clustersPerUnit: 500 }).clustersPerUnit).toBe(500);
  });
});

describe('Kubernetes RBAC (deploy/kubernetes/irsa-auditor-rbac.yaml)', () => {
  it('grants only get and list on serviceaccounts, pods and mutatingwebhookconfigurations, list on namespaces and endpointslices, get on services', () => {
    const docs = parseAllDocuments(
      readFileSync(join(ROOT, 'deploy/kubernetes/irsa-auditor-rbac.yaml'), 'utf8'),
    ).map(
      (d) =>
        d.toJS() as { kind: string; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] },
    );
    const roles = docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');
    expect(roles.length).toBe(1);
    const rules = roles.flatMap((r) => r.rules ?? []);
    const granted = rules
      .flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${res}:${v}`)))
      .sort();
    expect(granted).toEqual(
      [
        'endpointslices:list',
        'mutatingwebhookconfigurations:get',
        'mutatingwebhookconfigurations:list',
        'namespaces:list',
        'pods:get',
        'pods:list',
        'serviceaccounts:get',
        'serviceaccounts:list',
        'services:get',
      ].sort(),
    );
    const text = JSON.stringify(rules);
    expect(text).not.toMatch(/secrets|configmaps|"\*"/);
    expect(docs.filter((d) => d.kind === 'ClusterRoleBinding').length).toBe(1);
  });
});

describe('the Slack filter custom resource against the emulated SNS', () => {
  let emulator: Emulator;
  let sns: SNSClient;
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    emulator = await startEmulator({ fleetDir: join(ROOT, 'examples/fleet') });
    Object.assign(process.env, emulator.env);
    sns = new SNSClient({ region: 'us-east-1' });
  });
  afterAll(async () => {
    sns?.destroy();
    await emulator?.stop();
    process.env = savedEnv;
  });

  async function cloudFormation(): Promise<{
    url: string;
    responses: Record<string, unknown>[];
    close: () => void;
  }> {
    const responses: Record<string, unknown>[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        responses.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/response`, responses, close: () => server.close() };
  }

  it("puts the configured filter on Chatbot's subscription, so Slack gets only critical and high regressions", async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'irsa-audit-alerts' }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'email', Endpoint: 'security@example.com' }));
    const { SubscriptionArn } = await sns.send(
      new SubscribeCommand({ TopicArn, Protocol: 'https', Endpoint: CHATBOT_ENDPOINT }),
    );
    const cfn = await cloudFormation();
    try {
      const filter = parseHubConfig({
        externalId: 'ab',
        subscriptions: { slack: { workspaceId: 'T0123ABCDE', channelId: 'C0123ABCDE' } },
      }).subscriptions.slack?.filter;
      await handleEvent(
        {
          RequestType: 'Create',
          ResponseURL: cfn.url,
          StackId: 'stack',
          RequestId: 'r1',
          LogicalResourceId: 'SlackFilterPolicy',
          ResourceProperties: { TopicArn, FilterPolicy: JSON.stringify(filter) },
        },
        { sns, pollMs: 10, waitMs: 100, log: () => {} },
      );
      expect(cfn.responses).toEqual([
        expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: SubscriptionArn }),
      ]);
      const publish = (eventType: string, maxSeverity: string) =>
        sns.send(
          new PublishCommand({
            TopicArn,
            Message: `${eventType} ${maxSeverity}`,
            MessageAttributes: {
              eventType: { DataType: 'String', StringValue: eventType },
              maxSeverity: { DataType: 'String', StringValue: maxSeverity },
            },
          }),
        );
      await publish('regression', 'critical');
      await publish('regression', 'medium');
      await publish('digest', 'high');
      const slack = emulator.sns
        .deliveries({ subscriptionArn: SubscriptionArn })
        .filter((d) => d.status === 'delivered');
      expect(slack.length).toBe(1);
      expect(JSON.stringify(slack[0])).toContain('regression critical');
    } finally {
      cfn.close();
    }
  });

  it('fails the resource, saying why, when Chatbot has not subscribed; succeeds on Delete without touching anything', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'irsa-audit-empty' }));
    const cfn = await cloudFormation();
    try {
      const base = {
        ResponseURL: cfn.url,
        StackId: 'stack',
        RequestId: 'r2',
        LogicalResourceId: 'SlackFilterPolicy',
        ResourceProperties: { TopicArn, FilterPolicy: '{"eventType":["regression"]}' },
      };
      await handleEvent({ ...base, RequestType: 'Create' }, { sns, pollMs: 10, waitMs: 50, log: () => {} });
      await handleEvent(
        { ...base, RequestType: 'Delete', PhysicalResourceId: 'sub' },
        { sns, log: () => {} },
      );
      expect(cfn.responses[0]).toMatchObject({
        Status: 'FAILED',
        Reason: expect.stringMatching(/no confirmed https subscription/),
      });
      expect(cfn.responses[1]).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'sub' });
    } finally {
      cfn.close();
    }
  });
});
