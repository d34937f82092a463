/**
 * A network (the hub config's `networks[]`): a work queue and its dead-letter queue, and an auditor
 * function attached to private subnets of a VPC in the hub's region, for the clusters whose
 * Kubernetes API only that VPC reaches. The function runs with the default auditor's role, the one
 * principal member roles trust; the stack grants that role the network interface actions.
 *
 * Nothing is looked up: the VPC, its subnets and any given security groups are imported by id, so
 * `cdk synth` works offline and without credentials.
 */
import { Annotations, Duration, Fn } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BATCH_SIZE, MAX_RECEIVE_COUNT } from '#shared/pipeline/limits.ts';
import type { HubConfig } from '../config.ts';
import { AuditFunction } from './audit-function.ts';

export type NetworkConfig = HubConfig['networks'][number];

/** The port the auditor's traffic uses: the AWS APIs and the clusters' Kubernetes APIs are HTTPS. */
export const HTTPS_PORT = 443;

/** A work queue and its dead-letter queue, as every auditor's queue is configured. */
export function workQueues(
  scope: Construct,
  ids: { readonly queue: string; readonly deadLetterQueue: string },
  queueName: string,
  visibilityTimeout: Duration,
): { readonly queue: sqs.Queue; readonly deadLetterQueue: sqs.Queue } {
  const deadLetterQueue = new sqs.Queue(scope, ids.deadLetterQueue, {
    queueName: `${queueName}-dlq`,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new sqs.Queue(scope, ids.queue, {
    queueName,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout,
    retentionPeriod: Duration.days(4),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
  });
  return { queue, deadLetterQueue };
}

export interface AuditNetworkProps {
  readonly prefix: string;
  readonly network: NetworkConfig;
  /** The work queue's visibility timeout (six times the auditor's timeout). */
  readonly visibilityTimeout: Duration;
}

/** What the network's auditor function needs from the stack. */
export interface NetworkAuditorProps {
  /** The default auditor's role, shared. */
  readonly role: iam.Role;
  readonly description: string;
  readonly serviceName: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  readonly maxConcurrency: number;
  /** The default auditor's variables (its table, topic and audit settings), QUEUE_URL excluded. */
  readonly environment: Readonly<Record<string, string>>;
}

export class AuditNetwork extends Construct {
  readonly name: string;
  readonly workQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly vpc: ec2.IVpc;
  readonly subnets: readonly ec2.ISubnet[];
  readonly securityGroups: readonly ec2.ISecurityGroup[];
  /** The security group the stack made, when the configuration names none. */
  readonly createdSecurityGroup?: ec2.SecurityGroup;
  private auditorFunction?: AuditFunction;

  constructor(scope: Construct, id: string, props: AuditNetworkProps) {
    super(scope, id);
    const { network, prefix } = props;
    this.name = network.name;
    const queues = workQueues(
      this,
      { queue: 'WorkQueue', deadLetterQueue: 'DeadLetterQueue' },
      `${prefix}-work-${network.name}`,
      props.visibilityTimeout,
    );
    this.workQueue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;

    // Imported by id. Lambda needs only the VPC's id and the subnet ids; the availability zones are
    // a token the function never reads, and the subnets' route tables are not ours to know.
    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: network.vpcId,
      availabilityZones: Fn.getAzs(),
    });
    Annotations.of(this).acknowledgeWarning(
      '@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      'The imported VPC is used only for its id and the subnets given by id: nothing selects subnets by zone.',
    );
    this.subnets = network.subnetIds.map((subnetId) => ec2.Subnet.fromSubnetId(this, subnetId, subnetId));
    Annotations.of(this).acknowledgeWarning(
      '@aws-cdk/aws-ec2:noSubnetRouteTableId',
      "The subnets are imported only to place the function's network interfaces; their route tables are not read.",
    );

    if (network.securityGroupIds) {
      this.securityGroups = network.securityGroupIds.map((groupId) =>
        // Not mutable: the stack adds no rule to a group it does not own.
        ec2.SecurityGroup.fromSecurityGroupId(this, groupId, groupId, { mutable: false }),
      );
    } else {
      this.createdSecurityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: this.vpc,
        description: `${prefix} auditor ${network.name}: no inbound, outbound HTTPS only (AWS APIs, cluster endpoints)`,
        allowAllOutbound: false,
      });
      this.createdSecurityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(HTTPS_PORT),
        'HTTPS: the AWS APIs (NAT or VPC endpoints) and the cluster endpoints',
      );
      this.securityGroups = [this.createdSecurityGroup];
    }
  }

  /** The network's auditor function (after {@link addAuditor}). */
  get auditor(): AuditFunction {
    if (!this.auditorFunction) throw new Error(`network ${this.name}: addAuditor() was not called`);
    return this.auditorFunction;
  }

  /**
   * Adds the auditor function: the default auditor's handler, role and variables, plus its network's
   * name, `AUDIT_PRIVATE_ENDPOINTS=dial` and its own queue as QUEUE_URL; fed by its own queue.
   */
  addAuditor(props: NetworkAuditorProps & { readonly prefix: string }): AuditFunction {
    const auditor = new AuditFunction(this, 'Auditor', {
      entry: 'functions/auditor/handler.ts',
      functionName: `${props.prefix}-auditor-${this.name}`,
      description: props.description,
      serviceName: props.serviceName,
      role: props.role,
      timeout: props.timeout,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      iamCatalogue: true,
      vpc: { vpc: this.vpc, subnets: this.subnets, securityGroups: this.securityGroups },
      environment: {
        ...props.environment,
        QUEUE_URL: this.workQueue.queueUrl,
        AUDIT_NETWORK: this.name,
        AUDIT_PRIVATE_ENDPOINTS: 'dial',
      },
    });
    auditor.function.addEventSource(
      new lambdaEvents.SqsEventSource(this.workQueue, {
        batchSize: BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency,
      }),
    );
    this.auditorFunction = auditor;
    return auditor;
  }
}
