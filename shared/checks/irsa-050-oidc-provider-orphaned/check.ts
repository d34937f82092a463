import { reads } from '../../engine/coverage.ts';
import { eksIssuerRegion, issuerHostPath } from '../../policy/irsa-trust.ts';
import { sh } from '../../sinks/shell.ts';
import { accountSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-050',
  name: 'oidc-provider-orphaned',
  title: 'An IAM OIDC provider for an EKS issuer matches no cluster',
  severity: 'low',
  scope: 'provider',
  risk: 'Leftover providers of deleted clusters clutter IAM, count against quotas and keep stale trust usable if an issuer ever reappears.',
  remediation: 'Delete the provider once no role trusts it.',
  references: ['https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html'],
};

const results = resultsFor(metadata);

/** IRSA-050: each EKS-issuer OIDC provider, in a region the snapshot audits, matches a cluster of the fleet. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: [...reads('account', 'iam'), ...reads('region', 'cluster-list', 'cluster')],
  evaluate(context) {
    const out: CheckResult[] = [];
    const regions = context.auditedRegions;
    const unknown = context.regionsWithUnknownIssuer;
    for (const account of context.accounts) {
      for (const provider of account.iam?.providers ?? []) {
        const issuer = issuerHostPath(provider.url);
        const region = eksIssuerRegion(issuer);
        if (region === null) continue; // not an EKS issuer (GitHub Actions, ...)
        const subject = accountSubject(account.accountId, provider.arn, region);
        if (!regions.has(region)) {
          out.push(results.notEvaluated(subject, `region ${region} is not in the snapshot`));
        } else if (context.clustersWithIssuer(issuer).length > 0) {
          out.push(results.pass(subject, `provider ${provider.url} belongs to a cluster`));
        } else if (unknown.has(region)) {
          out.push(
            results.notEvaluated(
              subject,
              `a cluster in ${region} has an unreadable cluster.json (AUDIT-004)`,
            ),
          );
        } else {
          out.push(
            results.fail(
              subject,
              `IAM OIDC provider ${provider.url} in account ${account.accountId} matches no EKS cluster of the audited fleet.`,
              { provider: provider.arn, region },
              sh`aws iam delete-open-id-connect-provider --open-id-connect-provider-arn ${provider.arn}   # after checking that no role trusts it (IRSA-051)`,
            ),
          );
        }
      }
    }
    return out;
  },
};
