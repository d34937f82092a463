/** The machine-readable report, as docs/fleet-format.md ("Findings as JSON") describes. */
import type { RenderedReport, ReportedFinding } from './report.ts';

export function renderJson(report: RenderedReport, findings: readonly ReportedFinding[]): string {
  return JSON.stringify(
    {
      findings: findings.map((f) => ({
        checkId: f.checkId,
        name: f.name,
        title: f.title,
        severity: f.severity,
        status: f.status,
        accountId: f.accountId,
        region: f.region,
        cluster: f.cluster,
        namespace: f.namespace,
        serviceAccount: f.serviceAccount,
        roleName: f.roleName,
        workload: f.workload,
        resource: f.resource,
        message: f.message,
        evidence: f.evidence,
        remediation: f.remediation,
        ...(f.exemption ? { exemption: f.exemption } : {}),
      })),
      summary: { ...report.summary, shown: findings.length },
    },
    null,
    2,
  );
}
