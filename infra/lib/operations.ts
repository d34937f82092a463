/**
 * Operations: the alarms that say the pipeline itself is broken (a message on the dead-letter
 * queue, a function error, and the dead-man's switch: no completed nightly run for N hours), sent
 * to an encrypted operations topic, and a dashboard of what the nightly runs audited and found.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SEVERITIES } from '#shared/checks/types.ts';
import { METRICS_NAMESPACE } from '../../functions/runtime/observability.ts';

/** The auditor's metrics (functions/auditor/handler.ts), with Powertools' `service` dimension. */
export const AUDITOR_METRICS = {
  clustersAudited: 'ClustersAudited',
  clustersPartial: 'ClustersPartial',
  newFindings: 'NewFindings',
  regressions: 'Regressions',
  accountFailures: 'AccountFailures',
  /** Once per run, when the digest is sent: what the dead-man's switch watches. */
  auditCompleted: 'AuditCompleted',
  /** Open findings per severity (dimension `severity`), summed over a night's accounts. */
  openFindings: 'OpenFindings',
} as const;

/**
 * Dashboard metrics the auditor does not emit yet: their widgets stay empty until
 * functions/auditor/handler.ts adds them (test/infra.test.ts fails once one is emitted, to have it
 * removed from here).
 */
export const PENDING_AUDITOR_METRICS: readonly string[] = [];

export interface OperationsProps {
  readonly prefix: string;
  /** Encrypts the operations topic (its key policy lets CloudWatch use it). */
  readonly key: kms.IKey;
  readonly emails: readonly string[];
  readonly missedRunHours: number;
  /** The functions whose errors alarm, by short name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly workQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** The networks' work queues and dead-letter queues (config `networks`), each alarmed like the main one. */
  readonly networkQueues?: readonly {
    readonly name: string;
    readonly workQueue: sqs.IQueue;
    readonly deadLetterQueue: sqs.IQueue;
  }[];
  /** The auditor's Powertools service name (the metrics' `service` dimension). */
  readonly auditorService: string;
}

export class Operations extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly missedRunAlarm: cloudwatch.Alarm;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** One per network, by network name. */
  readonly networkDeadLetterAlarms: Readonly<Record<string, cloudwatch.Alarm>>;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const { prefix } = props;
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${prefix}-operations`,
      displayName: 'IRSA audit operations',
      masterKey: props.key,
      enforceSSL: true,
    });
    for (const email of props.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    const auditor = (metricName: string, statistic = 'Sum', period = Duration.days(1), extra = {}) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: props.auditorService, ...extra },
        statistic,
        period,
      });

    this.deadLetterAlarm = this.alarm('DeadLetters', {
      alarmName: `${prefix}-dead-letters`,
      alarmDescription:
        'Work messages reached the dead-letter queue: an account failed every delivery. Inspect the messages, fix the cause, then redrive them to the work queue.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const networkQueues = props.networkQueues ?? [];
    this.networkDeadLetterAlarms = Object.fromEntries(
      networkQueues.map(({ name, deadLetterQueue }) => [
        name,
        this.alarm(`DeadLetters-${name}`, {
          alarmName: `${prefix}-dead-letters-${name}`,
          alarmDescription: `Work messages reached network ${name}'s dead-letter queue: its auditor failed every delivery (check its VPC routes to the AWS APIs and the clusters). Inspect the messages, fix the cause, then redrive them to ${prefix}-work-${name}.`,
          metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(5),
            statistic: 'Maximum',
          }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      ]),
    );

    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(`${name}Errors`, {
        alarmName: `${prefix}-${name}-errors`,
        alarmDescription: `The ${name} function failed (an error or a timeout); its log group has the details.`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    // The dead-man's switch: hourly datapoints, every one of the last N hours without a completed
    // run (missing data breaches). Periods of an hour or more may span up to 7 days in total.
    this.missedRunAlarm = this.alarm('MissedRun', {
      alarmName: `${prefix}-missed-nightly-run`,
      alarmDescription: `No audit run completed (metric ${METRICS_NAMESPACE}/${AUDITOR_METRICS.auditCompleted}) in the last ${props.missedRunHours} hours: the schedule, the planner or the auditor is broken, or a run never finished.`,
      metric: auditor(AUDITOR_METRICS.auditCompleted, 'Sum', Duration.hours(1)),
      threshold: 1,
      evaluationPeriods: props.missedRunHours,
      datapointsToAlarm: props.missedRunHours,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    const nightly = (label: string, metricName: string) =>
      auditor(metricName).with({ label, period: Duration.days(1) });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: prefix,
      defaultInterval: Duration.days(14),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown: `# IRSA audit\nNightly runs: clusters audited, failures, findings. Alarms go to the \`${prefix}-operations\` topic.`,
            width: 24,
            height: 2,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Clusters audited per night',
            left: [
              nightly('audited', AUDITOR_METRICS.clustersAudited),
              nightly('partial (a list or the cluster API failed)', AUDITOR_METRICS.clustersPartial),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Failures',
            left: [
              nightly('accounts failed (AUDIT-001)', AUDITOR_METRICS.accountFailures),
              props.deadLetterQueue
                .metricApproximateNumberOfMessagesVisible({ period: Duration.hours(1), statistic: 'Maximum' })
                .with({ label: 'dead letters' }),
              ...networkQueues.map(({ name, deadLetterQueue }) =>
                deadLetterQueue
                  .metricApproximateNumberOfMessagesVisible({
                    period: Duration.hours(1),
                    statistic: 'Maximum',
                  })
                  .with({ label: `dead letters (${name})` }),
              ),
              ...Object.entries(props.functions).map(([name, fn]) =>
                fn
                  .metricErrors({ period: Duration.hours(1), statistic: 'Sum' })
                  .with({ label: `${name} errors` }),
              ),
            ],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'New findings and regressions per night',
            left: [
              nightly('new findings', AUDITOR_METRICS.newFindings),
              nightly('regressions', AUDITOR_METRICS.regressions),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Open findings by severity',
            left: SEVERITIES.map((severity) =>
              auditor(AUDITOR_METRICS.openFindings, 'Sum', Duration.days(1), { severity }).with({
                label: severity,
              }),
            ),
            stacked: true,
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: networkQueues.length > 0 ? 'Work queues' : 'Work queue',
            left: [
              props.workQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
              props.workQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5) }),
              ...networkQueues.map(({ name, workQueue }) =>
                workQueue
                  .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) })
                  .with({ label: `messages visible (${name})` }),
              ),
            ],
            width: 12,
          }),
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 12 }),
        ],
      ],
    });
  }

  private alarm(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, props);
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}
