import { AUDIENCE_ANNOTATION } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { Cluster } from '../../model/fleet.ts';
import {
  type AssumableBy,
  assumableBy,
  DEFAULT_AUDIENCE,
  foreignIssuerConditions,
  type ProviderGrant,
  serviceAccountSubject,
  subjectRestriction,
  type TokenHolder,
} from '../../policy/irsa-trust.ts';
import type { PolicyDocument } from '../../policy/policy-document.ts';
import { sh } from '../../sinks/shell.ts';
import { resultsFor, roleSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-015',
  name: 'trust-subject-unrestricted',
  title: 'The role trusts every service account of the cluster',
  severity: 'critical',
  scope: 'role',
  risk: 'Without a strict :sub condition any pod in the cluster, in any namespace, can assume the role and use its permissions.',
  remediation:
    'Add a StringEquals condition on <issuer>:sub naming the one service account that needs the role.',
  references: [
    'https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html',
    'https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html',
  ],
};

const results = resultsFor(metadata);

const SHOWN = 5;

/** `a, b and c`, at most {@link SHOWN} of them, then how many more. */
function listed(items: readonly string[]): string {
  const shown = items.slice(0, SHOWN);
  const more = items.length - shown.length;
  if (more > 0) return `${shown.join(', ')} and ${more} more`;
  return shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}` : (shown[0] ?? '');
}

const quoted = (audiences: readonly string[]) => audiences.map((a) => JSON.stringify(a)).join(' or ');

/** The cluster's service accounts and the audience each one's token carries; null when not collected. */
function tokenHolders(cluster: Cluster): TokenHolder[] | null {
  const accounts = cluster.kubernetes?.serviceAccounts;
  if (!accounts) return null;
  return accounts.map((sa) => {
    const audience = sa.annotations[AUDIENCE_ANNOTATION];
    return {
      subject: serviceAccountSubject(sa.namespace, sa.name),
      audience: audience?.trim() ? audience : DEFAULT_AUDIENCE,
    };
  });
}

/** Who can assume the role, as IAM evaluates its trust, in words (the check itself is structural). */
function whoCan(who: AssumableBy, cluster: Cluster, holders: readonly TokenHolder[] | null): string {
  const unknown = holders === null ? ' (its service accounts could not be listed)' : '';
  switch (who.kind) {
    case 'any': {
      const audience =
        who.audiences === 'any'
          ? ', whatever its token audience (STS still requires one the OIDC provider lists),'
          : ` whose token audience is ${quoted(who.audiences)}`;
      const except =
        who.except.length > 0
          ? `, except ${listed(who.except.map((e) => e.subject))} (${who.except[0]?.subject}: ${who.except[0]?.reason})`
          : '';
      return `any service account of ${cluster.name}${audience} can assume it${except}${unknown}`;
    }
    case 'some':
      return `service accounts of ${cluster.name} whose token audience is ${quoted(who.audiences)} can assume it, though not every one: ${who.excluded.subject} cannot, since ${who.excluded.reason}${unknown}`;
    case 'existing':
      return `of the service accounts of ${cluster.name}, only ${listed(who.subjects)} can assume it (no service account the conditions do not single out can)`;
    case 'none':
      return holders === null
        ? `no service account tried can assume it${unknown}, since ${who.reason}`
        : `no service account of ${cluster.name} can assume it, since ${who.reason}`;
  }
}

/** Who can assume the role with tokens of the providers of its open grants, one sentence per provider. */
function whoCanAssume(policy: PolicyDocument, open: readonly ProviderGrant[], cluster: Cluster) {
  const holders = tokenHolders(cluster);
  const providers = [...new Map(open.map((g) => [g.providerArn, g])).values()];
  const verdicts = providers.map((g) => ({
    providerArn: g.providerArn,
    who: assumableBy(policy, { providerArn: g.providerArn, issuer: g.issuer }, holders),
  }));
  const sentence = verdicts
    .map(
      (v) =>
        (verdicts.length > 1 ? `with a token for ${v.providerArn}, ` : '') + whoCan(v.who, cluster, holders),
    )
    .join('; ');
  return { sentence, verdicts };
}

/** IRSA-015: every Allow statement for an EKS cluster's provider has a strict `:sub` condition. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  // Its findings are per role and cluster: which cluster a provider is, is read from the clusters of the region.
  reads: [...reads('account', 'iam'), ...reads('region', 'cluster-list', 'cluster')],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const role of context.roles) {
      for (const [cluster, grants] of context.roleGrantsByCluster(role)) {
        const subject = roleSubject(role.accountId, role.name, cluster);
        // A statement keyed on another issuer can never match (IRSA-017), so it is not unrestricted.
        const open = grants.filter(
          (g) => foreignIssuerConditions(g).length === 0 && subjectRestriction(g).kind === 'unrestricted',
        );
        const assumable =
          open.length > 0 && role.trust.ok ? whoCanAssume(role.trust.policy, open, cluster) : null;
        const evidence = {
          role: role.arn,
          assumableBy: assumable?.verdicts ?? [],
          statements: open.map((g) => ({
            index: g.statement.index,
            provider: g.providerArn,
            subConditions: subjectRestriction(g).subConditions.map((c) => ({
              operator: c.operator,
              values: c.values,
            })),
          })),
        };
        out.push(
          open.length === 0
            ? results.pass(subject, `role ${role.name} restricts :sub for ${cluster.name}`)
            : results.fail(
                subject,
                `Role ${role.name} has no strict :sub condition for cluster ${cluster.name} in ${[...new Set(open.map((g) => `Statement[${g.statement.index}]`))].join(', ')}; as IAM evaluates its trust, ${assumable?.sentence}.`,
                evidence,
                sh`aws iam get-role --role-name ${role.name} --query Role.AssumeRolePolicyDocument > trust-${role.name}.json\n# add "StringEquals": {"${open[0]?.issuer ?? 'ISSUER'}:sub": "system:serviceaccount:NAMESPACE:NAME"} to the statement, then:\naws iam update-assume-role-policy --role-name ${role.name} --policy-document file://trust-${role.name}.json`,
              ),
        );
      }
    }
    return out;
  },
};
