/**
 * Issue 18, item 1: what a cluster or an account says can never act on the people who read the
 * findings. A fleet of hostile values (escape sequences that clear the screen and set the window
 * title, bidirectional overrides, Slack link and mention syntax, shell command substitutions in
 * names, a 70,000-character role name) goes through every renderer the product has: `check`'s
 * table, JSON, SARIF, JUnit XML and CSV, the pipeline's email text and Chatbot notification (a real night with the
 * handlers, dynalite and the emulator), and `history`'s table. Nothing raw gets through:
 * - no control character (but newline and tab) and no bidirectional or invisible formatting
 *   character in any text a person reads, and valid JSON where JSON is written (SARIF valid per
 *   the official schema), well-formed XML 1.0 where XML is (JUnit), RFC 4180 where CSV is;
 * - in CSV, no cell a spreadsheet would compute (starting with `=`, `+`, `-`, `@`, tab, CR);
 *   character in any text a person reads, and valid JSON where JSON is written;
 * - the ASFF (Security Hub) and OCSF outputs are findings their schemas take: required fields
 *   present, ASFF's text limits kept;
 * - in Slack, no link or mention syntax outside a code span;
 * - every fix command, run in bash with kubectl, aws and eksctl stubbed, runs nothing else;
 * - a long value is cut, and the text says so.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startsFormula } from '#shared/sinks/csv.ts';
import { type LocalDynamo, startDynalite } from '#shared/testing/dynalite.ts';
import { runHistoryCommand } from '../cli/commands/history.ts';
import { startLocalPipeline } from '../demo/local-pipeline.ts';
import type { PublishedSnsMessage } from '../emulator/index.ts';
import { asffProblem } from '../emulator/security-hub.ts';
import {
  attr,
  byClass,
  elements,
  externalReferences,
  type HtmlElement,
  parseHtml,
  textOf,
} from './support/html-dom.ts';
import { parseJunit } from './support/junit-xml.ts';
import { validateEvent } from './support/ocsf-schema.ts';
import { type CliRun, REPO_ROOT, runNodeAsync } from './support/run-cli.ts';
import { sarifSchemaErrors } from './support/sarif-schema.ts';

const ACCOUNT = '210987654321';
const CLUSTER_DIR = `${ACCOUNT}/eu-west-1/checkout`;

/** Each payload, if it ran, would leave a file named PWNED<n> in the command's directory. */
const SHELL_NAME = 'app$(touch PWNED1)`touch PWNED2`;touch PWNED3';
const SHELL_AUDIENCE = 'sts$(touch PWNED6)`touch PWNED7`;touch PWNED8\u001b[31m';
const ESCAPES = '\u001b[2J\u001b]0;pwned\u0007';
const HOSTILE_ARN = `${ESCAPES}arn:aws:iam::${ACCOUNT}:role/x\u001b[31mRED`;
const SLACK = '<https://evil.example/x|click here> <!channel> *bold* `code`';
const BIDI = 'cart\u202Eipa-dlo\u2066';
const LONG_ROLE = `arn:aws:iam::${ACCOUNT}:role/${'a'.repeat(70_000)}`;
const HOSTILE_POLICY = `p$(touch PWNED9)${ESCAPES}`;
const HOSTILE_RESOURCE = `arn:aws:s3:::b${ESCAPES}$(touch PWNED10)\u202E`;
/** An owner reference's kind is any string: the workload column of a CSV starts with it. */
const FORMULA_KIND = '=HYPERLINK("https://evil.example/x","click")';
/** Markup: in an HTML report, it must stay text (no element, no attribute, no script). */
const MARKUP = '<img src=x onerror=alert(1)>';
const BREAKOUT = '"><script>alert(2)</script><a href="https://evil.example/">x</a>\'';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;
const RAW_FORMAT = /[\u061C\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/;

function serviceAccount(namespace: string, name: string, roleArn: string) {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name,
      namespace,
      uid: `uid-${name.length}-${namespace.length}-${roleArn.length}`,
      creationTimestamp: '2025-10-01T00:00:00Z',
      annotations: { 'eks.amazonaws.com/role-arn': roleArn },
    },
  };
}

function pod(namespace: string, name: string, serviceAccountName: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid: `uid-pod-${name.length}`,
      creationTimestamp: '2025-11-01T00:00:00Z',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${serviceAccountName}-rs`, controller: true },
      ],
    },
    spec: { serviceAccountName, containers: [{ name: 'app', image: 'busybox' }] },
    status: { phase: 'Running' },
  };
}

/**
 * examples/fleet with hostile values. In checkout, values Kubernetes allows (annotations) reach the
 * checks' messages and fix commands; names Kubernetes and IAM never allow (in payments' objects and
 * ml's roles) make those files input errors (AUDIT-004), and must be as harmless there.
 */
function writeHostileFleet(dir: string): void {
  cpSync(join(REPO_ROOT, 'examples/fleet'), dir, { recursive: true });
  const edit = (file: string, change: (json: { items: unknown[]; Roles: unknown[] }) => void) => {
    const path = join(dir, file);
    const json = JSON.parse(readFileSync(path, 'utf8'));
    change(json);
    writeFileSync(path, JSON.stringify(json));
  };
  edit(`${CLUSTER_DIR}/kubernetes.json`, (kube) => {
    kube.items.push(
      serviceAccount('checkout', 'escapes', HOSTILE_ARN),
      serviceAccount('checkout', 'slack', `arn:aws:iam::${ACCOUNT}:role/${SLACK}`),
      serviceAccount('checkout', 'bidi', `arn:aws:iam::${ACCOUNT}:role/${BIDI}`),
      serviceAccount('checkout', 'long', LONG_ROLE),
      // A pod whose owner's kind is a spreadsheet formula (a CSV's workload cell starts with it).
      (() => {
        const formula = pod('checkout', 'formula', 'default');
        formula.metadata.ownerReferences = [
          { apiVersion: 'v1', kind: FORMULA_KIND, name: 'x', controller: true },
        ];
        return formula;
      })(),
      // An annotation is free text: IRSA-010 quotes it in its message and its fix.
      serviceAccount('checkout', 'markup', `arn:aws:iam::${ACCOUNT}:role/${MARKUP}${BREAKOUT}`),
      // A valid role and an audience that is a command: IRSA-002 puts it in its fix.
      {
        ...serviceAccount('checkout', 'audience', `arn:aws:iam::${ACCOUNT}:role/checkout-cart-api`),
        metadata: {
          name: 'audience',
          namespace: 'checkout',
          annotations: {
            'eks.amazonaws.com/role-arn': `arn:aws:iam::${ACCOUNT}:role/checkout-cart-api`,
            'eks.amazonaws.com/audience': SHELL_AUDIENCE,
          },
        },
      },
    );
  });
  edit(`${ACCOUNT}/eu-west-1/payments/kubernetes.json`, (kube) => {
    kube.items.push(serviceAccount('payments', SHELL_NAME, `arn:aws:iam::${ACCOUNT}:role/x`));
    kube.items.push(pod('payments', `esc${ESCAPES}pod`, 'default'));
    kube.items.push(serviceAccount('payments', MARKUP, `arn:aws:iam::${ACCOUNT}:role/x`));
    kube.items.push(serviceAccount('payments', BREAKOUT, `arn:aws:iam::${ACCOUNT}:role/x`));
  });
  // Permission documents (IRSA-023): a policy name and a resource that are commands and escapes,
  // which the finding's message and its corrected statement and put-role-policy command quote.
  const hostileIam = join(dir, `${ACCOUNT}/iam.json`);
  const accountIam = JSON.parse(readFileSync(hostileIam, 'utf8'));
  const cartPolicies = accountIam.RolePolicies['checkout-cart-api'];
  cartPolicies.PolicyNames.push(HOSTILE_POLICY);
  cartPolicies.RolePolicyList.push({
    PolicyName: HOSTILE_POLICY,
    PolicyDocument: {
      Version: '2012-10-17',
      Statement: [{ Sid: 'x', Effect: 'Allow', Action: 's3:GetObject', Resource: HOSTILE_RESOURCE }],
    },
  });
  writeFileSync(hostileIam, JSON.stringify(accountIam));
  edit('345678901234/iam.json', (iam) => {
    const template = iam.Roles[0] as Record<string, unknown>;
    iam.Roles.push({ ...template, RoleName: 'evil`touch PWNED5`\u001b[2J' });
  });
}

/** The elements and attributes the HTML report is made of (cli/render/html.ts): nothing else may appear. */
const HTML_TAGS = [
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'header',
  'main',
  'footer',
  'section',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'p',
  'span',
  'strong',
  'code',
  'pre',
  'dl',
  'dt',
  'dd',
  'div',
  'ul',
  'ol',
  'li',
  'table',
  'caption',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'a',
  'svg',
  'rect',
  'text',
  'line',
  'g',
  'title',
  'desc',
];
const HTML_ATTRIBUTES = new Set([
  'lang',
  'charset',
  'http-equiv',
  'content',
  'name',
  'class',
  'id',
  'role',
  'href',
  'scope',
  'colspan',
  'width',
  'height',
  'viewbox',
  'viewBox',
  'x',
  'y',
  'x1',
  'x2',
  'y1',
  'y2',
  'focusable',
  'text-anchor',
  'preserveAspectRatio',
  'transform',
]);

function assertNothingRaw(text: string, where: string): void {
  const control = RAW_CONTROL.exec(text);
  expect(
    control,
    `${where}: raw control character U+${control?.[0].charCodeAt(0).toString(16)} near ${JSON.stringify(text.slice(Math.max(0, (control?.index ?? 0) - 40), (control?.index ?? 0) + 40))}`,
  ).toBeNull();
  const format = RAW_FORMAT.exec(text);
  expect(
    format,
    `${where}: raw formatting character near ${JSON.stringify(text.slice(Math.max(0, (format?.index ?? 0) - 40), (format?.index ?? 0) + 40))}`,
  ).toBeNull();
}

/** Slack mrkdwn outside code spans and blocks (what Slack would act on). */
function slackOutsideCode(text: string): string {
  return text
    .split('```')
    .filter((_, i) => i % 2 === 0)
    .join(' ')
    .split('`')
    .filter((_, i) => i % 2 === 0)
    .join(' ');
}

let work: string;
let hostileDir: string;
let dynamo: LocalDynamo;
let check: CliRun;
let checkJson: CliRun;
let checkSarif: CliRun;
let checkJunit: CliRun;
let checkCsv: CliRun;
let checkAsff: CliRun;
let checkOcsf: CliRun;
let checkHtml: CliRun;
let htmlReport: string;
let published: PublishedSnsMessage[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'irsa-hostile-'));
  hostileDir = join(work, 'fleet');
  writeHostileFleet(hostileDir);
  const cli = (args: string[]) =>
    runNodeAsync([`${REPO_ROOT}/bin/irsa-audit.mjs`, ...args], {
      cwd: work,
      env: { NO_COLOR: '1' },
      timeoutMs: 120_000,
    });
  [check, checkJson, checkAsff, checkOcsf] = await Promise.all([
    cli(['check', hostileDir, '--no-color', '-q']),
    cli(['check', hostileDir, '--format', 'json', '-q']),
    cli(['check', hostileDir, '--format', 'asff', '-q', '--include-passed']),
    cli(['check', hostileDir, '--format', 'ocsf', '-q', '--include-passed']),
  ]);
  // Every result, passes included, so that every hostile value shown anywhere is in these.
  [checkSarif, checkJunit, checkCsv, checkHtml] = await Promise.all([
    cli(['check', hostileDir, '--format', 'sarif', '--include-passed', '-q']),
    cli(['check', hostileDir, '--format', 'junit', '--include-passed', '-q']),
    cli(['check', hostileDir, '--format', 'csv', '--include-passed', '-q']),
    cli(['check', hostileDir, '--format', 'html', '-o', join(work, 'report.html'), '-q']),
  ]);
  htmlReport = readFileSync(join(work, 'report.html'), 'utf8');
  // Two nights: the clean fleet, then the hostile one, so the hostile findings are regressions.
  dynamo = await startDynalite();
  for (const [time, fleetDir] of [
    ['2026-11-01T02:00:00.000Z', join(REPO_ROOT, 'examples/fleet')],
    ['2026-11-02T02:00:00.000Z', hostileDir],
  ] as const) {
    const pipeline = await startLocalPipeline({ fleetDir, dynamo });
    try {
      published = (await pipeline.runNight(time)).published.slice();
    } finally {
      await pipeline.stop();
    }
  }
}, 300_000);

afterAll(async () => {
  await dynamo?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a fleet of hostile values', () => {
  it('reaches the findings (the test has something to prove)', () => {
    expect(check.stdout).toContain('escapes');
    expect(check.stdout).toContain('PWNED');
    expect(check.stdout).toContain('IRSA-023');
    expect(check.stdout).toContain('touch PWNED10');
    const json = JSON.parse(checkJson.stdout);
    const texts = JSON.stringify(json);
    expect(texts).toContain('\\u001b[2J');
    const regressions = published.filter((m) => m.attributes.eventType?.StringValue === 'regression');
    expect(regressions.length).toBeGreaterThan(0);
  });

  it("check's table: no raw control or formatting character; the escapes shown as \\x1b; the long role cut, saying so", () => {
    // 2: some snapshot files could not be used (AUDIT-004), as the stderr says.
    expect(check.status, check.stderr).toBe(2);
    assertNothingRaw(check.stdout, 'check table');
    assertNothingRaw(check.stderr, 'check stderr');
    // In a message, as the message quotes it (JSON escapes); elsewhere, as the terminal sink shows it.
    expect(check.stdout).toContain('\\u001b[2J\\u001b]0;pwned\\u0007arn:aws:iam::');
    expect(check.stdout).toContain('cart\\u202eipa-dlo\\u2066');
    expect(check.stdout).toContain("--client-id $'sts$(touch PWNED6)`touch PWNED7`;touch PWNED8\\x1b[31m'");
    expect(check.stdout).not.toContain('a'.repeat(1025));
    expect(check.stdout).toMatch(/…\[cut:\s+70,0\d\d\s+characters\s+in\s+all\]/);
  });

  it('SARIF: valid per the official SARIF 2.1.0 schema, nothing raw, the audit said incomplete', () => {
    expect(checkSarif.status, checkSarif.stderr).toBe(2);
    assertNothingRaw(checkSarif.stdout, 'check sarif');
    const log = JSON.parse(checkSarif.stdout);
    expect(sarifSchemaErrors(log)).toEqual([]);
    const run = log.runs[0];
    expect(run.invocations[0].executionSuccessful).toBe(false);
    // The hostile values reached it, shown escaped in what a code-scanning view displays.
    const messages = run.results.map((r: { message: { text: string } }) => r.message.text).join('\n');
    expect(messages).toContain('\\u001b[2J\\u001b]0;pwned\\u0007arn:aws:iam::');
    expect(JSON.stringify(run.results)).toContain('PWNED');
    expect(checkSarif.stdout).not.toContain('a'.repeat(1025));
  });

  it('JUnit XML: well-formed XML 1.0 read back by a real parser, nothing raw', () => {
    expect(checkJunit.status, checkJunit.stderr).toBe(2);
    assertNothingRaw(checkJunit.stdout, 'check junit');
    const junit = parseJunit(checkJunit.stdout);
    const cases = (junit.testsuites.testsuite ?? []).flatMap((s) => s.testcase);
    expect(cases.some((c) => c.name.includes('escapes'))).toBe(true);
    const failures = cases
      .map((c) => `${c.failure?.message ?? ''}\n${c.failure?.['#text'] ?? ''}`)
      .join('\n');
    expect(failures).toContain('PWNED');
    expect(failures).toContain('cart\\u202eipa-dlo\\u2066');
    expect(checkJunit.stdout).not.toContain('a'.repeat(1025));
  });

  it('CSV: RFC 4180 read back by a real parser, nothing raw, no cell a spreadsheet would compute', () => {
    expect(checkCsv.status, checkCsv.stderr).toBe(2);
    // Records end with CRLF (RFC 4180): the only carriage returns there may be.
    assertNothingRaw(checkCsv.stdout.replace(/\r\n/g, '\n'), 'check csv');
    const [header, ...rows] = parseCsv(checkCsv.stdout) as string[][];
    expect(header?.[0]).toBe('checkId');
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      expect(row).toHaveLength(header?.length ?? 0);
      for (const cell of row) expect(startsFormula(cell), cell).toBe(false);
    }
    expect(rows.some((r) => r.join(' ').includes('PWNED'))).toBe(true);
    // The formula reached a cell's start, and was neutralised there.
    expect(rows.some((r) => r.includes(`'${FORMULA_KIND}/x`))).toBe(true);
    expect(checkCsv.stdout).not.toContain('a'.repeat(1025));
  });

  it("check's HTML: every value is text, no element or attribute comes from one, nothing raw", () => {
    expect(checkHtml.status, checkHtml.stderr).toBe(2);
    const doc = parseHtml(htmlReport);
    const text = textOf(doc);
    // The values reached the page (as text), in the messages and the fixes.
    expect(text).toContain('role/<img src=x onerror=alert(1)>');
    expect(text).toContain('<script>alert(2)</script>');
    expect(text).toContain('touch PWNED10');
    // No element and no attribute but the renderer's own.
    for (const e of elements(doc)) {
      expect(HTML_TAGS, e.tagName).toContain(e.tagName);
      for (const a of e.attrs)
        expect(HTML_ATTRIBUTES.has(a.name) || /^(data|aria)-[a-z-]+$/.test(a.name), a.name).toBe(true);
    }
    expect(externalReferences(doc)).toEqual([]);
    expect(htmlReport).not.toMatch(/https:\/\/evil\.example\/"/);
    // The escapes and bidi characters are shown escaped, in the file itself and in its text.
    assertNothingRaw(htmlReport, 'check html');
    expect(text).toContain('\\u001b[2J\\u001b]0;pwned\\u0007arn:aws:iam::');
    expect(htmlReport).not.toContain('a'.repeat(1025));
    expect(text).toMatch(/…\[cut:\s+70,0\d\d\s+characters\s+in\s+all\]/);
    // The audit could not use some files (AUDIT-004): said first, not an all-clear.
    const notice = byClass(doc, 'callout').find((c) => attr(c, 'data-coverage') === 'incomplete');
    expect(textOf(notice as HtmlElement)).toMatch(/AUDIT-004/);
  });

  it('names Kubernetes and IAM would never return make their file an input error, naming the field', () => {
    const findings: { checkId: string; message: string; cluster: string | null; accountId: string | null }[] =
      JSON.parse(checkJson.stdout).findings;
    const inputErrors = findings.filter((f) => f.checkId === 'AUDIT-004');
    expect(inputErrors.map((f) => f.message).join('\n')).toMatch(
      /payments\/kubernetes\.json.*items\[\d+\]\.metadata\.name/,
    );
    expect(inputErrors.map((f) => f.message).join('\n')).toMatch(
      /345678901234\/iam\.json.*Roles\[\d+\]\.RoleName/,
    );
    for (const f of inputErrors) expect(f.message).not.toContain('PWNED');
  });

  it("check's JSON is valid JSON, every value exact and escaped as JSON escapes it", () => {
    expect(RAW_CONTROL.test(checkJson.stdout)).toBe(false);
    const findings: { checkId: string; evidence: { value?: unknown } | null }[] = JSON.parse(
      checkJson.stdout,
    ).findings;
    // The evidence keeps the exact value (JSON escapes it); a terminal never sees it raw.
    expect(findings.some((f) => f.checkId === 'IRSA-010' && f.evidence?.value === HOSTILE_ARN)).toBe(true);
  });

  it("check's ASFF and OCSF: valid JSON, every finding one its schema takes, no string with a raw character", () => {
    const strings = (value: unknown): string[] =>
      typeof value === 'string'
        ? [value]
        : Array.isArray(value)
          ? value.flatMap(strings)
          : value !== null && typeof value === 'object'
            ? Object.values(value).flatMap(strings)
            : [];
    for (const [run, name] of [
      [checkAsff, 'asff'],
      [checkOcsf, 'ocsf'],
    ] as const) {
      expect(run.status, run.stderr).toBe(2);
      assertNothingRaw(run.stdout, `check --format ${name}`);
      const findings = JSON.parse(run.stdout) as Record<string, unknown>[];
      expect(findings.length).toBeGreaterThan(10);
      for (const [i, text] of strings(findings).entries()) assertNothingRaw(text, `${name} string ${i}`);
      const all = JSON.stringify(findings);
      // The hostile values are there, escaped; the long role cut, saying so.
      expect(all).toContain('\\x1b[2J');
      expect(all).toContain('PWNED');
      expect(all).not.toContain('a'.repeat(1025));
      expect(all).toMatch(/…\[cut: 70,0\d\d characters in all\]/);
    }
    for (const finding of JSON.parse(checkAsff.stdout) as Record<string, unknown>[]) {
      expect(asffProblem(finding), String(finding.Id)).toBeNull();
    }
    for (const event of JSON.parse(checkOcsf.stdout) as Record<string, unknown>[]) {
      expect(validateEvent(event, 'events/findings/compliance_finding.json', ['cloud'])).toEqual([]);
    }
  });

  it('every fix command, run in bash, runs nothing but the command it names', () => {
    const findings: { remediation: string | null }[] = JSON.parse(checkJson.stdout).findings;
    const commands = findings.map((f) => f.remediation).filter((r): r is string => r !== null && r !== '');
    expect(commands.some((c) => c.includes('PWNED'))).toBe(true);
    const sandbox = join(work, 'bash');
    rmSync(sandbox, { recursive: true, force: true });
    cpSync(hostileDir, join(sandbox, 'unused'), { recursive: true });
    const stubs = ['kubectl', 'aws', 'eksctl', 'irsa-audit', 'nslookup', 'curl', 'dig']
      .map((name) => `${name}() { :; }`)
      .join('\n');
    for (const [i, command] of commands.entries()) {
      writeFileSync(join(sandbox, `fix-${i}.sh`), `${stubs}\n${command}\n`);
      // It parses (so that it runs at all), then it runs; its own exit status is not the point.
      const syntax = spawnSync('bash', ['-n', `fix-${i}.sh`], { cwd: sandbox, encoding: 'utf8' });
      expect(syntax.status, `${command}\n${syntax.stderr}`).toBe(0);
      spawnSync('bash', [`fix-${i}.sh`], { cwd: sandbox, stdio: 'ignore', timeout: 10_000 });
    }
    expect(readdirSync(sandbox).filter((f) => f.startsWith('PWNED'))).toEqual([]);
  });

  it('the email text and the Chatbot notification: nothing raw, and no link or mention from a value', () => {
    expect(published.length).toBeGreaterThan(0);
    for (const message of published) {
      const structure = JSON.parse(message.message) as { default: string; email: string; https: string };
      assertNothingRaw(structure.email, `email of ${message.subject}`);
      assertNothingRaw(message.subject ?? '', 'subject');
      expect(structure.email).not.toMatch(/https:\/\/evil/);
      const chat = JSON.parse(structure.https) as { content: { title: string; description: string } };
      for (const text of [chat.content.title, chat.content.description]) {
        assertNothingRaw(text, `chat of ${message.subject}`);
        const live = slackOutsideCode(text);
        expect(live).not.toMatch(/<https?:|<!channel>|<!here>|<@/);
        expect(live).not.toContain('*bold*');
      }
    }
  });

  it("history's table of the hostile cluster: nothing raw", async () => {
    let out = '';
    let err = '';
    const code = await runHistoryCommand(
      { cluster: `${ACCOUNT}/eu-west-1/checkout`, state: 'all', table: dynamo.tableName },
      { stdout: (t) => (out += t), stderr: (t) => (err += t), client: dynamo.client, env: {} },
    );
    expect(code, err).toBe(0);
    expect(out).toContain('escapes');
    assertNothingRaw(out, 'history');
    assertNothingRaw(err, 'history stderr');
  });
  it("history's HTML report of the hostile fleet: values are text, nothing raw", async () => {
    let err = '';
    const file = join(work, 'history.html');
    const code = await runHistoryCommand(
      { report: 'html', output: file, table: dynamo.tableName },
      { stdout: () => {}, stderr: (t) => (err += t), client: dynamo.client, env: {}, cwd: work },
    );
    expect(code, err).toBe(0);
    const page = readFileSync(file, 'utf8');
    const doc = parseHtml(page);
    expect(textOf(doc)).toContain('role/<img src=x onerror=alert(1)>');
    for (const e of elements(doc)) {
      expect(HTML_TAGS, e.tagName).toContain(e.tagName);
      for (const a of e.attrs)
        expect(HTML_ATTRIBUTES.has(a.name) || /^(data|aria)-[a-z-]+$/.test(a.name), a.name).toBe(true);
    }
    expect(externalReferences(doc)).toEqual([]);
    assertNothingRaw(page, 'history html');
    expect(page).not.toContain('a'.repeat(1025));
  });
});
