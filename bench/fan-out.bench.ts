/**
 * Benchmark of an account's fan-out (shared/pipeline/routing.ts): ONE large account, audited by the
 * local pipeline (demo/local-pipeline.ts: the real planner and auditor handlers, dynalite, the
 * emulator with 20 ms of latency on every response) one night per `clustersPerUnit`, each on a
 * fresh store and emulator: first with no fan-out (the lead carries every cluster), then with the
 * lead keeping fewer clusters and forwarding the rest as parts.
 *
 *   npm run bench:fanout                          # 1 account x 3 regions x 8 clusters, 200 SAs and 2,000 pods each; rows 24, 8, 4, 1
 *   npm run bench:fanout -- --scale small         # 1 account x 2 regions x 3 clusters, 50 SAs and 500 pods each; rows 6, 2, 1
 *   npm run bench:fanout -- --pods 5000 --service-accounts 500   # another size per cluster
 *   npm run bench:fanout -- --rows 24,12          # other clustersPerUnit values
 *   npm run bench:fanout -- --json                # the figures as one JSON line at the end
 *
 * Prints per row: the night's wall time, the auditor invocations (SQS batches of up to 4 messages),
 * the parts the lead forwarded (the run's partsPlanned), the longest invocation's wall time and the
 * clusters it carried, hence its ms per cluster; the calls to iam:ListRoles and the policy lookups
 * (they must be the same in every row: the lead reads the account's IAM once, the parts read it
 * from the lead's view), and the open findings (the same findings in every row). From the row whose
 * longest invocation carried the most clusters, it derives how many clusters one invocation could
 * carry within Lambda's 15 minutes less the auditor's 120 s record margin, and so the headroom of
 * the default threshold (40 clusters a unit, up to 4 units a batch). Exits 1 when an invariant fails.
 *
 * Everything runs in this one process, on this machine's cores: the emulator, dynalite and every
 * auditor invocation; invocations that Lambda would run side by side share them here, so a
 * fanned-out row's longest invocation is slower than it would be alone. BENCH_LATENCY_MS sets the
 * latency.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SEVERITIES } from '#shared/checks/types.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import { BATCH_SIZE } from '#shared/pipeline/limits.ts';
import { DEFAULT_CLUSTERS_PER_UNIT } from '#shared/pipeline/routing.ts';
import { parseWorkMessage } from '#shared/pipeline/work-message.ts';
import { startDynalite } from '#shared/testing/dynalite.ts';
import { type SyntheticFleetShape, writeSyntheticFleet } from '#shared/testing/synthetic-fleet.ts';
import { startLocalPipeline } from '../demo/local-pipeline.ts';

const FULL: SyntheticFleetShape = {
  accounts: 1,
  regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  clustersPerRegion: 8,
  serviceAccounts: 200,
  pods: 2_000,
  serviceAccountsPerRole: 20,
  // Two ServiceAccounts a cluster name a role that does not exist: findings (IRSA-011) that need
  // the account's IAM, which a part reads from its lead's view.
  missingRoles: 2,
};
const SMALL: SyntheticFleetShape = {
  ...FULL,
  regions: ['us-east-1', 'eu-west-1'],
  clustersPerRegion: 3,
  serviceAccounts: 50,
  pods: 500,
};
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
/** Lambda's maximum timeout (the auditor's) and the time it keeps after collecting (functions/auditor/handler.ts). */
const LAMBDA_TIMEOUT_MS = 900_000;
const RECORD_MARGIN_MS = 120_000;
const NIGHT = '2026-12-01T02:00:00.000Z';

/** The value after `flag` on the command line (`--rows 24,8`), if any. */
function argument(flag: string): string | undefined {
  const index = process.argv.indexOf(flag);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function wholeNumber(flag: string, fallback: number): number {
  const given = argument(flag);
  const value = given === undefined ? fallback : Number(given);
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${flag} must be a whole number from 1, not ${given}`);
  return value;
}

interface Row {
  clustersPerUnit: number;
  nightMs: number;
  invocations: number;
  partsForwarded: number;
  longestInvocationMs: number;
  /** Clusters the longest invocation audited (a lead its own, a part its list; a batch's summed). */
  longestInvocationClusters: number;
  msPerCluster: number;
  listRoles: number;
  policyLookups: number;
  openFindings: number;
  /** The open findings' ids, sorted and joined (compared across rows, not printed). */
  findingIds: string;
  failedRecords: number;
  deadLetters: number;
  digests: number;
}

async function night(fleetDir: string, clustersPerUnit: number, clusters: number): Promise<Row> {
  const dynamo = await startDynalite();
  const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
  const pipeline = await startLocalPipeline({
    fleetDir,
    dynamo,
    clustersPerUnit,
    faults: { latencyMs: LATENCY_MS },
  });
  try {
    const started = performance.now();
    const result = await pipeline.runNight(NIGHT);
    const nightMs = performance.now() - started;
    const counts = pipeline.emulator.requestCounts();
    const run = await store.getRun(result.runId);
    const open = (await Promise.all(SEVERITIES.map((s) => store.openFindings(s)))).flat();
    // What the longest invocation carried: a lead keeps the first clustersPerUnit, a part its list.
    const carried = result.longestInvocationBodies
      .map((body) => parseWorkMessage(body))
      .reduce((n, m) => n + (m.part ? m.part.clusters.length : Math.min(clustersPerUnit, clusters)), 0);
    return {
      clustersPerUnit,
      nightMs,
      invocations: result.invocations,
      partsForwarded: run?.partsPlanned ?? 0,
      longestInvocationMs: result.longestInvocationMs,
      longestInvocationClusters: carried,
      msPerCluster: carried > 0 ? result.longestInvocationMs / carried : 0,
      listRoles: counts['iam:ListRoles'] ?? 0,
      policyLookups: (counts['iam:ListAttachedRolePolicies'] ?? 0) + (counts['iam:ListRolePolicies'] ?? 0),
      openFindings: open.length,
      findingIds: open
        .map((f) => f.findingId)
        .sort()
        .join(','),
      failedRecords: result.failedRecords,
      deadLetters: result.deadLetters,
      digests: result.published.filter((m) => m.attributes.eventType?.StringValue === 'digest').length,
    };
  } finally {
    await pipeline.stop();
    await dynamo.stop();
  }
}

async function main(): Promise<void> {
  const small = process.argv.includes('small');
  const base = small ? SMALL : FULL;
  const shape: SyntheticFleetShape = {
    ...base,
    pods: wholeNumber('--pods', base.pods),
    serviceAccounts: wholeNumber('--service-accounts', base.serviceAccounts),
  };
  const clusters = shape.regions.length * shape.clustersPerRegion;
  const rows = (argument('--rows') ?? (small ? '6,2,1' : '24,8,4,1')).split(',').map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--rows takes whole numbers from 1, not ${v}`);
    return n;
  });
  const json = process.argv.includes('--json');
  console.log(
    `irsa-audit fan-out benchmark: 1 account x ${shape.regions.length} regions x ${shape.clustersPerRegion} clusters (${clusters}), ` +
      `${shape.serviceAccounts} SAs and ${shape.pods} pods per cluster, public endpoints, ${LATENCY_MS} ms latency, ` +
      `clustersPerUnit ${rows.join(', ')}; ${os.availableParallelism()} cores, Node ${process.versions.node}\n`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'irsa-fanout-bench-'));
  const measured: Row[] = [];
  try {
    const t = performance.now();
    await writeSyntheticFleet(dir, shape);
    console.log(`generated the fleet in ${Math.round(performance.now() - t)} ms\n`);
    const pad = (s: string | number, n: number) => String(s).padStart(n);
    const header = [
      ['clustersPerUnit', 16],
      ['night s', 9],
      ['invocations', 12],
      ['parts', 7],
      ['longest s', 10],
      ['its clusters', 13],
      ['ms/cluster', 11],
      ['ListRoles', 10],
      ['policy lookups', 15],
      ['open findings', 14],
    ] as const;
    console.log(header.map(([name, width]) => pad(name, width)).join(''));
    for (const clustersPerUnit of rows) {
      const row = await night(dir, clustersPerUnit, clusters);
      measured.push(row);
      const cells = [
        row.clustersPerUnit,
        (row.nightMs / 1000).toFixed(1),
        row.invocations,
        row.partsForwarded,
        (row.longestInvocationMs / 1000).toFixed(1),
        row.longestInvocationClusters,
        Math.round(row.msPerCluster),
        row.listRoles,
        row.policyLookups,
        row.openFindings,
      ];
      console.log(cells.map((cell, i) => pad(cell, header[i]?.[1] ?? 8)).join(''));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('');

  const first = measured[0] as Row;
  const iamOnce = measured.every(
    (r) => r.listRoles === first.listRoles && r.policyLookups === first.policyLookups,
  );
  const sameFindings = measured.every((r) => r.findingIds === first.findingIds);
  const clean = measured.every((r) => r.failedRecords === 0 && r.deadLetters === 0 && r.digests === 1);
  console.log(
    `IAM read once: ${iamOnce ? 'OK' : 'MISSED'} (iam:ListRoles and policy lookups the same in every row)\n` +
      `same findings: ${sameFindings ? 'OK' : 'MISSED'} (the same ${first.openFindings} open finding ids in every row)\n` +
      `every night clean: ${clean ? 'OK' : 'MISSED'} (no failed record, nothing on a DLQ, one digest)\n`,
  );

  // The auditor's time per cluster, from the invocation that carried the most clusters (the lead
  // without fan-out): its fixed costs (IAM, listing the account) spread over the most clusters.
  const widest = measured.reduce((a, b) =>
    b.longestInvocationClusters > a.longestInvocationClusters ? b : a,
  );
  const budgetMs = LAMBDA_TIMEOUT_MS - RECORD_MARGIN_MS;
  const capacity = Math.floor(budgetMs / widest.msPerCluster);
  const perBatch = DEFAULT_CLUSTERS_PER_UNIT * BATCH_SIZE;
  console.log(
    `per cluster: ${Math.round(widest.msPerCluster)} ms of auditor wall time (${(widest.longestInvocationMs / 1000).toFixed(1)} s for ${widest.longestInvocationClusters} clusters in one invocation, clustersPerUnit ${widest.clustersPerUnit})\n` +
      `one invocation's budget: ${budgetMs / 1000} s (15 minutes less the ${RECORD_MARGIN_MS / 1000} s record margin) = about ${capacity} clusters at ${shape.pods} pods each\n` +
      `headroom of the default clustersPerUnit ${DEFAULT_CLUSTERS_PER_UNIT}: ${(capacity / DEFAULT_CLUSTERS_PER_UNIT).toFixed(1)}x for one unit, ` +
      `${(capacity / perBatch).toFixed(1)}x for a batch of ${BATCH_SIZE} full units (${perBatch} clusters) in one invocation`,
  );
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        shape: { ...shape, clusters, latencyMs: LATENCY_MS },
        rows: measured.map(({ findingIds: _ids, ...row }) => row),
        invariants: { iamOnce, sameFindings, clean },
        perClusterMs: widest.msPerCluster,
        clustersPerInvocation: capacity,
      })}\n`,
    );
  }
  if (!iamOnce || !sameFindings || !clean) process.exitCode = 1;
}

await main();
