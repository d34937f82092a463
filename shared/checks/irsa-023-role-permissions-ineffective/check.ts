import { reads } from '../../engine/coverage.ts';
import type { Account, PolicyDocumentSource, Role } from '../../model/fleet.ts';
import type { IamCatalogue } from '../../policy/iam-catalogue.ts';
import { parsePermissionPolicy } from '../../policy/permission-policy.ts';
import { sh } from '../../sinks/shell.ts';
import { MAX_SHOWN_RUN } from '../../sinks/untrusted.ts';
import { foundRole, resultsFor, serviceAccountSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';
import { type GrantProblem, type PolicyReview, reviewPolicy } from './review.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-023',
  name: 'role-permissions-ineffective',
  title: "A statement of the role's permission policies can never grant what it names",
  severity: 'medium',
  scope: 'service-account',
  risk: 'The pod assumes the role but gets AccessDenied for the action: the policy names an action IAM does not define, or a resource the action never acts on (s3:ListBucket on objects, s3:GetObject on the bucket).',
  remediation:
    'Replace the statement with the corrected one the finding shows (put-role-policy for an inline policy, create-policy-version for a customer-managed one).',
  references: [
    'https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html',
    'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html',
    'https://repost.aws/knowledge-center/s3-access-denied-listobjects-sync',
  ],
};

const results = resultsFor(metadata);

/** Problems listed in a finding's evidence at most (the count says how many more there were). */
const MAX_PROBLEMS_SHOWN = 20;

/** One policy of the role, with where its document is and how it is replaced. */
interface PolicyOfRole {
  readonly kind: 'inline' | 'managed';
  readonly name: string;
  /** The customer-managed policy's ARN; null for an inline policy. */
  readonly arn: string | null;
  /** The managed policy's default version, as the snapshot holds it. */
  readonly versionId: string | null;
  readonly review: PolicyReview;
}

/** What IRSA-023 concludes for one role, shared by every ServiceAccount that names it. */
type RoleVerdict =
  | { readonly status: 'not-evaluated'; readonly why: string }
  | {
      readonly status: 'reviewed';
      readonly policies: readonly PolicyOfRole[];
      /** Why the pass would not be a pass: documents missing or unreadable, services unknown. */
      readonly gaps: readonly string[];
      /** AWS-managed policies, which are not examined. */
      readonly awsManaged: readonly string[];
    };

const isAwsManaged = (arn: string) => /^arn:[^:]+:iam::aws:policy\//.test(arn);

function verdictFor(role: Role, account: Account, catalogue: IamCatalogue): RoleVerdict {
  const iam = account.iam;
  const policies = iam?.rolePolicies.get(role.name);
  if (!iam || !policies) {
    return { status: 'not-evaluated', why: `the policies of role ${role.name} are not in the snapshot` };
  }
  const gaps: string[] = [];
  const reviewed: PolicyOfRole[] = [];
  const review = (
    kind: PolicyOfRole['kind'],
    name: string,
    arn: string | null,
    versionId: string | null,
    source: PolicyDocumentSource,
  ) => {
    const parsed = parsePermissionPolicy(source);
    if (!parsed.ok) {
      gaps.push(`the document of policy ${name} cannot be read: ${parsed.error}`);
      return;
    }
    const result = reviewPolicy(parsed.policy, catalogue);
    if (result.unknownServices.length > 0) {
      gaps.push(
        `policy ${name} names actions of ${result.unknownServices.join(', ')}, which ${catalogue.version} does not know (update it)`,
      );
    }
    reviewed.push({ kind, name, arn, versionId, review: result });
  };
  if (policies.inline.length > 0 && policies.inlineDocuments === null) {
    gaps.push(`the documents of role ${role.name}'s inline policies are not in the snapshot`);
  }
  for (const name of policies.inline) {
    const source = policies.inlineDocuments?.get(name);
    if (source !== undefined) review('inline', name, null, null, source);
    else if (policies.inlineDocuments !== null)
      gaps.push(`the document of inline policy ${name} is not in the snapshot`);
  }
  const awsManaged: string[] = [];
  for (const attached of policies.attached) {
    if (isAwsManaged(attached.arn)) {
      awsManaged.push(attached.arn);
      continue;
    }
    const managed = iam.managedPolicies.get(attached.arn);
    if (!managed || managed.document === null) {
      gaps.push(`the default version of policy ${attached.arn} is not in the snapshot`);
      continue;
    }
    review('managed', managed.name, managed.arn, managed.defaultVersionId, managed.document);
  }
  return { status: 'reviewed', policies: reviewed, gaps, awsManaged };
}

function describeProblem(policy: PolicyOfRole, problem: GrantProblem): string {
  const where = `policy ${policy.name} statement ${problem.statementIndex}`;
  if (problem.kind === 'undefined-action') {
    return `${where} names ${problem.action}, which IAM does not define${problem.suggestion ? ` (did you mean ${problem.suggestion}?)` : ''}`;
  }
  const acts =
    problem.resourceTypes.length === 0
      ? 'acts only on "*"'
      : `acts on ${problem.resourceTypes.map((t) => t.name).join(' or ')} ARNs`;
  return `${where} allows ${problem.action} on ${problem.resources.join(', ')}, but ${problem.action} ${acts}`;
}

/**
 * JSON text of part of a policy document read from the account, or null when it cannot be written
 * as JSON (nested deeper than the stack allows: a hostile or broken document must not end the audit).
 */
function jsonOrNull(value: unknown): string | null {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
}

/** The commands that put each corrected document in place, with the corrected statements shown. */
function remediationFor(roleName: string, failing: readonly PolicyOfRole[]): string {
  const lines: string[] = [];
  for (const policy of failing) {
    const { review } = policy;
    for (const [index, statements] of review.corrections) {
      const shown = jsonOrNull(statements) ?? '(nested too deeply to show: edit it in the document)';
      lines.push(sh`# ${policy.name}, statement ${index}, corrected: ${shown}`);
    }
    if (review.hasPlaceholders) lines.push('# Replace each <Name> with the resource the workload uses.');
    const document = jsonOrNull(review.correctedDocument);
    const direct = document !== null && !review.hasPlaceholders && document.length <= MAX_SHOWN_RUN;
    if (policy.kind === 'inline') {
      if (direct) {
        lines.push(
          sh`aws iam put-role-policy --role-name ${roleName} --policy-name ${policy.name} --policy-document ${document}`,
        );
      } else {
        lines.push(
          sh`aws iam get-role-policy --role-name ${roleName} --policy-name ${policy.name} --query PolicyDocument --output json > policy.json`,
          '# Edit policy.json as above, then:',
          sh`aws iam put-role-policy --role-name ${roleName} --policy-name ${policy.name} --policy-document file://policy.json`,
        );
      }
    } else {
      const arn = policy.arn as string;
      lines.push(
        '# A managed policy keeps at most 5 versions: delete the oldest one first if IAM says LimitExceeded.',
      );
      if (direct) {
        lines.push(
          sh`aws iam create-policy-version --policy-arn ${arn} --set-as-default --policy-document ${document}`,
        );
      } else {
        lines.push(
          sh`aws iam get-policy-version --policy-arn ${arn} --version-id ${policy.versionId ?? 'v1'} --query PolicyVersion.Document --output json > policy.json`,
          '# Edit policy.json as above, then:',
          sh`aws iam create-policy-version --policy-arn ${arn} --set-as-default --policy-document file://policy.json`,
        );
      }
    }
  }
  return lines.join('\n');
}

/**
 * IRSA-023: every statement of the SA's role's inline and customer-managed policies names actions
 * IAM defines, and every Allow grants its actions on resources they act on (review.ts).
 */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: [
    ...reads('cluster', 'ServiceAccount'),
    ...reads('role', 'iam', 'role-policies', 'role-policy-documents'),
  ],
  evaluate(context) {
    const out: CheckResult[] = [];
    const catalogue = context.iamCatalogue;
    const verdicts = new Map<Role, RoleVerdict>();
    for (const cluster of context.clusters) {
      for (const link of context.serviceAccountLinks(cluster)) {
        const sa = link.serviceAccount;
        const subject = serviceAccountSubject(cluster, sa);
        const resolved = foundRole(link);
        if ('notEvaluated' in resolved) {
          out.push(results.notEvaluated(subject, resolved.notEvaluated));
          continue;
        }
        const role = resolved.found;
        let verdict = verdicts.get(role.role);
        if (!verdict) {
          verdict = verdictFor(role.role, role.account, catalogue);
          verdicts.set(role.role, verdict);
        }
        if (verdict.status === 'not-evaluated') {
          out.push(results.notEvaluated(subject, verdict.why));
          continue;
        }
        const problems = verdict.policies.flatMap((policy) =>
          policy.review.problems.map((problem) => ({ policy, problem })),
        );
        const evidence = {
          role: role.role.arn,
          catalogue: catalogue.version,
          problems: problems.slice(0, MAX_PROBLEMS_SHOWN).map(({ policy, problem }) => ({
            policy: policy.arn ?? policy.name,
            ...problem,
          })),
          ...(problems.length > MAX_PROBLEMS_SHOWN
            ? { problemsNotShown: problems.length - MAX_PROBLEMS_SHOWN }
            : {}),
          policiesExamined: verdict.policies.map((p) => p.arn ?? p.name),
          awsManagedNotExamined: verdict.awsManaged,
          ...(verdict.gaps.length > 0 ? { notExamined: verdict.gaps } : {}),
        };
        const first = problems[0];
        if (first) {
          const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
          out.push(
            results.fail(
              subject,
              `Role ${role.role.name}, used by ${sa.namespace}/${sa.name} in ${cluster.name}: ${describeProblem(first.policy, first.problem)}${more}, so the pod gets AccessDenied for it (judged by ${catalogue.version}).`,
              evidence,
              remediationFor(
                role.role.name,
                verdict.policies.filter((p) => p.review.problems.length > 0),
              ),
            ),
          );
        } else if (verdict.gaps.length > 0) {
          out.push(results.notEvaluated(subject, verdict.gaps.join('; ')));
        } else {
          out.push(
            results.pass(
              subject,
              `every statement of role ${role.role.name}'s ${verdict.policies.length} examined policies can grant what it names (by ${catalogue.version})`,
              evidence,
            ),
          );
        }
      }
    }
    return out;
  },
};
