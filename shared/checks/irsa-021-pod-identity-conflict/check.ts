import { ROLE_ARN_ANNOTATION } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { PodIdentityAssociation } from '../../model/fleet.ts';
import { sh } from '../../sinks/shell.ts';
import { resultsFor, serviceAccountSubject } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-021',
  name: 'pod-identity-conflict',
  title: 'The service account uses both IRSA and an EKS Pod Identity association',
  severity: 'medium',
  scope: 'service-account',
  risk: 'Two mechanisms name possibly different roles; which one a pod uses depends on what the webhook injected and on the SDK: permissions are not what either config says.',
  remediation: 'Keep one mechanism: delete the Pod Identity association or remove the role-arn annotation.',
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html'],
};

const results = resultsFor(metadata);

/**
 * The cluster's associations by `namespace/serviceAccount` (the key of the cluster's ServiceAccount
 * index), the first of each kept, as a search of the list for each ServiceAccount finds it: one
 * pass, where that search was one per ServiceAccount.
 */
function firstAssociations(
  associations: readonly PodIdentityAssociation[],
): ReadonlyMap<string, PodIdentityAssociation> {
  const index = new Map<string, PodIdentityAssociation>();
  for (const a of associations) {
    const key = `${a.namespace}/${a.serviceAccount}`;
    if (!index.has(key)) index.set(key, a);
  }
  return index;
}

/** IRSA-021: an annotated SA has no EKS Pod Identity association too; says which mechanism its pods use. */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  reads: reads('cluster', 'ServiceAccount', 'pod-identity-associations'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const links = context.serviceAccountLinks(cluster);
      const associations = cluster.podIdentityAssociations;
      let byServiceAccount: ReadonlyMap<string, PodIdentityAssociation> | undefined;
      for (const link of links) {
        const sa = link.serviceAccount;
        const subject = serviceAccountSubject(cluster, sa);
        if (associations === null) {
          out.push(results.notEvaluated(subject, 'pod-identity-associations.json could not be read'));
          continue;
        }
        byServiceAccount ??= firstAssociations(associations);
        const association = byServiceAccount.get(`${sa.namespace}/${sa.name}`);
        if (!association) {
          out.push(results.pass(subject, `no Pod Identity association for ${sa.namespace}/${sa.name}`));
          continue;
        }
        let podIdentityPods = 0;
        let irsaPods = 0;
        for (const pod of context.runningPodsOf(cluster, sa.namespace, sa.name) ?? []) {
          if (pod.containers.some((c) => c.env.has('AWS_CONTAINER_CREDENTIALS_FULL_URI'))) podIdentityPods++;
          else if (pod.containers.some((c) => c.env.has('AWS_ROLE_ARN'))) irsaPods++;
        }
        const inUse =
          podIdentityPods + irsaPods === 0
            ? 'no running pod uses either yet'
            : `${podIdentityPods} pod(s) use EKS Pod Identity, ${irsaPods} pod(s) use IRSA`;
        out.push(
          results.fail(
            subject,
            `Service account ${sa.namespace}/${sa.name} in ${cluster.name} has both the IRSA annotation (${link.roleArn}) and Pod Identity association ${association.associationArn ?? ''} (role ${association.roleArn ?? 'unknown'}); ${inUse}.`,
            {
              irsaRoleArn: link.roleArn,
              podIdentityRoleArn: association.roleArn,
              associationArn: association.associationArn,
              podsUsingPodIdentity: podIdentityPods,
              podsUsingIrsa: irsaPods,
            },
            sh`# keep one mechanism:\naws eks delete-pod-identity-association --cluster-name ${cluster.name} --region ${cluster.region} --association-id ${association.associationArn?.split('/').pop() ?? 'ASSOCIATION_ID'}\n# or\nkubectl --context ${cluster.name} annotate serviceaccount -n ${sa.namespace} ${sa.name} ${ROLE_ARN_ANNOTATION}-`,
          ),
        );
      }
    }
    return out;
  },
};
