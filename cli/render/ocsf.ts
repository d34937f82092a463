/**
 * `--format ocsf`: a JSON array of OCSF Compliance Finding events (class 2003, category 2
 * Findings), one per finding, schema version 1.8.0 with the `cloud` profile (docs/formats.md,
 * "OCSF"). test/ocsf.test.ts checks every required attribute, its type and its enum against the
 * schema files vendored in test/fixtures/schemas/ocsf/.
 *
 * - activity_id 1 (Create): `check` reports what it sees now, it keeps no history.
 * - status_id: 1 New for a failing or not-evaluated result, 3 Suppressed for an exempted one,
 *   4 Resolved for a pass; compliance.status_id 3 Fail (failing or exempted), 1 Pass, or
 *   0 Unknown when the check could not be evaluated.
 * - finding_info.uid is the ASFF Id (shared/notify/asff.ts): the same finding, the same uid.
 * - resources: the role, the cluster, the ServiceAccount or workload, as the ASFF mapping names them.
 *
 * Every value read from a cluster or an account goes through the finding sink (shared/sinks/asff.ts).
 */

import { findCheck } from '#shared/checks/catalogue.ts';
import type { Severity } from '#shared/checks/types.ts';
import {
  ASFF_COMPANY_NAME,
  ASFF_PRODUCT_NAME,
  asffId,
  findingResources,
  partitionOf,
} from '#shared/notify/asff.ts';
import { isAccountId, regionProblem } from '#shared/policy/aws-names.ts';
import { forFinding, forFindingLine } from '#shared/sinks/asff.ts';
import packageJson from '../../package.json' with { type: 'json' };
import { homeRegion } from './asff.ts';
import type { ReportedFinding } from './report.ts';

export const OCSF_VERSION = '1.8.0';
export const OCSF_CATEGORY_UID = 2;
export const OCSF_CLASS_UID = 2003;
const ACTIVITY_CREATE = 1;
/** irsa-audit's version, as `irsa-audit --version` says it. */
const PRODUCT_VERSION = packageJson.version;

const SEVERITY_ID: Record<Severity, { id: number; caption: string }> = {
  critical: { id: 5, caption: 'Critical' },
  high: { id: 4, caption: 'High' },
  medium: { id: 3, caption: 'Medium' },
  low: { id: 2, caption: 'Low' },
};

const STATUS: Record<ReportedFinding['status'], { id: number; caption: string }> = {
  fail: { id: 1, caption: 'New' },
  'not-evaluated': { id: 1, caption: 'New' },
  exempted: { id: 3, caption: 'Suppressed' },
  pass: { id: 4, caption: 'Resolved' },
};

const COMPLIANCE: Record<ReportedFinding['status'], { id: number; caption: string }> = {
  fail: { id: 3, caption: 'Fail' },
  exempted: { id: 3, caption: 'Fail' },
  pass: { id: 1, caption: 'Pass' },
  'not-evaluated': { id: 0, caption: 'Unknown' },
};

/** ASFF's resource types as OCSF (CloudFormation) names them; a Kubernetes object by its kind. */
function resourceType(type: string, finding: ReportedFinding, id: string): string {
  if (type === 'AwsIamRole') return 'AWS::IAM::Role';
  if (type === 'AwsEksCluster') return 'AWS::EKS::Cluster';
  if (type === 'AwsAccount') return 'AWS::::Account';
  if (id.startsWith('k8s://')) {
    return finding.workload
      ? `Kubernetes ${forFindingLine(finding.workload.kind, 64)}`
      : 'Kubernetes ServiceAccount';
  }
  return 'Other';
}

function resourceName(type: string, finding: ReportedFinding, id: string): string | null {
  if (type === 'AwsIamRole') return finding.roleName;
  if (type === 'AwsEksCluster') return finding.cluster;
  if (type === 'AwsAccount') return finding.accountId;
  if (id.startsWith('k8s://')) return finding.workload?.name ?? finding.serviceAccount;
  return finding.resource ?? finding.cluster ?? finding.roleName;
}

/** One finding as an OCSF Compliance Finding event. */
export function toOcsf(
  finding: ReportedFinding,
  options: { now: Date; homeRegion: string },
): Record<string, unknown> {
  const check = findCheck(finding.checkId)?.metadata;
  const time = options.now.getTime();
  const region = finding.region && regionProblem(finding.region) === null ? finding.region : null;
  const where = {
    region: region ?? options.homeRegion,
    partition: partitionOf(region ?? options.homeRegion),
  };
  const account = finding.accountId && isAccountId(finding.accountId) ? finding.accountId : null;
  const severity = SEVERITY_ID[finding.severity];
  const status = STATUS[finding.status];
  const compliance = COMPLIANCE[finding.status];
  const line = (value: string) => forFindingLine(value);
  const resources = findingResources(finding, where).map((r) => {
    const name = resourceName(r.Type ?? '', finding, r.Id ?? '');
    return {
      uid: r.Id,
      type: resourceType(r.Type ?? '', finding, r.Id ?? ''),
      ...(name ? { name: line(name) } : {}),
      ...(r.Region ? { region: r.Region } : {}),
      ...(r.Partition ? { cloud_partition: r.Partition } : {}),
      ...(r.Id?.startsWith('k8s://') && finding.namespace ? { namespace: line(finding.namespace) } : {}),
    };
  });
  const references = (check?.references ?? []).filter((r) => /^https:\/\//.test(r));
  return {
    activity_id: ACTIVITY_CREATE,
    activity_name: 'Create',
    category_uid: OCSF_CATEGORY_UID,
    category_name: 'Findings',
    class_uid: OCSF_CLASS_UID,
    class_name: 'Compliance Finding',
    type_uid: OCSF_CLASS_UID * 100 + ACTIVITY_CREATE,
    type_name: 'Compliance Finding: Create',
    time,
    severity_id: severity.id,
    severity: severity.caption,
    status_id: status.id,
    status: status.caption,
    message: forFinding(finding.message),
    metadata: {
      version: OCSF_VERSION,
      product: { name: ASFF_PRODUCT_NAME, vendor_name: ASFF_COMPANY_NAME, version: PRODUCT_VERSION },
      profiles: ['cloud'],
    },
    cloud: {
      provider: 'AWS',
      ...(account ? { account: { uid: account, type_id: 10, type: 'AWS Account' } } : {}),
      region: where.region,
      cloud_partition: where.partition,
    },
    finding_info: {
      uid: asffId(finding),
      title: line(`${finding.checkId} ${finding.title}`),
      desc: forFinding(
        [finding.message, check?.risk ? `Risk: ${check.risk}` : ''].filter(Boolean).join('\n\n'),
      ),
      types: [check?.name ?? line(finding.checkId)],
      created_time: time,
    },
    compliance: {
      status_id: compliance.id,
      status: compliance.caption,
      control: line(finding.checkId),
      standards: ['irsa-audit checks (docs/checks.md)'],
      ...(check ? { desc: check.title } : {}),
    },
    remediation: {
      desc: forFinding(finding.remediation || check?.remediation || 'See the check in docs/checks.md.'),
      ...(references.length > 0 ? { references } : {}),
    },
    resources,
    unmapped: {
      severity: finding.severity,
      status: finding.status,
      ...(finding.exemption
        ? {
            exemption_reason: line(finding.exemption.reason),
            ...(finding.exemption.expires ? { exemption_expires: line(finding.exemption.expires) } : {}),
          }
        : {}),
    },
  };
}

export function renderOcsf(
  findings: readonly ReportedFinding[],
  options: { now: Date; homeRegion?: string },
): string {
  const home = homeRegion(options.homeRegion);
  return JSON.stringify(
    findings.map((f) => toOcsf(f, { now: options.now, homeRegion: home })),
    null,
    2,
  );
}
