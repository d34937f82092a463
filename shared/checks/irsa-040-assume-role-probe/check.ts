import { getOrAdd, newMap, type ServiceAccountLink } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { Cluster, ProbeResult } from '../../model/fleet.ts';
import { oidcProviderArn, parseArn, serviceAccountSubject as subjectOf } from '../../policy/irsa-trust.ts';
import { sh } from '../../sinks/shell.ts';
import { qualified, resultsFor, serviceAccountSubject } from '../results.ts';
import { annotateCommand, trustStatementFor } from '../service-account-remediation.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-040',
  name: 'assume-role-probe',
  title: 'STS refuses AssumeRoleWithWebIdentity for a fresh token of this service account',
  severity: 'critical',
  scope: 'service-account',
  risk: 'Whatever the configuration looks like, STS refuses the token the pods get: the pods have no AWS credentials of their role.',
  remediation:
    "Fix the link STS names in its error: the cluster's OIDC provider and its audiences (InvalidIdentityToken), or the role's trust policy (AccessDenied).",
  references: [
    'https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html',
    'https://docs.aws.amazon.com/eks/latest/userguide/security-iam-troubleshoot.html',
    'https://repost.aws/knowledge-center/eks-pods-iam-role-service-accounts',
  ],
};

const results = resultsFor(metadata);

/** Where the fix is: the OIDC provider (and which change), the trust policy, or the annotation. */
function remediationFor(
  cluster: Cluster,
  issuer: string | null,
  probe: ProbeResult,
  link: ServiceAccountLink | undefined,
): string {
  const arn = parseArn(probe.roleArn.trim());
  const roleAccount = arn?.accountId ?? cluster.accountId;
  const roleName = arn?.resource.split('/').pop() ?? probe.roleArn;
  const hostPath = issuer ?? 'ISSUER';
  const providerArn = oidcProviderArn(arn?.partition || 'aws', roleAccount, hostPath);
  const message = probe.message ?? '';
  const reproduce =
    sh`# reproduce: aws sts assume-role-with-web-identity --role-arn ${probe.roleArn.trim()} --role-session-name probe ` +
    sh`--web-identity-token "$(kubectl --context ${cluster.name} create token ${probe.serviceAccount} -n ${probe.namespace} --audience ${probe.audience})"`;
  let fix: string;
  switch (probe.errorCode) {
    case 'InvalidIdentityToken':
    case 'IDPRejectedClaim':
      if (/audience/i.test(message)) {
        fix = sh`aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${providerArn} --client-id ${probe.audience}`;
      } else if (roleAccount !== cluster.accountId) {
        fix = sh`# in account ${roleAccount}, which holds the role:\naws iam create-open-id-connect-provider --url https://${hostPath} --client-id-list ${probe.audience}`;
      } else {
        fix = sh`eksctl utils associate-iam-oidc-provider --cluster ${cluster.name} --region ${cluster.region} --approve`;
      }
      break;
    case 'AccessDenied': {
      const statement = trustStatementFor(
        providerArn,
        hostPath,
        subjectOf(probe.namespace, probe.serviceAccount),
        probe.audience,
      );
      fix =
        `${sh`# the trust policy of ${roleName} needs a statement like:`}\n# ${statement}\n` +
        sh`aws iam get-role --role-name ${roleName} --query Role.AssumeRolePolicyDocument > trust-${roleName}.json   # edit it, then:\n` +
        sh`aws iam update-assume-role-policy --role-name ${roleName} --policy-document file://trust-${roleName}.json`;
      break;
    }
    case 'ValidationError':
      fix = link
        ? annotateCommand(cluster, link.serviceAccount, 'eks.amazonaws.com/role-arn', 'ROLE_ARN')
        : sh`kubectl --context ${cluster.name} annotate serviceaccount -n ${probe.namespace} ${probe.serviceAccount} --overwrite eks.amazonaws.com/role-arn=ROLE_ARN`;
      break;
    case 'ExpiredTokenException':
      fix =
        '# the fresh token was already expired for STS: compare the cluster and auditor clocks, then probe again';
      break;
    case 'RegionDisabledException':
      fix = sh`# activate the STS endpoint of ${cluster.region} in account ${roleAccount} (IAM > Account settings)`;
      break;
    default:
      fix = sh`# STS said ${probe.errorCode ?? 'no code'}: see its message`;
  }
  return `${fix}\n${reproduce}`;
}

/** A link, and whether a probe named it. */
interface ProbedLink {
  readonly link: ServiceAccountLink;
  probed: boolean;
}

/**
 * A cluster's links by namespace, then name (the last of two of one name). Nested maps keyed by
 * the snapshot's own strings, not a `namespace/name` string made per link and per probe: those
 * are new strings each audit, hashed anew, on a probe per annotated ServiceAccount.
 */
function linksByName(links: readonly ServiceAccountLink[]): Map<string, Map<string, ProbedLink>> {
  const index = new Map<string, Map<string, ProbedLink>>();
  for (const link of links) {
    const { namespace, name } = link.serviceAccount;
    getOrAdd(index, namespace, newMap<string, ProbedLink>).set(name, { link, probed: false });
  }
  return index;
}

/**
 * IRSA-040: a token of the service account, with the audience its pods get, is exchanged by STS for
 * credentials of its role. Reads only the probe's recorded outcomes (collection does the calls).
 */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'ServiceAccount', 'TokenRequest'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const links = context.serviceAccountLinks(cluster);
      const probes = cluster.probes;
      if (probes === null) {
        const reason = `cluster ${cluster.name} was not probed (irsa-audit check --live --probe)`;
        for (const link of links) {
          out.push(results.notEvaluated(serviceAccountSubject(cluster, link.serviceAccount), reason));
        }
        continue;
      }
      const issuer = context.issuerOf(cluster);
      const byName = linksByName(links);
      for (const probe of probes) {
        const key = qualified(probe.namespace, probe.serviceAccount);
        const entry = byName.get(probe.namespace)?.get(probe.serviceAccount);
        if (entry !== undefined) entry.probed = true;
        const subject = serviceAccountSubject(cluster, {
          namespace: probe.namespace,
          name: probe.serviceAccount,
        });
        // Each outcome's evidence written out whole (no spread of a shared part): a probe per
        // annotated ServiceAccount, most of them passes.
        if (probe.outcome === 'pass') {
          out.push(
            results.pass(subject, `STS issued credentials of ${probe.roleArn} for ${key}`, {
              roleArn: probe.roleArn,
              audience: probe.audience,
              assumedRoleArn: probe.assumedRoleArn,
            }),
          );
        } else if (probe.outcome === 'error') {
          out.push(
            results.notEvaluated(
              subject,
              `the probe of ${key} could not complete (${probe.errorCode ?? 'error'}: ${probe.message ?? 'no detail'})`,
              { roleArn: probe.roleArn, audience: probe.audience },
            ),
          );
        } else {
          const code = probe.errorCode ?? 'Unknown';
          out.push(
            results.fail(
              subject,
              `STS refused AssumeRoleWithWebIdentity of role ${probe.roleArn} for service account ${key} of cluster ${cluster.name}: ${code}${probe.message ? ` (${probe.message})` : ''}.`,
              {
                roleArn: probe.roleArn,
                audience: probe.audience,
                errorCode: code,
                stsMessage: probe.message,
              },
              remediationFor(cluster, issuer, probe, entry?.link),
            ),
          );
        }
      }
      // The links no probe named, in the order first listed (the last of two of one name).
      for (const { serviceAccount } of links) {
        const entry = byName.get(serviceAccount.namespace)?.get(serviceAccount.name) as ProbedLink;
        if (entry.probed) continue;
        entry.probed = true; // said once
        const named = entry.link.serviceAccount;
        out.push(
          results.notEvaluated(
            serviceAccountSubject(cluster, named),
            `the probe of cluster ${cluster.name} has no result for ${qualified(named.namespace, named.name)}`,
          ),
        );
      }
    }
    return out;
  },
};
