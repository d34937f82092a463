import { accountSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'AUDIT-001',
  name: 'account-unreachable',
  title: 'The audit role could not be assumed, or IAM/EKS listing was denied',
  severity: 'high',
  scope: 'account',
  risk: 'The audit could not look into the account: its clusters and roles are unaudited, not clean.',
  remediation:
    'Deploy the read-only audit role in the account (member stack), check its trust (hub role, ExternalId) and its permissions.',
  references: ['https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html'],
};

const results = resultsFor(metadata);

/** AUDIT-001: the live collection reached the account (AssumeRole, IAM and EKS listing succeeded). */
export const check: Check = {
  metadata,
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const account of context.accounts) {
      const subject = accountSubject(account.accountId);
      const errors = account.collectionErrors;
      if (errors.length === 0) {
        out.push(results.pass(subject, `account ${account.accountId} was collected`));
        continue;
      }
      out.push(
        results.fail(
          subject,
          `Account ${account.accountId} could not be fully audited: ${errors.map((e) => `${e.api} failed (${e.code}: ${e.message})`).join('; ')}.`,
          { errors },
          `aws sts assume-role --role-arn arn:aws:iam::${account.accountId}:role/ROLE_NAME --role-session-name irsa-audit-check --external-id EXTERNAL_ID   # does the audit role exist and trust the auditor?`,
        ),
      );
    }
    return out;
  },
};
