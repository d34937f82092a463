import { STS_REGIONAL_ANNOTATION } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import { resultsFor, serviceAccountSubject } from '../results.ts';
import { annotateCommand } from '../service-account-remediation.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-019',
  name: 'sts-regional-endpoints-invalid',
  title: 'The sts-regional-endpoints annotation is not a boolean the webhook understands',
  severity: 'low',
  scope: 'service-account',
  risk: 'The webhook parses the value with Go strconv.ParseBool and silently ignores anything else: pods keep the global STS endpoint.',
  remediation: 'Use "true" or "false".',
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html'],
};

/** The spellings Go's strconv.ParseBool accepts, the only ones the webhook honours. */
export const GO_BOOLEANS = new Set([
  '1',
  't',
  'T',
  'TRUE',
  'true',
  'True',
  '0',
  'f',
  'F',
  'FALSE',
  'false',
  'False',
]);
export const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

const results = resultsFor(metadata);

/** IRSA-019: when present on an annotated SA, `eks.amazonaws.com/sts-regional-endpoints` parses as a Go bool. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'ServiceAccount'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      for (const { serviceAccount: sa } of context.serviceAccountLinks(cluster)) {
        const value = sa.annotations[STS_REGIONAL_ANNOTATION];
        if (value === undefined) continue;
        const subject = serviceAccountSubject(cluster, sa);
        const evidence = { annotation: STS_REGIONAL_ANNOTATION, value };
        out.push(
          GO_BOOLEANS.has(value)
            ? results.pass(subject, `${STS_REGIONAL_ANNOTATION} is ${value}`, evidence)
            : results.fail(
                subject,
                `Service account ${sa.namespace}/${sa.name} in ${cluster.name} sets ${STS_REGIONAL_ANNOTATION} to ${JSON.stringify(value)}, which the webhook ignores.`,
                evidence,
                annotateCommand(cluster, sa, STS_REGIONAL_ANNOTATION, 'true'),
              ),
        );
      }
    }
    return out;
  },
};
