/**
 * Issue 14, the part the CLI cannot show: in which unit the pipeline keeps each finding of
 * examples/cross-account-fleet. `irsa-audit pipeline` prints the store's findings as check does, so a
 * finding kept under the wrong cluster looks right there; `irsa-audit history --cluster`, the alerts
 * and the digest read it by unit. A ServiceAccount or workload finding belongs to its cluster's unit;
 * a role finding about another account's cluster (IRSA-015/016 on the shared account's roles) to the
 * unit of the cluster its trust names (docs/finding-store.md, "Account views"); an account finding to
 * the account's unit. The two `prod` clusters of eu-west-1 (777788889999 and 246802468024) must be kept
 * apart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FindingStore } from '#shared/history/finding-store.ts';
import type { AuditUnit } from '#shared/history/types.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { startLocalPipeline } from '../demo/local-pipeline.ts';
import { type ExpectedFinding, REPO_ROOT } from './support/run-cli.ts';

const FLEET = join(REPO_ROOT, 'examples/cross-account-fleet');
const expected: ExpectedFinding[] = JSON.parse(
  readFileSync(join(FLEET, 'expected-findings.json'), 'utf8'),
).findings;

const SHARED = '444455556666';
const APPS = '777788889999';
const ANALYTICS = '246802468024';

const UNITS: readonly AuditUnit[] = [
  { accountId: SHARED, region: null, cluster: null },
  { accountId: APPS, region: null, cluster: null },
  { accountId: ANALYTICS, region: null, cluster: null },
  { accountId: SHARED, region: 'eu-west-1', cluster: 'platform' },
  { accountId: APPS, region: 'eu-west-1', cluster: 'prod' },
  { accountId: ANALYTICS, region: 'eu-west-1', cluster: 'prod' },
  { accountId: ANALYTICS, region: 'us-east-1', cluster: 'ml' },
];

/**
 * The shared roles' role-scope findings and the account of the cluster each is about (from the
 * generator, scripts/make-cross-account-fleet.ts: the issuer its trust statement names).
 */
const ROLE_FINDING_CLUSTER_ACCOUNTS: Readonly<Record<string, readonly string[]>> = {
  'IRSA-015 etl-shared': [APPS],
  'IRSA-015 prod-readonly-any': [APPS, ANALYTICS],
  'IRSA-016 notebooks-data': [ANALYTICS],
};

interface Placed {
  readonly checkId: string;
  readonly accountId: string | null;
  readonly cluster: string | null;
  readonly namespace: string | null;
  readonly serviceAccount: string | null;
  readonly roleName: string | null;
}

const unitLabel = (u: AuditUnit): string => [u.accountId, u.region, u.cluster].filter(Boolean).join('/');
const placed = (unit: AuditUnit, f: Placed): string =>
  `${unitLabel(unit)}: ${[f.checkId, f.accountId, f.cluster, f.namespace, f.serviceAccount, f.roleName].map((x) => x ?? '-').join(' ')}`;

/** Where each expected finding belongs, as "unit: identity". */
function expectedPlacements(): string[] {
  return expected
    .flatMap((f) => {
      if (f.cluster === null)
        return [placed({ accountId: f.accountId ?? '', region: null, cluster: null }, f)];
      const region = (f as ExpectedFinding & { region: string }).region;
      if (f.roleName === null)
        return [placed({ accountId: f.accountId ?? '', region, cluster: f.cluster }, f)];
      const accounts = ROLE_FINDING_CLUSTER_ACCOUNTS[`${f.checkId} ${f.roleName}`] ?? expect.unreachable();
      // A role trusting two clusters has one expected entry per cluster: take each account once.
      const nth = expected.filter((e) => e.checkId === f.checkId && e.roleName === f.roleName).indexOf(f);
      const accountId = accounts[nth] ?? expect.unreachable();
      return [placed({ accountId, region, cluster: f.cluster }, f)];
    })
    .sort();
}

/** Known misplacements, as "unit: identity": none (each cross-account role finding names its cluster). */
const KNOWN_MISPLACED: { missing: string[]; extra: string[] } = { missing: [], extra: [] };

let dynamo: LocalDynamo;
let actual: string[];

beforeAll(async () => {
  dynamo = await startDynalite();
  const pipeline = await startLocalPipeline({ fleetDir: FLEET, dynamo });
  try {
    const night = await pipeline.runNight('2026-11-01T02:00:00.000Z');
    expect(night.failedRecords).toBe(0);
  } finally {
    await pipeline.stop();
  }
  const store = new FindingStore({ tableName: dynamo.tableName, client: dynamo.client });
  actual = (
    await Promise.all(
      UNITS.map(async (unit) => (await store.openFindingsOfUnit(unit)).map((f) => placed(unit, f))),
    )
  )
    .flat()
    .sort();
}, 120_000);

afterAll(async () => {
  await dynamo?.stop();
});

describe('the pipeline on examples/cross-account-fleet: the unit of each finding', () => {
  it("keeps every finding in its cluster's (or account's) unit, but the known misplacements", () => {
    const want = expectedPlacements();
    expect({
      missing: want.filter((p) => !actual.includes(p)),
      extra: actual.filter((p) => !want.includes(p)),
    }).toEqual(KNOWN_MISPLACED);
  });

  it('keeps the findings of the two prod clusters apart: each ServiceAccount finding in its own account', () => {
    const saFindings = (account: string) =>
      actual.filter((p) => p.startsWith(`${account}/eu-west-1/prod: `) && !p.includes(` ${SHARED} `));
    expect(saFindings(APPS)).toEqual([
      `${APPS}/eu-west-1/prod: IRSA-011 ${APPS} prod orders refunds -`,
      `${APPS}/eu-west-1/prod: IRSA-013 ${APPS} prod orders ledger-sync -`,
    ]);
    expect(saFindings(ANALYTICS)).toEqual([
      `${ANALYTICS}/eu-west-1/prod: IRSA-013 ${ANALYTICS} prod reporting exporter -`,
      `${ANALYTICS}/eu-west-1/prod: IRSA-014 ${ANALYTICS} prod reporting dashboards -`,
      `${ANALYTICS}/eu-west-1/prod: IRSA-018 ${ANALYTICS} prod reporting warehouse-loader -`,
    ]);
  });
});
