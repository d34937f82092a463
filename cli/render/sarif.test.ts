import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import type { AuditReport, Finding } from '#shared/engine/run-audit.ts';
import { visible } from '#shared/sinks/untrusted.ts';
import packageJson from '../../package.json' with { type: 'json' };
import { auditSampleFleet, SAMPLE_FLEET } from '../../test/support/sample-report.ts';
import { sarifSchemaErrors } from '../../test/support/sarif-schema.ts';
import type { ReportedFinding } from './report.ts';
import { FINGERPRINT_KEY, findingObject, renderSarif, SECURITY_SEVERITY, safeJson } from './sarif.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;
const RAW_FORMAT = /[\u061C\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/;

interface SarifResult {
  ruleId: string;
  ruleIndex?: number;
  kind: string;
  level: string;
  message: { text: string };
  locations: {
    physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region: { startLine: number } };
    logicalLocations: { name: string; fullyQualifiedName: string; kind: string }[];
  }[];
  partialFingerprints: Record<string, string>;
  suppressions?: { kind: string; status: string; justification: string }[];
  properties: Record<string, unknown>;
}

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  help: { text: string; markdown: string };
  defaultConfiguration: { level: string };
  properties: { tags: string[]; 'security-severity': string };
}

function sarifOf(report: AuditReport, findings: readonly ReportedFinding[]) {
  const text = renderSarif(report, findings);
  const log = JSON.parse(text);
  const run = log.runs[0];
  return {
    text,
    log,
    run,
    rules: run.tool.driver.rules as SarifRule[],
    results: run.results as SarifResult[],
  };
}

const failing = (report: AuditReport) =>
  report.findings.filter((f) => f.status === 'fail' || f.status === 'exempted');

let report: AuditReport;

beforeAll(async () => {
  report = await auditSampleFleet();
});

describe('SARIF of the sample fleet', () => {
  it('is valid against the official SARIF 2.1.0 schema, with and without passes', () => {
    expect(sarifSchemaErrors(sarifOf(report, failing(report)).log)).toEqual([]);
    expect(sarifSchemaErrors(sarifOf(report, report.findings).log)).toEqual([]);
    expect(sarifSchemaErrors(sarifOf(report, []).log)).toEqual([]);
  });

  it('names the tool with the package version, and has one rule per check of the catalogue', () => {
    const { run, rules } = sarifOf(report, failing(report));
    expect(run.tool.driver.name).toBe('irsa-audit');
    expect(run.tool.driver.version).toBe(packageJson.version);
    expect(rules.map((r) => r.id)).toEqual(CATALOGUE.map((c) => c.metadata.id));
    for (const check of CATALOGUE) {
      const rule = rules.find((r) => r.id === check.metadata.id);
      expect(rule?.name).toBe(check.metadata.name);
      expect(rule?.shortDescription.text).toBe(check.metadata.title);
      expect(rule?.properties.tags).toContain('security');
      expect(rule?.properties['security-severity']).toBe(SECURITY_SEVERITY[check.metadata.severity]);
      expect(rule?.help.text).toContain(check.metadata.remediation);
      expect(rule?.help.markdown).toContain(check.metadata.remediation);
      for (const reference of check.metadata.references) expect(rule?.help.text).toContain(reference);
    }
  });

  it('maps severities to levels and GitHub security-severity bands', () => {
    const { rules } = sarifOf(report, failing(report));
    const band = (id: string) => Number(rules.find((r) => r.id === id)?.properties['security-severity']);
    const levelOf = (id: string) => rules.find((r) => r.id === id)?.defaultConfiguration.level;
    // IRSA-001 critical, IRSA-050 low (catalogue).
    expect(band('IRSA-001')).toBeGreaterThanOrEqual(9);
    expect(levelOf('IRSA-001')).toBe('error');
    expect(band('IRSA-050')).toBeLessThan(4);
    expect(levelOf('IRSA-050')).toBe('note');
    for (const r of rules) {
      const n = Number(r.properties['security-severity']);
      expect(n > 0 && n <= 10).toBe(true);
    }
  });

  it('has one fail result per failing finding: its message, level, rule index and the fix in properties', () => {
    const shown = failing(report);
    const { results, rules } = sarifOf(report, shown);
    expect(results).toHaveLength(shown.length);
    expect(shown.length).toBeGreaterThan(10);
    for (const [i, f] of shown.entries()) {
      const r = results[i];
      expect(r?.ruleId).toBe(f.checkId);
      expect(rules[r?.ruleIndex ?? -1]?.id).toBe(f.checkId);
      expect(r?.kind).toBe('fail');
      expect(r?.level).toBe({ critical: 'error', high: 'error', medium: 'warning', low: 'note' }[f.severity]);
      expect(r?.message.text).toBe(visible(f.message));
      expect(r?.properties.remediation).toBe(f.remediation === null ? null : visible(f.remediation));
      expect(r?.suppressions).toBeUndefined();
    }
  });

  it('locates each result at its object (logical) and at the snapshot file it was read from (physical)', () => {
    const { results } = sarifOf(report, report.findings);
    for (const r of results) {
      const [location] = r.locations;
      const uri = location?.physicalLocation.artifactLocation.uri ?? '';
      expect(location?.physicalLocation.artifactLocation.uriBaseId).toBe('FLEETROOT');
      expect(location?.physicalLocation.region.startLine).toBe(1);
      expect(existsSync(join(SAMPLE_FLEET, decodeURIComponent(uri))), `${r.ruleId} ${uri}`).toBe(true);
      expect(location?.logicalLocations).toHaveLength(1);
    }
    const byKind = (kind: string) =>
      results.flatMap((r) => r.locations[0]?.logicalLocations ?? []).filter((l) => l.kind === kind);
    expect(byKind('kubernetesServiceAccount').length).toBeGreaterThan(0);
    expect(byKind('kubernetesWorkload').length).toBeGreaterThan(0);
    expect(byKind('iamRole').length).toBeGreaterThan(0);
    expect(byKind('eksCluster').length).toBeGreaterThan(0);
    expect(byKind('iamOidcProvider').length).toBeGreaterThan(0);
    const irsa010 = results.find((r) => r.ruleId === 'IRSA-010' && r.kind === 'fail');
    const f010 = report.findings.find((f) => f.checkId === 'IRSA-010' && f.status === 'fail') as Finding;
    expect(irsa010?.locations[0]?.logicalLocations[0]).toEqual({
      name: `${f010.namespace}/${f010.serviceAccount}`,
      fullyQualifiedName: `${f010.accountId}/${f010.region}/${f010.cluster}/${f010.namespace}/${f010.serviceAccount}`,
      kind: 'kubernetesServiceAccount',
    });
    expect(irsa010?.locations[0]?.physicalLocation.artifactLocation.uri).toBe(
      `${f010.accountId}/${f010.region}/${f010.cluster}/kubernetes.json`,
    );
    const role = results.find((r) => r.ruleId === 'IRSA-017' && r.kind === 'fail');
    expect(role?.locations[0]?.physicalLocation.artifactLocation.uri).toMatch(/^\d{12}\/iam\.json$/);
  });

  it('shows passes and not-evaluated results only when given them, as kind pass and open with level none', () => {
    expect(sarifOf(report, failing(report)).results.every((r) => r.kind === 'fail')).toBe(true);
    const { results } = sarifOf(report, report.findings);
    const kinds = new Set(results.map((r) => r.kind));
    expect(kinds).toEqual(new Set(['fail', 'pass', 'open']));
    for (const r of results.filter((r) => r.kind !== 'fail')) expect(r.level).toBe('none');
    expect(results.filter((r) => r.kind === 'open')).toHaveLength(report.summary.notEvaluated);
    expect(results.filter((r) => r.kind === 'pass')).toHaveLength(report.summary.passed);
  });

  it('fingerprints a finding by its identity: the same on another night, distinct between findings', async () => {
    const nextNight = await auditSampleFleet({ now: new Date('2026-11-03T02:00:00.000Z') });
    const prints = (r: AuditReport) =>
      sarifOf(r, r.findings).results.map((x) => x.partialFingerprints[FINGERPRINT_KEY]);
    const tonight = prints(report);
    expect(prints(nextNight)).toEqual(tonight);
    expect(new Set(tonight).size).toBe(tonight.length);
    for (const p of tonight) expect(p).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports exempted findings with a suppression that carries the justification', async () => {
    const exempted = await auditSampleFleet({
      config: {
        severities: {},
        exemptions: [
          {
            checkId: 'IRSA-050',
            scope: {},
            reason: 'provider kept for the DR cluster',
            expires: '2027-01-31',
          },
        ],
      },
    });
    const { results, log } = sarifOf(exempted, failing(exempted));
    const suppressed = results.filter((r) => r.suppressions);
    expect(suppressed.length).toBeGreaterThan(0);
    for (const r of suppressed) {
      expect(r.ruleId).toBe('IRSA-050');
      expect(r.kind).toBe('fail');
      expect(r.suppressions).toEqual([
        {
          kind: 'external',
          status: 'accepted',
          justification: 'provider kept for the DR cluster (until 2027-01-31)',
        },
      ]);
      expect(r.properties.status).toBe('exempted');
    }
    expect(sarifSchemaErrors(log)).toEqual([]);
  });

  it('uses a configured severity for the rule and its results', async () => {
    const raised = await auditSampleFleet({
      config: { severities: { 'IRSA-050': 'critical' }, exemptions: [] },
    });
    const { rules, results } = sarifOf(raised, failing(raised));
    const rule = rules.find((r) => r.id === 'IRSA-050');
    expect(rule?.properties['security-severity']).toBe(SECURITY_SEVERITY.critical);
    expect(results.find((r) => r.ruleId === 'IRSA-050')?.level).toBe('error');
  });

  it('says in the invocation whether the audit was complete, and what was not evaluated', () => {
    const { run } = sarifOf(report, failing(report));
    const [invocation] = run.invocations;
    expect(invocation.executionSuccessful).toBe(true);
    expect(invocation.endTimeUtc).toBe(report.summary.generatedAt);
    const notes = invocation.toolExecutionNotifications as {
      descriptor: { id: string };
      message: { text: string };
    }[];
    const notEvaluated = notes.find((n) => n.descriptor.id === 'not-evaluated');
    expect(notEvaluated?.message.text).toContain(
      `${report.summary.notEvaluated} result(s) were not evaluated`,
    );
    expect(run.properties.summary.failed).toBe(report.summary.failed);
  });

  it('says when the source keeps no passes (the finding store), and when the audit was incomplete', () => {
    const fromStore = {
      summary: { ...report.summary, passed: null, notEvaluated: null, inputErrors: 2 },
    };
    const { run, log } = sarifOf(report, failing(report));
    expect(run).toBeDefined();
    const stored = JSON.parse(renderSarif(fromStore, failing(report)));
    const [invocation] = stored.runs[0].invocations;
    expect(invocation.executionSuccessful).toBe(false);
    const ids = invocation.toolExecutionNotifications.map(
      (n: { descriptor: { id: string } }) => n.descriptor.id,
    );
    expect(ids).toEqual(['input-errors', 'results-not-kept']);
    expect(sarifSchemaErrors(stored)).toEqual([]);
    expect(sarifSchemaErrors(log)).toEqual([]);
  });
});

describe('untrusted values in SARIF', () => {
  const hostile: ReportedFinding = {
    checkId: 'AUDIT-004',
    name: 'input-invalid',
    title: 'A snapshot file could not be read or failed validation',
    severity: 'medium',
    status: 'fail',
    accountId: '210987654321',
    region: null,
    cluster: null,
    namespace: null,
    serviceAccount: null,
    roleName: null,
    workload: null,
    resource: '210987654321/eu west\u001b[2J#?%/x\u202e',
    message: 'folder \u001b]0;pwned\u0007 cart\u202eipa \u0085 next\u2028line',
    remediation: '# re-collect \u001b[31m',
  };

  it('shows control and bidirectional characters escaped, percent-encodes URIs, and stays schema-valid', () => {
    const text = renderSarif({ summary: { ...report.summary } }, [hostile]);
    expect(RAW_CONTROL.test(text)).toBe(false);
    expect(RAW_FORMAT.test(text)).toBe(false);
    expect(/[\u2028\u2029\u0085]/.test(text)).toBe(false);
    const log = JSON.parse(text);
    expect(sarifSchemaErrors(log)).toEqual([]);
    const [result] = log.runs[0].results;
    expect(result.message.text).toBe('folder \\x1b]0;pwned\\x07 cart\\u202eipa \\x85 next\\u2028line');
    expect(result.locations[0].physicalLocation.artifactLocation.uri).toBe(
      '210987654321/eu%20west%1B%5B2J%23%3F%25/x%E2%80%AE',
    );
    expect(result.properties.remediation).toBe('# re-collect \\x1b[31m');
  });

  it('writes any raw C1, formatting or separator character left in a value as a JSON escape, losslessly', () => {
    const value = { a: 'x\u0085y\u202ez\u2028w\u00ad', b: '\u001b' };
    const text = safeJson(value);
    for (const raw of ['\u0085', '\u202e', '\u2028', '\u00ad', '\u001b']) expect(text).not.toContain(raw);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('the validator is real: it rejects a location URI that is not a URI reference and a missing driver name', () => {
    const log = JSON.parse(renderSarif({ summary: { ...report.summary } }, [hostile]));
    log.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri = 'eu west\u001b';
    delete log.runs[0].tool.driver.name;
    const errors = sarifSchemaErrors(log).join('\n');
    expect(errors).toMatch(/artifactLocation\/uri must match format "uri-reference"/);
    expect(errors).toMatch(/driver must have required property 'name'/);
  });

  it('takes the object of a finding from its most specific identity field', () => {
    const base = { ...hostile, checkId: 'IRSA-015', resource: null };
    expect(findingObject({ ...base, roleName: 'r' })).toMatchObject({
      kind: 'iamRole',
      file: ['210987654321', 'iam.json'],
    });
    expect(findingObject({ ...base, accountId: null })).toMatchObject({ kind: 'fleet', file: null });
  });
});
