/** The sample fleet (examples/fleet) audited in-process, for the renderers' unit tests. */
import { join } from 'node:path';
import type { AuditConfig } from '#shared/config/audit-config.ts';
import { type AuditReport, runAudit } from '#shared/engine/run-audit.ts';
import { loadFleet } from '#shared/snapshot/load-fleet.ts';
import { REPO_ROOT } from './run-cli.ts';

export const SAMPLE_FLEET = join(REPO_ROOT, 'examples/fleet');

/** A fixed night, so that reports compare across runs. */
export const SAMPLE_NOW = new Date('2026-11-02T02:00:00.000Z');

export async function auditSampleFleet(
  options: { config?: AuditConfig; now?: Date; fleetDir?: string } = {},
): Promise<AuditReport> {
  const fleet = await loadFleet(options.fleetDir ?? SAMPLE_FLEET);
  return runAudit(fleet, {
    now: options.now ?? SAMPLE_NOW,
    ...(options.config ? { config: options.config } : {}),
  });
}
