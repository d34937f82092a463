/**
 * The hub's configuration: one typed, validated object with documented defaults. It comes from the
 * CDK context key `irsaAudit` (the block in cdk.json, or `cdk.context.json`), optionally overlaid
 * by a JSON file named with `-c irsaAuditConfigFile=path/to/hub.json`. A wrong value fails the
 * synth, naming the key. docs/deploy.md lists every key.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { auditConfigSchema } from '#shared/config/audit-config.ts';
import { DEFAULT_RETENTION_DAYS } from '#shared/history/table.ts';

/** The context key holding the configuration object. */
export const CONTEXT_KEY = 'irsaAudit';
/** The context key naming a JSON file that overrides the context object. */
export const CONTEXT_FILE_KEY = 'irsaAuditConfigFile';

/** The ExternalId cdk.json ships with; synth warns while it is in use. */
export const EXAMPLE_EXTERNAL_ID = 'replace-me-with-openssl-rand-hex-16';

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const accountId = z.string().regex(/^\d{12}$/, 'an AWS account id is 12 digits');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'expected an AWS region, e.g. eu-west-1');
/** IAM role names: 1-64 of `\w+=,.@-`. */
const roleName = z.string().regex(/^[\w+=,.@-]{1,64}$/, 'expected an IAM role name');
/** sts:ExternalId: 2-1224 of `\w+=,.@:/-` (the AssumeRole API's constraint). */
const externalId = z
  .string()
  .regex(/^[\w+=,.@:/-]{2,1224}$/, 'an ExternalId is 2 to 1224 of letters, digits and +=,.@:/-');
/** An SNS filter policy on message attributes: attribute name -> accepted string values. */
const filterPolicy = z.record(z.string().min(1), z.array(z.string().min(1)).min(1));

const vpcId = z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'expected a VPC id such as vpc-0123456789abcdef0');
const subnetId = z
  .string()
  .regex(/^subnet-[0-9a-f]{8,17}$/, 'expected a subnet id such as subnet-0123456789abcdef0');
const securityGroupId = z
  .string()
  .regex(/^sg-[0-9a-f]{8,17}$/, 'expected a security group id such as sg-0123456789abcdef0');

/** Lambda's VpcConfig limits: at most 16 subnets and 5 security groups per function. */
export const MAX_FUNCTION_SUBNETS = 16;
export const MAX_FUNCTION_SECURITY_GROUPS = 5;

/**
 * A network: an auditor function attached to a VPC of the hub's region, fed by its own work queue,
 * for the clusters whose Kubernetes API only that VPC reaches (a private endpoint, or public access
 * CIDRs that exclude the hub's egress).
 */
const network = z
  .strictObject({
    /** The network's name: the function `<prefix>-auditor-<name>` and the queue `<prefix>-work-<name>`. */
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,19}$/,
        'a lower-case letter, then lower-case letters, digits and -, at most 20',
      ),
    /** The VPC the function attaches to, in the hub's region. */
    vpcId,
    /**
     * Private subnets of that VPC with a route to the AWS APIs (a NAT gateway, or the VPC endpoints
     * docs/deploy.md lists); the function gets a network interface in each.
     */
    subnetIds: z
      .array(subnetId)
      .min(1, 'at least one private subnet of the VPC')
      .max(MAX_FUNCTION_SUBNETS, `a Lambda function attaches to at most ${MAX_FUNCTION_SUBNETS} subnets`),
    /**
     * The function's security groups; absent: the stack creates one in the VPC with no inbound rule
     * and outbound TCP 443 only.
     */
    securityGroupIds: z
      .array(securityGroupId)
      .min(1, 'omit the key to have the stack create a security group')
      .max(
        MAX_FUNCTION_SECURITY_GROUPS,
        `a Lambda function has at most ${MAX_FUNCTION_SECURITY_GROUPS} security groups`,
      )
      .optional(),
    /**
     * The VPCs whose clusters' private endpoints this network reaches: its own, peered or transit
     * gateway-attached VPCs (clusters in other regions through inter-region peering or a transit
     * gateway, with DNS). Default: the network's own VPC.
     */
    reachesVpcIds: z
      .array(vpcId)
      .min(1, "at least one VPC; omit the key for the network's own VPC")
      .optional(),
  })
  .transform(({ reachesVpcIds, ...rest }) => ({ ...rest, reachesVpcIds: reachesVpcIds ?? [rest.vpcId] }));

/** Networks with unique names, each VPC reached by one network only (a cluster has one route). */
const networks = z.array(network).superRefine((list, ctx) => {
  const names = new Map<string, number>();
  const reachedBy = new Map<string, string>();
  for (const [i, net] of list.entries()) {
    // An entry that failed its own checks is reported there; zod still runs this refinement.
    if (!Array.isArray(net?.reachesVpcIds)) continue;
    const first = names.get(net.name);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'name'],
        message: `"${net.name}" is also networks.${first}.name: network names are unique`,
      });
    } else names.set(net.name, i);
    for (const [j, vpc] of net.reachesVpcIds.entries()) {
      const other = reachedBy.get(vpc);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'reachesVpcIds', j],
          message: `${vpc} is already reached by network "${other}": each VPC's clusters are audited by one network`,
        });
      } else reachedBy.set(vpc, net.name);
    }
  }
});

const emailSubscription = z.strictObject({
  address: z.email(),
  /** Which messages this address gets; default: the nightly digest only. */
  filter: filterPolicy.default({ eventType: ['digest'] }),
});

const slackChannel = z.strictObject({
  /** The Slack workspace (team) id authorized once in the AWS Chatbot console, e.g. T0123ABCD. */
  workspaceId: z.string().regex(/^[A-Z0-9]{9,15}$/, 'expected a Slack workspace id such as T0123ABCD'),
  /** The channel id (from the channel's link), e.g. C0123ABCD. */
  channelId: z.string().regex(/^[A-Z0-9]{9,15}$/, 'expected a Slack channel id such as C0123ABCD'),
  /** The Chatbot channel configuration's name. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9-_]{1,128}$/)
    .default('irsa-audit'),
  /** Which alert messages the channel gets; default: critical and high regressions only. */
  filter: filterPolicy.default({ eventType: ['regression'], maxSeverity: ['critical', 'high'] }),
  /** Also post the operations alarms (DLQ, errors, missed run) to this channel. */
  operations: z.boolean().default(true),
});

export const hubConfigSchema = z.strictObject({
  /** Account and region to deploy to; absent: environment-agnostic (the CLI's credentials decide). */
  env: z.strictObject({ account: accountId.optional(), region: region.optional() }).default({}),
  /** Prefix of every physical name (functions, queues, topics, roles, alarms). */
  prefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,19}$/, 'lower-case letters, digits and -, at most 20')
    .default('irsa-audit'),
  /** The EventBridge schedule of the nightly run (UTC). */
  schedule: z
    .string()
    .regex(/^(cron|rate)\(.+\)$/, 'expected an EventBridge schedule expression, e.g. cron(0 2 * * ? *)')
    .default('cron(0 2 * * ? *)'),
  /** What to audit: every ACTIVE account of the organization, the hub account itself, or a list. */
  accounts: z
    .union([z.literal('organization'), z.literal('current'), z.array(accountId).min(1)])
    .default('organization'),
  /** Regions to audit; empty: each account's enabled regions (account:ListRegions). */
  regions: z.array(region).default([]),
  /** The member audit role's name, the same in every audited account. */
  auditRoleName: roleName.default('irsa-auditor'),
  /** The hub auditor function's role name: the one principal every member role trusts. */
  hubAuditorRoleName: roleName.default('irsa-audit-hub-auditor'),
  /** The ExternalId every member role requires (generate one: openssl rand -hex 16). */
  externalId,
  /** The organization id (o-...): member roles then also require aws:PrincipalOrgID. */
  organizationId: z
    .string()
    .regex(/^o-[a-z0-9]{10,32}$/, 'expected an organization id such as o-a1b2c3d4e5')
    .optional(),
  /** The finding table's name (`irsa-audit history` reads `irsa-audit-findings` by default). */
  tableName: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/)
    .default('irsa-audit-findings'),
  /** Days history items (events, runs, resolved findings) are kept before DynamoDB TTL expires them. */
  retentionDays: z.number().int().positive().max(3650).default(DEFAULT_RETENTION_DAYS),
  /** Days the functions' and API's logs are kept. */
  logRetentionDays: z
    .number()
    .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
      message: `CloudWatch Logs accepts only ${LOG_RETENTION_DAYS.join(', ')}`,
    })
    .default(90),
  /** The auditor's memory (MB); CPU grows with it, and parsing large clusters is CPU-bound. */
  auditorMemoryMb: z.number().int().min(512).max(10240).default(2048),
  /**
   * The auditor's public egress addresses (its NAT gateways' Elastic IPs): a cluster whose public
   * access CIDRs exclude all of them is reported as unreachable (AUDIT-002) instead of dialled.
   */
  egressIps: z.array(z.union([z.ipv4(), z.ipv6()])).default([]),
  /** Auditor invocations at once (the SQS event source's maximum concurrency, 2-1000). */
  auditorMaxConcurrency: z.number().int().min(2).max(1000).default(10),
  /**
   * Auditor functions inside VPCs, for clusters whose API the hub's default auditor cannot reach (a
   * private endpoint, or public access CIDRs that exclude its egress). Each network is in the hub's
   * region; the default auditor forwards each such cluster to the network whose `reachesVpcIds`
   * holds the cluster's VPC (docs/deploy.md, "Private clusters: auditors inside your VPCs").
   */
  networks: networks.default([]),
  /**
   * Clusters one auditor invocation audits: an account with more is fanned out in (account, region)
   * parts of at most this many clusters (README, "Fan-out arithmetic").
   */
  clustersPerUnit: z.number().int().min(1).max(500).default(40),
  /** Severity overrides and exemptions (the CLI's config file, as an object), passed as AUDIT_CONFIG. */
  auditConfig: auditConfigSchema.optional(),
  subscriptions: z
    .strictObject({
      email: z.array(emailSubscription).default([]),
      slack: slackChannel.optional(),
    })
    .default({ email: [] }),
  operations: z
    .strictObject({
      /** Addresses that get the operations alarms (DLQ, function errors, missed nightly run). */
      emails: z.array(z.email()).default([]),
      /** The dead-man's switch: no completed run in this many hours alarms. */
      missedRunHours: z.number().int().min(2).max(168).default(26),
    })
    .default({ emails: [], missedRunHours: 26 }),
  /**
   * Create the API Gateway account's CloudWatch Logs role (an account- and region-wide setting that
   * API logging needs). Set false when the hub account already has one.
   */
  apiGatewayCloudWatchRole: z.boolean().default(true),
  /** Also deploy the member audit role into the hub account itself (when the StackSet does not). */
  memberStackInHub: z.boolean().default(false),
  /**
   * AWS Security Hub: with `enabled`, the auditors import each run's new, changed and resolved
   * findings (BatchImportFindings) into the hub account's default product in the hub's region,
   * allowed on that product's ARN only (docs/deploy.md, "Security Hub").
   */
  securityHub: z.strictObject({ enabled: z.boolean().default(false) }).default({ enabled: false }),
});

export type HubConfig = z.infer<typeof hubConfigSchema>;
export type HubConfigInput = z.input<typeof hubConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Validates a configuration object; the error names every wrong key. */
export function parseHubConfig(input: unknown, source = `context "${CONTEXT_KEY}"`): HubConfig {
  const parsed = hubConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid irsa-audit configuration in ${source}:\n  ${issues.join('\n  ')}`);
  }
  if (parsed.data.auditConfig && JSON.stringify(parsed.data.auditConfig).length > 3000) {
    throw new ConfigError(
      `invalid irsa-audit configuration in ${source}: auditConfig is over 3,000 characters as JSON; Lambda environment variables are limited to 4 KB in all`,
    );
  }
  const variables =
    (parsed.data.auditConfig ? JSON.stringify(parsed.data.auditConfig).length : 0) +
    estimatedNetworksLength(parsed.data);
  if (variables > 3000) {
    throw new ConfigError(
      `invalid irsa-audit configuration in ${source}: networks (as AUDIT_NETWORKS, about ${estimatedNetworksLength(parsed.data)} characters) and auditConfig together are over 3,000 characters; Lambda environment variables are limited to 4 KB in all`,
    );
  }
  return parsed.data;
}

/** Reads the configuration from a construct's context (what `cdk synth -c ...` and cdk.json give). */
export function configFromContext(tryGetContext: (key: string) => unknown): HubConfig {
  const file = tryGetContext(CONTEXT_FILE_KEY);
  const base = tryGetContext(CONTEXT_KEY);
  if (base !== undefined && (typeof base !== 'object' || base === null || Array.isArray(base))) {
    throw new ConfigError(`context "${CONTEXT_KEY}" must be an object, got ${JSON.stringify(base)}`);
  }
  if (typeof file === 'string' && file.length > 0) {
    const path = resolve(file);
    let overlay: unknown;
    try {
      overlay = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new ConfigError(
        `cannot read the irsa-audit configuration file ${path}: ${(error as Error).message}`,
      );
    }
    return parseHubConfig({ ...(base as object | undefined), ...(overlay as object) }, path);
  }
  return parseHubConfig(base);
}

/** The accounts selection as the planner's AUDIT_ACCOUNTS reads it. */
export function auditAccountsSetting(config: HubConfig): string {
  return Array.isArray(config.accounts) ? config.accounts.join(',') : config.accounts;
}

/** The longest SQS queue URL's fixed part: `https://sqs.<region>.amazonaws.com.cn/<account>/` (about 60). */
const QUEUE_URL_BASE_LENGTH = 64;

/** About how long the auditor's AUDIT_NETWORKS variable is (the queue URLs are tokens at synth). */
export function estimatedNetworksLength(config: Pick<HubConfig, 'networks' | 'prefix'>): number {
  if (config.networks.length === 0) return 0;
  return JSON.stringify(
    config.networks.map((net) => ({
      name: net.name,
      queueUrl: `${'x'.repeat(QUEUE_URL_BASE_LENGTH)}${config.prefix}-work-${net.name}`,
      vpcIds: net.reachesVpcIds,
    })),
  ).length;
}
