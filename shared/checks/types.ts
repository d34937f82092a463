/**
 * The contract between the engine and a check: metadata plus a pure `evaluate` over an
 * {@link AuditContext}. A check reads the snapshot through the context and returns a result
 * (pass, fail or not-evaluated) for every resource it applies to. No I/O, no clock, no globals.
 */
import type { AuditContext } from '../engine/audit-context.ts';
import type { InputRead } from '../engine/coverage.ts';

/** Severities, most severe first. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** What one result is about; it decides the finding's identity (see docs/checks.md). */
export type CheckScope =
  | 'cluster'
  | 'service-account'
  | 'role'
  | 'workload'
  | 'account'
  | 'provider'
  | 'node-group'
  | 'file';

export interface CheckMetadata {
  /** Stable public id, e.g. `IRSA-001`. Never reused with another meaning. */
  readonly id: string;
  /** Short kebab-case name, e.g. `oidc-provider-missing`. */
  readonly name: string;
  /** One line shown in reports. */
  readonly title: string;
  /** Default severity; configuration may override it. */
  readonly severity: Severity;
  readonly scope: CheckScope;
  /** What goes wrong for workloads when the check fails. */
  readonly risk: string;
  /** How to fix it in general; each result carries the exact command with real names. */
  readonly remediation: string;
  readonly references: readonly string[];
}

export type ResultStatus = 'pass' | 'fail' | 'not-evaluated';

export interface WorkloadRef {
  readonly kind: string;
  readonly name: string;
}

/** The resource a result is about. Fields that do not apply are null. */
export interface Subject {
  readonly accountId: string | null;
  readonly region: string | null;
  readonly cluster: string | null;
  readonly namespace: string | null;
  readonly serviceAccount: string | null;
  readonly roleName: string | null;
  readonly workload: WorkloadRef | null;
  /** Extra identity for scopes the fields above do not cover (an OIDC provider URL, a file path). */
  readonly resource?: string;
}

/**
 * A check's result, already in the shape of the finding the engine reports (engine/run-audit.ts):
 * the check's identity and default severity, the subject's fields (`resource` null when the subject
 * has none), the status, and what was found. Made by `makeResult` (checks/results.ts).
 */
export interface CheckResult extends Omit<Subject, 'resource'> {
  readonly checkId: string;
  readonly name: string;
  readonly title: string;
  readonly severity: Severity;
  readonly status: ResultStatus;
  readonly resource: string | null;
  /** One sentence naming the resource. */
  readonly message: string;
  /** The values compared. */
  readonly evidence: Readonly<Record<string, unknown>>;
  /** The exact command(s) to fix it, with real names; null on a pass. */
  readonly remediation: string | null;
}

export interface Check {
  readonly metadata: CheckMetadata;
  /**
   * The inputs the check's verdicts depend on, and where (see engine/coverage.ts). The engine turns
   * a pass or fail whose input could not be read into not-evaluated; an input read only for the
   * wording of a message (IRSA-016's admitted ServiceAccounts) is not declared, and the check
   * says in that message that it could not be read.
   */
  readonly reads: readonly InputRead[];
  evaluate(context: AuditContext): CheckResult[];
}
