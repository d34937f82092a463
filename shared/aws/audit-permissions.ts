/**
 * Every AWS permission the auditor holds, in one place: the read actions of the member audit role
 * (the CDK member stack builds its policy from {@link MEMBER_AUDIT_ACTIONS}), the hub functions'
 * cross-account and Organizations calls, and what they may do on the hub's own table, topic and
 * queue. Each entry names the code that makes the call and why.
 *
 * Kept honest by tests: test/audit-permissions.test.ts runs a real collection against the emulator
 * and checks that every AWS operation it counted is listed here and that nothing listed for the
 * member role is a write; test/infra.test.ts checks that every action of every synthesized IAM
 * policy is listed here; docs/permissions.md is checked to list exactly these actions.
 */

/** Who holds a permission. */
export type PermissionHolder =
  | 'member audit role'
  | 'hub auditor function'
  | 'hub planner function'
  | 'hub query function'
  | 'hub functions'
  | 'hub chat filter function';

export interface PermissionEntry {
  /** The IAM action, `service:Operation`. */
  readonly action: string;
  readonly holders: readonly PermissionHolder[];
  /**
   * The policy's Resource: `*` when the action supports no resource-level permission; otherwise a
   * pattern with `{Partition}`, `{Account}` (the account of the role), `{RoleName}` (the member
   * audit role), or a description of the hub resource it is scoped to.
   */
  readonly resource: string;
  /** `read` never changes anything; `write` is only ever granted on the hub's own resources. */
  readonly access: 'read' | 'write';
  /** The code that makes the call (file and function), or the AWS service that does it for us. */
  readonly calledBy: string;
  readonly why: string;
  /** False for calls that need no IAM permission (sts:GetCallerIdentity): listed, never granted. */
  readonly granted: boolean;
}

/** The member audit role: read-only IAM, EKS and Account metadata of its own account. */
export const MEMBER_PERMISSIONS: readonly PermissionEntry[] = [
  {
    action: 'iam:ListRoles',
    holders: ['member audit role'],
    resource: '*',
    access: 'read',
    calledBy: 'shared/collectors/iam.ts collectIam (paginateListRoles, 1,000 a page)',
    why: 'every role with its trust policy (IRSA-011..017, 022, 051)',
    granted: true,
  },
  {
    action: 'iam:ListOpenIDConnectProviders',
    holders: ['member audit role'],
    resource: '*',
    access: 'read',
    calledBy: 'shared/collectors/iam.ts collectIam',
    why: "the account's IAM OIDC providers (IRSA-001, 050)",
    granted: true,
  },
  {
    action: 'iam:GetOpenIDConnectProvider',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:iam::{Account}:oidc-provider/*',
    access: 'read',
    calledBy: 'shared/collectors/iam.ts collectIam',
    why: "each provider's URL and audiences (IRSA-001, 002, 050)",
    granted: true,
  },
  {
    action: 'iam:ListAttachedRolePolicies',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:iam::{Account}:role/*',
    access: 'read',
    calledBy: 'shared/collectors/iam.ts collectRolePolicies',
    why: "whether a role a ServiceAccount names has any policy (IRSA-018); only those roles (and, in the pipeline, every role that trusts an EKS OIDC provider, which another account may use), and the node roles of managed node groups (IRSA-061; in the pipeline every role that trusts ec2.amazonaws.com, which a part's node groups may name)",
    granted: true,
  },
  {
    action: 'iam:ListRolePolicies',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:iam::{Account}:role/*',
    access: 'read',
    calledBy: 'shared/collectors/iam.ts collectRolePolicies',
    why: 'inline policy names of the same roles (IRSA-018, 061)',
    granted: true,
  },
  {
    action: 'iam:GetRolePolicy',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:iam::{Account}:role/*',
    access: 'read',
    calledBy: 'shared/collectors/iam.ts collectInlinePolicy',
    why: 'the document of each inline policy of the same roles, to judge what they allow (IRSA-023)',
    granted: true,
  },
  {
    action: 'iam:GetPolicy',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:iam::{Account}:policy/*',
    access: 'read',
    calledBy: 'shared/collectors/iam.ts collectManagedPolicy',
    why: 'the default version of each customer-managed policy the same roles attach, once per account (IRSA-023); AWS-managed policies are not read',
    granted: true,
  },
  {
    action: 'iam:GetPolicyVersion',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:iam::{Account}:policy/*',
    access: 'read',
    calledBy: 'shared/collectors/iam.ts collectManagedPolicy',
    why: 'the document of that default version (IRSA-023)',
    granted: true,
  },
  {
    action: 'eks:ListClusters',
    holders: ['member audit role'],
    resource: '*',
    access: 'read',
    calledBy: 'shared/collectors/eks.ts listClusters',
    why: 'the clusters of each audited region',
    granted: true,
  },
  {
    action: 'eks:DescribeCluster',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:eks:*:{Account}:cluster/*',
    access: 'read',
    calledBy: 'shared/collectors/eks.ts describeCluster',
    why: "the cluster's OIDC issuer, endpoint and CA (IRSA-001..004, and to reach its Kubernetes API)",
    granted: true,
  },
  {
    action: 'eks:ListPodIdentityAssociations',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:eks:*:{Account}:cluster/*',
    access: 'read',
    calledBy: 'shared/collectors/eks.ts listPodIdentityAssociations',
    why: 'ServiceAccounts that also use EKS Pod Identity (IRSA-021), and the associations the PODID checks judge',
    granted: true,
  },
  {
    action: 'eks:DescribePodIdentityAssociation',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:eks:*:{Account}:podidentityassociation/*',
    access: 'read',
    calledBy: 'shared/collectors/eks.ts describePodIdentityAssociations',
    why: 'the role each association names, which the list does not return (PODID-001, 002, 006)',
    granted: true,
  },
  {
    action: 'eks:ListAddons',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:eks:*:{Account}:cluster/*',
    access: 'read',
    calledBy: 'shared/collectors/eks.ts listAddons',
    why: "the cluster's add-ons: is the EKS Pod Identity agent installed (PODID-004)",
    granted: true,
  },
  {
    action: 'eks:DescribeAddon',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:eks:*:{Account}:addon/*',
    access: 'read',
    calledBy: 'shared/collectors/eks.ts listAddons',
    why: 'the status and health of eks-pod-identity-agent, only when it is listed (PODID-004)',
    granted: true,
  },
  {
    action: 'eks:ListNodegroups',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:eks:*:{Account}:cluster/*',
    access: 'read',
    calledBy: 'shared/collectors/eks.ts listNodegroups',
    why: "the cluster's managed node groups, whose nodes' metadata pods may reach (IRSA-060, 061)",
    granted: true,
  },
  {
    action: 'eks:DescribeNodegroup',
    holders: ['member audit role'],
    resource: 'arn:{Partition}:eks:*:{Account}:nodegroup/*',
    access: 'read',
    calledBy: 'shared/collectors/eks.ts listNodegroups',
    why: 'the node role and launch template of each managed node group (IRSA-060, 061)',
    granted: true,
  },
  {
    action: 'ec2:DescribeLaunchTemplateVersions',
    holders: ['member audit role'],
    resource: '*',
    access: 'read',
    calledBy: 'shared/collectors/ec2.ts describeLaunchTemplateVersions',
    why: 'the metadata options (IMDSv2, hop limit) of the launch template versions node groups run, once per template per region (IRSA-060); EC2 Describe actions support no resource-level permission',
    granted: true,
  },
  {
    action: 'account:ListRegions',
    holders: ['member audit role'],
    resource: '*',
    access: 'read',
    calledBy: 'shared/collectors/accounts.ts enabledRegions',
    why: "the account's enabled regions, when no region list is configured",
    granted: true,
  },
];

/** The hub's calls outside its own resources: Organizations, and STS into the member roles. */
export const HUB_PERMISSIONS: readonly PermissionEntry[] = [
  {
    action: 'sts:AssumeRole',
    holders: ['hub auditor function'],
    resource: 'arn:{Partition}:iam::*:role/{RoleName} (or one ARN per configured account)',
    access: 'read',
    calledBy: 'shared/collectors/accounts.ts assumeAuditRole (with the ExternalId)',
    why: "the member audit role of each audited account; the member role's trust admits only this function's role",
    granted: true,
  },
  {
    action: 'organizations:ListAccounts',
    holders: ['hub planner function'],
    resource: '*',
    access: 'read',
    calledBy: 'shared/collectors/accounts.ts resolveAccounts (selection `organization`)',
    why: "the organization's ACTIVE accounts to plan the night's run",
    granted: true,
  },
  {
    action: 'sts:GetCallerIdentity',
    holders: ['hub planner function'],
    resource: '*',
    access: 'read',
    calledBy: 'shared/collectors/accounts.ts resolveAccounts (selection `current`)',
    why: 'the account of the caller; STS answers it for every principal (no IAM permission exists)',
    granted: false,
  },
];

/** The hub's own resources: what each function may do on the table, topic, queue, key and logs. */
export const HUB_RESOURCE_PERMISSIONS: readonly PermissionEntry[] = [
  {
    action: 'securityhub:BatchImportFindings',
    holders: ['hub auditor function'],
    resource:
      "the hub account's Security Hub default product, arn:{Partition}:securityhub:{Region}:{Account}:product/{Account}/default",
    access: 'write',
    calledBy: 'shared/notify/security-hub.ts SecurityHubImport (only with the `securityHub` setting)',
    why: "each run's new, changed and resolved findings, as ASFF, into the hub's Security Hub",
    granted: true,
  },
  {
    action: 'dynamodb:GetItem',
    holders: ['hub auditor function', 'hub planner function', 'hub query function'],
    resource: 'the finding table',
    access: 'read',
    calledBy: 'shared/history/finding-store.ts (get)',
    why: 'runs, unit states, units in a run',
    granted: true,
  },
  {
    action: 'dynamodb:Query',
    holders: ['hub auditor function', 'hub planner function', 'hub query function'],
    resource: 'the finding table and its indexes',
    access: 'read',
    calledBy: 'shared/history/finding-store.ts (query)',
    why: 'findings of a unit, open findings, history (never a Scan)',
    granted: true,
  },
  {
    action: 'dynamodb:PutItem',
    holders: ['hub auditor function', 'hub planner function'],
    resource: 'the finding table',
    access: 'write',
    calledBy: 'shared/history/finding-store.ts startRun, putEvent, completeAccount',
    why: 'runs and change events (conditional puts)',
    granted: true,
  },
  {
    action: 'dynamodb:UpdateItem',
    holders: ['hub auditor function', 'hub planner function'],
    resource: 'the finding table',
    access: 'write',
    calledBy: 'shared/history/finding-store.ts claim, release, completeUnit, completeAccount, completeRun',
    why: 'alert and digest claims, run counters, unit state',
    granted: true,
  },
  {
    action: 'dynamodb:BatchWriteItem',
    holders: ['hub auditor function', 'hub planner function'],
    resource: 'the finding table',
    access: 'write',
    calledBy: 'shared/history/finding-store.ts writeChanges',
    why: 'finding states, 25 a batch (puts only)',
    granted: true,
  },
  {
    action: 'sns:Publish',
    holders: ['hub auditor function'],
    resource: 'the alerts topic',
    access: 'write',
    calledBy: 'shared/pipeline/notifier.ts SnsNotifier',
    why: 'regression alerts and the nightly digest',
    granted: true,
  },
  {
    action: 'kms:GenerateDataKey',
    holders: ['hub auditor function'],
    resource: "the hub's KMS key, through SNS only (kms:ViaService)",
    access: 'write',
    calledBy: 'Amazon SNS, on Publish to the encrypted topic',
    why: 'SNS encrypts the published message with a data key of the topic key',
    granted: true,
  },
  {
    action: 'kms:Decrypt',
    holders: ['hub auditor function'],
    resource: "the hub's KMS key, through SNS only (kms:ViaService)",
    access: 'read',
    calledBy: 'Amazon SNS, on Publish to the encrypted topic',
    why: 'SNS reuses a cached data key, which it decrypts for the publisher',
    granted: true,
  },
  {
    action: 'sqs:SendMessage',
    holders: ['hub planner function', 'hub auditor function'],
    resource: "the work queue (the auditor: also each network's work queue)",
    access: 'write',
    calledBy:
      'shared/pipeline/queue.ts sendWorkMessages (SendMessageBatch); the auditor, forwarding parts and private clusters (shared/pipeline/routing.ts)',
    why: "one work message per account; the auditor sends an over-large account's (account, region) parts to its own queue and the clusters only a network reaches to that network's queue",
    granted: true,
  },
  {
    action: 'sqs:ReceiveMessage',
    holders: ['hub auditor function'],
    resource: 'the work queue',
    access: 'write',
    calledBy: 'AWS Lambda, the SQS event source mapping of the auditor',
    why: 'reads work messages in batches for the auditor (hiding them for the visibility timeout)',
    granted: true,
  },
  {
    action: 'sqs:DeleteMessage',
    holders: ['hub auditor function'],
    resource: 'the work queue',
    access: 'write',
    calledBy: 'AWS Lambda, the SQS event source mapping of the auditor',
    why: 'deletes the messages the auditor finished (partial batch failures stay)',
    granted: true,
  },
  {
    action: 'sqs:ChangeMessageVisibility',
    holders: ['hub auditor function'],
    resource: 'the work queue',
    access: 'write',
    calledBy: 'AWS Lambda, the SQS event source mapping of the auditor',
    why: 'returns failed messages to the queue',
    granted: true,
  },
  {
    action: 'sqs:GetQueueAttributes',
    holders: ['hub auditor function'],
    resource: 'the work queue',
    access: 'read',
    calledBy: 'AWS Lambda, the SQS event source mapping of the auditor',
    why: 'the event source mapping reads the queue configuration',
    granted: true,
  },
  {
    action: 'sqs:GetQueueUrl',
    holders: ['hub auditor function'],
    resource: 'the work queue',
    access: 'read',
    calledBy: 'AWS Lambda, the SQS event source mapping of the auditor',
    why: 'the event source mapping resolves the queue',
    granted: true,
  },
  {
    action: 'logs:CreateLogStream',
    holders: ['hub functions'],
    resource: "the function's own log group",
    access: 'write',
    calledBy: 'AWS Lambda, for the function',
    why: 'function logs (retention set by the stack)',
    granted: true,
  },
  {
    action: 'logs:PutLogEvents',
    holders: ['hub functions'],
    resource: "the function's own log group",
    access: 'write',
    calledBy: 'AWS Lambda, for the function',
    why: 'function logs (retention set by the stack)',
    granted: true,
  },
  {
    action: 'xray:PutTraceSegments',
    holders: ['hub functions'],
    resource: '* (X-Ray has no resource-level permissions)',
    access: 'write',
    calledBy: 'AWS Lambda active tracing and the Powertools tracer',
    why: 'traces of each invocation',
    granted: true,
  },
  {
    action: 'xray:PutTelemetryRecords',
    holders: ['hub functions'],
    resource: '* (X-Ray has no resource-level permissions)',
    access: 'write',
    calledBy: 'AWS Lambda active tracing',
    why: 'X-Ray daemon telemetry',
    granted: true,
  },
  {
    action: 'sns:ListSubscriptionsByTopic',
    holders: ['hub chat filter function'],
    resource: 'the alerts topic',
    access: 'read',
    calledBy: 'infra/functions/chat-filter/handler.ts (CloudFormation custom resource, only with Slack)',
    why: 'finds the subscription AWS Chatbot created on the alerts topic',
    granted: true,
  },
  {
    action: 'sns:SetSubscriptionAttributes',
    holders: ['hub chat filter function'],
    resource: "the alerts topic's subscriptions (topic ARN and topic ARN:*)",
    access: 'write',
    calledBy: 'infra/functions/chat-filter/handler.ts (CloudFormation custom resource, only with Slack)',
    why: "sets the configured filter policy on AWS Chatbot's subscription",
    granted: true,
  },
];

/**
 * What Lambda does with the auditor's role to attach the network auditors (config `networks`) to
 * their VPCs: the network interface actions of AWSLambdaVPCAccessExecutionRole. Granted only when
 * networks are configured.
 */
export const NETWORK_PERMISSIONS: readonly PermissionEntry[] = [
  {
    action: 'ec2:CreateNetworkInterface',
    holders: ['hub auditor function'],
    resource: "the networks' subnets and security groups, and a new network interface",
    access: 'write',
    calledBy: 'AWS Lambda, attaching a network auditor function to its VPC',
    why: "the function's network interfaces in the configured subnets",
    granted: true,
  },
  {
    action: 'ec2:DescribeNetworkInterfaces',
    holders: ['hub auditor function'],
    resource: '* (EC2 Describe actions have no resource-level permissions)',
    access: 'read',
    calledBy: 'AWS Lambda, attaching a network auditor function to its VPC',
    why: "finds the function's network interfaces",
    granted: true,
  },
  {
    action: 'ec2:DescribeSubnets',
    holders: ['hub auditor function'],
    resource: '* (EC2 Describe actions have no resource-level permissions)',
    access: 'read',
    calledBy: 'AWS Lambda, attaching a network auditor function to its VPC',
    why: 'reads the configured subnets',
    granted: true,
  },
  {
    action: 'ec2:DeleteNetworkInterface',
    holders: ['hub auditor function'],
    resource: "network interfaces of the hub account and region, in the networks' VPCs (ec2:Vpc)",
    access: 'write',
    calledBy: 'AWS Lambda, when a network auditor function is updated or deleted',
    why: 'removes the network interfaces it no longer uses',
    granted: true,
  },
  {
    action: 'ec2:AssignPrivateIpAddresses',
    holders: ['hub auditor function'],
    resource: "network interfaces of the hub account and region, in the networks' VPCs (ec2:Vpc)",
    access: 'write',
    calledBy: "AWS Lambda, managing a network auditor function's network interfaces",
    why: 'addresses on its network interfaces',
    granted: true,
  },
  {
    action: 'ec2:UnassignPrivateIpAddresses',
    holders: ['hub auditor function'],
    resource: "network interfaces of the hub account and region, in the networks' VPCs (ec2:Vpc)",
    access: 'write',
    calledBy: "AWS Lambda, managing a network auditor function's network interfaces",
    why: 'releases addresses on its network interfaces',
    granted: true,
  },
];

/** Every entry. */
export const ALL_PERMISSIONS: readonly PermissionEntry[] = [
  ...MEMBER_PERMISSIONS,
  ...HUB_PERMISSIONS,
  ...HUB_RESOURCE_PERMISSIONS,
  ...NETWORK_PERMISSIONS,
];

/** The actions the member audit role's policy grants (the member stack reads this). */
export const MEMBER_AUDIT_ACTIONS: readonly string[] = MEMBER_PERMISSIONS.filter((p) => p.granted).map(
  (p) => p.action,
);

/** Operations that only read, by their verb (`GetItem`, `ListRoles`, `DescribeCluster`, `Query`). */
export const READ_ONLY_VERB = /^(?:(?:Get|List|Describe|BatchGet)[A-Z][A-Za-z]*|Query)$/;

/**
 * Actions that change nothing although their verb is not a read verb: assuming the member role
 * (a session, no resource change) and decrypting a data key for SNS.
 */
export const NON_MUTATING_ACTIONS: ReadonlySet<string> = new Set(['sts:AssumeRole', 'kms:Decrypt']);

/** True when `action` (`service:Operation`) is a read by its verb (no wildcard is ever a read). */
export function isReadOnlyAction(action: string): boolean {
  const [service, operation, ...rest] = action.split(':');
  if (!service || !operation || rest.length > 0 || action.includes('*')) return false;
  return READ_ONLY_VERB.test(operation);
}

/** The entry of an action, or undefined. */
export function permissionOf(action: string): PermissionEntry | undefined {
  return ALL_PERMISSIONS.find((p) => p.action.toLowerCase() === action.toLowerCase());
}

/** What the hub functions' bind() grants on the finding table (table and its indexes for reads). */
export const HUB_TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'] as const;
export const HUB_TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:BatchWriteItem',
] as const;
/** Publishing to the encrypted alerts topic: the topic action and, through SNS only, the key actions. */
export const HUB_TOPIC_PUBLISH_ACTIONS = ['sns:Publish'] as const;
export const HUB_TOPIC_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'] as const;
/** Sending work messages (SendMessageBatch is authorized as sqs:SendMessage). */
export const HUB_QUEUE_SEND_ACTIONS = ['sqs:SendMessage'] as const;
/** Importing findings into the hub account's Security Hub default product (the `securityHub` setting). */
export const HUB_SECURITY_HUB_ACTIONS = ['securityhub:BatchImportFindings'] as const;
/** The network interface actions of a VPC-attached function's role (see {@link NETWORK_PERMISSIONS}). */
export const NETWORK_INTERFACE_DESCRIBE_ACTIONS = [
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
] as const;
export const NETWORK_INTERFACE_CREATE_ACTIONS = ['ec2:CreateNetworkInterface'] as const;
export const NETWORK_INTERFACE_MANAGE_ACTIONS = [
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const;

/**
 * The IAM action an API operation is authorized as: the batch forms of SQS and SNS operations are
 * authorized as their single form; everything else as itself.
 */
export function iamActionOf(operation: string): string {
  const batch: Record<string, string> = {
    'sqs:SendMessageBatch': 'sqs:SendMessage',
    'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
    'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
    'sns:PublishBatch': 'sns:Publish',
  };
  return batch[operation] ?? operation;
}
