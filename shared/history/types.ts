/**
 * The vocabulary of the nightly pipeline: what a night's audit of one cluster changed, compared
 * with the last complete audit of that cluster, and the run-wide digest. Shared by the finding
 * store (shared/history/), the notifications (shared/notify/) and the handlers (functions/).
 */
import type { Severity, WorkloadRef } from '../checks/types.ts';

/** Where a finding lives: a cluster, or the account itself for account/provider/role-wide findings. */
export interface AuditUnit {
  /** The audited account (the cluster's account; a cross-account role finding stays with the cluster). */
  readonly accountId: string;
  /** null for the account-level unit (IRSA-050/051, AUDIT-001 and role findings without a cluster). */
  readonly region: string | null;
  readonly cluster: string | null;
}

/** Stored state of one finding. `lastSeenAt` of an open finding is its unit's last complete audit. */
export type FindingState = 'open' | 'resolved' | 'exempted';

export type ChangeType = 'opened' | 'reopened' | 'resolved' | 'severity-changed' | 'exempted';

/** A finding as the store keeps it (the fields people read in alerts and history). */
export interface StoredFinding {
  /** Stable id: a hash of the finding key (check + subject), safe in DynamoDB keys and URLs. */
  readonly findingId: string;
  /** The full finding key (shared/engine/run-audit.ts findingKey). */
  readonly findingKey: string;
  readonly checkId: string;
  readonly title: string;
  readonly severity: Severity;
  readonly state: FindingState;
  /** The finding's own account (a role finding carries the role's account). */
  readonly accountId: string | null;
  readonly region: string | null;
  readonly cluster: string | null;
  readonly namespace: string | null;
  readonly serviceAccount: string | null;
  readonly roleName: string | null;
  readonly workload: WorkloadRef | null;
  readonly resource: string | null;
  readonly message: string;
  readonly remediation: string | null;
  readonly firstSeenAt: string;
  /** Start of the current open episode (reopen sets it again). */
  readonly openedAt: string | null;
  readonly resolvedAt: string | null;
}

/** One change of one finding in one run. */
export interface FindingChange {
  readonly type: ChangeType;
  readonly finding: StoredFinding;
  /** Severity before the change (severity-changed, reopened), else null. */
  readonly previousSeverity: Severity | null;
  /** A regression: newly failing, reopened, or raised in severity. */
  readonly regression: boolean;
}

/** What one night's audit of one unit changed. */
export interface UnitAuditOutcome {
  readonly runId: string;
  readonly unit: AuditUnit;
  readonly auditedAt: string;
  /** First complete audit of the unit: a baseline, summarised in the digest, no per-cluster alert. */
  readonly baseline: boolean;
  /**
   * The audit could not see everything (AUDIT-00x failing for the unit): findings absent from
   * this audit were left as they were, not resolved.
   */
  readonly partial: boolean;
  readonly changes: readonly FindingChange[];
  /** Open findings of the unit after this audit, by severity. */
  readonly openBySeverity: Readonly<Record<Severity, number>>;
  readonly durationMs: number;
}

/** The nightly digest: one per run, when every account of the run is done. */
export interface RunDigest {
  readonly runId: string;
  readonly startedAt: string;
  readonly completedAt: string;
  readonly accountsPlanned: number;
  readonly accountsAudited: number;
  /** Accounts that could not be audited (AUDIT-001), with the reason. */
  readonly accountsFailed: readonly { readonly accountId: string; readonly reason: string }[];
  readonly clustersAudited: number;
  /** Clusters whose Kubernetes API could not be read completely (AUDIT-002/003). */
  readonly clustersPartial: number;
  /** Clusters audited for the first time this run (their findings are a baseline). */
  readonly clustersBaselined: number;
  readonly newFindings: number;
  readonly resolvedFindings: number;
  readonly regressions: number;
  /** Open findings fleet-wide after the run, by severity. */
  readonly openBySeverity: Readonly<Record<Severity, number>>;
  /**
   * The reads that failed this run, each with how many clusters (or accounts, for an account's own
   * reads) it failed on, most frequent first: `eks:ListPodIdentityAssociations denied` on 12 clusters.
   */
  readonly unreadInputs: readonly {
    readonly read: string;
    readonly clusters: number;
    readonly accounts: number;
  }[];
  /** The units with regressions, most severe first (names only; the details went in their alerts). */
  readonly regressedUnits: readonly {
    readonly unit: AuditUnit;
    readonly regressions: number;
    readonly maxSeverity: Severity;
  }[];
}
