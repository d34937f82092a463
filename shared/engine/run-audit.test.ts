import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resultsFor, serviceAccountSubject } from '../checks/results.ts';
import type { Check, CheckMetadata } from '../checks/types.ts';
import type { AuditConfig } from '../config/audit-config.ts';
import type { Cluster, Fleet } from '../model/fleet.ts';
import { compareFindings, type Finding, runAudit, sortFindings } from './run-audit.ts';

function finding(overrides: Partial<Finding>): Finding {
  return {
    checkId: 'IRSA-013',
    name: 'trust-subject-mismatch',
    title: 't',
    severity: 'high',
    status: 'fail',
    accountId: '111122223333',
    region: 'eu-west-1',
    cluster: 'prod',
    namespace: 'ns',
    serviceAccount: 'sa',
    roleName: null,
    workload: null,
    resource: null,
    message: 'm',
    evidence: {},
    remediation: null,
    ...overrides,
  };
}

/** A fixed permutation (no randomness: a failure replays). */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = (i * 7919 + 13) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('sortFindings', () => {
  // Names whose locale order differs from their code-unit order (case, punctuation, accents),
  // in every field the order compares, and equal findings (the sort must stay stable).
  // `\u00e9` and `e\u0301` are canonically equivalent: localeCompare takes them as equal.
  const names = ['a-b', 'ab', 'AB', 'Ab', 'b', 'B', '\u00e9', 'e', 'e\u0301', 'z', '_x', '10', '9'];
  const findings: Finding[] = [];
  for (const [i, name] of names.entries()) {
    findings.push(
      finding({ cluster: name }),
      finding({ namespace: name, status: i % 2 === 0 ? 'pass' : 'fail' }),
      finding({ serviceAccount: name, severity: i % 3 === 0 ? 'low' : 'high' }),
      finding({ accountId: name === 'b' ? null : '111122223333', region: name, checkId: `IRSA-0${i % 3}1` }),
      finding({ workload: { kind: 'Deployment', name }, message: `first ${name}` }),
      finding({ workload: { kind: 'Deployment', name }, message: `second ${name}` }),
      finding({ resource: name, status: 'exempted' }),
      // Places and checks that compare equal but are different strings, with statuses that interleave.
      finding({ cluster: i % 2 === 0 ? '\u00e9' : 'e\u0301', status: i % 3 === 0 ? 'pass' : 'fail' }),
      finding({ checkId: i % 2 === 0 ? 'IRSA-\u00e9' : 'IRSA-e\u0301', namespace: name }),
    );
  }

  it('orders as compareFindings does, ties kept in their order', () => {
    const input = shuffled(findings);
    const expected = [...input].sort(compareFindings);
    const actual = sortFindings([...input]);
    expect(actual.map((f) => findings.indexOf(f))).toEqual(expected.map((f) => findings.indexOf(f)));
    // The same with no column merged into another, and with a few.
    for (const limit of [1, 64]) {
      expect(sortFindings([...input], limit).map((f) => findings.indexOf(f))).toEqual(
        expected.map((f) => findings.indexOf(f)),
      );
    }
    // The locale order is kept: `a-b` and `ab` are not in code-unit order.
    const clusters = actual
      .filter((f) => f.namespace === 'ns' && f.serviceAccount === 'sa')
      .map((f) => f.cluster);
    expect(clusters.indexOf('AB')).toBeGreaterThan(clusters.indexOf('ab'));
    expect(clusters.indexOf('B')).toBeLessThan(clusters.indexOf('z'));
  });

  it('orders by identity field by field: a namespace before the names that extend it', () => {
    // One key string per finding, compared whole, put `a-b|...` before `a|...` (ICU sorts `-`
    // before `|`): the findings of namespace a were split around those of a-b.
    const input = [
      finding({ namespace: 'a-b', serviceAccount: 'api' }),
      finding({ namespace: 'a', serviceAccount: 'zeta' }),
      finding({ namespace: 'a', serviceAccount: 'api' }),
      finding({ namespace: 'a', serviceAccount: 'api', roleName: 'r', resource: 'x' }),
    ];
    const ordered = sortFindings([...input]).map((f) => [f.namespace, f.serviceAccount, f.resource]);
    expect(ordered).toEqual([
      ['a', 'api', null],
      ['a', 'api', 'x'],
      ['a', 'zeta', null],
      ['a-b', 'api', null],
    ]);
  });

  it('sorts in place and returns the same array', () => {
    const input = shuffled(findings);
    const returned = sortFindings(input);
    expect(returned).toBe(input);
    expect(input.map((f) => findings.indexOf(f))).toEqual(
      shuffled(findings)
        .sort(compareFindings)
        .map((f) => findings.indexOf(f)),
    );
  });
  it('orders as compareFindings does when checks walk the same names in the same order, then another', () => {
    // As the engine makes them: every check walks a cluster's ServiceAccounts and workloads in one
    // order (the sort numbers a name from the one that followed the name before), with changes
    // in that order from one check to the next that the numbering must not be misled by.
    const names = ['api', 'web', 'worker', 'a-b', 'ab', 'AB', '\u00e9', 'e\u0301'];
    const walk = fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(fc.array(walk, { minLength: 1, maxLength: 6 }), fc.boolean(), (walks, workloads) => {
        const input: Finding[] = [];
        for (const [c, walked] of walks.entries()) {
          for (const name of walked) {
            input.push(
              finding(
                workloads
                  ? { checkId: `IRSA-0${c % 3}0`, workload: { kind: 'Deployment', name } }
                  : { checkId: `IRSA-0${c % 3}0`, serviceAccount: name },
              ),
            );
          }
        }
        const expected = [...input].sort(compareFindings).map((f) => input.indexOf(f));
        // Every column merged into one key, some of them, or none.
        for (const limit of [undefined, 16, 1]) {
          const actual = sortFindings([...input], limit);
          expect(actual.map((f) => input.indexOf(f))).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('runAudit: a check result reported as the finding', () => {
  // A check that passes one ServiceAccount and fails another: its results are already findings
  // (results.ts); configuration makes new ones.
  const metadata: CheckMetadata = {
    id: 'TEST-001',
    name: 'test-check',
    title: 'A test check',
    severity: 'medium',
    scope: 'service-account',
    risk: 'r',
    remediation: 'm',
    references: [],
  };
  const results = resultsFor(metadata);
  const cluster = { accountId: '111122223333', region: 'eu-west-1', name: 'prod' } as Cluster;
  const check: Check = {
    metadata,
    reads: [],
    evaluate: () => [
      results.pass(serviceAccountSubject(cluster, { namespace: 'ns', name: 'ok' }), 'fine'),
      results.fail(
        serviceAccountSubject(cluster, { namespace: 'ns', name: 'bad' }),
        'broken',
        { a: 1 },
        'fix it',
      ),
    ],
  };
  const fleet: Fleet = { accounts: [], inputErrors: [] } as unknown as Fleet;
  const now = new Date('2026-06-01T00:00:00Z');
  const audit = (config?: AuditConfig) =>
    runAudit(fleet, { now, catalogue: [check], config }).findings.map((f) => JSON.parse(JSON.stringify(f)));

  const expected = (serviceAccount: string, status: string, rest: Record<string, unknown>) => ({
    checkId: 'TEST-001',
    name: 'test-check',
    title: 'A test check',
    severity: 'medium',
    accountId: '111122223333',
    region: 'eu-west-1',
    cluster: 'prod',
    namespace: 'ns',
    serviceAccount,
    roleName: null,
    workload: null,
    status,
    resource: null,
    ...rest,
  });

  it('prints every field of the finding, in the finding order, without the subject', () => {
    const [failed, passed] = audit();
    expect(Object.keys(failed)).toEqual(
      Object.keys(expected('bad', 'fail', {})).concat(['message', 'evidence', 'remediation']),
    );
    expect(failed).toEqual(
      expected('bad', 'fail', { message: 'broken', evidence: { a: 1 }, remediation: 'fix it' }),
    );
    expect(passed).toEqual(expected('ok', 'pass', { message: 'fine', evidence: {}, remediation: null }));
  });

  it('applies a severity override and an exemption, in the same shape', () => {
    const [exempted, passed] = audit({
      severities: { 'TEST-001': 'critical' },
      exemptions: [
        { checkId: 'TEST-001', scope: { serviceAccount: 'bad' }, reason: 'known', expires: '2026-12-31' },
      ],
    });
    expect(exempted).toEqual({
      ...expected('bad', 'exempted', { message: 'broken', evidence: { a: 1 }, remediation: 'fix it' }),
      severity: 'critical',
      exemption: { reason: 'known', expires: '2026-12-31' },
    });
    expect(passed).toEqual({
      ...expected('ok', 'pass', { message: 'fine', evidence: {}, remediation: null }),
      severity: 'critical',
    });
    // Unchanged by configuration: the check's own result, as it is.
    expect(Object.keys(passed)).toEqual(Object.keys(audit()[1]));
  });
});

describe('runAudit: the summary', () => {
  const cluster = { accountId: '111122223333', region: 'eu-west-1', name: 'prod' } as Cluster;
  const subject = (name: string) => serviceAccountSubject(cluster, { namespace: 'ns', name });
  const checkOf = (id: string, severity: CheckMetadata['severity'], evaluate: Check['evaluate']): Check => ({
    metadata: {
      id,
      name: id.toLowerCase(),
      title: id,
      severity,
      scope: 'service-account',
      risk: 'r',
      remediation: 'm',
      references: [],
    },
    reads: [],
    evaluate,
  });
  const late = resultsFor({ id: 'TEST-009', name: 'late', title: 'late', severity: 'low' } as CheckMetadata);
  const early = resultsFor({
    id: 'TEST-001',
    name: 'early',
    title: 'early',
    severity: 'high',
  } as CheckMetadata);
  // Run in this order: TEST-009 first, though the report sorts TEST-001's failures (more severe) first.
  // The summary counts failures by check in the order the checks ran, not in the report's.
  const catalogue = [
    checkOf('TEST-009', 'low', () => [
      late.fail(subject('a'), 'broken', {}, 'fix'),
      late.notEvaluated(subject('b'), 'no data'),
      late.notEvaluated(subject('c'), 'other reason'),
      late.notEvaluated(subject('d'), 'no data'),
      late.pass(subject('e'), 'fine'),
    ]),
    checkOf('TEST-001', 'high', () => [
      early.fail(subject('a'), 'broken', {}, 'fix'),
      early.fail(subject('b'), 'broken', {}, 'fix'),
      early.fail(subject('c'), 'broken', {}, 'fix'),
    ]),
  ];
  const fleet: Fleet = { accounts: [], inputErrors: [] } as unknown as Fleet;
  const now = new Date('2026-06-01T00:00:00Z');

  it('counts what the findings say, configuration applied, failures by check in the order the checks ran', () => {
    const report = runAudit(fleet, {
      now,
      catalogue,
      config: {
        severities: { 'TEST-001': 'critical' },
        exemptions: [{ checkId: 'TEST-001', scope: { serviceAccount: 'c' }, reason: 'known' }],
      },
    });
    const count = (status: string) => report.findings.filter((f) => f.status === status).length;
    expect(report.findings.map((f) => `${f.checkId} ${f.status}`).slice(0, 3)).toEqual([
      'TEST-001 fail',
      'TEST-001 fail',
      'TEST-009 fail',
    ]);
    expect(report.summary).toMatchObject({
      failed: count('fail'),
      exempted: count('exempted'),
      passed: count('pass'),
      notEvaluated: count('not-evaluated'),
      bySeverity: { critical: 2, high: 0, medium: 0, low: 1 },
    });
    expect([
      report.summary.failed,
      report.summary.exempted,
      report.summary.passed,
      report.summary.notEvaluated,
    ]).toEqual([3, 1, 1, 3]);
    expect(Object.entries(report.summary.byCheck)).toEqual([
      ['TEST-009', 1],
      ['TEST-001', 2],
    ]);
  });

  it('words each not-evaluated result from its own reason, however the reasons alternate', () => {
    const messages = runAudit(fleet, { now, catalogue })
      .findings.filter((f) => f.status === 'not-evaluated')
      .map((f) => `${f.serviceAccount}: ${f.message}`);
    expect(messages).toEqual([
      'b: not evaluated: no data',
      'c: not evaluated: other reason',
      'd: not evaluated: no data',
    ]);
  });
});
