import { clusterPodIdentityWebhooks, WEBHOOKS_NOT_COLLECTED } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { MutatingWebhook } from '../../model/fleet.ts';
import { sh } from '../../sinks/shell.ts';
import { clusterSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-062',
  name: 'webhook-failure-policy-ignore',
  title: 'A self-managed pod identity webhook fails open (failurePolicy Ignore)',
  severity: 'high',
  scope: 'cluster',
  risk: 'While the webhook is down, unreachable or failing TLS, the API server admits every new pod unmutated: it runs with the node role (or no credentials) and no error, event or failed rollout tells anyone.',
  remediation:
    'Set failurePolicy to Fail on the self-managed webhook, after excluding its own namespace from its namespaceSelector (or its pods by objectSelector) so that it can still start while it is down; alert on its availability. EKS ships its managed webhook with Ignore, which the cluster owner cannot change: there IRSA-030 is the detection.',
  references: [
    'https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#failure-policy',
    'https://github.com/aws/amazon-eks-pod-identity-webhook/blob/master/SELF_HOSTED_SETUP.md',
  ],
};

const results = resultsFor(metadata);

/**
 * EKS's managed webhook: called at a loopback URL of the API server's own host
 * (`https://127.0.0.1:23443/mutate`), which only the EKS control plane can serve. A webhook
 * reached through a Service, or any other URL, is the cluster owner's.
 */
export function isEksManagedWebhook(webhook: MutatingWebhook): boolean {
  if (webhook.service || !webhook.url) return false;
  try {
    const host = new URL(webhook.url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  } catch {
    return false;
  }
}

/**
 * IRSA-062: the pod identity webhook does not fail open, unless EKS owns it. `Fail` passes;
 * `Ignore` fails on a webhook the cluster owner runs; EKS's managed webhook (which ships with
 * `Ignore`) passes with a message that says so; a snapshot without `failurePolicy` (the API server
 * always fills it, so it was not recorded) is not evaluated.
 */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'MutatingWebhookConfiguration'),
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
      if (webhooks.length === 0) continue; // IRSA-003 reports the missing webhook.
      const unrecorded = webhooks.filter((w) => w.failurePolicy === null);
      if (unrecorded.length > 0) {
        out.push(
          results.notEvaluated(
            subject,
            `the snapshot does not record the failurePolicy of webhook ${unrecorded.map((w) => w.name).join(', ')} (collected before it was kept)`,
          ),
        );
        continue;
      }
      const evidence = {
        webhooks: webhooks.map((w) => ({
          webhook: w.name,
          failurePolicy: w.failurePolicy,
          clientConfig: w.service ? { service: w.service } : { url: w.url },
          eksManaged: isEksManagedWebhook(w),
        })),
      };
      const openLocated = located.filter(
        (l) => l.webhook.failurePolicy !== 'Fail' && !isEksManagedWebhook(l.webhook),
      );
      const openSelfManaged = openLocated.map((l) => l.webhook);
      const unknownPolicy = openSelfManaged.filter((w) => w.failurePolicy !== 'Ignore');
      if (unknownPolicy.length > 0) {
        out.push(
          results.notEvaluated(
            subject,
            `webhook ${unknownPolicy.map((w) => w.name).join(', ')} has failurePolicy ${unknownPolicy.map((w) => JSON.stringify(w.failurePolicy)).join(', ')}, neither Fail nor Ignore`,
            evidence,
          ),
        );
        continue;
      }
      if (openSelfManaged.length === 0) {
        const managedIgnore = webhooks.some((w) => w.failurePolicy === 'Ignore');
        out.push(
          results.pass(
            subject,
            managedIgnore
              ? `the pod identity webhook of ${cluster.name} is EKS's managed one: it ships with failurePolicy Ignore, which the cluster owner cannot change (IRSA-030 catches the pods it lets through)`
              : `the pod identity webhook of ${cluster.name} has failurePolicy Fail`,
            evidence,
          ),
        );
        continue;
      }
      const fixes = openLocated.map(({ webhook: w, configuration, index }) => {
        const where = w.service
          ? sh`# the webhook runs as Service ${w.service.namespace}/${w.service.name}: exclude that namespace from its namespaceSelector first\n`
          : '';
        return index !== null
          ? where +
              sh`kubectl --context ${cluster.name} patch mutatingwebhookconfiguration ${configuration} --type=json -p ${`[{"op":"replace","path":"/webhooks/${index}/failurePolicy","value":"Fail"}]`}`
          : sh`# webhook ${w.name}: set failurePolicy: Fail in its MutatingWebhookConfiguration`;
      });
      out.push(
        results.fail(
          subject,
          `The pod identity webhook ${openSelfManaged.map((w) => w.name).join(', ')} on cluster ${cluster.name} has failurePolicy Ignore: while it is unavailable, new pods start without IRSA credentials and nothing reports it.`,
          evidence,
          `${fixes.join('\n')}\n# and alert on the webhook's availability (its pods and the API server's "failed calling webhook" log lines)`,
        ),
      );
    }
    return out;
  },
};
