/**
 * User configuration: severity overrides and exemptions. Severity and exemptions are
 * configuration, never part of a check. Validated once here, where the file enters.
 */
import { z } from 'zod';
import { SEVERITIES } from '../checks/types.ts';

const pattern = z.string().min(1);

export const exemptionSchema = z.object({
  /** A check id, or a pattern with `*` / `?` (`IRSA-01*`). */
  checkId: pattern,
  /** Each given field must match the finding's (`*` and `?` wildcards); absent fields match anything. */
  scope: z
    .object({
      accountId: pattern.optional(),
      region: pattern.optional(),
      cluster: pattern.optional(),
      namespace: pattern.optional(),
      serviceAccount: pattern.optional(),
      roleName: pattern.optional(),
      workload: pattern.optional().describe('"Kind/name", e.g. "Deployment/report-*"'),
      resource: pattern.optional().describe('an OIDC provider ARN or snapshot file path'),
    })
    .strict()
    .default({}),
  reason: z.string().trim().min(1, 'an exemption needs a reason'),
  /** Last day (UTC) the exemption applies, `YYYY-MM-DD`. */
  expires: z
    .union([z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD'), z.date()])
    .transform((value) => (typeof value === 'string' ? value : value.toISOString().slice(0, 10)))
    .optional(),
});
export type Exemption = z.infer<typeof exemptionSchema>;

export const auditConfigSchema = z
  .object({
    severities: z
      .record(z.string().regex(/^[A-Z]+-\d{3}$/, 'expected a check id such as IRSA-018'), z.enum(SEVERITIES))
      .default({}),
    exemptions: z.array(exemptionSchema).default([]),
  })
  .strict();
export type AuditConfig = z.infer<typeof auditConfigSchema>;

export const EMPTY_CONFIG: AuditConfig = { severities: {}, exemptions: [] };
