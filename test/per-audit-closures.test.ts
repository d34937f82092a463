/**
 * The checks that judge each workload hand the walk (checks/workloads.ts) the same functions in
 * every audit: functions of their modules, not closures made anew by each `evaluate`. V8 keeps
 * the code it optimised for a function expression only while one of its closures lives, so a
 * closure made per audit runs unoptimised in each audit of a warm process until it is compiled
 * again (shared/engine/shapes.ts). Read from the calls themselves; nothing is timed.
 */
import { describe, expect, it, vi } from 'vitest';
import { runAudit } from '#shared/engine/run-audit.ts';
import { healthyIrsa } from '#shared/testing/fleet-builder.ts';

const walks = vi.hoisted(() => [] as { judge: unknown; perCluster: unknown }[]);

vi.mock('#shared/checks/workloads.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('#shared/checks/workloads.ts')>();
  return {
    ...original,
    perWorkloadWithServiceAccount: ((context, results, judge, perCluster) => {
      walks.push({ judge, perCluster });
      return original.perWorkloadWithServiceAccount(context, results, judge, perCluster);
    }) as typeof original.perWorkloadWithServiceAccount,
  };
});

describe('the per-workload checks', () => {
  it('pass the same judge and per-cluster functions in every audit', () => {
    const fleet = healthyIrsa().fleet.build();
    const now = new Date('2026-06-01T00:00:00Z');
    runAudit(fleet, { now });
    const first = walks.splice(0);
    runAudit(fleet, { now });
    const second = walks.splice(0);
    // IRSA-030, 031 and 032 walk the workloads.
    expect(first).toHaveLength(3);
    expect(second).toHaveLength(3);
    for (let i = 0; i < first.length; i++) {
      expect(second[i]?.judge).toBe(first[i]?.judge);
      expect(second[i]?.perCluster).toBe(first[i]?.perCluster);
    }
  });
});
