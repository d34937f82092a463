import {
  clusterPodIdentityWebhooks,
  WEBHOOK_CONFIGURATION_NAME,
  WEBHOOK_NAME,
  WEBHOOKS_NOT_COLLECTED,
} from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import { sh } from '../../sinks/shell.ts';
import { clusterSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-003',
  name: 'webhook-missing',
  title: 'The pod identity mutating webhook is not installed',
  severity: 'high',
  scope: 'cluster',
  risk: 'Without the webhook no pod gets AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE or the token volume: every pod silently uses the node role.',
  remediation:
    'On EKS the control plane owns the webhook: find out who deleted it and contact AWS Support if it does not come back; on self-managed clusters redeploy amazon-eks-pod-identity-webhook.',
  references: [
    'https://github.com/aws/amazon-eks-pod-identity-webhook',
    'https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html',
  ],
};

const results = resultsFor(metadata);

/** IRSA-003: a MutatingWebhookConfiguration carries the pod identity webhook (either of its names). */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'MutatingWebhookConfiguration'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const subject = clusterSubject(cluster);
      const webhooks = clusterPodIdentityWebhooks(cluster);
      if (webhooks === null) {
        out.push(results.notEvaluated(subject, WEBHOOKS_NOT_COLLECTED));
        continue;
      }
      const configurations = cluster.kubernetes?.webhookConfigurations ?? [];
      const evidence = { mutatingWebhookConfigurations: configurations.map((c) => c.name) };
      out.push(
        webhooks.length > 0
          ? results.pass(subject, `cluster ${cluster.name} has the pod identity webhook`, evidence)
          : results.fail(
              subject,
              `Cluster ${cluster.name} has no MutatingWebhookConfiguration "${WEBHOOK_CONFIGURATION_NAME}" nor a webhook "${WEBHOOK_NAME}".`,
              evidence,
              sh`kubectl --context ${cluster.name} get mutatingwebhookconfigurations   # EKS recreates ${WEBHOOK_CONFIGURATION_NAME}; if it stays absent, open an AWS Support case (self-managed: kubectl apply -f https://github.com/aws/amazon-eks-pod-identity-webhook/tree/master/deploy)`,
            ),
      );
    }
    return out;
  },
};
