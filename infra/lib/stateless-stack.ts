/**
 * The hub's stateless stack: the three functions (planner, auditor, query), the nightly schedule,
 * the work queue and its dead-letter queue, the IAM-authorized query API, the AWS Chatbot Slack
 * channel (with its filter policy) and the operations alarms and dashboard; and, per configured
 * network, a work queue and an auditor function inside that VPC with the default auditor's role.
 * Everything here can be destroyed and redeployed without losing history.
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
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  NETWORK_INTERFACE_CREATE_ACTIONS,
  NETWORK_INTERFACE_DESCRIBE_ACTIONS,
  NETWORK_INTERFACE_MANAGE_ACTIONS,
} from '#shared/aws/audit-permissions.ts';
import { BATCH_SIZE } from '#shared/pipeline/limits.ts';
import { auditAccountsSetting, type HubConfig } from '../config.ts';
import { AuditFunction, bindingVariables } from './audit-function.ts';
import { AuditNetwork, workQueues } from './audit-network.ts';
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
  /** The configured networks: their queues and auditor functions (empty without `networks`). */
  readonly networks: readonly AuditNetwork[];

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
    const main = workQueues(
      this,
      { queue: 'WorkQueue', deadLetterQueue: 'DeadLetterQueue' },
      `${prefix}-work`,
      visibilityTimeoutFor(AUDITOR_TIMEOUT),
    );
    this.workQueue = main.queue;
    this.deadLetterQueue = main.deadLetterQueue;
    // The networks' queues first: the default auditor's AUDIT_NETWORKS names them.
    this.networks = config.networks.map(
      (network) =>
        new AuditNetwork(this, `Network-${network.name}`, {
          prefix,
          network,
          visibilityTimeout: visibilityTimeoutFor(AUDITOR_TIMEOUT),
        }),
    );

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

    // What every auditor function reads, the default one and each network's.
    const auditorEnvironment: Record<string, string> = {
      AUDIT_ROLE_NAME: config.auditRoleName,
      ...(config.egressIps.length > 0 ? { AUDIT_EGRESS_IPS: config.egressIps.join(',') } : {}),
      AUDIT_EXTERNAL_ID: config.externalId,
      RETENTION_DAYS: String(config.retentionDays),
      ...(config.auditConfig ? { AUDIT_CONFIG: JSON.stringify(config.auditConfig) } : {}),
      AUDIT_CLUSTERS_PER_UNIT: String(config.clustersPerUnit),
      ...(this.networks.length > 0
        ? {
            AUDIT_NETWORKS: this.toJsonString(
              this.networks.map((network, i) => ({
                name: network.name,
                queueUrl: network.workQueue.queueUrl,
                vpcIds: config.networks[i]?.reachesVpcIds ?? [],
              })),
            ),
          }
        : {}),
    };
    const auditorBindings = {
      table: { table, access: 'readWrite' },
      topic: { topic: alertsTopic, key },
      // The hub account's own default product, in the hub's region: the only one the role may import into.
      ...(config.securityHub.enabled
        ? {
            securityHubProductArn: `arn:${Aws.PARTITION}:securityhub:${Aws.REGION}:${Aws.ACCOUNT_ID}:product/${Aws.ACCOUNT_ID}/default`,
          }
        : {}),
    } as const;
    this.auditor = new AuditFunction(this, 'Auditor', {
      entry: 'functions/auditor/handler.ts',
      functionName: `${prefix}-auditor`,
      description: 'irsa-audit: audits one account per work message, records history, alerts',
      serviceName: SERVICE_NAMES.auditor,
      roleName: config.hubAuditorRoleName,
      timeout: AUDITOR_TIMEOUT,
      memorySize: config.auditorMemoryMb,
      logRetention,
      environment: auditorEnvironment,
      iamCatalogue: true,
    }).bind({
      ...auditorBindings,
      // Its own queue (an over-large account's parts) and every network's (the clusters only a
      // network reaches). The role is shared: the network auditors may send to the same queues.
      queue: this.workQueue,
      forwardQueues: this.networks.map((network) => network.workQueue),
    });
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
    for (const network of this.networks) {
      network.addAuditor({
        prefix,
        role: this.auditor.role,
        description: `irsa-audit: audits the clusters only network ${network.name} reaches (inside its VPC)`,
        serviceName: SERVICE_NAMES.auditor,
        timeout: AUDITOR_TIMEOUT,
        memorySize: config.auditorMemoryMb,
        logRetention,
        maxConcurrency: config.auditorMaxConcurrency,
        environment: { ...auditorEnvironment, ...bindingVariables(auditorBindings) },
      });
    }
    if (this.networks.length > 0) this.allowNetworkInterfaces(this.auditor);

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
        ...Object.fromEntries(
          this.networks.map((network) => [`auditor-${network.name}`, network.auditor.function]),
        ),
      },
      workQueue: this.workQueue,
      deadLetterQueue: this.deadLetterQueue,
      networkQueues: this.networks.map((network) => ({
        name: network.name,
        workQueue: network.workQueue,
        deadLetterQueue: network.deadLetterQueue,
      })),
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

  /**
   * What Lambda does with the auditor's role to attach the network auditors to their VPCs (the ENI
   * actions of AWSLambdaVPCAccessExecutionRole), scoped as far as EC2 allows:
   * - the Describe actions support no resource-level permission (Resource "*");
   * - CreateNetworkInterface is authorized on the subnet, the security groups and the new interface:
   *   only the configured subnets and groups, any new interface (its id does not exist yet), so
   *   interfaces are created only in those subnets with those groups;
   * - Delete, Assign and Unassign act on Lambda's existing interfaces, whose ids are not known:
   *   any interface of this account and region, in the networks' VPCs only (ec2:Vpc). The condition
   *   is IfExists because Lambda checks the role before it creates an interface, when there is no
   *   VPC to compare; EC2's own requests on an interface always carry ec2:Vpc.
   */
  private allowNetworkInterfaces(auditor: AuditFunction): void {
    const ec2Arn = (resource: string, resourceName: string) =>
      this.formatArn({ service: 'ec2', resource, resourceName });
    auditor
      .allow(
        new iam.PolicyStatement({
          sid: 'NetworkInterfacesDescribe',
          actions: [...NETWORK_INTERFACE_DESCRIBE_ACTIONS],
          // EC2's Describe actions support no resource-level permission.
          resources: ['*'],
        }),
      )
      .allow(
        new iam.PolicyStatement({
          sid: 'NetworkInterfacesCreate',
          actions: [...NETWORK_INTERFACE_CREATE_ACTIONS],
          resources: [
            ...this.networks.flatMap((network) =>
              network.subnets.map((subnet) => ec2Arn('subnet', subnet.subnetId)),
            ),
            ...this.networks.flatMap((network) =>
              network.securityGroups.map((group) => ec2Arn('security-group', group.securityGroupId)),
            ),
            ec2Arn('network-interface', '*'),
          ],
        }),
      )
      .allow(
        new iam.PolicyStatement({
          sid: 'NetworkInterfacesManage',
          actions: [...NETWORK_INTERFACE_MANAGE_ACTIONS],
          resources: [ec2Arn('network-interface', '*')],
          conditions: {
            ArnEqualsIfExists: {
              'ec2:Vpc': [...new Set(this.networks.map((network) => network.vpc.vpcId))].map((vpcId) =>
                ec2Arn('vpc', vpcId),
              ),
            },
          },
        }),
      );
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
