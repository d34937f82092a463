/**
 * Small helpers every check uses to name its subject and build results, so that identity
 * fields are filled the same way everywhere.
 */
import type { RoleResolution, ServiceAccountLink, Workload } from '../engine/audit-context.ts';
import type { Cluster, ServiceAccount } from '../model/fleet.ts';
import type { CheckMetadata, CheckResult, ResultStatus, Subject } from './types.ts';

// The subjects below are written out field by field, in Subject's order (a finding's JSON keeps
// it): one object per result, and there is a result per workload and ServiceAccount of the fleet.
// Object literals, not spreads of one empty subject: a literal's layout lives as long as the code that makes it,
// while a spread's is reached by transitions V8 holds weakly, freed with an audit's last subject,
// and with it the code optimised for it (makeResult's, on Node 24; see shapes.ts).

export function clusterSubject(cluster: Cluster): Subject {
  return {
    accountId: cluster.accountId,
    region: cluster.region,
    cluster: cluster.name,
    namespace: null,
    serviceAccount: null,
    roleName: null,
    workload: null,
  };
}

export function serviceAccountSubject(
  cluster: Cluster,
  sa: Pick<ServiceAccount, 'namespace' | 'name'>,
): Subject {
  return {
    accountId: cluster.accountId,
    region: cluster.region,
    cluster: cluster.name,
    namespace: sa.namespace,
    serviceAccount: sa.name,
    roleName: null,
    workload: null,
  };
}

export function workloadSubject(cluster: Cluster, workload: Workload): Subject {
  return {
    accountId: cluster.accountId,
    region: cluster.region,
    cluster: cluster.name,
    namespace: workload.namespace,
    serviceAccount: workload.serviceAccountName,
    roleName: null,
    workload: workload.ref,
  };
}

/**
 * A role-scope subject: the role's account, and the cluster whose provider the trust names (if
 * any). When that cluster is in another account, its qualified name (`account/region/cluster`) is
 * the subject's resource: two accounts may each have a cluster of that name in that region, and
 * the finding belongs to that cluster's unit (history/record-audit.ts).
 */
export function roleSubject(accountId: string, roleName: string, cluster: Cluster | null): Subject {
  return unscopedSubject(
    accountId,
    cluster?.region ?? null,
    cluster?.name ?? null,
    roleName,
    cluster && cluster.accountId !== accountId
      ? `${cluster.accountId}/${cluster.region}/${cluster.name}`
      : undefined,
  );
}

export function accountSubject(
  accountId: string | null,
  resource?: string,
  region: string | null = null,
): Subject {
  return unscopedSubject(accountId, region, null, null, resource);
}

/** A subject without namespace, ServiceAccount or workload; `resource` (last) only when given. */
function unscopedSubject(
  accountId: string | null,
  region: string | null,
  cluster: string | null,
  roleName: string | null,
  resource: string | undefined,
): Subject {
  if (resource === undefined) {
    return { accountId, region, cluster, namespace: null, serviceAccount: null, roleName, workload: null };
  }
  return {
    accountId,
    region,
    cluster,
    namespace: null,
    serviceAccount: null,
    roleName,
    workload: null,
    resource,
  };
}

/** The evidence of a result that has none: one frozen object shared by every such result. */
const NO_EVIDENCE: Readonly<Record<string, unknown>> = Object.freeze({});

/** What a result takes from its check: its id, name, title and default severity. */
export type ResultCheck = Pick<CheckMetadata, 'id' | 'name' | 'title' | 'severity'>;

/**
 * A check's result ({@link CheckResult}), already in the shape of the finding the engine reports
 * (run-audit.ts): the check's name, title and default severity, and the subject's fields, in the
 * order a finding is printed. The engine reports it as it is when nothing changes it (no severity
 * override, exemption or unread input), so that a result is one object rather than a result, a
 * subject and a finding: there is one per workload and ServiceAccount of the fleet, and each lives
 * until the report is done.
 *
 * Every result of every check is made by this one object literal. V8 tracks whether the objects a
 * literal makes outlive the young generation, and once they do (results live to the report's end)
 * allocates them in the old generation directly: they are not copied by each minor collection
 * first, as instances of a class are (`new` gets no such tracking). Measured (bench/check-engine,
 * x4): 22 minor collections an audit instead of 31, and about a quarter less time in their pauses.
 */
export function makeResult(
  check: ResultCheck,
  status: ResultStatus,
  subject: Omit<Subject, 'resource'> & { readonly resource?: string | null },
  message: string,
  evidence: Readonly<Record<string, unknown>>,
  remediation: string | null,
): CheckResult {
  return {
    checkId: check.id,
    name: check.name,
    title: check.title,
    severity: check.severity,
    accountId: subject.accountId,
    region: subject.region,
    cluster: subject.cluster,
    namespace: subject.namespace,
    serviceAccount: subject.serviceAccount,
    roleName: subject.roleName,
    workload: subject.workload,
    status,
    resource: subject.resource ?? null,
    message,
    evidence,
    remediation,
  };
}

export interface ResultBuilder {
  pass(subject: Subject, message: string, evidence?: Record<string, unknown>): CheckResult;
  fail(
    subject: Subject,
    message: string,
    evidence: Record<string, unknown>,
    remediation: string,
  ): CheckResult;
  notEvaluated(subject: Subject, reason: string, evidence?: Record<string, unknown>): CheckResult;
}

/**
 * Result constructors bound to one check. A check that cannot judge a whole cluster gives every
 * resource there the same reason: the message made of the last reason is reused for the next
 * one equal to it, so those results share one string instead of a copy each.
 */
export function resultsFor(metadata: CheckMetadata): ResultBuilder {
  let lastReason: string | undefined;
  let lastMessage = '';
  return {
    pass: (subject, message, evidence = NO_EVIDENCE) =>
      makeResult(metadata, 'pass', subject, message, evidence, null),
    fail: (subject, message, evidence, remediation) =>
      makeResult(metadata, 'fail', subject, message, evidence, remediation),
    notEvaluated: (subject, reason, evidence = NO_EVIDENCE) => {
      if (reason !== lastReason) {
        lastReason = reason;
        lastMessage = `not evaluated: ${reason}`;
      }
      return makeResult(metadata, 'not-evaluated', subject, lastMessage, evidence, null);
    },
  };
}

/** `ns/name` for messages. */
export function qualified(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * The role a ServiceAccount's annotation names, found in an audited account; or why a check that
 * reads the role (its policies, its documents) cannot judge it: the annotation is malformed
 * (IRSA-010), the role does not exist (IRSA-011), or its account is not audited.
 */
export function foundRole(
  link: ServiceAccountLink,
): { found: Extract<RoleResolution, { kind: 'found' }> } | { notEvaluated: string } {
  const role = link.role;
  if (role === null) return { notEvaluated: 'the role-arn annotation is malformed (IRSA-010)' };
  if (role.kind === 'found') return { found: role };
  return {
    notEvaluated: role.kind === 'unaudited' ? role.why : `role ${role.roleName} does not exist (IRSA-011)`,
  };
}
