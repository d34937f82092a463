/**
 * One instance of each class an audit makes anew, kept for the life of the process.
 *
 * V8 gives the objects of a class their layout (a hidden class, or map) step by step as the
 * constructor adds each field, and holds the maps of those steps only weakly: once the last
 * AuditContext (or Coverage, Tally ...) of an audit is freed, so are its maps, and the next
 * audit's objects get new ones. Every optimised function that checked the old maps (the checks'
 * `evaluate`, the trust lookups, the sort) is then thrown away and compiled again, in every audit
 * of a process that runs more than one (a warm Lambda, the benchmark). One live instance keeps
 * the maps, and the code made for them, valid: of AuditContext, Coverage, Tally and TextIds
 * (kept beside each class), and of the per-cluster facts a check keeps (IRSA-030's ClusterFacts).
 * The results themselves need none: they are made by one object literal (checks/results.ts), whose
 * layout lives as long as the code that makes it.
 * test/warm-audits.test.ts reads V8's trace for the code thrown away.
 *
 * The other half of the cure: no closure made per audit where the time goes (AuditContext's
 * PerAudit, the checks' per-workload verdicts in checks/workloads.ts, the sort's comparators).
 * V8 keeps the code it optimised for a function expression only while one of its closures lives:
 * a closure made in each audit dies with the audit's garbage, its code with it, and the next
 * audit's closure runs unoptimised until that code is compiled again (on this 2-core machine, 150
 * to 280 ms of compiling per audit at x1 before, measured with --trace-opt). A function of a
 * module, or a method of a class, lives as long as the process.
 */
import type { Cluster, Fleet } from '../model/fleet.ts';

const kept: object[] = [];

/** A fleet of nothing, for the instances kept here. */
export const NO_FLEET: Fleet = Object.freeze({ accounts: [], inputErrors: [] });

/** A cluster of nothing, for the instances kept here. */
export const NO_CLUSTER: Cluster = Object.freeze({
  accountId: '',
  region: '',
  name: '',
  info: null,
  kubernetes: null,
  podIdentityAssociations: [],
  collectionErrors: [],
  probes: null,
});

/** Keeps `instance` alive for the life of the process (see above). */
export function keepShape(instance: object): void {
  kept.push(instance);
}
