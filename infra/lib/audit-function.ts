/**
 * The one function construct: every hub function gets the same runtime, bundling, logging, tracing
 * and Powertools settings, its own role with nothing but its own log group, and then exactly the
 * grants {@link AuditFunction.bind} gives it on the table, the topic and the queue, with the
 * environment variables the handlers read (functions/runtime/environment.ts), in one call. The
 * network auditors are the exception: they run in a VPC with the default auditor's role (the one
 * principal member roles trust), so that role's grants are theirs, and {@link bindingVariables}
 * gives them the same variables without granting anything twice.
 */
import { join, resolve } from 'node:path';
import { type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  HUB_QUEUE_SEND_ACTIONS,
  HUB_SECURITY_HUB_ACTIONS,
  HUB_TABLE_READ_ACTIONS,
  HUB_TABLE_WRITE_ACTIONS,
  HUB_TOPIC_KEY_ACTIONS,
  HUB_TOPIC_PUBLISH_ACTIONS,
} from '#shared/aws/audit-permissions.ts';
import { catalogueRoot } from '#shared/policy/iam-catalogue.ts';
import { shellWord } from '#shared/sinks/shell.ts';
import { METRICS_NAMESPACE } from '../../functions/runtime/observability.ts';

/** The repository root: entries and the lock file are resolved from it. */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** The Lambda runtime every function runs on (the latest Node.js runtime; cdk-nag AwsSolutions-L1). */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;
/** esbuild's target for that runtime. */
export const BUNDLE_TARGET = 'node24';

/** ESM bundles still meet CommonJS dependencies that call require(): give them one. */
const REQUIRE_BANNER =
  "import { createRequire as __irsaCreateRequire } from 'node:module'; const require = __irsaCreateRequire(import.meta.url);";

export interface AuditFunctionProps {
  /** The handler file, relative to the repository root (it exports `handler`). */
  readonly entry: string;
  readonly functionName: string;
  readonly description: string;
  /** POWERTOOLS_SERVICE_NAME: the name the handler gives observability() (the metrics' `service` dimension). */
  readonly serviceName: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  /** A fixed role name (the auditor's, which member roles trust); default: generated. */
  readonly roleName?: string;
  /**
   * Run with this existing role instead of a role of its own (the network auditors share the
   * default auditor's role, the one principal member roles trust); the function's log group grant
   * goes on it.
   */
  readonly role?: iam.Role;
  /** Attach the function to a VPC: these subnets, with these security groups. */
  readonly vpc?: {
    readonly vpc: ec2.IVpc;
    readonly subnets: readonly ec2.ISubnet[];
    readonly securityGroups: readonly ec2.ISecurityGroup[];
  };
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Ship the IAM action catalogue's files beside the bundle (functions that evaluate checks:
   * IRSA-023 reads them at run time, shared/policy/iam-catalogue.ts).
   */
  readonly iamCatalogue?: boolean;
}

/**
 * The shell commands that copy what the IAM action catalogue needs (its package.json for the
 * version, the service list, each service's actions and resource types: about 13 MB, not its
 * condition keys) into `iam-data/` beside the bundle, where iam-catalogue.ts looks first.
 */
export function iamCatalogueCopyCommands(outputDir: string): string[] {
  const source = catalogueRoot();
  const target = join(outputDir, 'iam-data');
  const q = shellWord;
  return [
    `mkdir -p ${q(join(target, 'data'))}`,
    `cp ${q(join(source, 'package.json'))} ${q(join(target, 'package.json'))}`,
    `cp -R ${q(join(source, 'data', 'actions'))} ${q(join(source, 'data', 'resourceTypes'))} ${q(join(source, 'data', 'serviceNames.json'))} ${q(join(target, 'data'))}`,
  ];
}

/** What a function may use: each binding grants exactly what the handler calls and sets its variable. */
export interface FunctionBindings {
  /** TABLE_NAME; `read`: GetItem and Query (table and indexes); `readWrite` adds Put, Update, BatchWrite. */
  readonly table?: { readonly table: dynamodb.ITable; readonly access: 'read' | 'readWrite' };
  /** TOPIC_ARN; sns:Publish, and the topic key's data-key actions through SNS only. */
  readonly topic?: { readonly topic: sns.ITopic; readonly key: kms.IKey };
  /** QUEUE_URL; sqs:SendMessage (SendMessageBatch). */
  readonly queue?: sqs.IQueue;
  /** sqs:SendMessage on other work queues the function forwards to (the networks' queues); no variable. */
  readonly forwardQueues?: readonly sqs.IQueue[];
  /** SECURITY_HUB_PRODUCT_ARN; securityhub:BatchImportFindings on that product only (the hub's default product). */
  readonly securityHubProductArn?: string;
}

/** The variables {@link AuditFunction.bind} sets for these bindings, without any grant. */
export function bindingVariables(bindings: Omit<FunctionBindings, 'forwardQueues'>): Record<string, string> {
  return {
    ...(bindings.table ? { TABLE_NAME: bindings.table.table.tableName } : {}),
    ...(bindings.topic ? { TOPIC_ARN: bindings.topic.topic.topicArn } : {}),
    ...(bindings.queue ? { QUEUE_URL: bindings.queue.queueUrl } : {}),
    ...(bindings.securityHubProductArn ? { SECURITY_HUB_PRODUCT_ARN: bindings.securityHubProductArn } : {}),
  };
}

export class AuditFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AuditFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (props.role && props.roleName) {
      throw new Error(`${props.functionName}: give either an existing role or a role name, not both`);
    }
    this.role =
      props.role ??
      new iam.Role(this, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `${props.functionName}: its own log group, then only what bind() grants`,
        ...(props.roleName ? { roleName: props.roleName } : {}),
      });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: resolve(REPO_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: resolve(REPO_ROOT, 'package-lock.json'),
      functionName: props.functionName,
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      ...(props.vpc
        ? {
            vpc: props.vpc.vpc,
            vpcSubnets: { subnets: [...props.vpc.subnets] },
            securityGroups: [...props.vpc.securityGroups],
          }
        : {}),
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: BUNDLE_TARGET,
        mainFields: ['module', 'main'],
        banner: REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The SDK versions the tests ran with, not the runtime's.
        bundleAwsSDK: true,
        // The SDK is in the bundle: what loadEc2Sdk (shared/collectors/aws-clients.ts) imports
        // is resolved at build time, not required at run time.
        define: { IRSA_SDK_BUNDLED: 'true' },
        forceDockerBundling: false,
        logLevel: nodejs.LogLevel.WARNING,
        ...(props.iamCatalogue
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) => iamCatalogueCopyCommands(outputDir),
              },
            }
          : {}),
      },
    });
  }

  /** Grants exactly what each bound resource needs and sets the variable the handler reads. */
  bind(bindings: FunctionBindings): this {
    const fn = this.function;
    if (bindings.table) {
      const { table, access } = bindings.table;
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'FindingTableRead',
          actions: [...HUB_TABLE_READ_ACTIONS],
          resources: [table.tableArn, `${table.tableArn}/index/*`],
        }),
      );
      if (access === 'readWrite') {
        this.role.addToPolicy(
          new iam.PolicyStatement({
            sid: 'FindingTableWrite',
            actions: [...HUB_TABLE_WRITE_ACTIONS],
            resources: [table.tableArn],
          }),
        );
      }
    }
    if (bindings.topic) {
      const { topic, key } = bindings.topic;
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'AlertsTopicPublish',
          actions: [...HUB_TOPIC_PUBLISH_ACTIONS],
          resources: [topic.topicArn],
        }),
      );
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'AlertsTopicKeyThroughSns',
          actions: [...HUB_TOPIC_KEY_ACTIONS],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    if (bindings.queue) {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'WorkQueueSend',
          actions: [...HUB_QUEUE_SEND_ACTIONS],
          resources: [bindings.queue.queueArn],
        }),
      );
    }
    if (bindings.forwardQueues && bindings.forwardQueues.length > 0) {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ForwardQueuesSend',
          actions: [...HUB_QUEUE_SEND_ACTIONS],
          resources: bindings.forwardQueues.map((queue) => queue.queueArn),
        }),
      );
    }
    if (bindings.securityHubProductArn) {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'SecurityHubImport',
          actions: [...HUB_SECURITY_HUB_ACTIONS],
          resources: [bindings.securityHubProductArn],
        }),
      );
    }
    for (const [name, value] of Object.entries(bindingVariables(bindings))) fn.addEnvironment(name, value);
    return this;
  }

  /** Adds a statement to the function's own policy (the planner's and auditor's cross-account calls). */
  allow(statement: iam.PolicyStatement): this {
    this.role.addToPolicy(statement);
    return this;
  }
}
