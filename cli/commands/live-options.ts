/**
 * The live collection's options (`check --live`, `collect`): what the command line gives, checked
 * and made into the collector's options. No AWS SDK and no Kubernetes client here: the CLI's own
 * thread checks the options (collection-thread.ts) before the collection thread, which loads them,
 * starts (collect-live.ts).
 */
import type { AccountSelection } from '#shared/collectors/accounts.ts';
import type { CollectOptions } from '#shared/collectors/collect-fleet.ts';
import { forTerminalLine } from '#shared/sinks/terminal.ts';
import { LiveOptionsError } from './errors.ts';

export interface LiveOptions {
  organization?: boolean;
  accounts?: string[];
  roleName?: string;
  externalId?: string;
  regions?: string[];
  concurrency?: number;
  /** Worker threads that decode Kubernetes list pages; default: one per core, at most 4 (none on one core). */
  threads?: number;
  /** The live probe IRSA-040: a TokenRequest and sts:AssumeRoleWithWebIdentity per annotated ServiceAccount. */
  probe?: boolean;
  /** Each cluster's deadline for its Kubernetes reads, in seconds (default: DEFAULT_CLUSTER_DEADLINE_MS). */
  clusterDeadlineSeconds?: number;
  /** The collector runs where private-only endpoints are reachable (inside the clusters' VPC): dial them. */
  privateEndpointsReachable?: boolean;
  /** Where this machine's traffic leaves from: clusters whose public access CIDRs exclude it are not dialled. */
  egressAddresses?: string[];
}

export interface CollectIo {
  stderr: (text: string) => void;
  progress: boolean;
}

/** Validates the live options: accounts from a list or the Organization need a role to assume in them. */
export function collectOptionsFrom(live: LiveOptions, io: CollectIo): CollectOptions {
  if (live.organization && live.accounts?.length) {
    throw new LiveOptionsError('give either --organization or --accounts, not both');
  }
  for (const id of live.accounts ?? []) {
    if (!/^\d{12}$/.test(id))
      throw new LiveOptionsError(`--accounts: "${id}" is not a 12-digit AWS account id`);
  }
  const accounts: AccountSelection = live.organization
    ? { kind: 'organization' }
    : live.accounts?.length
      ? { kind: 'list', accountIds: live.accounts }
      : { kind: 'current' };
  if (accounts.kind !== 'current' && !live.roleName) {
    throw new LiveOptionsError(
      'auditing other accounts needs --role-name, the read-only audit role to assume in each',
    );
  }
  const concurrency = live.concurrency ?? 4;
  if (live.probe) {
    io.stderr(
      'probe enabled (IRSA-040): one TokenRequest and one sts:AssumeRoleWithWebIdentity per annotated service account; ' +
        'needs create on serviceaccounts/token (deploy/kubernetes/irsa-auditor-rbac-probe.yaml, or irsa-audit enroll --probe). ' +
        'Tokens and credentials are never stored.\n',
    );
  }
  return {
    accounts,
    ...(live.roleName
      ? {
          auditRole: { roleName: live.roleName, ...(live.externalId ? { externalId: live.externalId } : {}) },
        }
      : {}),
    ...(live.regions?.length ? { regions: live.regions } : {}),
    accountConcurrency: concurrency,
    clusterConcurrency: concurrency,
    totalClusterConcurrency: concurrency * 4,
    ...(live.probe ? { probe: true } : {}),
    ...(live.clusterDeadlineSeconds === undefined
      ? {}
      : { kubernetes: { deadlineMs: Math.round(live.clusterDeadlineSeconds * 1000) } }),
    ...(live.privateEndpointsReachable ? { privateEndpoints: 'dial' as const } : {}),
    ...(live.egressAddresses?.length ? { egressAddresses: live.egressAddresses } : {}),
    onProgress: (p) => {
      if (!io.progress) return;
      const where = [p.accountId, p.region, p.cluster].filter(Boolean).join('/');
      // Names and error texts come from the accounts and clusters: through the terminal sink.
      io.stderr(`${forTerminalLine(`${where ? `${where}: ` : ''}${p.message}`)}\n`);
    },
  };
}
