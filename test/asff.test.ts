/**
 * `--format asff`: every finding `check` prints is one Security Hub's BatchImportFindings takes
 * (the emulator's ASFF validation: required attributes, types, enums, limits), with a stable Id,
 * the account's default product, the severity label, typed resources, and the state of the finding
 * (Compliance, Workflow, RecordState); text fields cut to ASFF's limits, saying so.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asffId, importerOfProductArn, toAsff } from '#shared/notify/asff.ts';
import { runCheckCommand } from '../cli/commands/check.ts';
import { renderAsff } from '../cli/render/asff.ts';
import type { ReportedFinding } from '../cli/render/report.ts';
import { asffProblem } from '../emulator/security-hub.ts';
import { REPO_ROOT } from './support/run-cli.ts';

type Asff = Record<string, unknown> & {
  Id: string;
  ProductArn: string;
  AwsAccountId: string;
  GeneratorId: string;
  Title: string;
  Description: string;
  Region: string;
  Resources: { Type: string; Id: string; Region?: string; Partition?: string }[];
  FindingProviderFields: { Severity: { Label: string }; Types: string[] };
  Compliance: { Status: string };
  Workflow: { Status: string };
  RecordState: string;
  Note?: { Text: string };
  Remediation: { Recommendation: { Text: string } };
  ProductFields: Record<string, string>;
};

const FLEET = join(REPO_ROOT, 'examples/fleet');
const CONFIG = join(REPO_ROOT, 'examples/irsa-audit.config.yaml');

async function check(args: { format: 'asff' | 'json'; now: Date; includePassed?: boolean }): Promise<string> {
  let out = '';
  const code = await runCheckCommand(
    FLEET,
    {
      format: args.format,
      config: CONFIG,
      now: args.now,
      includePassed: args.includePassed,
      color: false,
      progress: false,
    },
    { stdout: (t) => (out += t), stderr: () => {}, cwd: REPO_ROOT, width: 100 },
  );
  expect(code).toBe(0);
  return out;
}

const NOW = new Date('2026-11-03T02:00:00.000Z');

const base: ReportedFinding = {
  checkId: 'IRSA-013',
  name: 'trust-subject-mismatch',
  title: "The role's trust policy does not admit the service account",
  severity: 'high',
  status: 'fail',
  accountId: '210987654321',
  region: 'eu-west-1',
  cluster: 'checkout',
  namespace: 'shop',
  serviceAccount: 'cart',
  roleName: 'cart-role',
  workload: null,
  resource: null,
  message: 'role cart-role does not trust shop/cart',
  remediation: 'aws iam update-assume-role-policy --role-name cart-role ...',
};

describe('check --format asff', () => {
  it('prints a JSON array of findings Security Hub takes, one per reported finding', async () => {
    const [asff, json] = await Promise.all([
      check({ format: 'asff', now: NOW }),
      check({ format: 'json', now: NOW }),
    ]);
    const findings = JSON.parse(asff) as Asff[];
    const reported = JSON.parse(json).findings as ReportedFinding[];
    expect(findings.length).toBe(reported.length);
    expect(findings.length).toBeGreaterThan(5);
    for (const f of findings) expect(asffProblem(f), f.Id).toBeNull();
    expect(new Set(findings.map((f) => f.Id)).size).toBe(findings.length);
    for (const [i, f] of findings.entries()) {
      const r = reported[i] as ReportedFinding;
      expect(f.Id).toBe(asffId(r));
      expect(f.GeneratorId).toBe(r.checkId);
      expect(f.AwsAccountId).toBe(r.accountId);
      expect(f.ProductArn).toBe(
        `arn:aws:securityhub:${f.Region}:${r.accountId}:product/${r.accountId}/default`,
      );
      expect(importerOfProductArn(f.ProductArn)?.accountId).toBe(r.accountId);
      expect(f.Region).toBe(r.region ?? 'us-east-1');
      expect(f.FindingProviderFields.Severity.Label).toBe(r.severity.toUpperCase());
      expect(f.FindingProviderFields.Types[0]).toMatch(
        /^Software and Configuration Checks\/AWS Security Best Practices\//,
      );
      expect(f.SchemaVersion).toBe('2018-10-08');
      expect(f.CreatedAt).toBe(NOW.toISOString());
      expect(f.ProductFields['irsa-audit/CheckId']).toBe(r.checkId);
    }
  });

  it('gives a finding the same Id on every run, and another finding another Id', async () => {
    const a = JSON.parse(await check({ format: 'asff', now: NOW })) as Asff[];
    const b = JSON.parse(await check({ format: 'asff', now: new Date('2026-11-04T02:00:00Z') })) as Asff[];
    expect(b.map((f) => f.Id)).toEqual(a.map((f) => f.Id));
    expect(asffId(base)).not.toBe(asffId({ ...base, serviceAccount: 'cart2' }));
    expect(asffId(base)).toBe(asffId({ ...base, title: 'another wording' } as typeof base));
  });

  it('types the resources: the role, the cluster, the ServiceAccount as a Kubernetes object', async () => {
    const findings = JSON.parse(await check({ format: 'asff', now: NOW })) as Asff[];
    const resources = findings.flatMap((f) => f.Resources);
    expect(resources.some((r) => r.Type === 'AwsIamRole' && /^arn:aws:iam::\d{12}:role\//.test(r.Id))).toBe(
      true,
    );
    expect(
      resources.some(
        (r) => r.Type === 'AwsEksCluster' && /^arn:aws:eks:[a-z0-9-]+:\d{12}:cluster\//.test(r.Id),
      ),
    ).toBe(true);
    expect(
      resources.some((r) =>
        /^k8s:\/\/arn:aws:eks:[a-z0-9-]+:\d{12}:cluster\/[^/]+\/namespaces\/[^/]+\/serviceaccounts\/[^/]+$/.test(
          r.Id,
        ),
      ),
    ).toBe(true);
    for (const r of resources) {
      expect(r.Region).toMatch(/^[a-z]{2}(-[a-z]+)+-\d$/);
      expect(r.Partition).toBe('aws');
    }
  });

  it('an exempted finding is SUPPRESSED with the reason in a Note; a failing one NEW and FAILED', async () => {
    const findings = JSON.parse(await check({ format: 'asff', now: NOW })) as Asff[];
    const exempted = findings.filter((f) => f.ProductFields['irsa-audit/Status'] === 'exempted');
    expect(exempted.length).toBeGreaterThan(0);
    for (const f of exempted) {
      expect(f.Workflow.Status).toBe('SUPPRESSED');
      expect(f.Compliance.Status).toBe('FAILED');
      expect(f.Note?.Text).toMatch(/OPS-2291|SEC-812/);
    }
    const failing = findings.filter((f) => f.ProductFields['irsa-audit/Status'] === 'fail');
    for (const f of failing) {
      expect(f.Workflow.Status).toBe('NEW');
      expect(f.Compliance.Status).toBe('FAILED');
      expect(f.RecordState).toBe('ACTIVE');
    }
  });

  it('with --include-passed: passes are PASSED, not-evaluated results NOT_AVAILABLE', async () => {
    const findings = JSON.parse(await check({ format: 'asff', now: NOW, includePassed: true })) as Asff[];
    const status = (s: string) => findings.filter((f) => f.ProductFields['irsa-audit/Status'] === s);
    expect(status('pass').length).toBeGreaterThan(0);
    for (const f of status('pass')) expect(f.Compliance.Status).toBe('PASSED');
    for (const f of status('not-evaluated')) expect(f.Compliance.Status).toBe('NOT_AVAILABLE');
    for (const f of findings) expect(asffProblem(f), f.Id).toBeNull();
  });
});

describe('the ASFF mapping', () => {
  it('a resolved finding is ARCHIVED, RESOLVED and PASSED', () => {
    const f = toAsff({ ...base, status: 'resolved' }, { now: NOW }) as unknown as Asff;
    expect(f.RecordState).toBe('ARCHIVED');
    expect(f.Workflow.Status).toBe('RESOLVED');
    expect(f.Compliance.Status).toBe('PASSED');
    expect(asffProblem(f)).toBeNull();
  });

  it('cuts Title, Description, the recommendation and the note to their limits, saying so', () => {
    const long = 'x '.repeat(3000);
    const f = toAsff(
      {
        ...base,
        status: 'exempted',
        title: `T${'t'.repeat(400)}`,
        message: long,
        remediation: long,
        exemption: { reason: long, expires: null },
      },
      { now: NOW },
    ) as unknown as Asff;
    expect(asffProblem(f)).toBeNull();
    expect(f.Title.length).toBeLessThanOrEqual(256);
    expect(f.Description.length).toBe(1024);
    expect(f.Remediation.Recommendation.Text.length).toBe(512);
    expect(f.Note?.Text.length).toBe(512);
    for (const text of [f.Title, f.Description, f.Remediation.Recommendation.Text, f.Note?.Text])
      expect(text).toMatch(/…\[cut: [\d,]+ characters in all\]$/);
  });

  it('imports into the given account when there is an importer; a finding without a region goes to the home region', () => {
    const importer = { accountId: '111122223333', region: 'eu-central-1', partition: 'aws' };
    const f = toAsff({ ...base, region: null, cluster: null }, { now: NOW, importer }) as unknown as Asff;
    expect(f.AwsAccountId).toBe('111122223333');
    expect(f.ProductArn).toBe('arn:aws:securityhub:eu-central-1:111122223333:product/111122223333/default');
    expect(f.ProductFields['irsa-audit/AccountId']).toBe('210987654321');
    expect(f.Resources[0]).toMatchObject({
      Type: 'AwsIamRole',
      Id: 'arn:aws:iam::210987654321:role/cart-role',
    });
    const own = toAsff({ ...base, region: null, cluster: null }, { now: NOW }) as unknown as Asff;
    expect(own.Region).toBe('us-east-1');
    expect(renderAsff([{ ...base, region: null }], { now: NOW, homeRegion: 'eu-west-3' })).toContain(
      'arn:aws:securityhub:eu-west-3:210987654321:product/210987654321/default',
    );
  });

  it('places China and GovCloud findings in their partitions', () => {
    const f = toAsff({ ...base, region: 'cn-north-1' }, { now: NOW }) as unknown as Asff;
    expect(f.ProductArn).toMatch(/^arn:aws-cn:securityhub:cn-north-1:/);
    expect(f.Resources.every((r) => r.Partition === 'aws-cn')).toBe(true);
    expect(f.Resources.find((r) => r.Type === 'AwsEksCluster')?.Id).toBe(
      'arn:aws-cn:eks:cn-north-1:210987654321:cluster/checkout',
    );
  });

  it('leaves out a finding that names no account, and shows a hostile name escaped, never raw', () => {
    expect(toAsff({ ...base, accountId: null }, { now: NOW })).toBeNull();
    const hostile = '\u001b[2J\u202Eevil\u0007';
    const f = toAsff(
      { ...base, serviceAccount: hostile, roleName: hostile, message: `m ${hostile}` },
      { now: NOW },
    ) as unknown as Asff;
    expect(asffProblem(f)).toBeNull();
    const text = JSON.stringify(f);
    expect(text).not.toMatch(/\\u001b|\\u0007|\u202e/i);
    expect(text).toContain('\\\\x1b[2J');
    expect(f.Resources.find((r) => r.Type === 'Other' && r.Id.startsWith('iam-role:'))).toBeDefined();
  });
});
