import type { KubernetesData } from '../../model/fleet.ts';
import { clusterSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'AUDIT-003',
  name: 'permission-missing',
  title: 'A Kubernetes list was not collected; the checks that need it were not evaluated',
  severity: 'medium',
  scope: 'cluster',
  risk: 'The audit could not look: the checks that need this kind say nothing about the cluster.',
  remediation: "Grant the auditor get/list on the kind (see the auditor's ClusterRole).",
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html'],
};

const results = resultsFor(metadata);

const KINDS: { kind: string; field: keyof KubernetesData; resource: string; checks: string }[] = [
  {
    kind: 'ServiceAccount',
    field: 'serviceAccounts',
    resource: 'serviceaccounts',
    checks: 'IRSA-010..022, IRSA-030..033',
  },
  { kind: 'Pod', field: 'pods', resource: 'pods', checks: 'IRSA-021, IRSA-030..033' },
  {
    kind: 'MutatingWebhookConfiguration',
    field: 'webhookConfigurations',
    resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io',
    checks: 'IRSA-003, IRSA-004',
  },
];

/** The live probe's TokenRequest (only asked for with `--probe`): a denial leaves IRSA-040 not evaluated. */
const TOKEN_REQUEST = {
  kind: 'TokenRequest',
  resource: 'serviceaccounts/token',
  checks: 'IRSA-040',
  verb: 'create',
};

/** AUDIT-003: every Kubernetes kind the checks read was collected for the cluster. */
export const check: Check = {
  metadata,
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const kubernetes = cluster.kubernetes;
      if (kubernetes === null) continue; // a missing or broken kubernetes.json is AUDIT-004 alone
      const subject = clusterSubject(cluster);
      const missing: { kind: string; resource: string; checks: string; verb?: string }[] = KINDS.filter(
        (k) => kubernetes[k.field] === null,
      );
      if (cluster.collectionErrors.some((e) => e.kind === 'TokenRequest')) missing.push(TOKEN_REQUEST);
      const reasons = cluster.collectionErrors
        .filter((e) => e.kind)
        .map((e) => `${e.kind}: ${e.code} (${e.message})`);
      out.push(
        missing.length === 0
          ? results.pass(subject, `every kind was collected for ${cluster.name}`)
          : results.fail(
              subject,
              `Cluster ${cluster.name}: ${missing.map((k) => k.kind).join(', ')} not collected (access denied?), so ${missing.map((k) => k.checks).join('; ')} were not evaluated.`,
              { notCollected: missing.map((k) => k.kind), reasons },
              missing
                .map(
                  (k) =>
                    `kubectl --context ${cluster.name} auth can-i ${k.verb ?? 'list'} ${k.resource} --as-group=irsa-auditor --as=irsa-auditor`,
                )
                .join('\n'),
            ),
      );
    }
    return out;
  },
};
