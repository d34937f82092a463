import { reads } from '../../engine/coverage.ts';
import { foreignIssuerConditions, type ProviderGrant } from '../../policy/irsa-trust.ts';
import { sh } from '../../sinks/shell.ts';
import { resultsFor, roleSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-017',
  name: 'trust-policy-invalid',
  title: 'The trust policy cannot be parsed, or a condition names another issuer',
  severity: 'high',
  scope: 'role',
  risk: 'A document that cannot be parsed, or a condition keyed on an issuer the statement does not trust, can never admit a token: the pods get AccessDenied.',
  remediation:
    'Fix the document so that it parses and every condition key names the issuer of the statement it sits in.',
  references: ['https://repost.aws/knowledge-center/eks-pods-iam-role-service-accounts'],
};

const results = resultsFor(metadata);

/**
 * The conditions of the grants on an issuer other than their Federated provider's. A loop of the
 * module, not callbacks made in `evaluate` for each role (see checks/workloads.ts).
 */
function foreignConditionsOf(
  grants: readonly ProviderGrant[],
): { statement: number; provider: string; key: string }[] {
  const foreign: { statement: number; provider: string; key: string }[] = [];
  for (const g of grants) {
    for (const c of foreignIssuerConditions(g)) {
      foreign.push({ statement: g.statement.index, provider: g.providerArn, key: c.key });
    }
  }
  return foreign;
}

/** IRSA-017: the trust parses; no statement conditions on an issuer other than its Federated provider. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  // Its findings are per role and cluster: which cluster a provider is, is read from the clusters of the region.
  reads: [...reads('account', 'iam'), ...reads('region', 'cluster-list', 'cluster')],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const role of context.roles) {
      if (!role.trust.ok) {
        out.push(
          results.fail(
            roleSubject(role.accountId, role.name, null),
            `The trust policy of role ${role.name} in account ${role.accountId} cannot be used: ${role.trust.error}.`,
            { role: role.arn, error: role.trust.error },
            sh`aws iam get-role --role-name ${role.name} --query Role.AssumeRolePolicyDocument\naws iam update-assume-role-policy --role-name ${role.name} --policy-document file://fixed-trust.json`,
          ),
        );
        continue;
      }
      for (const [cluster, grants] of context.roleGrantsByCluster(role)) {
        const subject = roleSubject(role.accountId, role.name, cluster);
        const foreign = foreignConditionsOf(grants);
        out.push(
          foreign.length === 0
            ? results.pass(subject, `the trust of ${role.name} is consistent for ${cluster.name}`)
            : results.fail(
                subject,
                `Role ${role.name} trusts the provider of cluster ${cluster.name} but conditions on another issuer's key(s) ${foreign.map((f) => f.key).join(', ')}, which can never match.`,
                { role: role.arn, conditions: foreign },
                sh`aws iam get-role --role-name ${role.name} --query Role.AssumeRolePolicyDocument > trust-${role.name}.json\n# rename the keys to ${context.issuerOf(cluster) ?? 'ISSUER'}:sub / :aud, then:\naws iam update-assume-role-policy --role-name ${role.name} --policy-document file://trust-${role.name}.json`,
              ),
        );
      }
    }
    return out;
  },
};
