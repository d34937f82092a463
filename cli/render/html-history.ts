import { SEVERITIES, type Severity } from '#shared/checks/types.ts';
import { compareFindings } from '#shared/engine/run-audit.ts';
import type { TrendNight } from '#shared/history/open-trend.ts';
import { reportedFromStored } from '#shared/history/reported.ts';
import type { StoredFinding } from '#shared/history/types.ts';
import { html, type SafeHtml } from '#shared/sinks/html.ts';
import { findingsByPlace, htmlPage, isoMinute, severityBadge, summarySection } from './html.ts';
import type { ReportSummary } from './report.ts';

export interface HistoryReportInput {
  /** What the report covers: `the fleet`, `account 111122223333`, `cluster 1111.../eu-west-1/prod`. */
  readonly scope: string;
  readonly tableName: string;
  /** The nights asked for (the chart may have fewer: the runs recorded). */
  readonly nightsAsked: number;
  readonly nights: readonly TrendNight[];
  readonly open: readonly StoredFinding[];
  readonly now: Date;
}

const total = (n: TrendNight) => SEVERITIES.reduce((sum, s) => sum + n.openBySeverity[s], 0);
const day = (iso: string) => iso.slice(0, 10);
/** A night the audit could not look everywhere in scope. */
const incomplete = (n: TrendNight) => n.partial > 0 || Object.keys(n.accountsFailed).length > 0;

/** 1, 2, 5, 10, 20, 50, ...: a round step giving at most `ticks` intervals up to `max`. */
function niceStep(max: number, ticks: number): number {
  const raw = Math.max(1, max / ticks);
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/** Stacked bars, critical at the bottom; axes, grid, a legend, a title and a description. */
function trendChart(nights: readonly TrendNight[]): SafeHtml {
  const width = 1000;
  const height = 340;
  const left = 56;
  const right = 16;
  const top = 44;
  const bottom = 64;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(1, ...nights.map(total));
  const step = niceStep(max, 5);
  // Headroom over the tallest bar, for its mark.
  const yMax = Math.ceil((max * 1.08) / step) * step;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const band = plotW / Math.max(1, nights.length);
  const barW = Math.max(2, Math.min(48, band * 0.7));
  const labelEvery = Math.max(1, Math.ceil(nights.length / 15));
  const first = nights[0];
  const lastNight = nights.at(-1);
  const description =
    first && lastNight
      ? `Open findings after each of ${nights.length} nights, from ${day(first.startedAt)} (${total(first)} open) to ${day(lastNight.startedAt)} (${total(lastNight)} open), stacked by severity. The table below gives every number.`
      : 'No night recorded.';
  const ticks: number[] = [];
  for (let v = 0; v <= yMax; v += step) ticks.push(v);
  return html`<svg class="trend" role="img" aria-labelledby="trend-title trend-desc" width="100%" viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMinYMin meet">
<title id="trend-title">Open findings by severity, night by night</title>
<desc id="trend-desc">${description}</desc>
<g class="legend">${[...SEVERITIES].map(
    (s, i) =>
      html`<rect class="bar-${s}" x="${left + i * 120}" y="10" width="14" height="14"></rect><text x="${left + i * 120 + 20}" y="22">${s}</text>`,
  )}<text x="${left + 4 * 120}" y="22">! = the audit could not look everywhere that night</text></g>
${ticks.map(
  (v) =>
    html`<line class="grid" x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}"></line><text x="${left - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text>`,
)}
<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}"></line>
<line class="axis" x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}"></line>
<text x="14" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + plotH / 2})">open findings</text>
<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle">night (UTC)</text>
${nights.map((n, i) => {
  const x = left + i * band + (band - barW) / 2;
  let base = 0;
  const bars = SEVERITIES.map((s) => {
    const count = n.openBySeverity[s];
    const rect = html`<rect class="bar-${s}" x="${x.toFixed(1)}" y="${y(base + count).toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(base) - y(base + count)).toFixed(1)}"><title>${day(n.startedAt)}: ${count} ${s}</title></rect>`;
    base += count;
    return count > 0 ? rect : null;
  });
  const cx = (x + barW / 2).toFixed(1);
  return html`<g class="night" data-night="${n.runId}">${bars}${
    incomplete(n)
      ? html`<text class="mark" x="${cx}" y="${(y(base) - 6).toFixed(1)}" text-anchor="middle">!</text>`
      : null
  }${
    i % labelEvery === 0 || i === nights.length - 1
      ? html`<text x="${cx}" y="${top + plotH + 18}" text-anchor="middle">${n.startedAt.slice(5, 10)}</text>`
      : null
  }</g>`;
})}
</svg>`;
}

function trendTable(nights: readonly TrendNight[]): SafeHtml {
  return html`<table class="trend-table">
<caption>Open findings after each night (the chart's numbers)</caption>
<thead><tr><th scope="col">Night (started, UTC)</th>${SEVERITIES.map((s) => html`<th scope="col" class="num">${severityBadge(s)}</th>`)}<th scope="col" class="num">Total</th><th scope="col" class="num">Audited</th><th scope="col" class="num">Counted from before</th><th scope="col">Could not look</th></tr></thead>
<tbody>${[...nights]
    .reverse()
    .map(
      (n) =>
        html`<tr data-night="${n.runId}"><th scope="row">${isoMinute(n.startedAt)}</th>${SEVERITIES.map(
          (s) => html`<td class="num">${n.openBySeverity[s]}</td>`,
        )}<td class="num">${total(n)}</td><td class="num">${n.audited}</td><td class="num">${n.carried}</td><td>${notLooked(n)}</td></tr>`,
    )}</tbody>
</table>`;
}

function notLooked(n: TrendNight): HtmlList {
  const parts: HtmlList = [];
  if (n.partial > 0) parts.push(`${n.partial} audited partly (AUDIT-00x) `);
  for (const [account, reason] of Object.entries(n.accountsFailed))
    parts.push(html`<span class="not-looked">account ${account} not audited: ${reason}</span> `);
  return parts.length === 0 ? ['—'] : parts;
}
type HtmlList = (string | SafeHtml)[];

/** The whole page. */
export function renderHistoryHtml(input: HistoryReportInput): string {
  const open = input.open.map((f) => reportedFromStored(f)).sort(compareFindings);
  const bySeverity = Object.fromEntries(
    SEVERITIES.map((s) => [s, open.filter((f) => f.status === 'fail' && f.severity === s).length]),
  ) as Record<Severity, number>;
  const byCheck: Record<string, number> = {};
  for (const f of open) if (f.status === 'fail') byCheck[f.checkId] = (byCheck[f.checkId] ?? 0) + 1;
  const lastNight = input.nights.at(-1);
  const summary: ReportSummary = {
    generatedAt: lastNight?.completedAt ?? lastNight?.startedAt ?? input.now.toISOString(),
    accounts: new Set(open.map((f) => f.accountId).filter(Boolean)).size,
    clusters: new Set(open.filter((f) => f.cluster).map((f) => `${f.accountId}/${f.region}/${f.cluster}`))
      .size,
    checks: [],
    failed: open.filter((f) => f.status === 'fail').length,
    exempted: open.filter((f) => f.status !== 'fail').length,
    passed: null,
    notEvaluated: null,
    bySeverity,
    byCheck,
    inputErrors: 0,
    expiredExemptions: [],
  };
  const incompleteNights = input.nights.filter(incomplete).length;
  const trend =
    input.nights.length === 0
      ? html`<p>No night recorded in table ${input.tableName} yet.</p>`
      : html`${trendChart(input.nights)}
${
  incompleteNights > 0
    ? html`<p class="callout" role="note" data-coverage="nights"><strong>${incompleteNights} of ${input.nights.length} nights</strong> could not look everywhere in scope (marked ! in the chart, named in the table): a cluster or an account not audited that night counts with its open findings from before.</p>`
    : null
}
${trendTable(input.nights)}`;
  return htmlPage({
    title: 'IRSA audit history',
    subtitle: `${input.scope} · the last ${input.nights.length} night${input.nights.length === 1 ? '' : 's'} recorded (${input.nightsAsked} asked) · table ${input.tableName} · open findings now: ${summary.failed}`,
    now: input.now,
    main: html`<section aria-labelledby="trend-h">
<h2 id="trend-h">Open findings over the nights</h2>
<p class="muted">After each night, the open findings of ${input.scope}: each cluster and account level counted with its last complete audit up to that night.</p>
${trend}
</section>
${summarySection({ summary }, open, 'Open findings now', { accounts: 'Accounts with open findings', clusters: 'Clusters with open findings' })}
<section aria-labelledby="findings-h">
<h2 id="findings-h">Open findings by cluster</h2>
${findingsByPlace(open)}
</section>`,
  });
}
