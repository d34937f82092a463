import { accountSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'AUDIT-004',
  name: 'input-invalid',
  title: 'A snapshot file could not be read or failed validation',
  severity: 'medium',
  scope: 'file',
  risk: 'The checks that need the file were not evaluated: the audit is incomplete, not clean.',
  remediation: 'Re-collect the file, or fix the field named in the finding.',
  references: ['docs/fleet-format.md'],
};

const results = resultsFor(metadata);

/** AUDIT-004: one failure per snapshot file that could not be read or validated, naming the file and field. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: [],
  evaluate(context) {
    const out: CheckResult[] = context.fleet.inputErrors.map((error) =>
      results.fail(
        // Account scope: the identity is the account and the file; region and cluster go in the evidence.
        accountSubject(error.accountId, error.file),
        `${error.file}${error.field ? ` (field ${error.field})` : ''}: ${error.message}.`,
        {
          file: error.file,
          field: error.field,
          problem: error.message,
          region: error.region,
          cluster: error.cluster,
        },
        `# re-collect ${error.file} (irsa-audit collect), or fix ${error.field ?? 'the file'} by hand and re-run irsa-audit check`,
      ),
    );
    const broken = new Set(context.fleet.inputErrors.map((e) => e.accountId));
    for (const account of context.accounts) {
      if (!broken.has(account.accountId)) {
        out.push(
          results.pass(
            accountSubject(account.accountId),
            `every snapshot file of account ${account.accountId} is valid`,
          ),
        );
      }
    }
    return out;
  },
};
