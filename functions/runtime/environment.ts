/**
 * The handlers' configuration, from the environment the CDK stack sets (infra/). Validated once
 * per cold start; a wrong value fails loudly, naming the variable.
 */
import { z } from 'zod';
import type { AccountSelection } from '#shared/collectors/accounts.ts';
import { DEFAULT_RETENTION_DAYS } from '#shared/history/table.ts';

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
