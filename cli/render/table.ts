/** The human-readable report: findings grouped by cluster, most severe first; colour only when asked. */
import { createColors } from 'picocolors';
import { SEVERITIES, type Severity } from '#shared/checks/types.ts';
import { forTerminal, forTerminalLine } from '#shared/sinks/terminal.ts';
import type { ReportedFinding as Finding, RenderedReport } from './report.ts';

export interface TableOptions {
  readonly color: boolean;
  readonly width: number;
}

// Every value of a finding was read from a cluster or an account: it reaches the terminal through
// the terminal sink (control and bidirectional characters shown escaped, long runs cut).
const v = (value: string | null | undefined) => forTerminalLine(value ?? '');

function groupName(f: Finding): string {
  if (f.cluster) return `${v(f.accountId)} / ${v(f.region)} / ${v(f.cluster)}`;
  if (f.accountId) return `${v(f.accountId)} (account)`;
  return 'fleet';
}

function resourceOf(f: Finding): string {
  if (f.workload)
    return `${v(f.namespace)}/${v(f.serviceAccount)}  ${v(f.workload.kind)}/${v(f.workload.name)}`;
  if (f.serviceAccount) return `${v(f.namespace)}/${v(f.serviceAccount)}`;
  // A node group (IRSA-060/061): the node group, then its node role.
  if (f.resource?.startsWith('nodegroup/'))
    return f.roleName ? `${v(f.resource)}  role ${v(f.roleName)}` : v(f.resource);
  if (f.roleName) return `role ${v(f.roleName)}`;
  if (f.resource) return v(f.resource);
  return f.cluster ? 'cluster' : 'account';
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line && line.length + word.length + 1 > width) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
  }
  return lines;
}

export function renderTable(
  report: RenderedReport,
  findings: readonly Finding[],
  options: TableOptions,
): string {
  const c = createColors(options.color);
  const severityColor: Record<Severity, (s: string) => string> = {
    critical: (s) => c.bold(c.red(s)),
    high: c.red,
    medium: c.yellow,
    low: c.cyan,
  };
  const label = (f: Finding): string => {
    if (f.status === 'pass') return c.green('PASS'.padEnd(8));
    if (f.status === 'not-evaluated') return c.dim('N/E'.padEnd(8));
    const text = f.severity.toUpperCase().padEnd(8);
    return f.status === 'exempted' ? c.dim(text) : severityColor[f.severity](text);
  };
  const textWidth = Math.max(40, options.width - 12);
  const out: string[] = [];
  const groups = new Map<string, Finding[]>();
  for (const f of findings) groups.set(groupName(f), [...(groups.get(groupName(f)) ?? []), f]);
  for (const [name, items] of groups) {
    out.push(c.bold(`${name}`) + c.dim(`  (${items.length})`));
    for (const f of items) {
      out.push(`  ${label(f)}  ${c.bold(v(f.checkId))}  ${v(f.name)}  ${c.dim('·')}  ${resourceOf(f)}`);
      for (const line of wrap(forTerminal(f.message), textWidth)) out.push(`            ${line}`);
      if (f.status === 'exempted' && f.exemption) {
        out.push(
          c.dim(
            `            exempted: ${v(f.exemption.reason)}${f.exemption.expires ? ` (until ${v(f.exemption.expires)})` : ''}`,
          ),
        );
      } else if (f.remediation && f.status === 'fail') {
        const [first, ...rest] = forTerminal(f.remediation).split('\n');
        out.push(c.dim(`            fix: ${first}`));
        for (const line of rest) out.push(c.dim(`                 ${line}`));
      }
    }
    out.push('');
  }
  const s = report.summary;
  const bySeverity = SEVERITIES.filter((sev) => s.bySeverity[sev] > 0)
    .map((sev) => severityColor[sev](`${s.bySeverity[sev]} ${sev}`))
    .join(', ');
  if (findings.length === 0) out.push(c.green('No findings.'));
  out.push(
    `${s.failed === 0 ? c.green('0 failing findings') : c.bold(`${s.failed} failing finding${s.failed === 1 ? '' : 's'}`)}${bySeverity ? ` (${bySeverity})` : ''}` +
      ` in ${s.clusters} cluster${s.clusters === 1 ? '' : 's'} of ${s.accounts} account${s.accounts === 1 ? '' : 's'}; ` +
      (s.passed === null || s.notEvaluated === null
        ? `${s.exempted} exempted (${s.checks.length} checks; passing and not-evaluated results are not kept).`
        : `${s.exempted} exempted, ${s.notEvaluated} not evaluated, ${s.passed} passed (${s.checks.length} checks).`),
  );
  if (s.inputErrors > 0) {
    out.push(
      c.yellow(`${s.inputErrors} snapshot file(s) could not be used (AUDIT-004): the audit is incomplete.`),
    );
  }
  for (const e of s.expiredExemptions) {
    out.push(
      c.yellow(
        `exemption for ${v(e.checkId)} expired on ${v(e.expires)} and no longer applies: ${v(e.reason)}`,
      ),
    );
  }
  return out.join('\n');
}
