/**
 * What the EKS Pod Identity checks (PODID-00x) share: each association of a cluster as a
 * ServiceAccount-scope subject, and the role it names, resolved as for an IRSA annotation.
 */
import type { AuditContext, RoleResolution } from '../engine/audit-context.ts';
import type { Cluster, PodIdentityAssociation } from '../model/fleet.ts';
import { isRoleArn } from '../policy/aws-names.ts';
import type { ResultBuilder } from './results.ts';
import { clusterSubject, serviceAccountSubject } from './results.ts';
import type { CheckResult, Subject } from './types.ts';

export const POD_IDENTITY_REFERENCE = 'https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html';

/** The ServiceAccount an association is for, as a result's subject. */
export function associationSubject(cluster: Cluster, association: PodIdentityAssociation): Subject {
  return serviceAccountSubject(cluster, {
    namespace: association.namespace,
    name: association.serviceAccount,
  });
}

/** The association id (the last part of its ARN), for the `aws eks` commands. */
export function associationId(association: PodIdentityAssociation): string {
  return association.associationArn?.split('/').pop() || 'ASSOCIATION_ID';
}

/** The role an association names, or null when the ARN is absent or malformed. */
export function associationRole(
  context: AuditContext,
  association: PodIdentityAssociation,
): RoleResolution | null {
  const arn = association.roleArn;
  return arn !== null && isRoleArn(arn) ? context.resolveRole(arn) : null;
}

/**
 * The found role of an association, or the not-evaluated result saying why a check that reads the
 * role cannot judge it (malformed ARN, role missing: PODID-002, account not audited).
 */
export function foundAssociationRole(
  context: AuditContext,
  association: PodIdentityAssociation,
  subject: Subject,
  results: ResultBuilder,
): Extract<RoleResolution, { kind: 'found' }> | CheckResult {
  const role = associationRole(context, association);
  if (role === null)
    return results.notEvaluated(
      subject,
      `the association's role ARN ${association.roleArn ?? '(none)'} is not a role ARN`,
    );
  if (role.kind === 'found') return role;
  return results.notEvaluated(
    subject,
    role.kind === 'unaudited' ? role.why : `role ${role.roleName} does not exist (PODID-002)`,
  );
}

/**
 * Calls `each` for every association of every cluster; a cluster whose associations could not be
 * read yields one not-evaluated result at cluster scope (its ServiceAccounts are unknown).
 */
export function forEachAssociation(
  context: AuditContext,
  results: ResultBuilder,
  each: (cluster: Cluster, association: PodIdentityAssociation, subject: Subject) => CheckResult | null,
): CheckResult[] {
  const out: CheckResult[] = [];
  for (const cluster of context.clusters) {
    const associations = cluster.podIdentityAssociations;
    if (associations === null) {
      out.push(
        results.notEvaluated(clusterSubject(cluster), 'pod-identity-associations.json could not be read'),
      );
      continue;
    }
    for (const association of associations) {
      const result = each(cluster, association, associationSubject(cluster, association));
      if (result) out.push(result);
    }
  }
  return out;
}
