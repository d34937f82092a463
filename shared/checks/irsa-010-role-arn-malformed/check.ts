import { ROLE_ARN_ANNOTATION } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import { trimQuotes } from '../../model/text.ts';
import { isRoleArn, parseRoleArn, roleNameProblem } from '../../policy/aws-names.ts';
import { quoted } from '../../sinks/untrusted.ts';
import { resultsFor, serviceAccountSubject } from '../results.ts';
import { annotateCommand } from '../service-account-remediation.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-010',
  name: 'role-arn-malformed',
  title: 'The role-arn annotation is not a valid IAM role ARN',
  severity: 'high',
  scope: 'service-account',
  risk: 'The webhook injects the value as is; STS rejects it and the pod gets no credentials (or falls back to the node role).',
  remediation: 'Re-annotate the service account with the exact role ARN, without quotes or spaces.',
  references: [
    'https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html',
    'https://repost.aws/knowledge-center/eks-pods-iam-role-service-accounts',
  ],
};

const results = resultsFor(metadata);

/** What IAM's rules say is wrong with the value (shared/policy/aws-names.ts). */
function problemOf(value: string): string {
  const parsed = parseRoleArn(value);
  return parsed.ok ? 'it is well formed' : parsed.problem;
}

/** Best guess at the ARN that was meant, for the remediation command. */
function suggestedArn(value: string, accountId: string): string {
  const cleaned = trimQuotes(value.trim()).trim();
  if (isRoleArn(cleaned)) return cleaned;
  const name = cleaned.split('/').pop() || 'ROLE_NAME';
  return `arn:aws:iam::${accountId}:role/${roleNameProblem(name) === null ? name : 'ROLE_NAME'}`;
}

/** IRSA-010: the annotation's value, exactly as stored, is an IAM role ARN. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'ServiceAccount'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      for (const link of context.serviceAccountLinks(cluster)) {
        const sa = link.serviceAccount;
        const subject = serviceAccountSubject(cluster, sa);
        const evidence = { annotation: ROLE_ARN_ANNOTATION, value: link.roleArn };
        out.push(
          link.role !== null
            ? results.pass(
                subject,
                `${sa.namespace}/${sa.name} is annotated with a well-formed role ARN`,
                evidence,
              )
            : results.fail(
                subject,
                `Service account ${sa.namespace}/${sa.name} in ${cluster.name} has a malformed role-arn annotation ${quoted(link.roleArn)}: ${problemOf(link.roleArn)}.`,
                evidence,
                annotateCommand(
                  cluster,
                  sa,
                  ROLE_ARN_ANNOTATION,
                  suggestedArn(link.roleArn, cluster.accountId),
                ),
              ),
        );
      }
    }
    return out;
  },
};
