/**
 * `--format asff`: a JSON array of AWS Security Finding Format findings, exactly what Security Hub's
 * BatchImportFindings takes (at most 100 per call: `jq -c '_nwise(100)'`). The mapping is shared
 * with the pipeline's import (shared/notify/asff.ts); here each finding goes to its own account's
 * default product, in its own region, or the home region (AWS_REGION, else us-east-1) when it has
 * none. A finding that names no account has nowhere to go and is left out (docs/formats.md).
 */

import { DEFAULT_HOME_REGION, toAsff } from '#shared/notify/asff.ts';
import { regionProblem } from '#shared/policy/aws-names.ts';
import type { ReportedFinding } from './report.ts';

/** The region of findings without one: `region` when it is a region name, else us-east-1. */
export function homeRegion(region: string | undefined): string {
  return region && regionProblem(region) === null ? region : DEFAULT_HOME_REGION;
}

export function renderAsff(
  findings: readonly ReportedFinding[],
  options: { now: Date; homeRegion?: string },
): string {
  const home = homeRegion(options.homeRegion);
  const out = findings.flatMap((f) => toAsff(f, { now: options.now, homeRegion: home }) ?? []);
  return JSON.stringify(out, null, 2);
}
