/**
 * A finding in the AWS Security Finding Format (ASFF), as Security Hub's BatchImportFindings takes
 * it: shared by `--format asff` (cli/render/asff.ts, each finding in its own account) and the
 * pipeline's import (security-hub.ts, every finding in the auditor's own account). docs/formats.md
 * ("AWS Security Finding Format") describes each field.
 *
 * - Id: `irsa-audit/<check>/<hash of the finding key>`: the same finding gets the same Id from
 *   `check` and from the pipeline, night after night, so an import updates it.
 * - AwsAccountId and ProductArn: the importing account and its default product,
 *   `arn:<partition>:securityhub:<region>:<account>:product/<account>/default` (BatchImportFindings
 *   takes findings of the default product only from the account they name). Without an importer,
 *   each finding's own account, in its own region; a finding without a region (IAM is global,
 *   account-level findings) goes to the home region. A finding that names no account is left out.
 * - Severity and Types in FindingProviderFields (what a provider may update after import);
 *   Compliance.Status FAILED/PASSED/NOT_AVAILABLE; Workflow NEW, or SUPPRESSED with a Note for an
 *   exempted finding, RESOLVED and RecordState ARCHIVED for a resolved one.
 * - Resources: the role (AwsIamRole), the cluster (AwsEksCluster), the ServiceAccount or workload
 *   (Other, `k8s://<cluster-arn>/namespaces/<ns>/serviceaccounts/<name>`), the account (AwsAccount)
 *   when nothing else is named.
 *
 * Every value read from a cluster or an account goes through the finding sink (shared/sinks/asff.ts):
 * dangerous characters escaped, each text field cut to ASFF's limit, the cut said.
 */
import { createHash } from 'node:crypto';
import type { AwsSecurityFinding, Resource } from '@aws-sdk/client-securityhub';
import { findCheck } from '../checks/catalogue.ts';
import type { Severity, WorkloadRef } from '../checks/types.ts';
import { type FindingStatus, findingKey } from '../engine/run-audit.ts';
import {
  clusterNameProblem,
  isAccountId,
  parseRoleArn,
  regionProblem,
  roleNameProblem,
} from '../policy/aws-names.ts';
import { ASFF_LIMITS, forFinding, forFindingLine } from '../sinks/asff.ts';

export const ASFF_SCHEMA_VERSION = '2018-10-08';
export const ASFF_PRODUCT_NAME = 'irsa-audit';
export const ASFF_COMPANY_NAME = 'irsa-auditor';
/** Where a finding without a region goes when nothing says otherwise (docs/formats.md). */
export const DEFAULT_HOME_REGION = 'us-east-1';
/** The ASFF type of every irsa-audit finding: a configuration check against AWS security best practice. */
export const ASFF_TYPE_PREFIX = 'Software and Configuration Checks/AWS Security Best Practices';

/** What the mapping reads: a finding of `check` (engine or store), or a resolved one of the pipeline. */
export interface AsffSource {
  readonly checkId: string;
  readonly title: string;
  readonly severity: Severity;
  readonly status: FindingStatus | 'resolved';
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
  readonly exemption?: { readonly reason: string; readonly expires: string | null } | null;
  readonly evidence?: Readonly<Record<string, unknown>>;
  /** When the finding was first seen (CreatedAt, FirstObservedAt); default: `now`. */
  readonly firstSeenAt?: string | null;
}

/** The account that imports the findings (its default product), and where. */
export interface AsffImporter {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
}

export interface AsffOptions {
  /** UpdatedAt (and CreatedAt when the finding does not say when it was first seen). */
  readonly now: Date;
  /** Every finding in this account's default product; default: each finding's own account. */
  readonly importer?: AsffImporter;
  /** The region of findings without one, when there is no importer (default us-east-1). */
  readonly homeRegion?: string;
}

const LABEL: Record<Severity, 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW'> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  medium: 'MEDIUM',
  low: 'LOW',
};

/** The partition of a region (`cn-north-1` -> aws-cn). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  return 'aws';
}

/** The default product of an account in a region: what its own findings are imported as. */
export function defaultProductArn(importer: AsffImporter): string {
  return `arn:${importer.partition}:securityhub:${importer.region}:${importer.accountId}:product/${importer.accountId}/default`;
}

const PRODUCT_ARN = /^arn:([a-z-]+):securityhub:([a-z0-9-]+):(\d{12}):product\/(\d{12})\/default$/;

/** The importer a default product ARN names, or null when it is not one (another product, a typo). */
export function importerOfProductArn(arn: string): AsffImporter | null {
  const match = PRODUCT_ARN.exec(arn);
  if (!match || match[3] !== match[4]) return null;
  const [, partition = '', region = '', accountId = ''] = match;
  return { partition, region, accountId };
}

/** The finding's Id: stable from its identity (check + subject), within ASFF's 512 characters. */
export function asffId(finding: Parameters<typeof findingKey>[0]): string {
  const hash = createHash('sha256').update(findingKey(finding)).digest('hex').slice(0, 40);
  return `irsa-audit/${forFindingLine(finding.checkId, 64)}/${hash}`;
}

/** A region the finding may be placed in: its own when it is a region name, else null. */
function validRegion(region: string | null): string | null {
  return region !== null && regionProblem(region) === null ? region : null;
}

/** Only the three partitions ASFF's Resource.Partition takes. */
function resourcePartition(partition: string): Resource['Partition'] | undefined {
  return partition === 'aws' || partition === 'aws-cn' || partition === 'aws-us-gov' ? partition : undefined;
}

/** The cluster's own account: the finding's, or the one a role finding's resource names (`<acct>/<region>/<name>`). */
function clusterAccount(source: Pick<AsffSource, 'resource' | 'accountId'>): string | null {
  const qualified = source.resource ? /^(\d{12})\/[^/]+\/[^/]+$/.exec(source.resource)?.[1] : undefined;
  return qualified ?? source.accountId;
}

/**
 * The resources a finding is about, as ASFF types them (also what `--format ocsf` lists): `where`
 * is the region and partition of those without a region of their own (IAM, the account).
 */
export function findingResources(
  source: Omit<AsffSource, 'status' | 'title' | 'severity' | 'message' | 'remediation'>,
  where: { region: string; partition: string },
): Resource[] {
  const resources: Resource[] = [];
  const region = validRegion(source.region);
  const place = (resourceRegion: string | null) => {
    const partition = resourcePartition(resourceRegion ? partitionOf(resourceRegion) : where.partition);
    return {
      Region: resourceRegion ?? where.region,
      ...(partition ? { Partition: partition } : {}),
    };
  };
  const partition = region ? partitionOf(region) : where.partition;
  const account = source.accountId && isAccountId(source.accountId) ? source.accountId : null;

  let clusterArn: string | null = null;
  const ownerOfCluster = clusterAccount(source);
  if (
    source.cluster &&
    region &&
    ownerOfCluster &&
    isAccountId(ownerOfCluster) &&
    clusterNameProblem(source.cluster) === null
  ) {
    clusterArn = `arn:${partition}:eks:${region}:${ownerOfCluster}:cluster/${source.cluster}`;
  }
  // The role's ARN: the evidence's when it parses (it has the path), else built from the name.
  if (source.roleName) {
    const evidenceArn = typeof source.evidence?.roleArn === 'string' ? source.evidence.roleArn : null;
    const parsed = evidenceArn ? parseRoleArn(evidenceArn) : null;
    if (parsed?.ok && parsed.arn.name === source.roleName) {
      resources.push({ Type: 'AwsIamRole', Id: evidenceArn ?? '', ...place(null) });
    } else if (account && roleNameProblem(source.roleName) === null) {
      resources.push({
        Type: 'AwsIamRole',
        Id: `arn:${where.partition}:iam::${account}:role/${source.roleName}`,
        ...place(null),
      });
    } else {
      resources.push({
        Type: 'Other',
        Id: `iam-role:${forFindingLine(source.roleName, 256)}`,
        ...place(null),
        Details: { Other: { roleName: forFindingLine(source.roleName, ASFF_LIMITS.otherValue) } },
      });
    }
  }
  const clusterId =
    clusterArn ?? (source.cluster ? `eks-cluster:${forFindingLine(source.cluster, 256)}` : null);
  if (source.workload || source.serviceAccount) {
    const ns = forFindingLine(source.namespace ?? '', 256);
    const id = source.workload
      ? `k8s://${clusterId ?? 'unknown-cluster'}/namespaces/${ns}/${forFindingLine(source.workload.kind.toLowerCase(), 64)}s/${forFindingLine(source.workload.name, 256)}`
      : `k8s://${clusterId ?? 'unknown-cluster'}/namespaces/${ns}/serviceaccounts/${forFindingLine(source.serviceAccount ?? '', 256)}`;
    const details: Record<string, string> = { namespace: ns };
    if (source.serviceAccount)
      details.serviceAccount = forFindingLine(source.serviceAccount, ASFF_LIMITS.otherValue);
    if (source.workload) {
      details.workloadKind = forFindingLine(source.workload.kind, ASFF_LIMITS.otherValue);
      details.workloadName = forFindingLine(source.workload.name, ASFF_LIMITS.otherValue);
    }
    if (clusterArn) details.clusterArn = clusterArn;
    resources.push({ Type: 'Other', Id: id, ...place(region), Details: { Other: details } });
  }
  if (clusterArn) {
    resources.push({
      Type: 'AwsEksCluster',
      Id: clusterArn,
      ...place(region),
      Details: { AwsEksCluster: { Name: source.cluster ?? '', Arn: clusterArn } },
    });
  } else if (source.cluster) {
    resources.push({
      Type: 'Other',
      Id: clusterId ?? '',
      ...place(region),
      Details: { Other: { cluster: forFindingLine(source.cluster, ASFF_LIMITS.otherValue) } },
    });
  }
  if (resources.length === 0 && source.resource) {
    // An OIDC provider's URL, a snapshot file: its own identity.
    resources.push({
      Type: 'Other',
      Id: forFindingLine(source.resource, ASFF_LIMITS.id),
      ...place(region),
    });
  }
  if (resources.length === 0 && account) {
    resources.push({ Type: 'AwsAccount', Id: `AWS::::Account:${account}`, ...place(region) });
  }
  return resources.slice(0, ASFF_LIMITS.resources);
}

/** ProductFields: the subject as irsa-audit names it, each value cut to 2,048 characters. */
function productFields(source: AsffSource, checkName: string): Record<string, string> {
  const fields: Record<string, string | null> = {
    'irsa-audit/CheckId': source.checkId,
    'irsa-audit/CheckName': checkName,
    'irsa-audit/Severity': source.severity,
    'irsa-audit/Status': source.status,
    'irsa-audit/AccountId': source.accountId,
    'irsa-audit/Region': source.region,
    'irsa-audit/Cluster': source.cluster,
    'irsa-audit/Namespace': source.namespace,
    'irsa-audit/ServiceAccount': source.serviceAccount,
    'irsa-audit/RoleName': source.roleName,
    'irsa-audit/Workload': source.workload ? `${source.workload.kind}/${source.workload.name}` : null,
    'irsa-audit/Resource': source.resource,
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === null || value === '') continue;
    out[key] = forFindingLine(value, ASFF_LIMITS.productFieldValue);
  }
  return out;
}

function exemptionNote(source: AsffSource): string {
  const exemption = source.exemption;
  if (!exemption) return 'Exempted by the irsa-audit configuration.';
  return `Exempted by the irsa-audit configuration: ${exemption.reason}${exemption.expires ? ` (until ${exemption.expires})` : ''}`;
}

/**
 * The ASFF finding of one finding, or null when it names no account to import it into (a snapshot
 * file outside every account directory): `--format json` shows those.
 */
export function toAsff(source: AsffSource, options: AsffOptions): AwsSecurityFinding | null {
  const ownAccount = source.accountId && isAccountId(source.accountId) ? source.accountId : null;
  const homeRegion = options.homeRegion ?? DEFAULT_HOME_REGION;
  const importer: AsffImporter | null =
    options.importer ??
    (ownAccount
      ? {
          accountId: ownAccount,
          region: validRegion(source.region) ?? homeRegion,
          partition: partitionOf(validRegion(source.region) ?? homeRegion),
        }
      : null);
  if (!importer) return null;
  const check = findCheck(source.checkId)?.metadata;
  const checkName = check?.name ?? source.checkId;
  const now = options.now.toISOString();
  const created = source.firstSeenAt ?? now;
  const resolved = source.status === 'resolved';
  const compliance =
    source.status === 'pass' || resolved
      ? 'PASSED'
      : source.status === 'not-evaluated'
        ? 'NOT_AVAILABLE'
        : 'FAILED';
  const workflow =
    source.status === 'exempted' ? 'SUPPRESSED' : resolved || source.status === 'pass' ? 'RESOLVED' : 'NEW';
  const description = [
    resolved ? `Resolved: no longer found. ${source.message}` : source.message,
    check?.risk ? `Risk: ${check.risk}` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
  const recommendation = source.remediation || check?.remediation || 'See the check in docs/checks.md.';
  const url = check?.references.find((r) => /^https:\/\//.test(r));
  const types = [`${ASFF_TYPE_PREFIX}/${checkName}`.slice(0, 128)];
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: asffId(source),
    ProductArn: defaultProductArn(importer),
    ProductName: ASFF_PRODUCT_NAME,
    CompanyName: ASFF_COMPANY_NAME,
    GeneratorId: forFindingLine(source.checkId, ASFF_LIMITS.id),
    AwsAccountId: importer.accountId,
    Region: importer.region,
    Types: types,
    FindingProviderFields: {
      Severity: { Label: LABEL[source.severity], Original: source.severity },
      Types: types,
    },
    CreatedAt: created,
    UpdatedAt: now,
    FirstObservedAt: created,
    LastObservedAt: now,
    Title: forFindingLine(`${source.checkId} ${source.title}`, ASFF_LIMITS.title),
    Description: forFinding(description, { max: ASFF_LIMITS.description }),
    Remediation: {
      Recommendation: {
        Text: forFinding(recommendation, { max: ASFF_LIMITS.recommendationText }),
        ...(url ? { Url: url } : {}),
      },
    },
    ProductFields: productFields(source, checkName),
    Resources: findingResources(source, { region: importer.region, partition: importer.partition }),
    Compliance: { Status: compliance },
    Workflow: { Status: workflow },
    RecordState: resolved ? 'ARCHIVED' : 'ACTIVE',
    ...(source.status === 'exempted'
      ? {
          Note: {
            Text: forFinding(exemptionNote(source), { max: ASFF_LIMITS.noteText }),
            UpdatedBy: ASFF_PRODUCT_NAME,
            UpdatedAt: now,
          },
        }
      : {}),
  };
}
