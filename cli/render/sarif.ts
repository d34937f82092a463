/**
 * `--format sarif`: SARIF 2.1.0 (OASIS), for code-scanning views such as GitHub code scanning.
 * docs/formats.md ("SARIF") says what each part holds and why; in short:
 *
 * - one rule (`reportingDescriptor`) per check of the catalogue, in catalogue order, with the
 *   check's title, risk and remediation (`help.text` / `help.markdown`), its severity as
 *   `defaultConfiguration.level` and as the `security-severity` GitHub ranks alerts by;
 * - one result per finding shown: a failing one is `kind: fail` with the severity's level, an
 *   exempted one the same with a `suppressions` entry carrying the exemption's reason; a pass
 *   (`kind: pass`) and a not-evaluated one (`kind: open`: the check ran, the information to decide
 *   was missing) appear only when shown, that is with `--include-passed`;
 * - a finding is about a Kubernetes or IAM object, not a line of code: its location is a logical
 *   location naming the object, plus the snapshot file the object was read from as the physical
 *   location (GitHub code scanning displays only results with a file URI and a start line);
 * - `partialFingerprints` from the finding's identity (findingKey), so the same finding on the
 *   next night is the same alert.
 *
 * Every value read from a cluster or an account is untrusted: text meant to be shown goes through
 * the same escaping as the terminal (control and bidirectional characters shown as `\x1b`,
 * `\u202e`; long runs cut), URIs are percent-encoded per segment, and the document is written with
 * every non-ASCII control or formatting character as a JSON `\u` escape.
 */
import { createHash } from 'node:crypto';
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import type { CheckMetadata, Severity } from '#shared/checks/types.ts';
import { findingKey } from '#shared/engine/run-audit.ts';
import { FORMAT, visible } from '#shared/sinks/untrusted.ts';
import packageJson from '../../package.json' with { type: 'json' };
import type { RenderedReport, ReportedFinding } from './report.ts';

export const SARIF_SCHEMA_URI =
  'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

/** The base of every artifact URI: the fleet snapshot directory the report was made from. */
export const FLEET_URI_BASE = 'FLEETROOT';

/** The partialFingerprints key; its value is a hash of findingKey. Bump the version if the key ever changes meaning. */
export const FINGERPRINT_KEY = 'irsaAuditFindingKey/v1';

/** SARIF levels per severity. */
export const SARIF_LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
};

/**
 * GitHub's `security-severity` (a number as a string): GitHub shows over 9.0 as critical, 7.0 to 8.9
 * as high, 4.0 to 6.9 as medium and 0.1 to 3.9 as low.
 */
export const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
};

/** The logical location kinds used (SARIF allows a producer's own; docs/formats.md lists these). */
export type ObjectKind =
  | 'kubernetesWorkload'
  | 'kubernetesServiceAccount'
  | 'iamRole'
  | 'iamOidcProvider'
  | 'snapshotFile'
  | 'eksCluster'
  | 'awsAccount'
  | 'fleet';

/** What a finding is about, and the snapshot file (relative to the fleet directory) it was read from. */
export interface FindingObject {
  readonly kind: ObjectKind;
  /** The object's own name (a role name, `namespace/serviceaccount`, `Deployment/x`, ...). */
  readonly name: string;
  /** The object's place in the fleet: `<account>/<region>/<cluster>/<namespace>/<serviceaccount>`, `<account>/role/<name>`, ... */
  readonly fullyQualifiedName: string;
  /** Path segments of the snapshot file, relative to the fleet directory; null when no one file holds the object. */
  readonly file: readonly string[] | null;
}

const s = (value: string | null | undefined): string => value ?? '';

/** The object a finding is about, from its identity fields (the most specific one that is set). */
export function findingObject(f: ReportedFinding): FindingObject {
  const a = s(f.accountId);
  const place = [a, s(f.region), s(f.cluster)];
  const kubernetes = [...place, 'kubernetes.json'];
  if (f.checkId === 'AUDIT-004' && f.resource) {
    // The resource of an input error is the file (or folder) relative to the fleet directory.
    return {
      kind: 'snapshotFile',
      name: f.resource,
      fullyQualifiedName: f.resource,
      file: f.resource.split('/'),
    };
  }
  if (f.workload && f.cluster) {
    const name = `${f.workload.kind}/${f.workload.name}`;
    return {
      kind: 'kubernetesWorkload',
      name,
      fullyQualifiedName: [...place, s(f.namespace), name].join('/'),
      file: kubernetes,
    };
  }
  if (f.serviceAccount !== null && f.cluster) {
    return {
      kind: 'kubernetesServiceAccount',
      name: `${s(f.namespace)}/${f.serviceAccount}`,
      fullyQualifiedName: [...place, s(f.namespace), f.serviceAccount].join('/'),
      file: kubernetes,
    };
  }
  if (f.roleName !== null && f.accountId) {
    return {
      kind: 'iamRole',
      name: f.roleName,
      fullyQualifiedName: `${a}/role/${f.roleName}`,
      file: [a, 'iam.json'],
    };
  }
  if (f.resource?.includes(':oidc-provider/') && f.accountId) {
    return {
      kind: 'iamOidcProvider',
      name: f.resource,
      fullyQualifiedName: f.resource,
      file: [a, 'iam.json'],
    };
  }
  if (f.cluster && f.accountId) {
    return {
      kind: 'eksCluster',
      name: f.cluster,
      fullyQualifiedName: place.join('/'),
      file: [...place, 'cluster.json'],
    };
  }
  if (f.accountId) {
    return { kind: 'awsAccount', name: a, fullyQualifiedName: a, file: [a, 'iam.json'] };
  }
  return { kind: 'fleet', name: 'fleet', fullyQualifiedName: 'fleet', file: null };
}

/** A relative URI from path segments: each segment percent-encoded, so that no value is read as URI syntax. */
export function relativeUri(segments: readonly string[]): string {
  return segments.map((segment) => encodeURIComponent(segment)).join('/');
}

/** One line of untrusted text as shown (escaped, cut). */
const line = (value: string | null | undefined): string => visible(value ?? '', { oneLine: true });

const ABSOLUTE_URL = /^https:\/\/[^\s]+$/;

/** A check's help, as text and as Markdown (catalogue text only: nothing from a fleet). */
function help(meta: CheckMetadata): { text: string; markdown: string } {
  const text = [
    meta.title,
    '',
    `Risk: ${meta.risk}`,
    '',
    `Remediation: ${meta.remediation}`,
    '',
    'Each result carries the exact fix with real names in its properties (remediation).',
    ...(meta.references.length > 0 ? ['', 'References:', ...meta.references.map((r) => `- ${r}`)] : []),
  ].join('\n');
  const markdown = [
    `**${meta.id} ${meta.name}**: ${meta.title}`,
    '',
    `**Risk.** ${meta.risk}`,
    '',
    `**Remediation.** ${meta.remediation}`,
    '',
    'Each result carries the exact fix with real names in its `remediation` property.',
    ...(meta.references.length > 0
      ? [
          '',
          '**References**',
          '',
          ...meta.references.map((r) => (ABSOLUTE_URL.test(r) ? `- <${r}>` : `- \`${r}\``)),
        ]
      : []),
  ].join('\n');
  return { text, markdown };
}

/** The severity in effect for a check: the findings' (configuration may override it), else the catalogue's. */
function severityOf(meta: CheckMetadata, findings: readonly ReportedFinding[]): Severity {
  return findings.find((f) => f.checkId === meta.id)?.severity ?? meta.severity;
}

function rule(meta: CheckMetadata, severity: Severity) {
  const helpUri = meta.references.find((r) => ABSOLUTE_URL.test(r));
  return {
    id: meta.id,
    name: meta.name,
    shortDescription: { text: meta.title },
    fullDescription: { text: meta.risk },
    help: help(meta),
    ...(helpUri ? { helpUri } : {}),
    defaultConfiguration: { level: SARIF_LEVEL[severity] },
    properties: {
      tags: ['security', 'irsa', 'eks', 'iam', `scope:${meta.scope}`],
      'security-severity': SECURITY_SEVERITY[severity],
      severity,
      scope: meta.scope,
    },
  };
}

function fingerprint(f: ReportedFinding): string {
  return createHash('sha256').update(findingKey(f), 'utf8').digest('hex');
}

function result(f: ReportedFinding, ruleIndex: number) {
  const object = findingObject(f);
  const kind = f.status === 'pass' ? 'pass' : f.status === 'not-evaluated' ? 'open' : 'fail';
  const logicalLocation = {
    name: line(object.name),
    fullyQualifiedName: line(object.fullyQualifiedName),
    kind: object.kind,
  };
  return {
    ruleId: f.checkId,
    ...(ruleIndex >= 0 ? { ruleIndex } : {}),
    kind,
    // SARIF: a result whose kind is not `fail` has level `none`.
    level: kind === 'fail' ? SARIF_LEVEL[f.severity] : 'none',
    message: { text: visible(f.message) },
    locations: [
      {
        physicalLocation: {
          artifactLocation: object.file
            ? { uri: relativeUri(object.file), uriBaseId: FLEET_URI_BASE }
            : { uri: '.', uriBaseId: FLEET_URI_BASE },
          // The object is somewhere in the file: the file's first line is where a viewer opens it.
          region: { startLine: 1 },
        },
        logicalLocations: [logicalLocation],
      },
    ],
    partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(f) },
    ...(f.status === 'exempted' && f.exemption
      ? {
          suppressions: [
            {
              kind: 'external',
              status: 'accepted',
              justification: `${line(f.exemption.reason)}${f.exemption.expires ? ` (until ${line(f.exemption.expires)})` : ''}`,
            },
          ],
        }
      : {}),
    properties: {
      status: f.status,
      severity: f.severity,
      accountId: f.accountId === null ? null : line(f.accountId),
      region: f.region === null ? null : line(f.region),
      cluster: f.cluster === null ? null : line(f.cluster),
      namespace: f.namespace === null ? null : line(f.namespace),
      serviceAccount: f.serviceAccount === null ? null : line(f.serviceAccount),
      roleName: f.roleName === null ? null : line(f.roleName),
      workload: f.workload ? `${line(f.workload.kind)}/${line(f.workload.name)}` : null,
      resource: f.resource === null ? null : line(f.resource),
      remediation: f.remediation === null ? null : visible(f.remediation),
      ...(f.exemption ? { exemptionExpires: f.exemption.expires } : {}),
    },
  };
}

type Notification = {
  level: 'error' | 'warning' | 'note';
  message: { text: string };
  descriptor?: { id: string };
  associatedRule?: { id: string; index?: number };
};

/** What the report cannot say through its results: an incomplete audit, results not kept, expired exemptions. */
function notifications(report: RenderedReport, findings: readonly ReportedFinding[]): Notification[] {
  const s = report.summary;
  const out: Notification[] = [];
  const index = (id: string) => CATALOGUE.findIndex((c) => c.metadata.id === id);
  if (s.inputErrors > 0) {
    out.push({
      level: 'error',
      descriptor: { id: 'input-errors' },
      associatedRule: { id: 'AUDIT-004', index: index('AUDIT-004') },
      message: {
        text: `${s.inputErrors} snapshot file(s) could not be used (AUDIT-004): the audit is incomplete, not clean.`,
      },
    });
  }
  if (s.notEvaluated === null || s.passed === null) {
    out.push({
      level: 'note',
      descriptor: { id: 'results-not-kept' },
      message: {
        text: 'Passing and not-evaluated results are not kept by this source (the finding store): only failing and exempted findings are reported.',
      },
    });
  } else if (s.notEvaluated > 0) {
    const shown = findings.filter((f) => f.status === 'not-evaluated').length;
    out.push({
      level: 'warning',
      descriptor: { id: 'not-evaluated' },
      message: {
        text: `${s.notEvaluated} result(s) were not evaluated: an input they need could not be read or was not collected (coverage). ${shown > 0 ? `They are the results of kind "open" in this log.` : 'Run with --include-passed to list them (results of kind "open").'}`,
      },
    });
  }
  for (const e of s.expiredExemptions) {
    out.push({
      level: 'warning',
      descriptor: { id: 'exemption-expired' },
      associatedRule: {
        id: line(e.checkId),
        ...(index(e.checkId.toUpperCase()) >= 0 ? { index: index(e.checkId.toUpperCase()) } : {}),
      },
      message: {
        text: `The exemption for ${line(e.checkId)} expired on ${line(e.expires)} and no longer applies: ${line(e.reason)}`,
      },
    });
  }
  return out;
}

/** Every C1 control, formatting (bidirectional, invisible) and line/paragraph separator character left in the JSON text, as a `\u` escape. */
const NON_ASCII_DANGEROUS = new RegExp(`[\\u007F-\\u009F]|${FORMAT.source}`, 'g');

/** JSON text with nothing raw that a viewer could act on (JSON already escapes C0 and lone surrogates). */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    NON_ASCII_DANGEROUS,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const pkg = packageJson as { name: string; version: string; homepage?: string };

export function renderSarif(report: RenderedReport, findings: readonly ReportedFinding[]): string {
  const ids = CATALOGUE.map((c) => c.metadata.id);
  const notes = notifications(report, findings);
  const log = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'irsa-audit',
            fullName: 'irsa-auditor: IAM Roles for Service Accounts across EKS fleets',
            version: pkg.version,
            semanticVersion: pkg.version,
            ...(pkg.homepage ? { informationUri: pkg.homepage } : {}),
            rules: CATALOGUE.map((c) => rule(c.metadata, severityOf(c.metadata, findings))),
          },
        },
        originalUriBaseIds: {
          [FLEET_URI_BASE]: {
            description: { text: 'The fleet snapshot directory the audit read (docs/fleet-format.md).' },
          },
        },
        invocations: [
          {
            executionSuccessful: report.summary.inputErrors === 0,
            endTimeUtc: report.summary.generatedAt,
            ...(notes.length > 0 ? { toolExecutionNotifications: notes } : {}),
          },
        ],
        results: findings.map((f) => result(f, ids.indexOf(f.checkId))),
        properties: {
          summary: {
            ...report.summary,
            expiredExemptions: report.summary.expiredExemptions.map((e) => ({
              checkId: line(e.checkId),
              reason: line(e.reason),
              expires: e.expires ?? null,
            })),
            shown: findings.length,
          },
        },
      },
    ],
  };
  return safeJson(log);
}
