/**
 * The planner -> auditor message on SQS: one per account per run, so that IAM is listed once per
 * account per run (see README, "Fan-out arithmetic"); and the lead -> part messages of an account
 * that is fanned out (shared/pipeline/routing.ts).
 */
import { z } from 'zod';

export const workMessageSchema = z.object({
  version: z.literal(1),
  /** The run: the scheduled time of the night, plus a suffix for manual runs. */
  runId: z.string().min(1),
  /** The run's time (ISO 8601): every change the run records carries it. */
  runAt: z.iso.datetime(),
  accountId: z.string().regex(/^\d{12}$/, 'an AWS account id is 12 digits'),
  /** Regions to audit; absent: the account's enabled regions. */
  regions: z.array(z.string().min(1)).optional(),
  /**
   * A part of the account that its lead unit forwarded (shared/pipeline/routing.ts): only these
   * clusters of one region, with the account's IAM from the lead's view. Absent: the lead.
   */
  part: z
    .object({
      /** Unique within the account's run: `<region>#<n>` or `<network>@<region>#<n>`. */
      id: z
        .string()
        .regex(/^([a-z][a-z0-9-]{0,19}@)?[a-z0-9-]+#\d+$/, 'expected a part id such as eu-west-1#2'),
      region: z.string().min(1),
      clusters: z
        .array(z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, 'expected an EKS cluster name'))
        .min(1)
        .max(500),
      /** The network auditor it was sent to; absent: the default auditor. */
      network: z.string().min(1).optional(),
    })
    .optional(),
});

export type WorkMessage = z.infer<typeof workMessageSchema>;

export class InvalidWorkMessageError extends Error {
  override readonly name = 'InvalidWorkMessageError';
}

/** Parses an SQS body; the error names the field. */
export function parseWorkMessage(body: string): WorkMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidWorkMessageError(`the message body is not JSON: ${body.slice(0, 80)}`);
  }
  const parsed = workMessageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidWorkMessageError(
      `invalid work message: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
