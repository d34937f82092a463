/**
 * The pipeline's import into AWS Security Hub (optional: the hub config's `securityHub`, the
 * auditor's SECURITY_HUB_PRODUCT_ARN): each unit's changes of the night, once written to the finding
 * store, go to BatchImportFindings as ASFF (asff.ts), every finding in the hub account's default
 * product: opened, reopened, severity-changed and exempted findings ACTIVE, resolved ones ARCHIVED
 * with Workflow RESOLVED and Compliance PASSED.
 *
 * At most 100 findings per call, as the API takes. The import never fails the audit and never
 * touches the store: the SDK retries throttling and server errors (adaptive retry); a call that
 * still fails, and each finding Security Hub refuses (FailedFindings), is logged as an error that
 * names the findings' ids, and counted. The store keeps what it recorded either way; a finding
 * whose import failed is sent again at its next change (docs/deploy.md, "Security Hub").
 */
import type { AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import type { AuditConfig } from '../config/audit-config.ts';
import { reportedFromStored } from '../history/reported.ts';
import type { FindingChange } from '../history/types.ts';
import { type AsffImporter, type AsffSource, toAsff } from './asff.ts';

/** Security Hub's limit per BatchImportFindings call. */
export const MAX_FINDINGS_PER_IMPORT = 100;

/** What BatchImportFindings answers (the SDK's output, narrowed). */
export interface ImportAnswer {
  readonly SuccessCount?: number;
  readonly FailedCount?: number;
  readonly FailedFindings?: readonly { Id?: string; ErrorCode?: string; ErrorMessage?: string }[];
}

/** Sends one BatchImportFindings call (SecurityHubClient.send in production). */
export type BatchImport = (findings: AwsSecurityFinding[]) => Promise<ImportAnswer>;

export interface ImportLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export interface SecurityHubImportResult {
  /** Findings Security Hub took. */
  readonly imported: number;
  /** The ids of the findings it did not take (refused, or in a call that failed). */
  readonly failedIds: readonly string[];
  readonly calls: number;
}

/** A stored finding's change, as the ASFF mapping reads it. */
export function changeSource(change: FindingChange, config?: AuditConfig, now = new Date()): AsffSource {
  const { name: _name, ...reported } = reportedFromStored(change.finding, config, now);
  const source: AsffSource = { ...reported, firstSeenAt: change.finding.firstSeenAt };
  if (change.type !== 'resolved') return source;
  const { exemption: _exemption, ...resolved } = source;
  return { ...resolved, status: 'resolved' };
}

/** The ids of a batch, shortened for a log line when there are many. */
function named(ids: readonly string[]): string {
  return ids.length <= 20 ? ids.join(', ') : `${ids.slice(0, 20).join(', ')} and ${ids.length - 20} more`;
}

/**
 * Collects a run's changes and imports them in calls of at most 100: `add` after each unit's
 * changes are stored (it sends every full batch), `flush` at the end (the rest). Neither throws.
 */
export class SecurityHubImport {
  private pending: AwsSecurityFinding[] = [];
  private imported = 0;
  private calls = 0;
  private readonly failed: string[] = [];

  constructor(
    private readonly options: {
      readonly send: BatchImport;
      /** The hub account's default product (AwsAccountId, ProductArn, region). */
      readonly importer: AsffImporter;
      readonly config?: AuditConfig;
      readonly logger: ImportLogger;
    },
  ) {}

  /** Queues the changes of one unit (recorded at `runAt`), and sends every full batch. */
  async add(changes: readonly FindingChange[], runAt: string): Promise<void> {
    const now = new Date(runAt);
    for (const change of changes) {
      const finding = toAsff(changeSource(change, this.options.config, now), {
        now,
        importer: this.options.importer,
      });
      if (finding) this.pending.push(finding);
    }
    while (this.pending.length >= MAX_FINDINGS_PER_IMPORT) await this.send();
  }

  /** Sends what is left; returns the run's counts so far. */
  async flush(): Promise<SecurityHubImportResult> {
    while (this.pending.length > 0) await this.send();
    return { imported: this.imported, failedIds: this.failed.slice(), calls: this.calls };
  }

  private async send(): Promise<void> {
    const batch = this.pending.splice(0, MAX_FINDINGS_PER_IMPORT);
    const ids = batch.map((f) => f.Id ?? '');
    this.calls++;
    let answer: ImportAnswer;
    try {
      answer = await this.options.send(batch);
    } catch (error) {
      const e = error as Error & { name?: string; $metadata?: { httpStatusCode?: number } };
      this.failed.push(...ids);
      this.options.logger.error(
        `Security Hub did not take ${batch.length} finding(s): BatchImportFindings failed (${e.name ?? 'Error'}: ${e.message}); they stay recorded in the finding store and are sent again at their next change: ${named(ids)}`,
        { errorName: e.name, httpStatus: e.$metadata?.httpStatusCode, findingIds: ids },
      );
      return;
    }
    const refused = answer.FailedFindings ?? [];
    this.imported += answer.SuccessCount ?? batch.length - refused.length;
    if (refused.length > 0) {
      const refusedIds = refused.map((f) => f.Id ?? '(no id)');
      this.failed.push(...refusedIds);
      this.options.logger.error(
        `Security Hub refused ${refused.length} of ${batch.length} finding(s); the others were imported, the store is unchanged: ${refused
          .map((f) => `${f.Id} (${f.ErrorCode}: ${f.ErrorMessage})`)
          .slice(0, 20)
          .join('; ')}${refused.length > 20 ? ` and ${refused.length - 20} more` : ''}`,
        { failedFindings: refused.map((f) => ({ id: f.Id, code: f.ErrorCode, message: f.ErrorMessage })) },
      );
    } else {
      this.options.logger.info('findings imported into Security Hub', { findings: batch.length });
    }
  }
}
