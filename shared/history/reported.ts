import { findCheck } from '#shared/checks/catalogue.ts';
import type { AuditConfig } from '#shared/config/audit-config.ts';
import { exemptionActive, exemptionMatches, type Finding } from '#shared/engine/run-audit.ts';
import type { StoredFinding } from './types.ts';

/** A stored finding as `check` reports it: the store keeps neither evidence nor an exemption's reason. */
export type StoredAsReported = Omit<Finding, 'evidence'>;

/**
 * A stored open finding as `check` reports a failing one. With a configuration, an exempted
 * finding carries the configured exemption that matches it now, as the engine finds it (the store
 * keeps the state, not the reason); without one, or when none matches any more, it carries none.
 */
export function reportedFromStored(
  f: StoredFinding,
  config?: AuditConfig,
  now = new Date(),
): StoredAsReported {
  const finding: StoredAsReported = {
    checkId: f.checkId,
    name: findCheck(f.checkId)?.metadata.name ?? f.checkId,
    title: f.title,
    severity: f.severity,
    status: f.state === 'exempted' ? 'exempted' : 'fail',
    accountId: f.accountId,
    region: f.region,
    cluster: f.cluster,
    namespace: f.namespace,
    serviceAccount: f.serviceAccount,
    roleName: f.roleName,
    workload: f.workload,
    resource: f.resource,
    message: f.message,
    remediation: f.remediation,
  };
  if (finding.status !== 'exempted' || config === undefined) return finding;
  const exemption = config.exemptions.find(
    (e) => exemptionActive(e, now) && exemptionMatches(e, { ...finding, evidence: {} }),
  );
  return exemption
    ? { ...finding, exemption: { reason: exemption.reason, expires: exemption.expires ?? null } }
    : finding;
}
