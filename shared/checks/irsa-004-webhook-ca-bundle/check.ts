import { clusterPodIdentityWebhooks, WEBHOOKS_NOT_COLLECTED } from '../../engine/audit-context.ts';
import { isExpired, sameCertificate } from '../../engine/certificates.ts';
import { reads } from '../../engine/coverage.ts';
import { sh } from '../../sinks/shell.ts';
import { clusterSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-004',
  name: 'webhook-ca-bundle',
  title: "The pod identity webhook's caBundle is not the cluster CA",
  severity: 'critical',
  scope: 'cluster',
  risk: 'The API server cannot verify the webhook over TLS; with failurePolicy Ignore every new pod is admitted unmutated and silently runs with the node role.',
  remediation:
    "Restore the webhook's clientConfig.caBundle to the cluster CA, then restart the pods created since it changed.",
  references: [
    'https://github.com/aws/amazon-eks-pod-identity-webhook',
    'https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#contacting-the-webhook',
  ],
};

const results = resultsFor(metadata);

/** IRSA-004: the webhook's caBundle is PEM, not expired, and holds the cluster CA from DescribeCluster. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'cluster', 'MutatingWebhookConfiguration'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const subject = clusterSubject(cluster);
      const located = clusterPodIdentityWebhooks(cluster);
      if (located === null) {
        out.push(results.notEvaluated(subject, WEBHOOKS_NOT_COLLECTED));
        continue;
      }
      const webhooks = located.map((l) => l.webhook);
      if (webhooks.length === 0) continue; // IRSA-003 reports the missing webhook; nothing to judge here.
      const clusterCa = context.clusterCertificateAuthority(cluster);
      if (!clusterCa.ok) {
        out.push(
          results.notEvaluated(subject, `the cluster CA from cluster.json is unusable (${clusterCa.detail})`),
        );
        continue;
      }
      const problems: string[] = [];
      const bundles: Record<string, unknown>[] = [];
      for (const webhook of webhooks) {
        const bundle = context.webhookCaBundle(webhook);
        if (!bundle.ok) {
          problems.push(`webhook ${webhook.name}: ${bundle.detail}`);
          bundles.push({ webhook: webhook.name, problem: bundle.problem });
          continue;
        }
        bundles.push({
          webhook: webhook.name,
          certificates: bundle.certificates.map((c) => ({
            subject: c.subject,
            sha256: c.fingerprint256,
            validTo: c.validTo,
          })),
        });
        const matching = bundle.certificates.filter((c) =>
          clusterCa.certificates.some((ca) => sameCertificate(c, ca)),
        );
        if (matching.length === 0) {
          problems.push(`webhook ${webhook.name}: the caBundle holds no certificate equal to the cluster CA`);
        } else if (matching.every((c) => isExpired(c, context.now))) {
          problems.push(
            `webhook ${webhook.name}: the cluster CA in the caBundle expired on ${matching[0]?.validTo}`,
          );
        }
      }
      const evidence = {
        clusterCa: clusterCa.certificates.map((c) => ({
          subject: c.subject,
          sha256: c.fingerprint256,
          validTo: c.validTo,
        })),
        webhooks: bundles,
      };
      out.push(
        problems.length === 0
          ? results.pass(
              subject,
              `the pod identity webhook of ${cluster.name} trusts the cluster CA`,
              evidence,
            )
          : results.fail(
              subject,
              `The pod identity webhook's caBundle on cluster ${cluster.name} is wrong: ${problems.join('; ')}.`,
              { ...evidence, problems },
              sh`CA=$(aws eks describe-cluster --name ${cluster.name} --region ${cluster.region} --query cluster.certificateAuthority.data --output text)\n` +
                sh`kubectl --context ${cluster.name} patch mutatingwebhookconfiguration pod-identity-webhook --type=json -p "[{\\"op\\":\\"replace\\",\\"path\\":\\"/webhooks/0/clientConfig/caBundle\\",\\"value\\":\\"$CA\\"}]"\n` +
                '# then restart the workloads created since the change (see IRSA-030)',
            ),
      );
    }
    return out;
  },
};
