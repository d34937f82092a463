import { type InputName, inputsLeftUnread, operationOf } from '../../engine/coverage.ts';
import type { Account, Cluster, CollectionError, KubernetesData } from '../../model/fleet.ts';
import { sh } from '../../sinks/shell.ts';
import { isAccountListing } from '../audit-001-account-unreachable/check.ts';
import {
  awsFailureAdvice,
  type FailureAdvice,
  failureClassOf,
  kubernetesApiAdvice,
} from '../coverage-advice.ts';
import { accountSubject, clusterSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'AUDIT-003',
  name: 'permission-missing',
  title: 'A read inside a reachable account or cluster failed; the checks that need it were not evaluated',
  severity: 'medium',
  scope: 'cluster',
  risk: 'The audit could not look: the checks that need this input say nothing about the cluster (or the account, for a role policy read).',
  remediation:
    'Grant the missing permission (the audit role, or the auditor ClusterRole), or fix what the finding names; the next run looks again.',
  references: ['https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html'],
};

const results = resultsFor(metadata);

/**
 * The Kubernetes reads of a cluster. `later`: a kind collected since the first snapshots, whose
 * absence without a recorded error is an older snapshot (its checks are not evaluated), not a
 * failed read.
 */
const KINDS: { kind: string; field: keyof KubernetesData; resource: string; verb: string; later?: true }[] = [
  { kind: 'ServiceAccount', field: 'serviceAccounts', resource: 'serviceaccounts', verb: 'list' },
  { kind: 'Pod', field: 'pods', resource: 'pods', verb: 'list' },
  {
    kind: 'MutatingWebhookConfiguration',
    field: 'webhookConfigurations',
    resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io',
    verb: 'list',
  },
  { kind: 'Namespace', field: 'namespaces', resource: 'namespaces', verb: 'list', later: true },
  { kind: 'Service', field: 'services', resource: 'services', verb: 'get', later: true },
  {
    kind: 'EndpointSlice',
    field: 'endpointSlices',
    resource: 'endpointslices.discovery.k8s.io',
    verb: 'list',
    later: true,
  },
];

/**
 * The checks whose verdicts each input decides (their `reads`; test/coverage-matrix.test.ts keeps
 * this in step with the catalogue), for the message.
 */
export const CHECKS_READING: Readonly<Record<InputName, string>> = {
  iam: 'IRSA-001, 002, 011..018, 022, 023, 050, 051, 061; PODID-001, 002, 006',
  'role-policies': 'IRSA-018, 023, 061; PODID-006',
  'role-policy-documents': 'IRSA-023',
  'cluster-list': 'IRSA-015..017, 050, 051',
  cluster: 'IRSA-001, 002, 004, 012..017, 022, 050, 051, 060, 061',
  'pod-identity-associations': 'IRSA-021; PODID-001..006',
  addons: 'PODID-004',
  'node-groups': 'IRSA-060, 061',
  'launch-templates': 'IRSA-060',
  ServiceAccount: 'IRSA-002, 010..014, 018..023, 030..033, 040, 063; PODID-003, 005',
  Pod: 'IRSA-030..034, 063; PODID-004, 005',
  MutatingWebhookConfiguration: 'IRSA-003, 004, 062, 063, 064',
  Namespace: 'IRSA-063',
  Service: 'IRSA-064',
  EndpointSlice: 'IRSA-064',
  TokenRequest: 'IRSA-040',
};

function checksFor(error: CollectionError, level: 'account' | 'cluster'): string {
  return [...new Set(inputsLeftUnread(error, level).map((input) => CHECKS_READING[input]))].join('; ');
}

interface Item {
  /** The Kubernetes kind (or TokenRequest) that was not collected, if the item is one. */
  readonly kind?: string;
  readonly advice: FailureAdvice;
  readonly checks: string;
  readonly error: CollectionError | null;
}

/** A Kubernetes list of a reachable API that failed (denied, or failed after the retries). */
function kindItem(cluster: Cluster, kind: (typeof KINDS)[number], error: CollectionError | undefined): Item {
  const checks = CHECKS_READING[kind.kind as InputName];
  const canI = sh`kubectl --context ${cluster.name} auth can-i ${kind.verb} ${kind.resource} --as-group=irsa-auditor --as=irsa-auditor`;
  if (!error || failureClassOf(error) === 'denied') {
    return {
      kind: kind.kind,
      checks,
      error: error ?? null,
      advice: {
        summary: `${kind.kind} ${kind.verb} (k8s:${kind.resource}) ${error ? `denied (${error.code}: ${error.message})` : 'not collected'}`,
        cause: `the auditor ClusterRole does not grant ${kind.verb} on it`,
        fix: `${canI}\n${sh`kubectl --context ${cluster.name} apply -f deploy/kubernetes/irsa-auditor-rbac.yaml`}`,
      },
    };
  }
  const advice = kubernetesApiAdvice(error, {
    accountId: cluster.accountId,
    region: cluster.region,
    cluster: cluster.name,
    host: null,
  });
  return {
    kind: kind.kind,
    checks,
    error,
    advice: {
      ...advice,
      summary: `${kind.kind} ${kind.verb} (k8s:${kind.resource}) failed (${advice.summary})`,
    },
  };
}

function clusterItems(cluster: Cluster, legacy: readonly CollectionError[]): Item[] {
  const items: Item[] = [];
  const place = { accountId: cluster.accountId, region: cluster.region, cluster: cluster.name };
  for (const error of [...cluster.collectionErrors, ...legacy]) {
    const api = operationOf(error.api);
    if (
      (api === 'eks:DescribeCluster' && error.code !== 'NoEndpoint') ||
      api === 'eks:ListPodIdentityAssociations' ||
      api === 'eks:DescribePodIdentityAssociation' ||
      api === 'eks:ListAddons' ||
      api === 'eks:DescribeAddon' ||
      api === 'eks:ListNodegroups' ||
      api === 'eks:DescribeNodegroup' ||
      api === 'ec2:DescribeLaunchTemplateVersions'
    ) {
      const advice = awsFailureAdvice(error, place);
      items.push({
        error,
        checks: checksFor(error, 'cluster'),
        advice: { ...advice, fix: advice.fix.replaceAll('CLUSTER', cluster.name) },
      });
    }
  }
  const kubernetes = cluster.kubernetes;
  if (kubernetes) {
    for (const kind of KINDS) {
      if (kubernetes[kind.field] !== null) continue;
      const error = cluster.collectionErrors.find((e) => e.kind === kind.kind);
      if (!error && kind.later) continue; // an older snapshot, not a failed read
      items.push(kindItem(cluster, kind, error));
    }
    const token = cluster.collectionErrors.find((e) => e.kind === 'TokenRequest');
    if (token) {
      items.push({
        kind: 'TokenRequest',
        error: token,
        checks: CHECKS_READING.TokenRequest,
        advice: {
          summary: `k8s:serviceaccounts/token denied (${token.code}: ${token.message})`,
          cause: 'the live probe needs create on serviceaccounts/token (the probe ClusterRole)',
          fix: sh`kubectl --context ${cluster.name} auth can-i create serviceaccounts/token --as-group=irsa-auditor --as=irsa-auditor\nkubectl --context ${cluster.name} apply -f deploy/kubernetes/irsa-auditor-rbac-probe.yaml`,
        },
      });
    }
  }
  return items;
}

/** `eks:DescribeCluster (r/c)` recorded on the account by older collectors: the cluster it names. */
function legacyCluster(error: CollectionError): string | null {
  const match = / \(([^/()]+)\/([^()]+)\)$/.exec(error.api);
  return match ? `${match[1]}/${match[2]}` : null;
}

function fail(
  subject: ReturnType<typeof clusterSubject>,
  where: string,
  items: readonly Item[],
): CheckResult {
  return results.fail(
    subject,
    `${where}: ${items.map((i) => `${i.advice.summary}: ${i.advice.cause}`).join('. ')}. Not evaluated because of it: ${[...new Set(items.map((i) => i.checks))].join('; ')}.`,
    {
      notCollected: items.flatMap((i) => (i.kind ? [i.kind] : [])),
      failed: items.map((i) => ({
        api: i.error ? operationOf(i.error.api) : i.advice.summary.split(' ')[0],
        code: i.error?.code ?? 'NotCollected',
        class: i.error ? failureClassOf(i.error) : null,
        status: i.error?.status ?? null,
      })),
    },
    [...new Set(items.map((i) => i.advice.fix))].join('\n'),
  );
}

/** AUDIT-003: every read inside a reachable account or cluster succeeded. */
export const check: Check = {
  metadata,
  reads: [],
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const account of context.accounts) for (const result of evaluateAccount(account)) out.push(result);
    return out;
  },
};

/** A failed read inside the account (one role's policies, or an older snapshot's cluster read). */
function accountItem(accountId: string, error: CollectionError): Item {
  const advice = awsFailureAdvice(error, { accountId, region: error.region ?? null });
  const role = error.role ?? /\(([^()]+)\)$/.exec(error.api)?.[1];
  return {
    error,
    checks: checksFor(error, 'account'),
    advice: role
      ? {
          ...advice,
          summary: `${advice.summary} for role ${role}`,
          fix: advice.fix.replaceAll('ROLE_NAME', role),
        }
      : advice,
  };
}

function evaluateAccount(account: Account): CheckResult[] {
  const out: CheckResult[] = [];
  const inner = account.collectionErrors.filter((e) => !isAccountListing(e));
  const clusterNames = new Set(account.clusters.map((c) => `${c.region}/${c.name}`));
  const legacyByCluster = new Map<string, CollectionError[]>();
  const accountLevel: CollectionError[] = [];
  for (const error of inner) {
    const cluster = legacyCluster(error);
    if (cluster !== null && clusterNames.has(cluster) && !error.api.startsWith('iam:')) {
      legacyByCluster.set(cluster, [...(legacyByCluster.get(cluster) ?? []), error]);
    } else accountLevel.push(error);
  }
  if (account.iam !== null || accountLevel.length > 0) {
    const subject = accountSubject(account.accountId);
    if (accountLevel.length === 0) {
      out.push(results.pass(subject, `every read inside account ${account.accountId} succeeded`));
    } else {
      const items = accountLevel.map((error) => accountItem(account.accountId, error));
      out.push(fail(subject, `Account ${account.accountId}`, items));
    }
  }
  for (const cluster of account.clusters) {
    const items = clusterItems(cluster, legacyByCluster.get(`${cluster.region}/${cluster.name}`) ?? []);
    const subject = clusterSubject(cluster);
    if (items.length > 0) out.push(fail(subject, `Cluster ${cluster.name}`, items));
    // A missing or broken kubernetes.json is AUDIT-004 alone; an unreachable API is AUDIT-002.
    else if (cluster.kubernetes !== null)
      out.push(results.pass(subject, `every read of ${cluster.name} succeeded`));
  }
  return out;
}
