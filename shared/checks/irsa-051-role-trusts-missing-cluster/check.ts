import { reads } from '../../engine/coverage.ts';
import { eksIssuerRegion, providerGrants } from '../../policy/irsa-trust.ts';
import { sh } from '../../sinks/shell.ts';
import { resultsFor, roleSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-051',
  name: 'role-trusts-missing-cluster',
  title: 'The role trusts the OIDC provider of a cluster that no longer exists',
  severity: 'low',
  scope: 'account',
  risk: 'Stale trust: the role outlived its cluster and keeps a door open that nobody watches.',
  remediation: 'Remove the stale statement from the trust policy, or delete the role.',
  references: ['https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html'],
};

const results = resultsFor(metadata);

/** IRSA-051: every EKS provider a role trusts (in a region the snapshot audits) belongs to an existing cluster. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: [...reads('account', 'iam'), ...reads('fleet', 'cluster-list', 'cluster')],
  evaluate(context) {
    const out: CheckResult[] = [];
    const regions = context.auditedRegions;
    const unknown = context.regionsWithUnknownIssuer;
    for (const role of context.roles) {
      if (!role.trust.ok) continue; // IRSA-017
      const eksGrants = providerGrants(role.trust.policy).filter((g) => eksIssuerRegion(g.issuer) !== null);
      if (eksGrants.length === 0) continue;
      const subject = roleSubject(role.accountId, role.name, null);
      const judged = eksGrants.filter((g) => regions.has(eksIssuerRegion(g.issuer) ?? ''));
      if (judged.length === 0) {
        out.push(
          results.notEvaluated(subject, 'the regions of the trusted providers are not in the snapshot'),
        );
        continue;
      }
      const unmatched = judged.filter((g) => context.clustersWithIssuer(g.issuer).length === 0);
      if (unmatched.some((g) => unknown.has(eksIssuerRegion(g.issuer) ?? ''))) {
        out.push(
          results.notEvaluated(
            subject,
            'a cluster in the region of a trusted provider has an unreadable cluster.json',
          ),
        );
        continue;
      }
      const stale = [...new Set(unmatched.map((g) => g.providerArn))];
      out.push(
        stale.length === 0
          ? results.pass(subject, `every provider ${role.name} trusts belongs to a cluster`)
          : results.fail(
              subject,
              `Role ${role.name} in account ${role.accountId} trusts the OIDC provider(s) of no existing cluster: ${stale.join(', ')}.`,
              { role: role.arn, staleProviders: stale },
              sh`aws iam get-role --role-name ${role.name} --query Role.AssumeRolePolicyDocument > trust-${role.name}.json\n# remove the statements for ${stale.join(', ')}, then:\naws iam update-assume-role-policy --role-name ${role.name} --policy-document file://trust-${role.name}.json\n# or, if nothing uses the role any more: aws iam delete-role --role-name ${role.name} (detach its policies first)`,
            ),
      );
    }
    return out;
  },
};
