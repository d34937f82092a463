/**
 * cdk-nag: the AwsSolutions pack on every stack of an app, and every acknowledgement, each with its
 * reason, in this one file. A finding that is not acknowledged here fails the synth (cdk-nag 3
 * makes app.synth() throw and writes the report to the cloud assembly).
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { HubConfig } from '../config.ts';
import { alertsTopicName } from './stateful-stack.ts';
import type { StatelessStack } from './stateless-stack.ts';

export interface Acknowledgement {
  /** The construct path it applies to. */
  readonly path: string;
  /** The exact finding id, e.g. `AwsSolutions-IAM5[Resource::*]`. */
  readonly id: string;
  readonly reason: string;
}

/** Every acknowledgement made, for the tests (each must carry a reason). */
export const acknowledgements: Acknowledgement[] = [];

/** Acknowledges one finding on a construct, recording it. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  if (!reason.trim()) throw new Error(`cdk-nag acknowledgement ${id} on ${scope.node.path} has no reason`);
  Validations.of(scope).acknowledge({ id, reason });
  acknowledgements.push({ path: scope.node.path, id, reason });
}

/** Runs the AwsSolutions checks on every stack of the app at synth. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** The token cdk-nag prints for `${Partition}` and `${Account}` in an ARN. */
const PARTITION = '<AWS::Partition>';
const ACCOUNT = '<AWS::AccountId>';
const REGION = '<AWS::Region>';

export const REASONS = {
  xray: 'X-Ray has no resource-level permissions: xray:PutTraceSegments and xray:PutTelemetryRecords need Resource "*" (Lambda active tracing).',
  tableIndexes:
    "Query on the finding table's global secondary indexes: the resource is the table's own index/* (the five indexes of the one table).",
  listWithoutResource:
    'iam:ListRoles, iam:ListOpenIDConnectProviders, eks:ListClusters, account:ListRegions and ec2:DescribeLaunchTemplateVersions support no resource-level permission: Resource "*" with read-only List and Describe actions.',
  oidcProviders:
    "iam:GetOpenIDConnectProvider reads every IAM OIDC provider of this account (one per EKS cluster): the account's own oidc-provider/*.",
  roles:
    "iam:ListAttachedRolePolicies, iam:ListRolePolicies and iam:GetRolePolicy read the policy names and inline documents of the roles ServiceAccounts reference, which are not known in advance: this account's role/*.",
  customerManagedPolicies:
    "iam:GetPolicy and iam:GetPolicyVersion read the default version of the customer-managed policies those roles attach, which are not known in advance: this account's policy/* (AWS-managed policies, arn:aws:iam::aws:policy/*, are not granted).",
  clusters:
    "eks:DescribeCluster, eks:ListPodIdentityAssociations, eks:ListAddons and eks:ListNodegroups read every cluster of this account in every audited region: this account's cluster/* in any region.",
  podIdentityAssociations:
    "eks:DescribePodIdentityAssociation reads the role of each Pod Identity association, whose ids are not known in advance: this account's podidentityassociation/* in any region (read-only).",
  addons:
    "eks:DescribeAddon reads the eks-pod-identity-agent add-on of each cluster that lists it, whose ARN ends in an id not known in advance: this account's addon/* in any region (read-only).",
  nodegroups:
    "eks:DescribeNodegroup reads each managed node group of each cluster (its node role and launch template), whose names are not known in advance: this account's nodegroup/* in any region (read-only).",
  assumeMemberRoles:
    'The auditor assumes the member audit role (one fixed name) in every account of the organization; the member role trusts only this role and requires the ExternalId (and aws:ResourceOrgID when an organization id is configured).',
  listAccounts:
    'organizations:ListAccounts supports no resource-level permission; the planner only lists accounts.',
  waf: 'The query API is read-only, IAM (SigV4) authorized on every method and throttled; only principals of the hub account holding execute-api:Invoke can call it. AWS WAF adds cost without a threat it would stop.',
  cognito:
    'Callers are AWS principals (security engineers, tooling) signing with SigV4: IAM authorization, not a Cognito user pool.',
  apiGatewayLogsRole:
    'AmazonAPIGatewayPushToCloudWatchLogs is the AWS-documented policy of the account-wide API Gateway CloudWatch Logs role that access and execution logging require (config apiGatewayCloudWatchRole: false to bring your own).',
  networkInterfacesDescribe:
    "The network auditors run in VPCs: Lambda describes network interfaces and subnets with the auditor's role (ec2:DescribeNetworkInterfaces, ec2:DescribeSubnets), EC2 Describe actions that support no resource-level permission.",
  networkInterfaces:
    "Lambda creates the network auditors' network interfaces (only in the configured subnets, with the configured security groups) and later deletes them or changes their addresses, by ids that do not exist before: this account's and region's network-interface/*, the delete and address actions only in the networks' VPCs (ec2:Vpc).",
  alertsSubscriptions:
    "The chat filter sets the filter policy of AWS Chatbot's subscription to the alerts topic: subscription ARNs are the topic's ARN and an id, so the resource is the alerts topic's own subscriptions.",
} as const;

/** Acknowledgements for the hub's stateless stack (the stateful stack needs none). */
export function acknowledgeHub(stateless: StatelessStack, config: HubConfig): void {
  const functions = [stateless.planner, stateless.auditor, stateless.query, stateless.chatFilter];
  const tableIndexes = `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${config.tableName}/index/*`;
  for (const fn of functions) {
    if (!fn) continue;
    const listAccounts = fn === stateless.planner && config.accounts === 'organization';
    const describesNetworks = fn === stateless.auditor && stateless.networks.length > 0;
    acknowledge(
      fn.role,
      'AwsSolutions-IAM5[Resource::*]',
      [
        REASONS.xray,
        ...(listAccounts ? [REASONS.listAccounts] : []),
        ...(describesNetworks ? [REASONS.networkInterfacesDescribe] : []),
      ].join(' '),
    );
    if (fn !== stateless.chatFilter)
      acknowledge(fn.role, `AwsSolutions-IAM5[Resource::${tableIndexes}]`, REASONS.tableIndexes);
  }
  if (!Array.isArray(config.accounts)) {
    acknowledge(
      stateless.auditor.role,
      `AwsSolutions-IAM5[Resource::arn:${PARTITION}:iam::*:role/${config.auditRoleName}]`,
      REASONS.assumeMemberRoles,
    );
  }
  if (stateless.networks.length > 0) {
    // The network auditors share the auditor's role: their findings are the role's.
    acknowledge(
      stateless.auditor.role,
      `AwsSolutions-IAM5[Resource::arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:network-interface/*]`,
      REASONS.networkInterfaces,
    );
  }
  if (stateless.chatFilter) {
    acknowledge(
      stateless.chatFilter.role,
      `AwsSolutions-IAM5[Resource::arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${alertsTopicName(config)}:*]`,
      REASONS.alertsSubscriptions,
    );
  }
  acknowledge(stateless.api, 'AwsSolutions-COG4', REASONS.cognito);
  acknowledge(stateless.api, 'AwsSolutions-APIG3', REASONS.waf);
  const logsRole = stateless.api.node.tryFindChild('CloudWatchRole');
  if (logsRole) {
    acknowledge(
      logsRole,
      `AwsSolutions-IAM4[Policy::arn:${PARTITION}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]`,
      REASONS.apiGatewayLogsRole,
    );
  }
}

/** Acknowledgements for a member stack's audit role. */
export function acknowledgeMember(role: IConstruct): void {
  acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', REASONS.listWithoutResource);
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::arn:${PARTITION}:iam::${ACCOUNT}:oidc-provider/*]`,
    REASONS.oidcProviders,
  );
  acknowledge(role, `AwsSolutions-IAM5[Resource::arn:${PARTITION}:iam::${ACCOUNT}:role/*]`, REASONS.roles);
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::arn:${PARTITION}:iam::${ACCOUNT}:policy/*]`,
    REASONS.customerManagedPolicies,
  );
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::arn:${PARTITION}:eks:*:${ACCOUNT}:cluster/*]`,
    REASONS.clusters,
  );
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::arn:${PARTITION}:eks:*:${ACCOUNT}:podidentityassociation/*]`,
    REASONS.podIdentityAssociations,
  );
  acknowledge(role, `AwsSolutions-IAM5[Resource::arn:${PARTITION}:eks:*:${ACCOUNT}:addon/*]`, REASONS.addons);
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::arn:${PARTITION}:eks:*:${ACCOUNT}:nodegroup/*]`,
    REASONS.nodegroups,
  );
}
