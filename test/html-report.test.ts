/**
 * `irsa-audit check --format html -o FILE` on the sample fleet, read as a browser reads it (parse5):
 * every failing finding with its check id and fix; the IRSA chain of a failing ServiceAccount with
 * the right link marked; nothing that fetches or runs (no script, no external URL, a CSP allowing
 * only the page's own stylesheet); the coverage notice when the audit could not look.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import { SEVERITIES } from '#shared/checks/types.ts';
import { renderHtml } from '../cli/render/html.ts';
import { CHAIN_LINKS, linkOfCheck } from '../cli/render/irsa-chain.ts';
import type { ReportedFinding, ReportSummary } from '../cli/render/report.ts';
import {
  attr,
  byClass,
  elements,
  externalReferences,
  type HtmlElement,
  parseHtml,
  textOf,
} from './support/html-dom.ts';
import { type CliRun, type JsonFinding, runCliAsync } from './support/run-cli.ts';

let work: string;
let run: CliRun;
let page: string;
let findings: (JsonFinding & Record<string, string | null>)[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'irsa-html-'));
  const [html, json] = await Promise.all([
    runCliAsync(['check', 'examples/fleet', '-f', 'html', '-o', join(work, 'report.html'), '-q']),
    runCliAsync(['check', 'examples/fleet', '-f', 'json', '-q']),
  ]);
  run = html;
  page = readFileSync(join(work, 'report.html'), 'utf8');
  findings = JSON.parse(json.stdout).findings;
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The page's finding items, by check id. */
const items = (doc: ReturnType<typeof parseHtml>) => byClass(doc, 'finding');

/** The chain of a ServiceAccount: link -> state. */
function chainOf(doc: ReturnType<typeof parseHtml>, namespace: string, name: string) {
  const chain = byClass(doc, 'chain').find(
    (c) => attr(c, 'data-namespace') === namespace && attr(c, 'data-service-account') === name,
  );
  if (!chain) return undefined;
  return Object.fromEntries(
    byClass(chain, 'link').map((l) => [attr(l, 'data-link'), attr(l, 'data-state')]),
  ) as Record<string, string>;
}

describe('check --format html on examples/fleet', () => {
  it('writes one HTML file, naming it on stderr', () => {
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/wrote .*report\.html/);
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
  });

  it('has every failing finding with its check id, message and fix', () => {
    const doc = parseHtml(page);
    const shown = items(doc);
    const failing = findings.filter((f) => f.status === 'fail');
    expect(failing.length).toBeGreaterThan(15);
    expect(shown).toHaveLength(failing.length);
    for (const f of failing) {
      const item = shown.find(
        (i) => attr(i, 'data-check') === f.checkId && textOf(i).includes(f.message as string),
      );
      expect(item, `${f.checkId}: ${f.message}`).toBeDefined();
      const text = textOf(item as HtmlElement);
      expect(text).toContain(f.title);
      expect(attr(item as HtmlElement, 'data-severity')).toBe(f.severity);
      expect(text).toContain(f.severity.toUpperCase());
      // The fix, whole and exact, in <pre><code> (copyable as is).
      const code = elements(item as HtmlElement).find((e) => e.tagName === 'code');
      expect(code, f.checkId).toBeDefined();
      expect(textOf(code as HtmlElement)).toBe(f.remediation);
      expect((code as HtmlElement).parentNode?.nodeName).toBe('pre');
    }
  });

  it('summarises the fleet: accounts, clusters, findings by severity and by check', () => {
    const doc = parseHtml(page);
    const figures = Object.fromEntries(
      elements(doc)
        .filter((e) => e.tagName === 'dt')
        .map((dt) => [
          textOf(dt),
          textOf(elements(dt.parentNode as HtmlElement).find((e) => e.tagName === 'dd') as HtmlElement),
        ]),
    );
    expect(figures).toMatchObject({
      'Failing findings': String(findings.filter((f) => f.status === 'fail').length),
      Accounts: '2',
      Clusters: '5',
      'Checks run': String(CATALOGUE.length),
    });
    const tables = elements(doc).filter((e) => e.tagName === 'table');
    const severity = tables.find((t) => textOf(t).trim().startsWith('Failing findings by severity'));
    const rows = elements(severity as HtmlElement)
      .filter((e) => e.tagName === 'tr')
      .slice(1)
      .map((r) =>
        elements(r)
          .filter((c) => c.tagName === 'td' || c.tagName === 'th')
          .map((c) => textOf(c).trim())
          .filter(Boolean)
          .join(' '),
      );
    const counts = SEVERITIES.map(
      (s) => findings.filter((f) => f.status === 'fail' && f.severity === s).length,
    );
    expect(rows).toEqual(SEVERITIES.map((s, i) => `${s.toUpperCase()} ${counts[i]}`));
    const byCheck = tables.find((t) => textOf(t).trim().startsWith('Failing findings by check'));
    for (const id of new Set(findings.map((f) => f.checkId)))
      expect(textOf(byCheck as HtmlElement)).toContain(id);
    // Not evaluated results are said, not hidden (the sample fleet has no probe results).
    expect(byClass(doc, 'callout').map((c) => attr(c, 'data-coverage'))).toContain('not-evaluated');
  });

  it("draws each failing ServiceAccount's IRSA chain with the broken link marked", () => {
    const doc = parseHtml(page);
    expect(chainOf(doc, 'training', 'trainer')).toEqual({
      provider: 'no-finding',
      role: 'broken',
      serviceAccount: 'no-finding',
      webhook: 'no-finding',
      pods: 'no-finding',
    });
    // legacy has no OIDC provider (IRSA-001, cluster-wide): it breaks every chain of the cluster.
    expect(chainOf(doc, 'orders', 'order-sync')).toMatchObject({
      provider: 'broken',
      serviceAccount: 'broken',
      role: 'no-finding',
    });
    expect(chainOf(doc, 'checkout', 'cart-api')).toMatchObject({ webhook: 'broken', pods: 'broken' });
    expect(chainOf(doc, 'etl', 'spark-runner')).toMatchObject({
      serviceAccount: 'broken',
      pods: 'no-finding',
    });
    // The state is text too, not only colour.
    const trainer = byClass(doc, 'chain').find((c) => attr(c, 'data-service-account') === 'trainer');
    expect(textOf(trainer as HtmlElement)).toMatch(/IAM role trust\s*✗ broken: IRSA-013/);
    // One chain per failing ServiceAccount.
    const accounts = new Set(
      findings
        .filter((f) => f.status === 'fail' && f.serviceAccount)
        .map((f) => `${f.cluster}/${f.namespace}/${f.serviceAccount}`),
    );
    expect(byClass(doc, 'chain')).toHaveLength(accounts.size);
  });

  it('fetches and runs nothing: no script, no external URL, a CSP that allows only its own stylesheet', () => {
    const doc = parseHtml(page);
    expect(externalReferences(doc)).toEqual([]);
    expect(page).not.toMatch(/https?:\/\/[^\s"<]*\.(css|js|woff2?|png|svg)/i);
    const meta = elements(doc).find((e) => attr(e, 'http-equiv') === 'Content-Security-Policy');
    const csp = attr(meta as HtmlElement, 'content') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'none'/);
    const styles = elements(doc).filter((e) => e.tagName === 'style');
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256')
      .update(textOf(styles[0] as HtmlElement))
      .digest('base64');
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
    // No inline style attribute (the CSP would block it) and no event handler attribute.
    for (const e of elements(doc)) {
      expect(e.attrs.filter((a) => a.name === 'style' || a.name.startsWith('on'))).toEqual([]);
    }
  });
});

describe('the HTML renderer', () => {
  const summary = (over: Partial<ReportSummary> = {}): ReportSummary => ({
    generatedAt: '2026-11-02T02:00:00.000Z',
    accounts: 1,
    clusters: 1,
    checks: CATALOGUE.map((c) => c.metadata.id),
    failed: 1,
    exempted: 0,
    passed: 10,
    notEvaluated: 0,
    bySeverity: { critical: 0, high: 1, medium: 0, low: 0 },
    byCheck: { 'AUDIT-003': 1 },
    inputErrors: 0,
    expiredExemptions: [],
    ...over,
  });
  const finding = (over: Partial<ReportedFinding>): ReportedFinding => ({
    checkId: 'IRSA-013',
    name: 'trust-subject-mismatch',
    title: 'title',
    severity: 'critical',
    status: 'fail',
    accountId: '111122223333',
    region: 'eu-west-1',
    cluster: 'prod',
    namespace: 'shop',
    serviceAccount: 'cart',
    roleName: null,
    workload: null,
    resource: null,
    message: 'message',
    remediation: 'fix',
    ...over,
  });
  const now = new Date('2026-11-02T03:00:00Z');

  it('maps every check of the catalogue to the link it breaks, AUDIT-00x to "not looked"', () => {
    for (const check of CATALOGUE) {
      const link = linkOfCheck(check.metadata.id);
      if (check.metadata.id.startsWith('AUDIT-')) expect(link).toBe('not-looked');
      else expect(CHAIN_LINKS, check.metadata.id).toContain(link);
    }
    expect(['IRSA-001', 'IRSA-002', 'IRSA-050'].map(linkOfCheck)).toEqual([
      'provider',
      'provider',
      'provider',
    ]);
    expect(['IRSA-011', 'IRSA-018', 'IRSA-022', 'IRSA-023'].map(linkOfCheck)).toEqual(Array(4).fill('role'));
    expect(['IRSA-010', 'IRSA-019', 'IRSA-020'].map(linkOfCheck)).toEqual(Array(3).fill('serviceAccount'));
    expect(['IRSA-003', 'IRSA-004', 'IRSA-062', 'IRSA-063', 'IRSA-064'].map(linkOfCheck)).toEqual([
      'webhook',
      'webhook',
      'webhook',
      'webhook',
      'webhook',
    ]);
    expect(['IRSA-030', 'IRSA-034', 'IRSA-060', 'IRSA-061'].map(linkOfCheck)).toEqual(Array(4).fill('pods'));
    expect(['PODID-001', 'PODID-002', 'PODID-003', 'PODID-005', 'PODID-006'].map(linkOfCheck)).toEqual([
      'role',
      'role',
      'serviceAccount',
      'pods',
      'role',
    ]);
  });

  it('says first that the audit could not look, and marks the links it could not look at', () => {
    const report = {
      summary: summary({ byCheck: { 'IRSA-013': 1, 'AUDIT-003': 1 }, failed: 2 }),
    };
    const shown = [
      finding({}),
      finding({
        checkId: 'AUDIT-003',
        name: 'permission-missing',
        title: 'A read was denied',
        severity: 'high',
        namespace: null,
        serviceAccount: null,
        message: 'pods could not be listed',
      }),
    ];
    const doc = parseHtml(renderHtml(report, shown, { now }));
    const notice = byClass(doc, 'callout').find((c) => attr(c, 'data-coverage') === 'incomplete');
    expect(notice).toBeDefined();
    expect(textOf(notice as HtmlElement)).toMatch(/not an all-clear/);
    expect(textOf(notice as HtmlElement)).toContain('pods could not be listed');
    const chain = byClass(doc, 'chain')[0] as HtmlElement;
    const states = byClass(chain, 'link').map((l) => [attr(l, 'data-link'), attr(l, 'data-state')]);
    expect(states).toEqual([
      ['provider', 'not-looked'],
      ['role', 'broken'],
      ['serviceAccount', 'not-looked'],
      ['webhook', 'not-looked'],
      ['pods', 'not-looked'],
    ]);
    expect(textOf(chain)).toContain('not looked: AUDIT-003');
  });

  it("an unusable file of another cluster of the account does not make this cluster's links unlooked", () => {
    const audit004 = (cluster: string) =>
      finding({
        checkId: 'AUDIT-004',
        name: 'input-invalid',
        severity: 'medium',
        cluster: null,
        region: null,
        namespace: null,
        serviceAccount: null,
        resource: `111122223333/eu-west-1/${cluster}/kubernetes.json`,
        evidence: { region: 'eu-west-1', cluster },
      });
    const statesWith = (gap: ReportedFinding) => {
      const doc = parseHtml(renderHtml({ summary: summary() }, [gap, finding({})], { now }));
      return byClass(byClass(doc, 'chain')[0] as HtmlElement, 'link').map((l) => attr(l, 'data-state'));
    };
    expect(statesWith(audit004('other'))).toEqual([
      'no-finding',
      'broken',
      'no-finding',
      'no-finding',
      'no-finding',
    ]);
    expect(statesWith(audit004('prod'))).toEqual([
      'not-looked',
      'broken',
      'not-looked',
      'not-looked',
      'not-looked',
    ]);
    // Without evidence (a stored finding), the path says which cluster.
    const { evidence: _, ...stored } = audit004('other');
    expect(statesWith(stored)).toContain('no-finding');
  });

  it('says "no failing finding" only when every check could look', () => {
    const clean = parseHtml(
      renderHtml(
        {
          summary: summary({
            failed: 0,
            byCheck: {},
            bySeverity: { critical: 0, high: 0, medium: 0, low: 0 },
          }),
        },
        [],
        {
          now,
        },
      ),
    );
    expect(textOf(clean)).toMatch(/No failing finding, and every check could look/);
    const unlooked = parseHtml(
      renderHtml(
        {
          summary: summary({
            failed: 0,
            notEvaluated: 3,
            byCheck: {},
            bySeverity: { critical: 0, high: 0, medium: 0, low: 0 },
          }),
        },
        [],
        { now },
      ),
    );
    expect(textOf(unlooked)).not.toMatch(/No failing finding, and every check could look/);
    expect(textOf(unlooked)).toMatch(/3 results not evaluated/);
  });

  it('a value is text: markup, quotes and escapes in any field become no element and no attribute', () => {
    const evil = '<img src=x onerror=alert(1)>"><script>alert(2)</script>\'\u001b[2J\u202e';
    const shown = [
      finding({
        namespace: evil,
        serviceAccount: evil,
        message: evil,
        remediation: evil,
        title: evil,
        workload: { kind: evil, name: evil },
        cluster: evil,
      }),
    ];
    const out = renderHtml({ summary: summary({ byCheck: { [evil]: 1 } }) }, shown, { now });
    const doc = parseHtml(out);
    expect(elements(doc).filter((e) => ['img', 'script'].includes(e.tagName))).toEqual([]);
    expect(externalReferences(doc)).toEqual([]);
    for (const e of elements(doc)) expect(e.attrs.filter((a) => a.name.startsWith('on'))).toEqual([]);
    expect(textOf(doc)).toContain('<img src=x onerror=alert(1)>"><script>alert(2)</script>\'\\x1b[2J\\u202e');
    expect(out.includes('\u001b') || out.includes('\u202e')).toBe(false);
  });
});
