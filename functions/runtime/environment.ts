/**
 * The handlers' configuration, from the environment the CDK stack sets (infra/). Validated once
 * per cold start; a wrong value fails loudly, naming the variable.
 */
import { z } from 'zod';
import type { AccountSelection } from '#shared/collectors/accounts.ts';
import { DEFAULT_RETENTION_DAYS } from '#shared/history/table.ts';
import { importerOfProductArn } from '#shared/notify/asff.ts';
import { networkRoutesSchema } from '#shared/pipeline/routing.ts';

const list = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

export const environmentSchema = z.object({
  TABLE_NAME: z.string().min(1),
  TOPIC_ARN: z.string().min(1).optional(),
  QUEUE_URL: z.string().min(1).optional(),
  /** `organization`, `current`, or a comma-separated list of account ids. */
  AUDIT_ACCOUNTS: z.string().default('organization'),
  AUDIT_REGIONS: list,
  AUDIT_ROLE_NAME: z.string().min(1).optional(),
  AUDIT_EXTERNAL_ID: z.string().min(2).optional(),
  RETENTION_DAYS: z.coerce.number().int().positive().default(DEFAULT_RETENTION_DAYS),
  /** The audit configuration (severities, exemptions) as JSON, optional. */
  AUDIT_CONFIG: z.string().optional(),
  /** Each cluster's deadline for its Kubernetes reads, in seconds (default: the collector's, 300). */
  AUDIT_CLUSTER_DEADLINE_SECONDS: z.coerce.number().positive().max(900).optional(),
  /** `dial` when the auditor runs where the clusters' private endpoints are reachable (in their VPC). */
  AUDIT_PRIVATE_ENDPOINTS: z.enum(['skip', 'dial']).default('skip'),
  /** The auditor's public egress addresses (its NAT gateways' Elastic IPs), comma-separated. */
  AUDIT_EGRESS_IPS: z
    .string()
    .optional()
    .transform((value) =>
      value
        ? value
            .split(',')
            .map((a) => a.trim())
            .filter(Boolean)
        : undefined,
    ),
  /**
   * How long an account's unit waits for the other accounts of the run to share their IAM and
   * clusters (cross-account IRSA), in seconds (default 300; never past the collection's end).
   */
  AUDIT_VIEW_WAIT_SECONDS: z.coerce.number().min(0).max(840).optional(),
  /**
   * The auditor functions deployed inside VPCs (the hub config's `networks`), as JSON:
   * `[{"name":"core","queueUrl":"https://sqs...","vpcIds":["vpc-0abc..."]}]`. A cluster whose API
   * only a network reaches (private endpoint, or public CIDRs that exclude the hub's egress) is
   * forwarded to that network's queue (shared/pipeline/routing.ts).
   */
  AUDIT_NETWORKS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (!value) return [];
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
      const result = networkRoutesSchema.safeParse(parsed);
      if (!result.success) {
        const issue = result.error.issues[0];
        ctx.addIssue({ code: 'custom', message: `${issue?.path.join('.') || '(root)'}: ${issue?.message}` });
        return z.NEVER;
      }
      return result.data;
    }),
  /** The network this auditor function runs in (a network auditor); absent: the hub's default auditor. */
  AUDIT_NETWORK: z.string().min(1).optional(),
  /**
   * Clusters one auditor unit carries: an account with more is fanned out per (account, region)
   * parts of at most this many clusters, IAM still read once (shared/pipeline/routing.ts).
   */
  AUDIT_CLUSTERS_PER_UNIT: z.coerce.number().int().min(1).max(500).optional(),
  /**
   * The hub account's Security Hub default product,
   * `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`: each run's new,
   * changed and resolved findings are imported there (shared/notify/security-hub.ts). Absent: none.
   */
  SECURITY_HUB_PRODUCT_ARN: z
    .string()
    .optional()
    .refine((value) => value === undefined || importerOfProductArn(value) !== null, {
      message:
        "not an account's default Security Hub product: arn:<partition>:securityhub:<region>:<account>:product/<account>/default",
    }),
});

export type Environment = z.infer<typeof environmentSchema>;

export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    throw new EnvironmentError(
      parsed.error.issues.map((i) => `environment variable ${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  return parsed.data;
}

export function requireSetting<K extends keyof Environment>(
  env: Environment,
  name: K,
): NonNullable<Environment[K]> {
  const value = env[name];
  if (value === undefined || value === null || value === '')
    throw new EnvironmentError(`environment variable ${String(name)} is required by this function`);
  return value as NonNullable<Environment[K]>;
}

export function accountSelection(value: string): AccountSelection {
  if (value === 'organization') return { kind: 'organization' };
  if (value === 'current') return { kind: 'current' };
  const accountIds = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = accountIds.find((id) => !/^\d{12}$/.test(id));
  if (bad) throw new EnvironmentError(`AUDIT_ACCOUNTS: "${bad}" is not a 12-digit account id`);
  return { kind: 'list', accountIds };
}
