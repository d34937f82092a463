/**
 * The HTML report (`--format html -o report.html`): one self-contained file, nothing fetched (the
 * stylesheet is inline and allowed by its hash in a Content-Security-Policy that allows nothing
 * else, no script, no image, no font). A fleet summary, what the audit could not look at, the
 * findings grouped by cluster with their fix, and for each failing ServiceAccount its IRSA chain
 * with the broken link marked (irsa-chain.ts).
 *
 * Every value of a finding was read from a cluster or an account: it reaches the page only as a
 * value of the {@link html} template (shared/sinks/html.ts), escaped, as text.
 */
import { createHash } from 'node:crypto';
import { findCheck } from '#shared/checks/catalogue.ts';
import { SEVERITIES, type Severity } from '#shared/checks/types.ts';
import { type HtmlValue, html, type SafeHtml, trustedConstant } from '#shared/sinks/html.ts';
import { type ChainView, chainsOfCluster, LINK_LABELS, linkOfCheck } from './irsa-chain.ts';
import type { ReportedFinding as Finding, RenderedReport } from './report.ts';

export interface HtmlOptions {
  readonly now: Date;
}

// ---- the page ---------------------------------------------------------------------------------

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa;
  --line: #d0d7de; --code: #f3f4f6; --accent: #0b5cad;
  --critical: #8e1459; --high: #b42318; --medium: #8a5300; --low: #1f5fae; --ok: #1a7f37; --warn: #8a5300;
  --warn-bg: #fff8e1; --bad-bg: #fdecea; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9da7b3; --bg: #0d1117; --panel: #161b22; --line: #30363d; --code: #1c2128;
    --accent: #6cb6ff; --critical: #f778ba; --high: #ff8a7a; --medium: #e3b341; --low: #79b8ff; --ok: #56d364;
    --warn: #e3b341; --warn-bg: #2d2206; --bad-bg: #3a1414; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: var(--fg); background: var(--bg); }
header.page, main { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header.page { padding-top: 24px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.35rem; margin: 32px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.15rem; margin: 24px 0 8px; }
h4 { font-size: 1rem; margin: 16px 0 8px; }
p { margin: 6px 0; }
.muted { color: var(--muted); }
a { color: var(--accent); }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px;
  margin: 4px 0 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; padding: 0; }
.figures div { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 120px; }
.figures dt { font-size: .8rem; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.figures dd { margin: 0; font-size: 1.5rem; font-weight: 600; }
.callout { border: 1px solid var(--line); border-left: 6px solid var(--warn); background: var(--warn-bg);
  border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.callout.bad { border-left-color: var(--high); background: var(--bad-bg); }
.callout.ok { border-left-color: var(--ok); background: var(--panel); }
.callout h3 { margin: 0 0 6px; font-size: 1.05rem; }
.callout ul { margin: 6px 0; padding-left: 20px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: .95rem; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--panel); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
td.bar { vertical-align: middle; }
caption { text-align: left; white-space: nowrap; font-weight: 600; padding: 4px 0; }
.columns { display: flex; flex-wrap: wrap; gap: 0 32px; }
.badge { display: inline-block; min-width: 5.6em; text-align: center; font-size: .75rem; font-weight: 700;
  letter-spacing: .04em; border: 2px solid currentColor; border-radius: 4px; padding: 0 4px; }
.sev-critical { color: var(--critical); } .sev-high { color: var(--high); }
.sev-medium { color: var(--medium); } .sev-low { color: var(--low); }
.st-exempted, .st-not-evaluated, .st-pass { color: var(--muted); }
.st-pass { color: var(--ok); }
svg .bar-critical { fill: var(--critical); } svg .bar-high { fill: var(--high); }
svg .bar-medium { fill: var(--medium); } svg .bar-low { fill: var(--low); }
svg text { fill: var(--fg); font: 12px system-ui, sans-serif; }
svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .grid { stroke: var(--line); stroke-width: 1; }
.group { margin-top: 28px; }
.group + .group { border-top: 3px solid var(--line); }
.findings { list-style: none; margin: 0; padding: 0; }
.finding { border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 6px; padding: 8px 12px;
  margin: 10px 0; break-inside: avoid; }
.finding.f-critical { border-left-color: var(--critical); } .finding.f-high { border-left-color: var(--high); }
.finding.f-medium { border-left-color: var(--medium); } .finding.f-low { border-left-color: var(--low); }
.finding.f-exempted, .finding.f-not-evaluated, .finding.f-pass { border-left-style: dashed; }
.finding > header { color: var(--fg); }
.finding .check { font-weight: 700; }
.finding .message { white-space: pre-wrap; overflow-wrap: anywhere; }
.finding .resource { overflow-wrap: anywhere; }
.finding .fix-label { font-weight: 600; margin-top: 8px; }
.chains { list-style: none; margin: 0; padding: 0; }
.chain { margin: 8px 0 14px; break-inside: avoid; }
.chain h5 { font-size: .95rem; margin: 0 0 4px; overflow-wrap: anywhere; }
.chain ol { display: flex; flex-wrap: wrap; align-items: stretch; list-style: none; margin: 0; padding: 0; gap: 0; }
.chain li { display: flex; align-items: center; }
.chain li + li::before { content: "\\2192"; padding: 0 6px; color: var(--muted); font-size: 1.2rem; }
.link { border: 2px solid var(--line); border-radius: 8px; padding: 4px 10px; min-width: 150px; background: var(--panel); }
.link .name { display: block; font-weight: 600; }
.link .state { display: block; font-size: .85rem; }
.link.broken { border-color: var(--high); background: var(--bad-bg); border-width: 3px; }
.link.broken .state { color: var(--high); font-weight: 700; }
.link.not-looked { border-style: dashed; border-color: var(--warn); }
.link.not-looked .state { color: var(--warn); font-weight: 600; }
.link.no-finding .state { color: var(--muted); }
svg.trend { display: block; max-width: 1000px; height: auto; margin: 8px 0 4px; }
svg .mark { font-weight: 700; font-size: 15px; fill: var(--warn); }
.not-looked { color: var(--warn); font-weight: 600; }
footer.page { max-width: 1200px; margin: 32px auto; padding: 0 24px; color: var(--muted); font-size: .85rem; }
@media print {
  body { font-size: 11pt; background: #fff; color: #000; }
  a { color: #000; text-decoration: none; }
  .group { break-before: auto; }
  pre { border-color: #999; }
  h2, h3, h4 { break-after: avoid; }
}
`;

/** What the stylesheet's hash allows: nothing else runs, loads or is styled from elsewhere. */
const CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; img-src 'none'; font-src 'none'; script-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'`;

/** A whole page: the title (text), a header under the heading, and the main content. */
export function htmlPage(page: {
  readonly title: string;
  readonly subtitle: HtmlValue;
  readonly main: HtmlValue;
  readonly now: Date;
}): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="irsa-audit">
<title>${page.title}</title>
<style>${trustedConstant(STYLE)}</style>
</head>
<body>
<header class="page">
<h1>${page.title}</h1>
<p class="muted">${page.subtitle}</p>
</header>
<main>
${page.main}
</main>
<footer class="page">
<p>Made by irsa-audit at ${isoMinute(page.now)} UTC. Every name, message and command in this page was read from the audited clusters and accounts and is shown as text. Check ids are described in docs/checks.md.</p>
</footer>
</body>
</html>
`.markup;
}

// ---- pieces -----------------------------------------------------------------------------------

export const isoMinute = (d: Date | string) =>
  (typeof d === 'string' ? d : d.toISOString()).slice(0, 16).replace('T', ' ');

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function severityBadge(severity: Severity): SafeHtml {
  return html`<span class="badge sev-${severity}">${severity.toUpperCase()}</span>`;
}

function statusBadge(f: Finding): SafeHtml {
  if (f.status === 'fail') return severityBadge(f.severity);
  const text = f.status === 'not-evaluated' ? 'NOT EVALUATED' : f.status.toUpperCase();
  return html`<span class="badge st-${f.status}">${text}</span>`;
}

/** `account / region / cluster`, an account, or the fleet: where the table groups a finding. */
export function placeOf(f: Pick<Finding, 'accountId' | 'region' | 'cluster'>): string {
  if (f.cluster) return `${f.accountId} / ${f.region} / ${f.cluster}`;
  if (f.accountId) return `account ${f.accountId}`;
  return 'fleet';
}

function resourceOf(f: Finding): string {
  if (f.workload)
    return `ServiceAccount ${f.namespace}/${f.serviceAccount} · ${f.workload.kind}/${f.workload.name}`;
  if (f.serviceAccount) return `ServiceAccount ${f.namespace}/${f.serviceAccount}`;
  if (f.roleName) return `role ${f.roleName}`;
  if (f.resource) return f.resource;
  return f.cluster ? 'the cluster' : 'the account';
}

export function groupByPlace<T extends Pick<Finding, 'accountId' | 'region' | 'cluster'>>(
  findings: readonly T[],
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const f of findings) {
    const key = placeOf(f);
    const list = groups.get(key);
    if (list) list.push(f);
    else groups.set(key, [f]);
  }
  return groups;
}

function findingItem(f: Finding): SafeHtml {
  const css = f.status === 'fail' ? `f-${f.severity}` : `f-${f.status}`;
  const fix =
    f.status === 'exempted' && f.exemption
      ? html`<p class="muted">Exempted: ${f.exemption.reason}${f.exemption.expires ? ` (until ${f.exemption.expires})` : ''}</p>`
      : f.status === 'fail' && f.remediation
        ? html`<p class="fix-label">Fix</p><pre class="fix"><code>${f.remediation}</code></pre>`
        : null;
  const link = linkOfCheck(f.checkId);
  return html`<li class="finding ${css}" data-check="${f.checkId}" data-status="${f.status}" data-severity="${f.severity}">
<header>${statusBadge(f)} <span class="check">${f.checkId}</span> <span class="muted">${f.name}</span> · <span class="resource">${resourceOf(f)}</span></header>
<p><strong>${f.title}</strong>${link && link !== 'not-looked' ? html` <span class="muted">(breaks: ${LINK_LABELS[link]})</span>` : null}</p>
<p class="message">${f.message}</p>
${fix}
</li>`;
}

const STATE_TEXT = { broken: 'broken', 'not-looked': 'not looked', 'no-finding': 'no finding' } as const;
const STATE_MARK = { broken: '✗ ', 'not-looked': '? ', 'no-finding': '' } as const;

function chainFigure(chain: ChainView): SafeHtml {
  const who =
    chain.serviceAccount === null
      ? 'Every ServiceAccount of the cluster'
      : `ServiceAccount ${chain.namespace}/${chain.serviceAccount}`;
  const broken = chain.links.filter((l) => l.state === 'broken').map((l) => LINK_LABELS[l.link]);
  const label = `${who}: ${broken.length > 0 ? `broken at ${broken.join(', ')}` : 'no broken link'}`;
  return html`<li class="chain" data-namespace="${chain.namespace ?? ''}" data-service-account="${chain.serviceAccount ?? ''}">
<h5>${who}</h5>
<ol aria-label="${label}">${chain.links.map(
    (l) =>
      html`<li><div class="link ${l.state}" data-link="${l.link}" data-state="${l.state}"><span class="name">${LINK_LABELS[l.link]}</span><span class="state">${STATE_MARK[l.state]}${STATE_TEXT[l.state]}${l.checkIds.length > 0 ? `: ${l.checkIds.join(', ')}` : ''}</span></div></li>`,
  )}</ol>
</li>`;
}

/**
 * The findings grouped by place, each cluster with the IRSA chains of its failing ServiceAccounts.
 * `all` is every finding of the report (chains look for an account's coverage findings there).
 */
export function findingsByPlace(findings: readonly Finding[], all: readonly Finding[] = findings): SafeHtml {
  if (findings.length === 0) return html`<p>No finding to show.</p>`;
  const groups = [...groupByPlace(findings)];
  return html`${groups.map(([place, items], i) => {
    const chains = chainsOfCluster(items, all);
    const counts = SEVERITIES.map(
      (s) => [s, items.filter((f) => f.status === 'fail' && f.severity === s).length] as const,
    )
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    return html`<section class="group" id="place-${i + 1}" aria-labelledby="place-${i + 1}-h">
<h3 id="place-${i + 1}-h">${place} <span class="muted">(${plural(items.length, 'finding')}${counts ? `: ${counts}` : ''})</span></h3>
${
  chains.length > 0
    ? html`<h4>IRSA chain${chains.length === 1 ? '' : 's'}: OIDC provider → IAM role trust → ServiceAccount → webhook → pods</h4>
<ul class="chains">${chains.map(chainFigure)}</ul>`
    : null
}
<h4>Findings</h4>
<ol class="findings">${items.map(findingItem)}</ol>
</section>`;
  })}`;
}

/** A bar for a count in a table cell (decoration: the number is in the next cell). */
function countBar(count: number, max: number, css: string): SafeHtml {
  const width = 200;
  const length = count > 0 ? Math.max(3, Math.round((count / Math.max(1, max)) * width)) : 0;
  return html`<svg aria-hidden="true" focusable="false" width="${width}" height="14" viewBox="0 0 ${width} 14"><rect class="${css}" x="0" y="2" width="${length}" height="10"></rect></svg>`;
}

/** What the audit could not look at, said first: an audit that could not look is not "all clear". */
export function coverageNotice(report: RenderedReport, findings: readonly Finding[]): SafeHtml {
  const s = report.summary;
  const auditFailing = findings.filter((f) => f.status === 'fail' && linkOfCheck(f.checkId) === 'not-looked');
  const auditCount = Object.entries(s.byCheck)
    .filter(([id]) => id.startsWith('AUDIT-'))
    .reduce((n, [, c]) => n + c, 0);
  const parts: SafeHtml[] = [];
  if (auditCount > 0 || auditFailing.length > 0 || s.inputErrors > 0) {
    parts.push(html`<section class="callout bad" role="note" aria-labelledby="coverage-h" data-coverage="incomplete">
<h3 id="coverage-h">⚠ The audit could not look everywhere: this is not an all-clear</h3>
<p>${plural(Math.max(auditCount, auditFailing.length), 'coverage finding')} (AUDIT-00x)${s.inputErrors > 0 ? `, ${plural(s.inputErrors, 'snapshot file')} that could not be used` : ''}. Where the audit could not read, the absence of a finding proves nothing.</p>
<ul>${auditFailing.map(
      (f) =>
        html`<li><strong>${f.checkId}</strong> ${f.title} · ${placeOf(f)}: <span class="message">${f.message}</span></li>`,
    )}</ul>
</section>`);
  }
  if (s.notEvaluated === null) {
    parts.push(
      html`<p class="callout" role="note">This report comes from the finding store, which keeps no passing and no not-evaluated results: what could not be evaluated is not counted here.</p>`,
    );
  } else if (s.notEvaluated > 0) {
    parts.push(
      html`<p class="callout" role="note" data-coverage="not-evaluated"><strong>${plural(s.notEvaluated, 'result')} not evaluated:</strong> a check could not decide them (an input it needs is missing, was not read, or needs an opt-in such as <code>--probe</code> for IRSA-040). They are neither passes nor failures; <code>--include-passed</code> lists them with their reason.</p>`,
    );
  }
  for (const e of s.expiredExemptions)
    parts.push(
      html`<p class="callout" role="note">The exemption for ${e.checkId} expired on ${e.expires ?? ''} and no longer applies: ${e.reason}</p>`,
    );
  if (parts.length === 0 && s.failed === 0)
    parts.push(
      html`<p class="callout ok" role="note">No failing finding, and every check could look at what it needs (${plural(s.checks.length, 'check')} run).</p>`,
    );
  return html`${parts}`;
}

/** The summary of a report: coverage first, key figures, by severity, by check, by place. */
export function summarySection(
  report: RenderedReport,
  findings: readonly Finding[],
  heading = 'Fleet summary',
  labels: { readonly accounts: string; readonly clusters: string } = {
    accounts: 'Accounts',
    clusters: 'Clusters',
  },
): SafeHtml {
  const s = report.summary;
  const figure = (label: string, value: number | null) =>
    html`<div><dt>${label}</dt><dd>${value === null ? 'not kept' : value}</dd></div>`;
  const maxSeverity = Math.max(...SEVERITIES.map((sev) => s.bySeverity[sev]));
  const checks = Object.entries(s.byCheck).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const shownFailing = findings.filter((f) => f.status === 'fail').length;
  const places = [...groupByPlace(findings)];
  return html`<section aria-labelledby="summary-h">
<h2 id="summary-h">${heading}</h2>
${coverageNotice(report, findings)}
<dl class="figures">
${figure('Failing findings', s.failed)}${figure(labels.accounts, s.accounts)}${figure(labels.clusters, s.clusters)}${s.checks.length > 0 ? figure('Checks run', s.checks.length) : null}${figure('Exempted', s.exempted)}${figure('Not evaluated', s.notEvaluated)}${figure('Passed', s.passed)}
</dl>
${shownFailing < s.failed ? html`<p class="muted">${shownFailing} of the ${s.failed} failing findings are shown below (the others are under the report's severity threshold).</p>` : null}
<div class="columns">
<div>
<table>
<caption>Failing findings by severity</caption>
<thead><tr><th scope="col">Severity</th><th scope="col" class="num">Findings</th><th scope="col"><span class="visually-hidden">Bar</span></th></tr></thead>
<tbody>${SEVERITIES.map((sev) => html`<tr><th scope="row">${severityBadge(sev)}</th><td class="num">${s.bySeverity[sev]}</td><td class="bar">${countBar(s.bySeverity[sev], maxSeverity, `bar-${sev}`)}</td></tr>`)}</tbody>
</table>
</div>
<div>
<table>
<caption>Failing findings by check</caption>
<thead><tr><th scope="col">Check</th><th scope="col">What fails</th><th scope="col">Link of the chain</th><th scope="col" class="num">Findings</th></tr></thead>
<tbody>${
    checks.length === 0
      ? html`<tr><td colspan="4">none</td></tr>`
      : checks.map(([id, n]) => {
          const link = linkOfCheck(id);
          return html`<tr><th scope="row">${id}</th><td>${findCheck(id)?.metadata.title ?? ''}</td><td>${link === null ? '' : link === 'not-looked' ? 'not looked (coverage)' : LINK_LABELS[link]}</td><td class="num">${n}</td></tr>`;
        })
  }</tbody>
</table>
</div>
</div>
${
  places.length > 0
    ? html`<table>
<caption>Where (the findings shown below)</caption>
<thead><tr><th scope="col">Account / region / cluster</th>${SEVERITIES.map((sev) => html`<th scope="col" class="num">${sev}</th>`)}<th scope="col" class="num">Exempted, other</th></tr></thead>
<tbody>${places.map(
        ([place, items], i) =>
          html`<tr><th scope="row"><a href="#place-${i + 1}">${place}</a></th>${SEVERITIES.map(
            (sev) =>
              html`<td class="num">${items.filter((f) => f.status === 'fail' && f.severity === sev).length}</td>`,
          )}<td class="num">${items.filter((f) => f.status !== 'fail').length}</td></tr>`,
      )}</tbody>
</table>`
    : null
}
</section>`;
}

/** `check --format html`: the whole report as one page. */
export function renderHtml(
  report: RenderedReport,
  findings: readonly Finding[],
  options: HtmlOptions,
): string {
  const s = report.summary;
  return htmlPage({
    title: 'IRSA audit report',
    subtitle: `${plural(s.accounts, 'account')}, ${plural(s.clusters, 'cluster')}, ${plural(s.checks.length, 'check')} · audited ${isoMinute(s.generatedAt)} UTC`,
    now: options.now,
    main: html`${summarySection(report, findings)}
<section aria-labelledby="findings-h">
<h2 id="findings-h">Findings by cluster</h2>
${findingsByPlace(findings)}
</section>`,
  });
}
