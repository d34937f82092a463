/**
 * What the renderers print: the engine's findings and summary, loosened where a report that does
 * not come from the engine (`irsa-audit pipeline`, read back from the finding store) cannot know a
 * field. A field it does not know is left out or null, never invented.
 */
import type { AuditSummary, Finding } from '#shared/engine/run-audit.ts';

/** A finding as reported; `evidence` is absent when the source does not keep it. */
export type ReportedFinding = Omit<Finding, 'evidence'> & { readonly evidence?: Finding['evidence'] };

/** The summary; `passed` and `notEvaluated` are null when the source does not keep those results. */
export type ReportSummary = Omit<AuditSummary, 'passed' | 'notEvaluated'> & {
  readonly passed: number | null;
  readonly notEvaluated: number | null;
};

export interface RenderedReport {
  readonly summary: ReportSummary;
}
