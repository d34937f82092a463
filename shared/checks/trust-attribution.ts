/**
 * IRSA-012, -013 and -014 share one evaluation of each service account's web-identity request
 * against its role's trust policy; an SA gets at most one of them, the first that applies.
 */

import type { ServiceAccountLink } from '../engine/audit-context.ts';
import { reads } from '../engine/coverage.ts';
import { oidcProviderArn, parseArn } from '../policy/irsa-trust.ts';
import { sh } from '../sinks/shell.ts';
import { resultsFor, serviceAccountSubject } from './results.ts';
import { trustStatementFor } from './service-account-remediation.ts';
import type { Check, CheckMetadata, CheckResult } from './types.ts';

const ORDER = ['IRSA-012', 'IRSA-013', 'IRSA-014'] as const;
export type TrustCheckId = (typeof ORDER)[number];

/**
 * What the three checks say of a link alike: its evidence, and the message of a trust that admits
 * it. Made once for the three, not once by each (there is a link per annotated ServiceAccount of
 * the fleet); a link lives for one audit, and this with it.
 */
interface Said {
  readonly evidence: Readonly<Record<string, unknown>>;
  admits: string | undefined;
}

const said = new WeakMap<ServiceAccountLink, Said>();

function saidOf(link: ServiceAccountLink): Said {
  let known = said.get(link);
  if (known === undefined) {
    known = {
      evidence: { roleArn: link.roleArn, subject: link.subject, audience: link.audience },
      admits: undefined,
    };
    said.set(link, known);
  }
  return known;
}

export function trustAttributionCheck(metadata: CheckMetadata & { id: TrustCheckId }): Check {
  const results = resultsFor(metadata);
  const position = ORDER.indexOf(metadata.id);
  return {
    metadata,
    // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
    reads: [...reads('cluster', 'cluster', 'ServiceAccount'), ...reads('role', 'iam')],
    evaluate(context) {
      const out: CheckResult[] = [];
      for (const cluster of context.clusters) {
        for (const link of context.serviceAccountLinks(cluster)) {
          const sa = link.serviceAccount;
          const subject = serviceAccountSubject(cluster, sa);
          const trust = context.trustOf(cluster, link);
          if (trust.result === 'not-evaluated') {
            out.push(results.notEvaluated(subject, trust.reason));
          } else if (trust.result === 'admits') {
            const said = saidOf(link);
            said.admits ??= `the trust of ${link.roleArn} admits ${link.subject}`;
            out.push(results.pass(subject, said.admits, said.evidence));
          } else if (ORDER.indexOf(trust.result) < position) {
            out.push(results.notEvaluated(subject, `${trust.result} fails first for this service account`));
          } else if (ORDER.indexOf(trust.result) > position) {
            out.push(
              results.pass(
                subject,
                `this link of the trust holds (${trust.result} fails)`,
                saidOf(link).evidence,
              ),
            );
          } else {
            const evidence = saidOf(link).evidence;
            const role = link.role?.kind === 'found' ? link.role.role : null;
            const roleName = role?.name ?? link.roleArn;
            const issuer = context.issuerOf(cluster) ?? 'ISSUER';
            const roleAccount = parseArn(link.roleArn)?.accountId ?? cluster.accountId;
            const statement = trustStatementFor(
              oidcProviderArn(parseArn(link.roleArn)?.partition || 'aws', roleAccount, issuer),
              issuer,
              link.subject,
              link.audience,
            );
            out.push(
              results.fail(
                subject,
                `The trust policy of role ${roleName} does not admit service account ${sa.namespace}/${sa.name} of cluster ${cluster.name}: ${trust.reason}.`,
                { ...evidence, reason: trust.reason },
                `${sh`# the trust policy of ${roleName} needs a statement like:`}\n# ${statement}\n${sh`aws iam get-role --role-name ${roleName} --query Role.AssumeRolePolicyDocument > trust-${roleName}.json   # edit it, then:\naws iam update-assume-role-policy --role-name ${roleName} --policy-document file://trust-${roleName}.json`}`,
              ),
            );
          }
        }
      }
      return out;
    },
  };
}
