/**
 * Benchmark of the finding store against dynalite (a real DynamoDB-protocol server, in-process,
 * through the real SDK): a fleet's findings recorded night after night the way the auditor records
 * them (recordUnit, then store.completeUnit, the account counted once, the digest claimed once;
 * no SNS), then every access pattern people use, run once.
 *
 *   npm run bench:store                     # 1,000 clusters, ~20 open findings each, 10 nights (~2 min)
 *   npm run bench:store -- --nights 30      # the same fleet over a month (about 2.5 times as long)
 *   npm run bench:store -- --scale small    # 40 clusters, ~10 findings each, 12 nights (a smoke test)
 *
 * Prints, per night, the items written by kind (store.written) and the read units consumed; shows
 * that a quiet night writes O(clusters), not O(findings) (items per cluster and per finding, and
 * the quiet night's writes when the clusters double and when the findings per cluster double);
 * and the read units each access pattern consumes (store.consumed); and the digest's open counts
 * read both ways, before (every open finding counted, gsi2 `Select: COUNT`) and after (the unit
 * states summed, gsi5), at each size, with the exactness of the second checked against the first.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pLimit from 'p-limit';
import { SEVERITIES, type Severity } from '#shared/checks/types.ts';
import { type Finding, findingKey } from '#shared/engine/run-audit.ts';
import { FindingStore } from '#shared/history/finding-store.ts';
import { recordUnit } from '#shared/history/record-audit.ts';
import { findingIdOf, unitKey } from '#shared/history/table.ts';
import type { AuditUnit } from '#shared/history/types.ts';
import { createLocalTable } from '#shared/testing/dynalite.ts';

/**
 * dynalite (what shared/testing/dynalite.ts starts in-process), here in a worker thread so that the
 * server's work does not queue behind the SDK client's on one thread. The requests are the same.
 */
async function startServer(): Promise<{ client: DynamoDBClient; stop(): Promise<void> }> {
  const dynalitePath = createRequire(import.meta.url).resolve('dynalite');
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const server = require(${JSON.stringify(dynalitePath)})({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
     server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
    { eval: true },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCALDYNAMO', secretAccessKey: 'local' },
  });
  return {
    client,
    async stop() {
      client.destroy();
      await worker.terminate();
    },
  };
}

interface Shape {
  readonly clusters: number;
  /** Open findings per cluster, on average (each cluster has between half and one and a half times this). */
  readonly findingsPerCluster: number;
  readonly nights: number;
}

const CLUSTERS_PER_ACCOUNT = 20;
const REGIONS = ['us-east-1', 'eu-west-1'];
/** Share of clusters that change on a night that is not quiet. */
const CHANGE_RATE = 0.01;
/** Accounts recorded at once (the auditor Lambda's concurrency, scaled down). */
const CONCURRENCY = 8;
const KINDS = ['event', 'finding state', 'unit run', 'unit state', 'account run', 'run'] as const;

const SCALES: Record<string, Shape> = {
  full: { clusters: 1_000, findingsPerCluster: 20, nights: 10 },
  small: { clusters: 40, findingsPerCluster: 10, nights: 12 },
};

/** Nights on which nothing changes (every tenth; the first night is the baseline). */
const isQuiet = (night: number) => night % 10 === 0;

// ---- a deterministic fleet ---------------------------------------------------------------------

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Scope = 'workload' | 'service-account' | 'role' | 'cluster';
/** A realistic mix: pods not mutated and roles without policies dominate; a broken webhook is rare. */
const MIX: readonly { checkId: string; severity: Severity; scope: Scope; weight: number; title: string }[] = [
  {
    checkId: 'IRSA-030',
    severity: 'high',
    scope: 'workload',
    weight: 30,
    title: 'Pods run without the IRSA injection',
  },
  {
    checkId: 'IRSA-018',
    severity: 'low',
    scope: 'service-account',
    weight: 20,
    title: 'The role has no policies',
  },
  {
    checkId: 'IRSA-016',
    severity: 'medium',
    scope: 'role',
    weight: 10,
    title: 'The trust policy admits a :sub wildcard',
  },
  {
    checkId: 'IRSA-013',
    severity: 'high',
    scope: 'service-account',
    weight: 10,
    title: 'The trust policy does not admit the service account',
  },
  {
    checkId: 'IRSA-032',
    severity: 'medium',
    scope: 'workload',
    weight: 10,
    title: 'Pods lack the regional STS endpoint',
  },
  {
    checkId: 'IRSA-019',
    severity: 'low',
    scope: 'service-account',
    weight: 8,
    title: 'Invalid sts-regional-endpoints annotation',
  },
  {
    checkId: 'IRSA-031',
    severity: 'high',
    scope: 'workload',
    weight: 5,
    title: 'Pods run with a stale role',
  },
  {
    checkId: 'IRSA-011',
    severity: 'high',
    scope: 'service-account',
    weight: 4,
    title: 'The role does not exist',
  },
  {
    checkId: 'IRSA-014',
    severity: 'high',
    scope: 'service-account',
    weight: 2,
    title: 'The trust policy does not admit the audience',
  },
  {
    checkId: 'IRSA-004',
    severity: 'critical',
    scope: 'cluster',
    weight: 1,
    title: "The pod identity webhook's caBundle is wrong",
  },
];
const TOTAL_WEIGHT = MIX.reduce((n, m) => n + m.weight, 0);

const accountIdOf = (a: number) => String(100_000_000_000 + a * 7_919);

/** A new failing result on the cluster; `existing` are its results (a cluster-wide check fails once per cluster). */
function clusterFinding(
  unit: AuditUnit,
  serial: number,
  random: () => number,
  existing: readonly Finding[],
): Finding {
  const pick = random() * TOTAL_WEIGHT;
  let cumulated = 0;
  let kind =
    MIX.find((m) => {
      cumulated += m.weight;
      return pick < cumulated;
    }) ?? (MIX[0] as (typeof MIX)[number]);
  if (kind.scope === 'cluster' && existing.some((f) => f.checkId === kind.checkId))
    kind = MIX[0] as (typeof MIX)[number];
  const ns = `team-${serial % 12}`;
  const sa = kind.scope === 'service-account' || kind.scope === 'workload' ? `svc-${serial}` : null;
  const role = kind.scope === 'cluster' ? null : `${unit.cluster}-svc-${serial}`;
  return {
    checkId: kind.checkId,
    name: kind.checkId.toLowerCase(),
    title: kind.title,
    severity: kind.severity,
    status: 'fail',
    accountId: unit.accountId,
    region: unit.region,
    cluster: unit.cluster,
    namespace: kind.scope === 'cluster' || kind.scope === 'role' ? null : ns,
    serviceAccount: sa,
    roleName: role,
    workload: kind.scope === 'workload' ? { kind: 'Deployment', name: `svc-${serial}` } : null,
    resource: null,
    message:
      `${kind.title}: ${sa ? `service account ${ns}/${sa}` : role ? `role ${role}` : `cluster ${unit.cluster}`} ` +
      `on ${unit.accountId}/${unit.region}/${unit.cluster} (see the evidence for the values compared).`,
    evidence: {},
    remediation: `aws iam update-assume-role-policy --role-name ${role ?? 'n/a'} --policy-document file://trust.json`,
  };
}

function accountFinding(unit: AuditUnit, serial: number): Finding {
  return {
    checkId: 'IRSA-050',
    name: 'orphaned-oidc-provider',
    title: 'An OIDC provider without a cluster',
    severity: 'low',
    status: 'fail',
    accountId: unit.accountId,
    region: null,
    cluster: null,
    namespace: null,
    serviceAccount: null,
    roleName: null,
    workload: null,
    resource: `oidc.eks.eu-west-1.amazonaws.com/id/${String(serial).padStart(32, '0')}`,
    message: 'OIDC provider of a deleted cluster: delete it.',
    evidence: {},
    remediation: 'aws iam delete-open-id-connect-provider --open-id-connect-provider-arn ...',
  };
}

interface Fleet {
  readonly accounts: { readonly accountId: string; readonly units: AuditUnit[] }[];
  /** Each unit's current results (what tonight's audit reports). */
  readonly results: Map<string, Finding[]>;
  readonly clusterUnits: AuditUnit[];
  serial: number;
}

function buildFleet(shape: Shape, seed: number): Fleet {
  const random = prng(seed);
  const fleet: Fleet = { accounts: [], results: new Map(), clusterUnits: [], serial: 0 };
  const accounts = Math.ceil(shape.clusters / CLUSTERS_PER_ACCOUNT);
  for (let a = 0; a < accounts; a++) {
    const accountId = accountIdOf(a);
    const level: AuditUnit = { accountId, region: null, cluster: null };
    const units = [level];
    fleet.results.set(unitKey(level), [accountFinding(level, fleet.serial++)]);
    const here = Math.min(CLUSTERS_PER_ACCOUNT, shape.clusters - a * CLUSTERS_PER_ACCOUNT);
    for (let c = 0; c < here; c++) {
      const unit: AuditUnit = {
        accountId,
        region: REGIONS[c % REGIONS.length] ?? 'us-east-1',
        cluster: `cluster-${a}-${c}`,
      };
      const count = Math.round(shape.findingsPerCluster * (0.5 + random()));
      const results: Finding[] = [];
      for (let i = 0; i < count; i++) results.push(clusterFinding(unit, fleet.serial++, random, results));
      fleet.results.set(unitKey(unit), results);
      units.push(unit);
      fleet.clusterUnits.push(unit);
    }
    fleet.accounts.push({ accountId, units });
  }
  return fleet;
}

const ORDER: Severity[] = ['critical', 'high', 'medium', 'low'];

/** Tonight's changes: a few clusters get one change each (opened, resolved, severity raised or lowered, exempted). */
function changeFleet(fleet: Fleet, count: number, random: () => number): AuditUnit[] {
  const changed: AuditUnit[] = [];
  const pool = [...fleet.clusterUnits];
  for (let i = 0; i < count && pool.length > 0; i++) {
    const unit = pool.splice(Math.floor(random() * pool.length), 1)[0] as AuditUnit;
    const results = fleet.results.get(unitKey(unit)) ?? [];
    const index = Math.floor(random() * results.length);
    const target = results[index];
    const kind = target ? Math.floor(random() * 4) : 0;
    if (kind === 0) results.push(clusterFinding(unit, fleet.serial++, random, results));
    else if (kind === 1) results.splice(index, 1);
    else if (kind === 2 && target) {
      const rank = ORDER.indexOf(target.severity);
      const next = ORDER[rank === 0 ? 1 : rank - 1] ?? 'high';
      results[index] = { ...target, severity: next };
    } else if (target)
      results[index] = { ...target, status: target.status === 'exempted' ? 'fail' : 'exempted' };
    fleet.results.set(unitKey(unit), results);
    changed.push(unit);
  }
  return changed;
}

// ---- recording a night as the auditor does ------------------------------------------------------

const nightAt = (night: number) => new Date(Date.UTC(2026, 0, night, 2, 0, 0)).toISOString();

async function recordNight(store: FindingStore, fleet: Fleet, night: number): Promise<void> {
  const runAt = nightAt(night);
  const runId = `${runAt.slice(0, 16)}Z`;
  const now = () => new Date(runAt);
  await store.startRun(runId, runAt, fleet.accounts.length);
  const limit = pLimit(CONCURRENCY);
  await Promise.all(
    fleet.accounts.map((account) =>
      limit(async () => {
        const counters = {
          clustersAudited: 0,
          clustersPartial: 0,
          clustersBaselined: 0,
          newFindings: 0,
          resolvedFindings: 0,
          regressions: 0,
        };
        for (const unit of account.units) {
          const results = fleet.results.get(unitKey(unit)) ?? [];
          const { outcome, errors, alreadyComplete } = await recordUnit(
            { store, runId, runAt, now },
            { unit, results, partial: false, errors: [], unread: [] },
          );
          if (alreadyComplete) continue;
          const opened = outcome.changes.filter((c) => c.type === 'opened' || c.type === 'reopened').length;
          const resolved = outcome.changes.filter((c) => c.type === 'resolved').length;
          const regressions = outcome.changes.filter((c) => c.regression);
          if (regressions.length > 0) await store.claimAlert(runId, unit, runAt);
          await store.completeUnit({
            runId,
            unit,
            status: 'complete',
            auditedAt: outcome.auditedAt,
            baseline: outcome.baseline,
            partial: outcome.partial,
            opened,
            resolved,
            regressions: regressions.length,
            maxSeverity: regressions[0]?.finding.severity ?? null,
            openBySeverity: outcome.openBySeverity,
            durationMs: outcome.durationMs,
            errors: [...errors],
            alertMessageId: null,
          });
          if (unit.cluster) {
            counters.clustersAudited++;
            if (outcome.baseline) counters.clustersBaselined++;
          }
          counters.newFindings += opened;
          counters.resolvedFindings += resolved;
          counters.regressions += regressions.length;
        }
        const { run } = await store.completeAccount(runId, account.accountId, runAt, counters, null);
        // The digest is claimed once and its open counts read as buildDigest reads them (the units
        // of the run, its other read, are measured once below with the other access patterns).
        if (run.accountsDone >= run.accountsPlanned && (await store.claimDigest(runId, runAt))) {
          await store.openCountsFromUnits();
          await store.completeRun(runId, runAt);
        }
      }),
    ),
  );
}

// ---- measuring ------------------------------------------------------------------------------------

interface NightRow {
  readonly night: number;
  readonly changed: number;
  readonly written: Record<string, number>;
  readonly total: number;
  readonly reads: number;
  /** Read units of the digest's open counts (openCountsFromUnits). */
  readonly digestReads: number;
  readonly ms: number;
  readonly findings: number;
}

const DIGEST = 'open counts from unit states';
const sum = (record: Record<string, number>) => Object.values(record).reduce((n, v) => n + v, 0);
const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
const openCount = (fleet: Fleet) =>
  [...fleet.results.values()].reduce((n, list) => n + list.filter((f) => f.status === 'fail').length, 0);

async function run(
  local: { client: DynamoDBClient },
  tableName: string,
  shape: Shape,
  nights: number,
  quiet: (night: number) => boolean,
  onNight?: (row: NightRow) => void,
): Promise<{ store: FindingStore; fleet: Fleet; rows: NightRow[] }> {
  await createLocalTable(local.client, tableName);
  const store = new FindingStore({ tableName, client: local.client });
  const fleet = buildFleet(shape, 20_260_101);
  const random = prng(7);
  const rows: NightRow[] = [];
  for (let night = 1; night <= nights; night++) {
    const changing = night === 1 || quiet(night) ? 0 : Math.max(1, Math.round(shape.clusters * CHANGE_RATE));
    const changed = changeFleet(fleet, changing, random).length;
    const written = { ...store.written };
    const reads = sum(store.consumed);
    const digestReads = store.consumed[DIGEST] ?? 0;
    const started = performance.now();
    await recordNight(store, fleet, night);
    const row: NightRow = {
      night,
      changed: night === 1 ? shape.clusters : changed,
      written: diff(store.written, written),
      total: sum(store.written) - sum(written),
      reads: sum(store.consumed) - reads,
      digestReads: (store.consumed[DIGEST] ?? 0) - digestReads,
      ms: performance.now() - started,
      findings: openCount(fleet),
    };
    rows.push(row);
    onNight?.(row);
  }
  return { store, fleet, rows };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pad = (s: string | number, n: number) => String(s).padStart(n);

function nightLine(row: NightRow, clusters: number): string {
  const kinds = KINDS.map((k) => pad(fmt(row.written[k] ?? 0), k.length));
  const label = row.night === 1 ? 'baseline' : isQuiet(row.night) ? 'quiet' : '';
  return [
    pad(row.night, 5),
    pad(label, 8),
    pad(fmt(row.changed), 7),
    ...kinds,
    pad(fmt(row.total), 7),
    pad(fmt(row.total / clusters, 2), 11),
    pad(fmt(row.total / row.findings, 3), 11),
    pad(fmt(row.reads, 1), 10),
    pad(fmt(row.digestReads, 1), 12),
    pad(fmt(row.ms), 7),
  ].join('  ');
}

function quietLine(label: string, shape: Shape, row: NightRow): string {
  // One line a test can parse.
  return (
    `quiet night ${label}: clusters=${shape.clusters} accounts=${Math.ceil(shape.clusters / CLUSTERS_PER_ACCOUNT)} ` +
    `findings=${row.findings} written=${row.total} ` +
    `perCluster=${(row.total / shape.clusters).toFixed(3)} perFinding=${(row.total / row.findings).toFixed(4)} ` +
    KINDS.map((k) => `${k.replace(' ', '-')}=${row.written[k] ?? 0}`).join(' ')
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const scaleIndex = args.indexOf('--scale');
  const scale = scaleIndex >= 0 ? (args[scaleIndex + 1] ?? '') : 'full';
  const scaled = SCALES[scale];
  if (!scaled) throw new Error(`--scale: expected ${Object.keys(SCALES).join(' or ')}, got "${scale}"`);
  const nightsIndex = args.indexOf('--nights');
  const nights = nightsIndex >= 0 ? Number(args[nightsIndex + 1]) : scaled.nights;
  if (!Number.isInteger(nights) || nights < 10 || nights > 400)
    throw new Error(
      `--nights: expected a whole number from 10 to 400 (every 10th night is the quiet one), got "${args[nightsIndex + 1]}"`,
    );
  const shape: Shape = { ...scaled, nights };
  const started = performance.now();
  const local = await startServer();
  try {
    const accounts = Math.ceil(shape.clusters / CLUSTERS_PER_ACCOUNT);
    console.log(
      `Finding store benchmark (${scale}): ${fmt(shape.clusters)} clusters in ${accounts} accounts (each account also has ` +
        `its account-level unit), ~${shape.findingsPerCluster} open findings per cluster, ${shape.nights} nights; ` +
        `${CHANGE_RATE * 100}% of clusters change on a normal night (one change each), every 10th night is quiet.\n` +
        `dynalite in a worker thread, through the AWS SDK; ${CONCURRENCY} accounts recorded at once (Node ${process.version}).\n`,
    );
    console.log(
      'Items written per night, by kind (store.written), read units consumed by the auditor, and of them the\n' +
        "digest's open counts (the unit states summed, gsi5):\n",
    );
    console.log(
      [
        'night',
        pad('', 8),
        'changed',
        ...KINDS,
        pad('total', 7),
        'per cluster',
        'per finding',
        'read units',
        'digest reads',
        pad('ms', 7),
      ].join('  '),
    );
    const main = await run(local, 'bench-main-table', shape, shape.nights, isQuiet, (row) =>
      console.log(nightLine(row, shape.clusters)),
    );
    const quiet = main.rows.find((r) => isQuiet(r.night));
    if (!quiet) throw new Error('no quiet night: run at least 10 nights');
    const normal = main.rows.filter((r) => r.night > 1 && !isQuiet(r.night));
    const average = normal.reduce((n, r) => n + r.total, 0) / Math.max(1, normal.length);
    console.log(
      `\nA quiet night (night ${quiet.night}) wrote ${fmt(quiet.total)} items for ${fmt(shape.clusters)} clusters and ` +
        `${fmt(quiet.findings)} open findings: ${fmt(quiet.total / shape.clusters, 2)} per cluster, ` +
        `${fmt(quiet.total / quiet.findings, 3)} per finding (no event, no finding state). A normal night wrote ` +
        `${fmt(average, 1)} on average; the baseline ${fmt(main.rows[0]?.total ?? 0)}.`,
    );
    console.log(quietLine('main', shape, quiet));

    // The quiet night's writes when the clusters double, and when the findings per cluster double,
    // each on its own table (a baseline night, then a quiet night), next to the main run's.
    const base: Shape = { ...shape, clusters: Math.round(shape.clusters / 8) };
    const double: Shape = { ...base, clusters: base.clusters * 2 };
    const denser: Shape = { ...base, findingsPerCluster: base.findingsPerCluster * 2 };
    console.log('\nQuiet-night writes by size:\n');
    console.log(
      ['clusters', 'findings/cluster', 'open findings', 'items written', 'per cluster', 'per finding'].join(
        '  ',
      ),
    );
    const sizes: [string, Shape, NightRow][] = [];
    for (const [label, s] of [
      ['base', base],
      ['double', double],
      ['base-denser', denser],
    ] as const) {
      const { rows } = await run(local, `bench-${label}`, s, 2, (night) => night === 2);
      const row = rows[1];
      if (!row) throw new Error('the size run recorded no quiet night');
      sizes.push([label, s, row]);
    }
    sizes.push(['main', shape, quiet]);
    for (const [, s, row] of sizes) {
      console.log(
        [
          pad(fmt(s.clusters), 8),
          pad(s.findingsPerCluster, 16),
          pad(fmt(row.findings), 13),
          pad(fmt(row.total), 13),
          pad(fmt(row.total / s.clusters, 2), 11),
          pad(fmt(row.total / row.findings, 3), 11),
        ].join('  '),
      );
    }
    for (const [label, s, row] of sizes) if (label !== 'main') console.log(quietLine(label, s, row));
    const tableOf = (label: string) => (label === 'main' ? 'bench-main-table' : `bench-${label}`);
    const [b, x2, d, m] = sizes.map(([, , row]) => row.total) as [number, number, number, number];
    console.log(
      `\nClusters x2 (${fmt(base.clusters)} -> ${fmt(double.clusters)}): quiet-night writes x${(x2 / b).toFixed(2)}; ` +
        `clusters x8 (-> ${fmt(shape.clusters)}): x${(m / b).toFixed(2)}. Findings per cluster x2 ` +
        `(${base.findingsPerCluster} -> ${denser.findingsPerCluster}): x${(d / b).toFixed(2)}. ` +
        'Each unit (cluster or account level) writes its unit-in-run and unit-state items, each account its ' +
        'account-in-run item and one run update, and the run 3 more items (start, digest claim, completion).',
    );

    // The digest's open counts both ways on each table (after its last night): before, every open
    // finding counted (gsi2, Select COUNT, what buildDigest read until issue 14); after, the unit
    // states summed (gsi5). The two must agree.
    console.log(
      "\nThe digest's open counts, read units before (every open finding counted, gsi2 Select COUNT) and after\n" +
        '(every unit state summed, gsi5), each measured once on each table after its last night:\n',
    );
    console.log(
      [
        'clusters',
        'units',
        'open findings',
        'before',
        'after',
        'before/cluster',
        'after/cluster',
        'exact',
      ].join('  '),
    );
    const digestRows: { label: string; shape: Shape; before: number; after: number }[] = [];
    for (const [label, s] of sizes) {
      const reader = new FindingStore({ tableName: tableOf(label), client: local.client });
      const old = await reader.countOpenBySeverity();
      const now = await reader.openCountsFromUnits();
      const before = reader.consumed['open counts by severity'] ?? 0;
      const after = reader.consumed[DIGEST] ?? 0;
      const exact = SEVERITIES.every((severity) => old[severity] === now.openBySeverity[severity]);
      if (!exact)
        throw new Error(
          `${label}: the unit states sum to ${JSON.stringify(now.openBySeverity)}, the findings count ${JSON.stringify(old)}`,
        );
      const findings = sum(old);
      digestRows.push({ label, shape: s, before, after });
      console.log(
        [
          pad(fmt(s.clusters), 8),
          pad(fmt(now.units), 5),
          pad(fmt(findings), 13),
          pad(fmt(before, 1), 6),
          pad(fmt(after, 1), 5),
          pad(fmt(before / s.clusters, 3), 14),
          pad(fmt(after / s.clusters, 3), 13),
          pad(exact ? 'yes' : 'NO', 5),
        ].join('  '),
      );
    }
    for (const { label, shape: s, before, after } of digestRows) {
      // One line a test can parse.
      const units = s.clusters + Math.ceil(s.clusters / CLUSTERS_PER_ACCOUNT);
      console.log(
        `digest open counts ${label}: clusters=${s.clusters} units=${units} before=${before} after=${after} exact=1`,
      );
    }
    const growth = (label: string, key: 'before' | 'after') => {
      const base = digestRows.find((r) => r.label === 'base')?.[key] ?? 0;
      const other = digestRows.find((r) => r.label === label)?.[key] ?? 0;
      return base > 0 ? `x${(other / base).toFixed(2)}` : 'n/a';
    };
    const mainRow = digestRows.find((r) => r.label === 'main');
    console.log(
      `\nAt ${fmt(shape.clusters)} clusters: ${fmt(mainRow?.before ?? 0, 1)} read units before, ${fmt(mainRow?.after ?? 0, 1)} after. ` +
        `Clusters x2: before ${growth('double', 'before')}, after ${growth('double', 'after')}; findings per cluster x2: ` +
        `before ${growth('base-denser', 'before')}, after ${growth('base-denser', 'after')} (the unit states do not grow ` +
        'with the findings). The digest also reads the units of the run (below), as before.',
    );

    // Every access pattern once, at the full size, on a store whose counters start at zero.
    const reader = new FindingStore({ tableName: 'bench-main-table', client: local.client });
    const busiest = [...main.fleet.results.entries()]
      .filter(([k]) => !k.endsWith('#-#-'))
      .sort((a, b) => b[1].length - a[1].length)[0];
    const unit =
      main.fleet.clusterUnits.find((u) => unitKey(u) === busiest?.[0]) ??
      (main.fleet.clusterUnits[0] as AuditUnit);
    const sample = main.fleet.results.get(unitKey(unit))?.[0];
    const lastNight = nightAt(shape.nights);
    const patterns: [string, () => Promise<unknown[] | Record<string, number> | unknown>][] = [
      [`open findings of a cluster`, () => reader.openFindingsOfUnit(unit)],
      ['open findings by severity and check', () => reader.openFindings('high')],
      ['open findings by severity and check', () => reader.openFindings('medium', 'IRSA-016')],
      ['open counts by severity', () => reader.countOpenBySeverity()],
      [DIGEST, () => reader.openCountsFromUnits().then((r) => r.openBySeverity)],
      ['findings of an account', () => reader.findingsOfAccount(unit.accountId)],
      ['findings of a unit', () => reader.loadFindings(unit)],
      [
        'history of one finding',
        () => reader.findingHistory(sample ? findingIdOf(unit, findingKey(sample)) : ''),
      ],
      [
        'what was open on a cluster at a date',
        () => reader.openAt(unit, nightAt(Math.ceil(shape.nights / 2))),
      ],
      ['changes since a date', () => reader.eventsBetween(nightAt(shape.nights - 6), lastNight)],
      ['runs of the last N nights', () => reader.recentRuns(7)],
      ['units of a run', () => reader.unitRuns(`${lastNight.slice(0, 16)}Z`)],
    ];
    console.log(
      `\nRead units per access pattern, each run once at the full size (store.consumed; unit ${unitKey(unit)}):\n`,
    );
    console.log(`${'pattern'.padEnd(68)}  ${pad('items', 7)}  ${pad('read units', 10)}`);
    const labels = [
      'open findings of a cluster (gsi3)',
      "open findings fleet-wide, severity 'high' (gsi2)",
      "open findings fleet-wide, severity 'medium', check IRSA-016 (gsi2)",
      'open counts by severity, findings counted (gsi2 COUNT, 4 queries)',
      'open counts by severity, the digest: unit states summed (gsi5)',
      'findings of an account, any state (table)',
      "findings of a cluster, the auditor's comparison (table)",
      'history of one finding (gsi1)',
      'what was open on a cluster at a date (events + gsi3)',
      'changes over the last 7 nights (gsi4, one query per day)',
      'runs of the last 7 nights (table)',
      'units of a run (table)',
    ];
    for (const [i, [pattern, query]] of patterns.entries()) {
      const before = reader.consumed[pattern] ?? 0;
      const result = await query();
      const items = Array.isArray(result) ? result.length : sum(result as Record<string, number>);
      const consumed = (reader.consumed[pattern] ?? 0) - before;
      console.log(
        `${(labels[i] ?? pattern).padEnd(68)}  ${pad(fmt(items), 7)}  ${pad(fmt(consumed, 1), 10)}`,
      );
    }
    console.log(`\nDone in ${fmt((performance.now() - started) / 1000, 1)} s.`);
  } finally {
    await local.stop();
  }
}

await main();
