import { reads } from '../../engine/coverage.ts';
import { sh } from '../../sinks/shell.ts';
import { associationId, forEachAssociation, POD_IDENTITY_REFERENCE } from '../pod-identity.ts';
import { resultsFor } from '../results.ts';
import type { Check, CheckMetadata } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'PODID-003',
  name: 'pod-identity-service-account-missing',
  title: "The EKS Pod Identity association's namespace or ServiceAccount does not exist in the cluster",
  severity: 'high',
  scope: 'service-account',
  risk: 'EKS accepts an association for any name: no pod runs as that ServiceAccount, so the workload it was meant for gets no credentials (a typo, or the ServiceAccount was renamed or deleted), and a ServiceAccount created later under that name silently gets the role.',
  remediation:
    'Create the ServiceAccount the association names, or delete the association and create one for the ServiceAccount the workload uses.',
  references: [POD_IDENTITY_REFERENCE],
};

const results = resultsFor(metadata);

/** PODID-003: the namespace and ServiceAccount an association names exist in its cluster. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'pod-identity-associations', 'ServiceAccount'),
  evaluate(context) {
    return forEachAssociation(context, results, (cluster, association, subject) => {
      const accounts = context.serviceAccountIndex(cluster);
      const { namespace, serviceAccount } = association;
      if (accounts === null) return results.notEvaluated(subject, 'ServiceAccounts were not collected');
      const evidence = { associationArn: association.associationArn, roleArn: association.roleArn };
      if (accounts.has(`${namespace}/${serviceAccount}`))
        return results.pass(subject, `service account ${namespace}/${serviceAccount} exists`, evidence);
      // The namespace list says whether the namespace exists, where the snapshot has it (read for
      // the message and the fix only: the verdict is the ServiceAccount's). Without it, every
      // namespace has its `default` ServiceAccount: none at all means no namespace.
      const namespaces = cluster.kubernetes?.namespaces ?? null;
      const namespaceExists = namespaces
        ? namespaces.some((n) => n.name === namespace)
        : [...accounts.values()].some((sa) => sa.namespace === namespace);
      const what = namespaceExists
        ? `ServiceAccount ${serviceAccount} does not exist in namespace ${namespace}`
        : namespaces
          ? `namespace ${namespace} does not exist`
          : `namespace ${namespace} does not exist (no ServiceAccount of it, not even default)`;
      return results.fail(
        subject,
        `The EKS Pod Identity association for ${namespace}/${serviceAccount} in ${cluster.name} names nothing: ${what}.`,
        { ...evidence, namespaceExists },
        `${namespaceExists ? '' : sh`kubectl --context ${cluster.name} create namespace ${namespace}\n`}${sh`kubectl --context ${cluster.name} create serviceaccount -n ${namespace} ${serviceAccount}\n# or, if the workload uses another ServiceAccount:\naws eks delete-pod-identity-association --cluster-name ${cluster.name} --region ${cluster.region} --association-id ${associationId(association)}`}`,
      );
    });
  },
};
