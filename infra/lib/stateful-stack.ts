/**
 * The hub's stateful stack: the finding table, the alerts topic with its email subscriptions (each
 * with its filter policy), and the KMS key that encrypts the topics. Deployed once and rarely changed; the table survives the stack (deletion protection and
 * RETAIN), so redeploying or deleting the stateless stack never touches history.
 */
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { HUB_TOPIC_KEY_ACTIONS } from '#shared/aws/audit-permissions.ts';
import { createTableInput, TABLE } from '#shared/history/table.ts';
import type { HubConfig } from '../config.ts';

/** The alerts topic's name (the stateless stack names it by this, with no cross-stack export). */
export const alertsTopicName = (config: Pick<HubConfig, 'prefix'>) => `${config.prefix}-alerts`;

export interface StatefulStackProps extends StackProps {
  readonly config: HubConfig;
}

/**
 * Key administration without `kms:*`: what CloudFormation and the account's administrators need to
 * manage the key's life (the key policy never grants encryption to the account at large).
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:EnableKeyRotation',
  'kms:DisableKeyRotation',
  'kms:ListResourceTags',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateKeyDescription',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:ListAliases',
  'kms:ListGrants',
  'kms:RevokeGrant',
] as const;

/** The key policy of the topics' key: administration, publishers through SNS, CloudWatch alarms. */
export function notificationKeyPolicy(): iam.PolicyDocument {
  const account = new iam.AccountRootPrincipal();
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'KeyAdministration',
        principals: [account],
        actions: [...KEY_ADMIN_ACTIONS],
        resources: ['*'],
      }),
      // Publishers: a principal of this account whose own IAM policy allows it (the auditor's,
      // from AuditFunction.bind), and only through SNS.
      new iam.PolicyStatement({
        sid: 'PublishersThroughSns',
        principals: [account],
        actions: [...HUB_TOPIC_KEY_ACTIONS],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:ViaService': `sns.${Aws.REGION}.amazonaws.com`,
            'kms:CallerAccount': Aws.ACCOUNT_ID,
          },
        },
      }),
      // CloudWatch alarms publish to the encrypted operations topic.
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: [...HUB_TOPIC_KEY_ACTIONS],
        resources: ['*'],
      }),
    ],
  });
}

export class StatefulStack extends Stack {
  readonly table: dynamodb.Table;
  readonly key: kms.Key;
  readonly alertsTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;

    // The table's shape comes from createTableInput (the store's own definition, used by the tests
    // against dynalite), so the two cannot drift.
    const shape = createTableInput(config.tableName);
    const keyOf = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
    const [hash, range] = shape.KeySchema;
    if (hash?.AttributeName !== TABLE.partitionKey || range?.AttributeName !== TABLE.sortKey) {
      throw new Error('shared/history/table.ts: createTableInput key schema is not (partitionKey, sortKey)');
    }
    this.table = new dynamodb.Table(this, 'FindingTable', {
      tableName: config.tableName,
      partitionKey: keyOf(hash.AttributeName),
      sortKey: keyOf(range.AttributeName),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: TABLE.ttlAttribute,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of shape.GlobalSecondaryIndexes) {
      const [pk, sk] = index.KeySchema;
      if (!pk || !sk) throw new Error(`shared/history/table.ts: index ${index.IndexName} needs two keys`);
      this.table.addGlobalSecondaryIndex({
        indexName: index.IndexName,
        partitionKey: keyOf(pk.AttributeName),
        sortKey: keyOf(sk.AttributeName),
        ...(index.Projection.ProjectionType === 'INCLUDE'
          ? {
              projectionType: dynamodb.ProjectionType.INCLUDE,
              nonKeyAttributes: [...(index.Projection.NonKeyAttributes ?? [])],
            }
          : { projectionType: dynamodb.ProjectionType.ALL }),
      });
    }

    this.key = new kms.Key(this, 'NotificationKey', {
      alias: `alias/${config.prefix}-notifications`,
      description: 'irsa-audit: encrypts the alerts and operations topics',
      enableKeyRotation: true,
      policy: notificationKeyPolicy(),
      // Deleting the stack schedules the key's deletion; it can be cancelled for 30 days.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(30),
    });

    this.alertsTopic = new sns.Topic(this, 'AlertsTopic', {
      topicName: alertsTopicName(config),
      displayName: 'IRSA audit',
      masterKey: this.key,
      enforceSSL: true,
    });

    new CfnOutput(this, 'FindingTableName', { value: this.table.tableName });
    new CfnOutput(this, 'AlertsTopicArn', { value: this.alertsTopic.topicArn });

    for (const email of config.subscriptions.email) {
      this.alertsTopic.addSubscription(
        new subscriptions.EmailSubscription(email.address, {
          filterPolicy: Object.fromEntries(
            Object.entries(email.filter).map(([name, values]) => [
              name,
              sns.SubscriptionFilter.stringFilter({ allowlist: values }),
            ]),
          ),
        }),
      );
    }
  }
}
