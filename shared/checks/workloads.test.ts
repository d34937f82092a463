import { describe, expect, it } from 'vitest';
import { AuditContext } from '../engine/audit-context.ts';
import { FIXTURE_NOW } from '../testing/check-harness.ts';
import { healthyIrsa } from '../testing/fleet-builder.ts';
import {
  isMutated,
  newestMutatedPod,
  POD_LACKS_INJECTION,
  POD_MENTIONS_STATIC_CREDENTIALS,
  POD_MUTATED,
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
    expect(factsOf('api')).toEqual([POD_MUTATED, POD_MUTATED]);
    expect(factsOf('unmutated')).toEqual([POD_LACKS_INJECTION]);
    expect(factsOf('stale')).toEqual([POD_MUTATED | POD_ROLE_STALE]);
    expect(factsOf('keys')).toEqual([POD_MUTATED | POD_MENTIONS_STATIC_CREDENTIALS]);
    expect(factsOf('skipped')).toEqual([0]);
  });

  it('marks a pod mutated exactly when isMutated says so, a valueFrom AWS_ROLE_ARN included', () => {
    for (const workload of context.workloads(cluster)) {
      const facts = podFacts(workload);
      workload.pods.forEach((pod, i) => {
        expect(((facts[i] as number) & POD_MUTATED) !== 0, `${workload.name} pod ${i}`).toBe(isMutated(pod));
      });
    }
    const unmutated = context.workloads(cluster).find((w) => w.name === 'unmutated');
    const pod = unmutated?.pods[0];
    if (!unmutated || !pod) throw new Error('no unmutated pod');
    // The same pod with AWS_ROLE_ARN from a valueFrom (its env value is null): mutated, not stale.
    const fromRef = {
      ...unmutated,
      pods: [
        {
          ...pod,
          containers: pod.containers.map((c) => ({ ...c, env: new Map([...c.env, ['AWS_ROLE_ARN', null]]) })),
        },
      ],
    };
    expect([...podFacts(fromRef)].map((bits) => bits & (POD_MUTATED | POD_ROLE_STALE))).toEqual([
      POD_MUTATED,
    ]);
  });

  it("takes the newest creation time of the workload's mutated pods in the same walk", () => {
    let mutatedWithTime = 0;
    for (const workload of context.workloads(cluster)) {
      const times = workload.pods
        .filter((pod) => isMutated(pod) && pod.creationTimestamp)
        .map((pod) => pod.creationTimestamp as string)
        .sort();
      mutatedWithTime += times.length;
      expect(newestMutatedPod(workload), workload.name).toBe(times.at(-1) ?? null);
    }
    expect(mutatedWithTime).toBeGreaterThan(0);
    expect(
      newestMutatedPod(context.workloads(cluster).find((w) => w.name === 'unmutated') as never),
    ).toBeNull();
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
