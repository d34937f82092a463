import { reads } from '../../engine/coverage.ts';
import { DEFAULT_AUDIENCE } from '../../policy/irsa-trust.ts';
import { sh } from '../../sinks/shell.ts';
import { clusterSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-002',
  name: 'oidc-provider-audience',
  title: 'The OIDC provider does not list the audience the tokens carry',
  severity: 'high',
  scope: 'cluster',
  risk: 'STS rejects tokens whose audience is not a client id of the provider ("Incorrect token audience"), so pods cannot assume their roles.',
  remediation: "Add the missing audiences to the provider's client id list.",
  references: [
    'https://docs.aws.amazon.com/eks/latest/userguide/security-iam-troubleshoot.html',
    'https://docs.aws.amazon.com/cli/latest/reference/iam/add-client-id-to-open-id-connect-provider.html',
  ],
};

const results = resultsFor(metadata);

/** IRSA-002: the provider's ClientIDList holds sts.amazonaws.com and every custom audience an SA asks for. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: [...reads('cluster', 'cluster', 'ServiceAccount'), ...reads('account', 'iam')],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const subject = clusterSubject(cluster);
      const issuer = context.issuerOf(cluster);
      const account = context.account(cluster.accountId);
      const provider = issuer !== null && account ? context.providerFor(account, issuer) : undefined;
      if (!provider) {
        const why = !account?.iam
          ? `the IAM data of account ${cluster.accountId} could not be read`
          : 'no OIDC provider to inspect (IRSA-001)';
        out.push(
          results.notEvaluated(
            subject,
            issuer === null ? `cluster.json of ${cluster.name} gives no OIDC issuer` : why,
          ),
        );
        continue;
      }
      const required = new Set([
        DEFAULT_AUDIENCE,
        ...context.serviceAccountLinks(cluster).map((l) => l.audience),
      ]);
      const missing = [...required].filter((audience) => !provider.clientIds.includes(audience));
      const evidence = { provider: provider.arn, clientIds: provider.clientIds, required: [...required] };
      out.push(
        missing.length === 0
          ? results.pass(subject, `OIDC provider ${provider.url} lists every audience in use`, evidence)
          : results.fail(
              subject,
              `OIDC provider ${provider.url} of cluster ${cluster.name} lacks the client id(s) ${missing.join(', ')}.`,
              { ...evidence, missing },
              missing
                .map(
                  (audience) =>
                    sh`aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${provider.arn} --client-id ${audience}`,
                )
                .join('\n'),
            ),
      );
    }
    return out;
  },
};
