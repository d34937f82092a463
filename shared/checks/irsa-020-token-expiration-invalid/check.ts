import { TOKEN_EXPIRATION_ANNOTATION } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import { resultsFor, serviceAccountSubject } from '../results.ts';
import { annotateCommand } from '../service-account-remediation.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-020',
  name: 'token-expiration-invalid',
  title: 'The token-expiration annotation is not an integer from 600 to 86400',
  severity: 'low',
  scope: 'service-account',
  risk: 'The webhook ignores a non-integer value and clamps an out-of-range one: the token lifetime is not what the owner expects.',
  remediation: 'Use an integer number of seconds from 600 to 86400.',
  references: ['https://github.com/aws/amazon-eks-pod-identity-webhook#eks-walkthrough'],
};

const MIN_SECONDS = 600;
const MAX_SECONDS = 86_400;

const results = resultsFor(metadata);

/** IRSA-020: when present on an annotated SA, the token expiration is an integer in 600..86400. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'ServiceAccount'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      for (const { serviceAccount: sa } of context.serviceAccountLinks(cluster)) {
        const value = sa.annotations[TOKEN_EXPIRATION_ANNOTATION];
        if (value === undefined) continue;
        const subject = serviceAccountSubject(cluster, sa);
        const seconds = /^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN;
        const evidence = {
          annotation: TOKEN_EXPIRATION_ANNOTATION,
          value,
          allowed: `${MIN_SECONDS}..${MAX_SECONDS}`,
        };
        out.push(
          seconds >= MIN_SECONDS && seconds <= MAX_SECONDS
            ? results.pass(subject, `${TOKEN_EXPIRATION_ANNOTATION} is ${value}`, evidence)
            : results.fail(
                subject,
                `Service account ${sa.namespace}/${sa.name} in ${cluster.name} sets ${TOKEN_EXPIRATION_ANNOTATION} to ${JSON.stringify(value)}, not an integer from ${MIN_SECONDS} to ${MAX_SECONDS}.`,
                evidence,
                annotateCommand(
                  cluster,
                  sa,
                  TOKEN_EXPIRATION_ANNOTATION,
                  String(
                    Number.isNaN(seconds)
                      ? MAX_SECONDS
                      : Math.min(MAX_SECONDS, Math.max(MIN_SECONDS, seconds)),
                  ),
                ),
              ),
        );
      }
    }
    return out;
  },
};
