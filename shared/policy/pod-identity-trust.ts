/**
 * What EKS Pod Identity needs of a role's trust policy (PODID-001): the service principal
 * `pods.eks.amazonaws.com` calls sts:AssumeRole and sts:TagSession, with the session tags it adds
 * to every request (EKS user guide, "Create IAM role with trust policy required by EKS Pod
 * Identity" and "List of session tags added by EKS Pod Identity"). Evaluated with the generic
 * evaluator: statements combine with OR, an explicit Deny wins, a condition that cannot hold for
 * this association does not admit it.
 */

import { spansBetween } from '../model/text.ts';
import { evaluatePolicy, statementAppliesTo } from './evaluate.ts';
import type { PolicyDocument, Statement } from './policy-document.ts';

export const POD_IDENTITY_PRINCIPAL = 'pods.eks.amazonaws.com';
export const POD_IDENTITY_ACTIONS = ['sts:AssumeRole', 'sts:TagSession'] as const;

/** The session tags EKS Pod Identity adds; the last two differ per pod, so the audit cannot know them. */
const CLUSTER_TAGS = [
  'eks-cluster-arn',
  'eks-cluster-name',
  'kubernetes-namespace',
  'kubernetes-service-account',
];
const POD_TAGS = ['kubernetes-pod-name', 'kubernetes-pod-uid'];

/** The association as the trust sees it. */
export interface PodIdentityRequest {
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The cluster's account (`aws:SourceAccount`). */
  readonly accountId: string;
}

export type PodIdentityTrustVerdict =
  | { readonly result: 'admitted' }
  /** `missing`: the actions not admitted; `deniedBy`: the Deny statements that matched. */
  | {
      readonly result: 'not-admitted';
      readonly missing: readonly string[];
      readonly deniedBy: readonly Statement[];
    }
  /** The decision turns on condition keys whose value the audit cannot know (a pod's name, ...). */
  | { readonly result: 'undetermined'; readonly unknownKeys: readonly string[] };

/** The request context of Pod Identity's STS calls for `request` (keys the audit can know). */
export function podIdentityContext(request: PodIdentityRequest): Record<string, string | string[]> {
  return {
    'aws:RequestTag/eks-cluster-arn': request.clusterArn,
    'aws:RequestTag/eks-cluster-name': request.clusterName,
    'aws:RequestTag/kubernetes-namespace': request.namespace,
    'aws:RequestTag/kubernetes-service-account': request.serviceAccount,
    'aws:TagKeys': [...CLUSTER_TAGS, ...POD_TAGS],
    'aws:SourceAccount': request.accountId,
  };
}

/** Condition keys (lower case) of the statement, and keys its values substitute, that `known` lacks. */
function unknownKeysOf(statement: Statement, known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const condition of statement.conditions) {
    if (!known.has(condition.key.toLowerCase())) out.push(condition.key);
    for (const value of condition.values) {
      // Each `${...}`, found by hand: `/\$\{([^}]*)\}/g` is quadratic on a run of `${` without `}`.
      for (const variable of spansBetween(value, '${', '}', false)) {
        const key = variable.slice(2, -1).split(',')[0]?.trim() ?? '';
        if (key !== '*' && key !== '?' && key !== '$' && !known.has(key.toLowerCase())) out.push(key);
      }
    }
  }
  return out;
}

/** Whether the trust admits Pod Identity's AssumeRole and TagSession for this association. */
export function assessPodIdentityTrust(
  policy: PolicyDocument,
  request: PodIdentityRequest,
): PodIdentityTrustVerdict {
  const context = podIdentityContext(request);
  const known = new Set(Object.keys(context).map((k) => k.toLowerCase()));
  const principal = { type: 'Service', id: POD_IDENTITY_PRINCIPAL };
  const missing: string[] = [];
  const deniedBy: Statement[] = [];
  const unknown = new Set<string>();
  for (const action of POD_IDENTITY_ACTIONS) {
    const evaluation = evaluatePolicy(policy, { action, principal, context });
    const applicable = policy.statements.filter((s) => statementAppliesTo(s, action, principal));
    if (evaluation.decision === 'allow') {
      // A Deny the audit cannot decide may still take it away.
      for (const s of applicable.filter((s) => s.effect === 'Deny'))
        for (const key of unknownKeysOf(s, known)) unknown.add(key);
      continue;
    }
    missing.push(action);
    if (evaluation.decision === 'explicit-deny') {
      for (const s of evaluation.matchedDenies) if (!deniedBy.includes(s)) deniedBy.push(s);
      continue;
    }
    // Not allowed: unless an Allow the audit cannot decide might admit it.
    for (const s of applicable.filter((s) => s.effect === 'Allow'))
      for (const key of unknownKeysOf(s, known)) unknown.add(key);
  }
  if (missing.length === 0 && unknown.size === 0) return { result: 'admitted' };
  // An explicit Deny that holds decides, whatever the undecided statements say.
  if (deniedBy.length > 0 || unknown.size === 0) return { result: 'not-admitted', missing, deniedBy };
  return { result: 'undetermined', unknownKeys: [...unknown] };
}

/** The trust statement the EKS user guide gives, scoped to one association's cluster, namespace and ServiceAccount. */
export function podIdentityTrustStatement(request: PodIdentityRequest): Record<string, unknown> {
  return {
    Effect: 'Allow',
    Principal: { Service: POD_IDENTITY_PRINCIPAL },
    Action: [...POD_IDENTITY_ACTIONS],
    Condition: {
      StringEquals: {
        'aws:RequestTag/eks-cluster-arn': request.clusterArn,
        'aws:RequestTag/kubernetes-namespace': request.namespace,
        'aws:RequestTag/kubernetes-service-account': request.serviceAccount,
      },
    },
  };
}
