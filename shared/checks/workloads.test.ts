import { describe, expect, it } from 'vitest';
import { AuditContext } from '../engine/audit-context.ts';
import { FIXTURE_NOW } from '../testing/check-harness.ts';
import { healthyIrsa } from '../testing/fleet-builder.ts';
import {
  POD_LACKS_INJECTION,
  POD_MENTIONS_STATIC_CREDENTIALS,
  POD_ROLE_STALE,
  podFacts,
} from './workloads.ts';

describe('podFacts', () => {
  // The healthy api pods, then in one more Deployment each: pods never mutated, pods mutated with
  // another role, pods given static keys, and unmutated pods the webhook was told to skip.
  const h = healthyIrsa();
  const other = 'arn:aws:iam::111122223333:role/other';
  h.cluster.deployment('shop', 'unmutated', 1, { serviceAccountName: 'api', mutatedWith: false });
  h.cluster.deployment('shop', 'stale', 1, { serviceAccountName: 'api', mutatedWith: other });
  h.cluster.deployment('shop', 'keys', 1, {
    serviceAccountName: 'api',
    mutatedWith: h.role.arn,
    extraEnv: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' },
  });
  h.cluster.deployment('shop', 'skipped', 1, {
    serviceAccountName: 'api',
    mutatedWith: false,
    labels: { 'eks.amazonaws.com/skip-pod-identity-webhook': 'true' },
  });
  const fleet = h.fleet.build();
  const context = new AuditContext(fleet, FIXTURE_NOW);
  const cluster = context.clusters[0];
  if (!cluster) throw new Error('the fleet has no cluster');
  const factsOf = (name: string) => {
    const workload = context.workloads(cluster).find((w) => w.name === name);
    if (!workload) throw new Error(`no workload ${name}`);
    return [...podFacts(workload)];
  };

  it('gives each pod the bits IRSA-030, 031 and 034 ask for', () => {
    expect(factsOf('api')).toEqual([0, 0]);
    expect(factsOf('unmutated')).toEqual([POD_LACKS_INJECTION]);
    expect(factsOf('stale')).toEqual([POD_ROLE_STALE]);
    expect(factsOf('keys')).toEqual([POD_MENTIONS_STATIC_CREDENTIALS]);
    expect(factsOf('skipped')).toEqual([0]);
  });

  it('works a workload out once per audit, whichever check asks first', () => {
    const workload = context.workloads(cluster)[0];
    if (!workload) throw new Error('no workload');
    expect(podFacts(workload)).toBe(podFacts(workload));
    // Another audit of the same fleet has its own workloads, and so its own facts.
    const again = new AuditContext(fleet, FIXTURE_NOW).workloads(cluster)[0];
    expect(again && podFacts(again)).not.toBe(podFacts(workload));
  });
});
