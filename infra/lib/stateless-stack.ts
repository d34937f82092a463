/**
 * The hub's stateless stack: the three functions (planner, auditor, query), the nightly schedule,
 * the work queue and its dead-letter queue, the IAM-authorized query API, the AWS Chatbot Slack
 * channel (with its filter policy) and the operations alarms and dashboard. Everything here can be destroyed and redeployed without losing history.
 */
import {
  ArnFormat,
  Aws,
  CfnOutput,
  CustomResource,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BATCH_SIZE, MAX_RECEIVE_COUNT } from '#shared/pipeline/limits.ts';
import { auditAccountsSetting, type HubConfig } from '../config.ts';
import { AuditFunction } from './audit-function.ts';
import { Operations } from './operations.ts';
import { alertsTopicName } from './stateful-stack.ts';

/** The Powertools service names the handlers give observability() (the metrics' `service` dimension). */
export const SERVICE_NAMES = {
  planner: 'irsa-audit-planner',
  auditor: 'irsa-audit-auditor',
  query: 'irsa-audit-query',
} as const;

/** The auditor's timeout: Lambda's maximum. */
export const AUDITOR_TIMEOUT = Duration.minutes(15);
/** SQS's maximum visibility timeout. */
const MAX_VISIBILITY = Duration.hours(12);

/** AWS recommends a source queue visibility timeout of at least six times the function's timeout. */
export function visibilityTimeoutFor(functionTimeout: Duration): Duration {
  return Duration.seconds(Math.min(functionTimeout.toSeconds() * 6, MAX_VISIBILITY.toSeconds()));
}

/** The query API's routes: the paths functions/query/handler.ts answers, all GET. */
export const QUERY_ROUTES = [
  { path: '/findings', query: [] },
  { path: '/findings/{findingId}/history', query: [] },
  { path: '/clusters/{account}/{region}/{cluster}/open', query: [] },
  { path: '/runs', query: [] },
  { path: '/events', query: ['since'] },
] as const;

export interface StatelessStackProps extends StackProps {
  readonly config: HubConfig;
  /** The stateful stack's notification key (the one cross-stack reference). */
  readonly key: kms.IKey;
}

export class StatelessStack extends Stack {
  readonly planner: AuditFunction;
  readonly auditor: AuditFunction;
  readonly query: AuditFunction;
  readonly workQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly schedule: events.Rule;
  readonly api: apigateway.RestApi;
  readonly operations: Operations;
  readonly chatFilter?: AuditFunction;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { config, key } = props;
    const { prefix } = config;
    // The table and the topic by their configured names: no cross-stack export to pin the
    // stateful stack, and policies that name them plainly.
    const table = dynamodb.Table.fromTableName(this, 'FindingTable', config.tableName);
    const alertsTopic = sns.Topic.fromTopicArn(
      this,
      'AlertsTopic',
      this.formatArn({
        service: 'sns',
        resource: alertsTopicName(config),
        arnFormat: ArnFormat.NO_RESOURCE_NAME,
      }),
    );
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    // Work queue: one message per account; a message that fails MAX_RECEIVE_COUNT deliveries
    // goes to the dead-letter queue (the local pipeline, demo/local-pipeline.ts, uses the same).
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${prefix}-work-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.workQueue = new sqs.Queue(this, 'WorkQueue', {
      queueName: `${prefix}-work`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: visibilityTimeoutFor(AUDITOR_TIMEOUT),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    this.planner = new AuditFunction(this, 'Planner', {
      entry: 'functions/planner/handler.ts',
      functionName: `${prefix}-planner`,
      description: "irsa-audit: plans the night's run, one work message per account",
      serviceName: SERVICE_NAMES.planner,
      timeout: Duration.minutes(5),
      memorySize: 512,
      logRetention,
      environment: {
        AUDIT_ACCOUNTS: auditAccountsSetting(config),
        AUDIT_REGIONS: config.regions.join(','),
        RETENTION_DAYS: String(config.retentionDays),
      },
    }).bind({ table: { table, access: 'readWrite' }, queue: this.workQueue });
    if (config.accounts === 'organization') {
      this.planner.allow(
        new iam.PolicyStatement({
          sid: 'OrganizationAccounts',
          actions: ['organizations:ListAccounts'],
          // organizations:ListAccounts supports no resource-level permission.
          resources: ['*'],
        }),
      );
    }

    this.auditor = new AuditFunction(this, 'Auditor', {
      entry: 'functions/auditor/handler.ts',
      functionName: `${prefix}-auditor`,
      description: 'irsa-audit: audits one account per work message, records history, alerts',
      serviceName: SERVICE_NAMES.auditor,
      roleName: config.hubAuditorRoleName,
      timeout: AUDITOR_TIMEOUT,
      memorySize: config.auditorMemoryMb,
      logRetention,
      environment: {
        AUDIT_ROLE_NAME: config.auditRoleName,
        ...(config.egressIps.length > 0 ? { AUDIT_EGRESS_IPS: config.egressIps.join(',') } : {}),
        AUDIT_EXTERNAL_ID: config.externalId,
        RETENTION_DAYS: String(config.retentionDays),
        ...(config.auditConfig ? { AUDIT_CONFIG: JSON.stringify(config.auditConfig) } : {}),
      },
    }).bind({ table: { table, access: 'readWrite' }, topic: { topic: alertsTopic, key } });
    this.auditor.allow(
      new iam.PolicyStatement({
        sid: 'AssumeMemberAuditRole',
        actions: ['sts:AssumeRole'],
        resources: Array.isArray(config.accounts)
          ? config.accounts.map(
              (account) => `arn:${Aws.PARTITION}:iam::${account}:role/${config.auditRoleName}`,
            )
          : [`arn:${Aws.PARTITION}:iam::*:role/${config.auditRoleName}`],
        ...(config.organizationId
          ? { conditions: { StringEquals: { 'aws:ResourceOrgID': config.organizationId } } }
          : {}),
      }),
    );
    this.auditor.function.addEventSource(
      new lambdaEvents.SqsEventSource(this.workQueue, {
        batchSize: BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: config.auditorMaxConcurrency,
      }),
    );

    this.query = new AuditFunction(this, 'Query', {
      entry: 'functions/query/handler.ts',
      functionName: `${prefix}-query`,
      description: 'irsa-audit: the history query API',
      serviceName: SERVICE_NAMES.query,
      timeout: Duration.seconds(29),
      memorySize: 1024,
      logRetention,
    }).bind({ table: { table, access: 'read' } });

    this.schedule = new events.Rule(this, 'NightlySchedule', {
      ruleName: `${prefix}-nightly`,
      description: 'irsa-audit: starts the nightly run',
      schedule: events.Schedule.expression(config.schedule),
      targets: [
        new targets.LambdaFunction(this.planner.function, {
          retryAttempts: 2,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });

    this.api = this.queryApi(config, logRetention);

    this.operations = new Operations(this, 'Operations', {
      prefix,
      key,
      emails: config.operations.emails,
      missedRunHours: config.operations.missedRunHours,
      functions: {
        planner: this.planner.function,
        auditor: this.auditor.function,
        query: this.query.function,
      },
      workQueue: this.workQueue,
      deadLetterQueue: this.deadLetterQueue,
      auditorService: SERVICE_NAMES.auditor,
    });

    new CfnOutput(this, 'AuditorRoleArn', {
      value: this.auditor.role.roleArn,
      description: 'HubAuditorRoleArn of the member StackSet: the one principal member roles trust',
    });
    new CfnOutput(this, 'PlannerFunctionName', { value: this.planner.function.functionName });
    new CfnOutput(this, 'QueryApiUrl', { value: this.api.url });
    new CfnOutput(this, 'DeadLetterQueueArn', { value: this.deadLetterQueue.queueArn });
    new CfnOutput(this, 'DashboardName', { value: prefix });

    const slack = config.subscriptions.slack;
    if (slack) {
      const channel = new chatbot.SlackChannelConfiguration(this, 'SlackChannel', {
        slackChannelConfigurationName: slack.name,
        slackWorkspaceId: slack.workspaceId,
        slackChannelId: slack.channelId,
        notificationTopics: [alertsTopic, ...(slack.operations ? [this.operations.topic] : [])],
        loggingLevel: chatbot.LoggingLevel.ERROR,
        // Notifications only: nobody in the channel may run anything through Chatbot.
        guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AWSDenyAll')],
        userRoleRequired: false,
      });
      const filterFunction = new AuditFunction(this, 'ChatFilter', {
        entry: 'infra/functions/chat-filter/handler.ts',
        functionName: `${prefix}-chat-filter`,
        description: "irsa-audit: puts the filter policy on AWS Chatbot's subscription to the alerts topic",
        serviceName: 'irsa-audit-chat-filter',
        timeout: Duration.minutes(5),
        memorySize: 256,
        logRetention,
      })
        .allow(
          new iam.PolicyStatement({
            sid: 'ListAlertsSubscriptions',
            actions: ['sns:ListSubscriptionsByTopic'],
            resources: [alertsTopic.topicArn],
          }),
        )
        .allow(
          // SNS authorizes a subscription's attributes on the subscription (topic ARN + ":" + id).
          new iam.PolicyStatement({
            sid: 'FilterAlertsSubscriptions',
            actions: ['sns:SetSubscriptionAttributes'],
            resources: [alertsTopic.topicArn, `${alertsTopic.topicArn}:*`],
          }),
        );
      this.chatFilter = filterFunction;
      const filter = new CustomResource(this, 'SlackFilterPolicy', {
        serviceToken: filterFunction.function.functionArn,
        resourceType: 'Custom::ChatbotSubscriptionFilter',
        properties: {
          TopicArn: alertsTopic.topicArn,
          FilterPolicy: JSON.stringify(slack.filter),
          ChannelConfigurationArn: channel.slackChannelConfigurationArn,
        },
      });
      filter.node.addDependency(channel);
    }
  }

  /** The query API: REST, AWS_IAM (SigV4) on every method, access and execution logs, throttled. */
  private queryApi(config: HubConfig, logRetention: logs.RetentionDays): apigateway.RestApi {
    const accessLogs = new logs.LogGroup(this, 'QueryApiAccessLogs', {
      logGroupName: `/aws/apigateway/${config.prefix}-query`,
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const api = new apigateway.RestApi(this, 'QueryApi', {
      restApiName: `${config.prefix}-query`,
      description: 'irsa-audit: finding history (GET only, IAM authorization)',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: config.apiGatewayCloudWatchRole,
      ...(config.apiGatewayCloudWatchRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      deployOptions: {
        stageName: 'v1',
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        tracingEnabled: true,
        metricsEnabled: true,
        throttlingRateLimit: 10,
        throttlingBurstLimit: 20,
      },
    });
    const validator = api.addRequestValidator('Parameters', {
      requestValidatorName: 'path-and-query-parameters',
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const integration = new apigateway.LambdaIntegration(this.query.function, { allowTestInvoke: false });
    for (const route of QUERY_ROUTES) {
      const resource = api.root.resourceForPath(route.path);
      const pathParameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      resource.addMethod('GET', integration, {
        authorizationType: apigateway.AuthorizationType.IAM,
        requestValidator: validator,
        requestParameters: Object.fromEntries([
          ...pathParameters.map((name) => [`method.request.path.${name}`, true]),
          ...route.query.map((name) => [`method.request.querystring.${name}`, true]),
        ]),
      });
    }
    return api;
  }
}
