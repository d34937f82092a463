/**
 * The planner -> auditor message on SQS: one per account per run, so that IAM is listed once per
 * account per run (see README, "Fan-out arithmetic").
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
