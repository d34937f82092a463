/**
 * Security Hub in the emulator: BatchImportFindings (restJson1, `POST /findings/import`), the only
 * call the auditor makes. Each finding is validated as the AWS Security Finding Format requires
 * (the required attributes, their types, enums, length limits and timestamp forms; the default
 * product's rule that a finding is imported by the account it names, into that account's product in
 * the region called) and answered as the API does: SuccessCount, FailedCount, and FailedFindings
 * with each refused finding's Id, ErrorCode and ErrorMessage; the others are imported.
 *
 * Imported findings are kept by product and Id (`findings()`), as Security Hub keeps them: an import
 * of an existing finding updates it, but for Workflow and Note, which BatchImportFindings does not
 * change once a finding exists; Workflow goes back to NEW when RecordState goes from ARCHIVED to
 * ACTIVE or Compliance from PASSED to another status. Every call is logged (`imports()`).
 * `reject(...)` makes the emulator refuse chosen findings (a test's stand-in for a finding Security
 * Hub refuses for its own reasons).
 *
 * Not emulated: the other Security Hub calls, whether Security Hub is enabled in the account,
 * BatchUpdateFindings, the 10 TPS rate (throttling comes from the emulator's fault options).
 */
import type { ServiceReply } from './sqs.ts';

export const ASFF_MAX_FINDINGS_PER_CALL = 100;
/** Security Hub's limits: 240 KB per finding, 6 MB per call. */
export const ASFF_MAX_FINDING_BYTES = 240 * 1024;
export const ASFF_MAX_REQUEST_BYTES = 6 * 1024 * 1024;

const TYPE_NAMESPACES = new Set([
  'Software and Configuration Checks',
  'TTPs',
  'Effects',
  'Unusual Behaviors',
  'Sensitive Data Identifications',
]);
const SEVERITY_LABELS = new Set(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
const COMPLIANCE = new Set(['PASSED', 'WARNING', 'FAILED', 'NOT_AVAILABLE']);
const WORKFLOW = new Set(['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED']);
const RECORD_STATES = new Set(['ACTIVE', 'ARCHIVED']);
const PARTITIONS = new Set(['aws', 'aws-cn', 'aws-us-gov']);
/**
 * The timestamp forms ASFF takes: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of up to 9 digits,
 * then `Z` or an offset `+HH:MM` / `-HHMM` within 18 hours.
 */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-](?:0\d|1[0-8]):?[0-5]\d)$/;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const nonEmpty = (value: unknown): value is string => typeof value === 'string' && /\S/.test(value);

/** Why a finding is not valid ASFF (the first problem, named by its path), or null. */
export function asffProblem(finding: unknown): string | null {
  if (!isObject(finding)) return 'the finding is not an object';
  const problems: string[] = [];
  const need = (path: string, value: unknown, max?: number) => {
    if (!nonEmpty(value)) problems.push(`${path} is required and must be a non-blank string`);
    else if (max !== undefined && value.length > max)
      problems.push(`${path} should NOT be longer than ${max} characters`);
  };
  const optional = (path: string, value: unknown, max?: number) => {
    if (value !== undefined) need(path, value, max);
  };
  const time = (path: string, value: unknown, required: boolean) => {
    if (value === undefined && !required) return;
    if (typeof value !== 'string' || !TIMESTAMP.test(value) || Number.isNaN(Date.parse(value)))
      problems.push(`${path} must be a timestamp such as 2019-01-31T23:00:00Z`);
  };
  const oneOf = (path: string, value: unknown, allowed: ReadonlySet<string>) => {
    if (value !== undefined && (typeof value !== 'string' || !allowed.has(value)))
      problems.push(`${path} must be one of ${[...allowed].join(', ')}`);
  };
  const stringMap = (path: string, value: unknown, maxValue: number) => {
    if (value === undefined) return;
    if (!isObject(value)) {
      problems.push(`${path} must be a map of strings`);
      return;
    }
    const entries = Object.entries(value);
    if (entries.length > 50) problems.push(`${path} holds ${entries.length} entries; at most 50`);
    for (const [key, item] of entries) {
      if (key.length === 0 || key.length > 128)
        problems.push(`${path} key "${key.slice(0, 40)}" is 1 to 128 characters`);
      if (typeof item !== 'string') problems.push(`${path}.${key} must be a string`);
      else if (item.length > maxValue)
        problems.push(`${path}.${key} should NOT be longer than ${maxValue} characters`);
    }
  };

  if (finding.SchemaVersion !== '2018-10-08') problems.push('SchemaVersion must be 2018-10-08');
  need('Id', finding.Id, 512);
  need('ProductArn', finding.ProductArn);
  need('GeneratorId', finding.GeneratorId, 512);
  if (typeof finding.AwsAccountId !== 'string' || !/^\d{12}$/.test(finding.AwsAccountId))
    problems.push('AwsAccountId must be a 12-digit account id');
  time('CreatedAt', finding.CreatedAt, true);
  time('UpdatedAt', finding.UpdatedAt, true);
  time('FirstObservedAt', finding.FirstObservedAt, false);
  time('LastObservedAt', finding.LastObservedAt, false);
  need('Title', finding.Title, 256);
  need('Description', finding.Description, 1024);
  optional('ProductName', finding.ProductName);
  optional('CompanyName', finding.CompanyName);
  optional('Region', finding.Region, 16);

  // Severity and Types: the provider's fields, or the top-level ones.
  const provider = finding.FindingProviderFields;
  if (provider !== undefined && !isObject(provider)) problems.push('FindingProviderFields must be an object');
  const providerFields = isObject(provider) ? provider : {};
  const severity = providerFields.Severity ?? finding.Severity;
  if (!isObject(severity)) problems.push('FindingProviderFields.Severity (or Severity) is required');
  else if (severity.Label === undefined && severity.Normalized === undefined)
    problems.push('Severity.Label is required');
  else oneOf('Severity.Label', severity.Label, SEVERITY_LABELS);
  const types = providerFields.Types ?? finding.Types;
  if (!Array.isArray(types) || types.length === 0 || types.length > 50)
    problems.push('FindingProviderFields.Types (or Types) must hold 1 to 50 types');
  else {
    for (const type of types) {
      const parts = typeof type === 'string' ? type.split('/') : [];
      if (
        parts.length < 1 ||
        parts.length > 3 ||
        parts.some((p) => p.trim() === '') ||
        String(type).length > 128
      )
        problems.push(`Types: "${String(type).slice(0, 60)}" is not namespace/category/classifier`);
      else if (!TYPE_NAMESPACES.has(parts[0] ?? ''))
        problems.push(`Types: "${parts[0]}" is not a finding type namespace`);
    }
  }

  const resources = finding.Resources;
  if (!Array.isArray(resources) || resources.length === 0 || resources.length > 32)
    problems.push('Resources must hold 1 to 32 resources');
  else {
    resources.forEach((resource: unknown, i) => {
      const at = `Resources[${i}]`;
      if (!isObject(resource)) {
        problems.push(`${at} must be an object`);
        return;
      }
      need(`${at}.Type`, resource.Type, 256);
      need(`${at}.Id`, resource.Id);
      oneOf(`${at}.Partition`, resource.Partition, PARTITIONS);
      optional(`${at}.Region`, resource.Region, 16);
      if (resource.Details !== undefined) {
        if (!isObject(resource.Details)) problems.push(`${at}.Details must be an object`);
        else stringMap(`${at}.Details.Other`, resource.Details.Other, 1023);
      }
    });
  }

  if (finding.Compliance !== undefined) {
    if (!isObject(finding.Compliance)) problems.push('Compliance must be an object');
    else oneOf('Compliance.Status', finding.Compliance.Status, COMPLIANCE);
  }
  if (finding.Workflow !== undefined) {
    if (!isObject(finding.Workflow)) problems.push('Workflow must be an object');
    else oneOf('Workflow.Status', finding.Workflow.Status, WORKFLOW);
  }
  oneOf('RecordState', finding.RecordState, RECORD_STATES);
  if (finding.Note !== undefined) {
    if (!isObject(finding.Note)) problems.push('Note must be an object');
    else {
      need('Note.Text', finding.Note.Text, 512);
      need('Note.UpdatedBy', finding.Note.UpdatedBy, 512);
      time('Note.UpdatedAt', finding.Note.UpdatedAt, true);
    }
  }
  if (finding.Remediation !== undefined) {
    const recommendation = isObject(finding.Remediation) ? finding.Remediation.Recommendation : undefined;
    if (!isObject(finding.Remediation) || (recommendation !== undefined && !isObject(recommendation)))
      problems.push('Remediation.Recommendation must be an object');
    else if (isObject(recommendation)) {
      optional('Remediation.Recommendation.Text', recommendation.Text, 512);
      optional('Remediation.Recommendation.Url', recommendation.Url);
    }
  }
  stringMap('ProductFields', finding.ProductFields, 2048);
  return problems[0] ?? null;
}

/** One refused finding, as BatchImportFindings reports it. */
export interface ImportFindingsError {
  readonly Id: string;
  readonly ErrorCode: string;
  readonly ErrorMessage: string;
}

/** One BatchImportFindings call, as `imports()` reports it. */
export interface SecurityHubImport {
  readonly accountId: string;
  readonly region: string;
  /** The findings sent, as sent. */
  readonly findings: readonly Json[];
  readonly failed: readonly ImportFindingsError[];
  readonly time: string;
}

export interface SecurityHubCall {
  readonly operation: string;
  readonly body: string;
  readonly region: string;
  readonly accountId: string;
}

/** A request-level refusal (the whole call fails), in restJson1 form. */
export class SecurityHubError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class SecurityHubState {
  private readonly stored = new Map<string, Json>();
  private readonly log: SecurityHubImport[] = [];
  private rejecter: ((finding: Json) => string | null) | undefined;

  /**
   * Refuse the findings for which `why` returns a message (ErrorCode InvalidInput, that message),
   * until called again; `undefined` accepts every valid finding again.
   */
  reject(why: ((finding: Json) => string | null) | undefined): void {
    this.rejecter = why;
  }

  /** The findings Security Hub holds, of one product ARN or all, in the order first imported. */
  findings(productArn?: string): Json[] {
    return [...this.stored.values()]
      .filter((f) => productArn === undefined || f.ProductArn === productArn)
      .map((f) => structuredClone(f));
  }

  /** Every BatchImportFindings call so far. */
  imports(): SecurityHubImport[] {
    return this.log.slice();
  }

  handle(call: SecurityHubCall): ServiceReply {
    if (call.operation !== 'BatchImportFindings')
      throw new SecurityHubError(
        400,
        'InvalidInputException',
        `The emulator does not serve ${call.operation}.`,
      );
    if (Buffer.byteLength(call.body, 'utf8') > ASFF_MAX_REQUEST_BYTES)
      throw new SecurityHubError(413, 'InvalidInputException', 'The request is larger than 6 MB.');
    let input: unknown;
    try {
      input = JSON.parse(call.body);
    } catch {
      throw new SecurityHubError(400, 'InvalidInputException', 'The request body is not JSON.');
    }
    const findings = isObject(input) ? input.Findings : undefined;
    if (!Array.isArray(findings) || findings.length < 1 || findings.length > ASFF_MAX_FINDINGS_PER_CALL) {
      throw new SecurityHubError(
        400,
        'InvalidInputException',
        `Findings must hold 1 to ${ASFF_MAX_FINDINGS_PER_CALL} findings (got ${Array.isArray(findings) ? findings.length : 'none'}).`,
      );
    }
    const failed: ImportFindingsError[] = [];
    let success = 0;
    for (const finding of findings as unknown[]) {
      const id = isObject(finding) && typeof finding.Id === 'string' ? finding.Id : '';
      const refusal = this.refusal(finding, call);
      if (refusal) {
        failed.push({ Id: id || '(no Id)', ...refusal });
        continue;
      }
      this.store(finding as Json);
      success++;
    }
    this.log.push({
      accountId: call.accountId,
      region: call.region,
      findings: (findings as unknown[]).map((f) => (isObject(f) ? structuredClone(f) : { invalid: f })),
      failed,
      time: new Date().toISOString(),
    });
    return {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ FailedCount: failed.length, SuccessCount: success, FailedFindings: failed }),
    };
  }

  private refusal(
    finding: unknown,
    call: SecurityHubCall,
  ): { ErrorCode: string; ErrorMessage: string } | null {
    if (Buffer.byteLength(JSON.stringify(finding) ?? '', 'utf8') > ASFF_MAX_FINDING_BYTES)
      return { ErrorCode: 'InvalidInput', ErrorMessage: 'Finding size exceeds 240 KB.' };
    const problem = asffProblem(finding);
    if (problem)
      return {
        ErrorCode: 'InvalidInput',
        ErrorMessage: `Finding does not adhere to Amazon Security Finding Format. ${problem}`,
      };
    const f = finding as Json;
    const product = /^arn:[a-z-]+:securityhub:([a-z0-9-]+):(\d{12}):product\/(\d{12})\/default$/.exec(
      String(f.ProductArn),
    );
    if (
      !product ||
      product[2] !== call.accountId ||
      product[3] !== call.accountId ||
      product[1] !== call.region
    )
      return {
        ErrorCode: 'AccessDeniedException',
        ErrorMessage: `${String(f.ProductArn)} is not the default product of account ${call.accountId} in ${call.region}: a finding of the default product is imported by its own account, in its product's region.`,
      };
    if (f.AwsAccountId !== call.accountId)
      return {
        ErrorCode: 'AccessDeniedException',
        ErrorMessage: `AwsAccountId ${String(f.AwsAccountId)} is not the calling account ${call.accountId}: the default product takes only the caller's own findings.`,
      };
    const rejected = this.rejecter?.(f);
    return rejected ? { ErrorCode: 'InvalidInput', ErrorMessage: rejected } : null;
  }

  /** Creates or updates, as Security Hub does (Workflow and Note are the customer's once created). */
  private store(finding: Json): void {
    const key = `${String(finding.ProductArn)}|${String(finding.Id)}`;
    const previous = this.stored.get(key);
    const next = structuredClone(finding);
    const provider = isObject(next.FindingProviderFields) ? next.FindingProviderFields : {};
    if (provider.Severity !== undefined) next.Severity = structuredClone(provider.Severity);
    if (provider.Types !== undefined) next.Types = structuredClone(provider.Types);
    next.Workflow ??= { Status: 'NEW' };
    next.RecordState ??= 'ACTIVE';
    if (previous) {
      const status = (value: unknown) => (isObject(value) ? value.Status : undefined);
      const reopened =
        (previous.RecordState === 'ARCHIVED' && next.RecordState === 'ACTIVE') ||
        (status(previous.Compliance) === 'PASSED' &&
          status(next.Compliance) !== undefined &&
          status(next.Compliance) !== 'PASSED');
      next.Workflow = reopened ? { Status: 'NEW' } : previous.Workflow;
      if (previous.Note === undefined) delete next.Note;
      else next.Note = previous.Note;
    }
    this.stored.set(key, next);
  }
}
