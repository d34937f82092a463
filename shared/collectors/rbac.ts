/**
 * What the auditor may do inside a cluster, in one place: the ClusterRole the collector needs
 * (get/list on the three kinds it has always read; and exactly the verb of each read added since:
 * list on namespaces, get on services, list on endpointslices, which the collector makes only for
 * the Service a self-managed pod identity webhook names) and, only when the live probe is
 * enabled, `create` on serviceaccounts/token. The manifest in deploy/kubernetes is generated from this.
 */
import { stringify } from 'yaml';

/** The Kubernetes group the audit role's EKS access entry maps to. */
export const AUDITOR_GROUP = 'irsa-auditor';

export const AUDITOR_READS = [
  { apiGroups: [''], resources: ['serviceaccounts', 'pods'], verbs: ['get', 'list'] },
  {
    apiGroups: ['admissionregistration.k8s.io'],
    resources: ['mutatingwebhookconfigurations'],
    verbs: ['get', 'list'],
  },
  // IRSA-063 (namespace labels), IRSA-064 (the webhook's Service and its EndpointSlices).
  { apiGroups: [''], resources: ['namespaces'], verbs: ['list'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] },
] as const;

export const PROBE_RULES = [
  { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
] as const;

const LABELS = { 'app.kubernetes.io/name': 'irsa-auditor', 'app.kubernetes.io/component': 'audit' };

function binding(name: string) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: LABELS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: AUDITOR_GROUP }],
  };
}

/** The RBAC objects to apply in a cluster: read-only, plus the token permission for the probe if asked. */
export function auditorRbac(options: { probe?: boolean } = {}): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'irsa-auditor', labels: LABELS },
      rules: AUDITOR_READS.map((r) => ({
        ...r,
        apiGroups: [...r.apiGroups],
        resources: [...r.resources],
        verbs: [...r.verbs],
      })),
    },
    binding('irsa-auditor'),
  ];
  if (options.probe) {
    objects.push(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'irsa-auditor-probe', labels: LABELS },
        rules: PROBE_RULES.map((r) => ({
          apiGroups: [...r.apiGroups],
          resources: [...r.resources],
          verbs: [...r.verbs],
        })),
      },
      binding('irsa-auditor-probe'),
    );
  }
  return objects;
}

export function auditorRbacYaml(options: { probe?: boolean } = {}): string {
  const header = `# Generated from shared/collectors/rbac.ts (irsa-audit enroll --dry-run${options.probe ? ' --probe' : ''} prints it).\n`;
  return (
    header +
    auditorRbac(options)
      .map((o) => stringify(o))
      .join('---\n')
  );
}
