import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SEVERITIES, type Severity } from '../checks/types.ts';
import type { FindingChange, StoredFinding } from '../history/types.ts';
import {
  accountUnit,
  bySeverity,
  clusterUnit,
  FIXTURE_ACCOUNT,
  findingChange,
  runDigest,
  unitOutcome,
} from '../testing/history-fixtures.ts';
import { digestMessage, regressionAlert, type SnsMessage } from './messages.ts';

/** AWS Chatbot's custom notification schema with the documented field limits. */
const chatbotSchema = z
  .object({
    version: z.literal('1.0'),
    source: z.literal('custom'),
    id: z.string().optional(),
    content: z
      .object({
        textType: z.literal('client-markdown'),
        title: z.string().max(250),
        description: z.string().min(1).max(8000),
        nextSteps: z.array(z.string().min(1).max(350)).optional(),
        keywords: z.array(z.string().min(1).max(75)).optional(),
      })
      .strict(),
    metadata: z
      .object({
        threadId: z.string().optional(),
        summary: z.string().optional(),
        eventType: z.string().optional(),
        relatedResources: z.array(z.string()).optional(),
        additionalContext: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const KB240 = 240 * 1024;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const SEVERITY_LINE = /^(CRITICAL|HIGH|MEDIUM|LOW) {2}\S+ {2}/gm;

function present(message: SnsMessage | null): SnsMessage {
  if (message === null) throw new Error('expected an alert, got null');
  return message;
}

/** The JSON structure, checked to be an object of strings with the keys SNS and we need. */
function structure(message: SnsMessage): { default: string; email: string; https: string } {
  const parsed = z
    .object({ default: z.string(), email: z.string(), https: z.string() })
    .strict()
    .parse(JSON.parse(message.message));
  return parsed;
}

function chat(message: SnsMessage) {
  return chatbotSchema.parse(JSON.parse(structure(message).https));
}

function text(message: SnsMessage): string {
  return structure(message).default;
}

/** What SNS counts: the Message, the attributes (name, type, value) and, to be safe, the Subject. */
function publishSize(message: SnsMessage): number {
  let size = Buffer.byteLength(message.message, 'utf8') + Buffer.byteLength(message.subject, 'utf8');
  for (const [key, value] of Object.entries(message.attributes)) {
    size += Buffer.byteLength(key) + Buffer.byteLength(value.DataType) + Buffer.byteLength(value.StringValue);
  }
  return size;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function expectValidSubject(subject: string): void {
  expect(subject.length).toBeGreaterThan(0);
  expect(subject.length).toBeLessThanOrEqual(100);
  expect(subject).toMatch(/^[\x21-\x7e][\x20-\x7e]*$/);
}

/** Well-formed UTF-16 (so it encodes to valid UTF-8 and back unchanged). */
function expectWellFormed(value: string): void {
  expect(LONE_SURROGATE.test(value)).toBe(false);
  expect(Buffer.from(value, 'utf8').toString('utf8')).toBe(value);
}

const CHECKS = ['IRSA-030', 'IRSA-031', 'IRSA-032', 'IRSA-013'] as const;

/** `count` newly failing findings: the first `critical` are critical, the rest high/medium/low in turn. */
function manyRegressions(
  count: number,
  options: { critical?: number; message?: (i: number) => string } = {},
): FindingChange[] {
  const critical = options.critical ?? 0;
  return Array.from({ length: count }, (_, i) => {
    const severity: Severity = i < critical ? 'critical' : (SEVERITIES[1 + (i % 3)] ?? 'low');
    const overrides: Partial<StoredFinding> = {
      checkId: CHECKS[i % CHECKS.length],
      severity,
      serviceAccount: `sa-${i}`,
      workload: { kind: 'Deployment', name: `app-${i}` },
      ...(options.message ? { message: options.message(i) } : {}),
      remediation: `kubectl --context checkout rollout restart deployment/app-${i} -n checkout`,
    };
    return findingChange('opened', overrides);
  });
}

describe('regressionAlert: what the alert says', () => {
  it('names a newly failing finding, its resource, the change, its message and the command on its own line', () => {
    const change = findingChange('opened');
    const alert = present(regressionAlert(unitOutcome({ changes: [change] })));
    const body = text(alert);
    expect(body).toMatch(/^IRSA regressions: account 210987654321, region eu-west-1, cluster checkout$/m);
    expect(body).toContain('HIGH  IRSA-030  Pods run without the IRSA injection');
    expect(body).toContain(
      'resource: service account checkout/cart-api · Deployment checkout/cart-api · role checkout-cart-api',
    );
    expect(body).toMatch(/change: +newly failing$/m);
    expect(body).toContain(change.finding.message);
    expect(body).toMatch(new RegExp(`^ +${escapeRegExp(change.finding.remediation ?? '')}$`, 'm'));
    expect(body).toContain('irsa-audit history --cluster checkout --account 210987654321');
    const description = chat(alert).content.description;
    expect(description).toContain('`IRSA-030`');
    expect(description).toContain('newly failing');
    expect(description).toContain(change.finding.remediation);
  });

  it.each([
    ['reopened', findingChange('reopened', {}, { previousSeverity: 'high' }), /reopened: failing again/],
    [
      'severity raised',
      findingChange('severity-changed', { severity: 'critical' }, { previousSeverity: 'medium' }),
      /severity raised from medium to critical/,
    ],
    [
      'reopened at another severity',
      findingChange('reopened', { severity: 'high' }, { previousSeverity: 'low' }),
      /reopened: .*\(was low, now high\)/,
    ],
  ])('says what changed for a %s finding', (_kind, change, phrase) => {
    const alert = present(regressionAlert(unitOutcome({ changes: [change] })));
    expect(text(alert)).toMatch(new RegExp(`change: +${phrase.source}`, 'm'));
    expect(text(alert)).toMatch(new RegExp(`^ +${escapeRegExp(change.finding.remediation ?? '')}$`, 'm'));
    expect(chat(alert).content.description).toMatch(phrase);
  });

  it('puts each line of a multi-line command on its own indented line', () => {
    const remediation =
      'CA=$(aws eks describe-cluster --name checkout --query cluster.certificateAuthority.data)\nkubectl patch mutatingwebhookconfiguration pod-identity-webhook --type json -p "$PATCH"';
    const change = findingChange('opened', { checkId: 'IRSA-004', severity: 'critical', remediation });
    const body = text(present(regressionAlert(unitOutcome({ changes: [change] }))));
    for (const line of remediation.split('\n'))
      expect(body).toMatch(new RegExp(`^ {8}${escapeRegExp(line)}$`, 'm'));
  });

  it('lists resolved findings and other changes after the regressions, without counting them as regressions', () => {
    const changes = [
      findingChange('resolved', {
        checkId: 'IRSA-031',
        serviceAccount: 'loader',
        namespace: 'etl',
        workload: null,
      }),
      findingChange('resolved', { checkId: 'IRSA-013', severity: 'critical', serviceAccount: 'api' }),
      findingChange(
        'severity-changed',
        { checkId: 'IRSA-016', severity: 'low' },
        { previousSeverity: 'medium' },
      ),
      findingChange('opened', { severity: 'medium' }),
    ];
    const alert = present(regressionAlert(unitOutcome({ changes })));
    const body = text(alert);
    const resolvedAt = body.indexOf('Resolved (2):');
    expect(resolvedAt).toBeGreaterThan(body.indexOf('MEDIUM  IRSA-030'));
    const resolvedSection = body.slice(resolvedAt, body.indexOf('Other changes'));
    expect(resolvedSection).toContain('IRSA-031  service account etl/loader');
    expect(resolvedSection).toContain('CRITICAL  IRSA-013');
    expect(body).toMatch(/IRSA-016 .*: severity lowered from medium to low$/m);
    expect(body.match(SEVERITY_LINE)).toHaveLength(1);
    expect(alert.attributes.regressions?.StringValue).toBe('1');
    expect(alert.attributes.maxSeverity?.StringValue).toBe('medium');
    expect(chat(alert).content.description).toMatch(/2 findings resolved: IRSA-013, IRSA-031/);
  });

  it('says when the audit was partial', () => {
    const alert = present(
      regressionAlert(unitOutcome({ partial: true, changes: [findingChange('opened')] })),
    );
    expect(text(alert)).toContain('This audit was partial');
  });

  it('names the account, and the history command without --cluster, for an account-wide unit', () => {
    const change = findingChange('opened', {
      checkId: 'IRSA-050',
      region: null,
      cluster: null,
      namespace: null,
      serviceAccount: null,
      workload: null,
      roleName: null,
      resource: 'oidc.eks.eu-west-1.amazonaws.com/id/ABC',
    });
    const alert = present(regressionAlert(unitOutcome({ unit: accountUnit(), changes: [change] })));
    expect(text(alert)).toContain('account 210987654321 (account-wide findings)');
    expect(text(alert)).toContain('resource: oidc.eks.eu-west-1.amazonaws.com/id/ABC');
    expect(text(alert)).toContain('History: irsa-audit history --account 210987654321');
    expect(alert.subject).toContain('in account 210987654321');
    expect(alert.attributes).not.toHaveProperty('cluster');
    expect(alert.attributes).not.toHaveProperty('region');
    expect(alert.attributes.accountId?.StringValue).toBe(FIXTURE_ACCOUNT);
  });

  it('links the console URL a function builds for the unit', () => {
    const alert = present(
      regressionAlert(unitOutcome({ changes: [findingChange('opened')] }), {
        consoleUrl: (unit) => `https://audit.example.com/clusters/${unit.accountId}/${unit.cluster}`,
      }),
    );
    expect(text(alert)).toContain('Console: https://audit.example.com/clusters/210987654321/checkout');
    expect(chat(alert).content.nextSteps).toContain(
      '<https://audit.example.com/clusters/210987654321/checkout|Open in the console>',
    );
  });
});

describe('regressionAlert: when there is no alert', () => {
  it('returns null for a baseline, even with changes flagged as regressions', () => {
    const outcome = unitOutcome({
      baseline: true,
      changes: [findingChange('opened', {}, { regression: true })],
    });
    expect(regressionAlert(outcome)).toBeNull();
  });

  it('returns null when nothing regressed', () => {
    const changes = [
      findingChange('resolved'),
      findingChange('exempted', { checkId: 'IRSA-015' }),
      findingChange('severity-changed', { severity: 'low' }, { previousSeverity: 'high' }),
    ];
    expect(changes.some((c) => c.regression)).toBe(false);
    expect(regressionAlert(unitOutcome({ changes }))).toBeNull();
    expect(regressionAlert(unitOutcome({ changes: [] }))).toBeNull();
  });
});

describe('regressionAlert: attributes and subject', () => {
  it('sets the filter attributes, maxSeverity being the most severe regression', () => {
    const changes = [
      findingChange('opened', { severity: 'medium' }),
      findingChange('reopened', { checkId: 'IRSA-031', severity: 'high' }, { previousSeverity: 'high' }),
      findingChange('resolved', { checkId: 'IRSA-004', severity: 'critical' }),
      findingChange('exempted', { checkId: 'IRSA-001', severity: 'critical' }),
    ];
    const alert = present(regressionAlert(unitOutcome({ changes })));
    expect(alert.attributes).toEqual({
      eventType: { DataType: 'String', StringValue: 'regression' },
      maxSeverity: { DataType: 'String', StringValue: 'high' },
      regressions: { DataType: 'Number', StringValue: '2' },
      accountId: { DataType: 'String', StringValue: '210987654321' },
      region: { DataType: 'String', StringValue: 'eu-west-1' },
      cluster: { DataType: 'String', StringValue: 'checkout' },
    });
    expect(alert.messageStructure).toBe('json');
    expect(alert.subject).toBe('[irsa-audit] HIGH: 2 regressions on checkout (210987654321 eu-west-1)');
  });

  it('keeps the subject printable ASCII, one line and under 100 characters whatever the names', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        (cluster, region, count) => {
          const changes = manyRegressions(count);
          const alert = present(
            regressionAlert(unitOutcome({ unit: clusterUnit({ cluster, region }), changes })),
          );
          expectValidSubject(alert.subject);
          expect(alert.subject).toMatch(/^\[irsa-audit\] HIGH: \d regressions? on /);
          for (const value of Object.values(alert.attributes)) expect(value.StringValue).not.toBe('');
          expectWellFormed(alert.message);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('regressionAlert: message structure', () => {
  it('holds readable text for email and default, and a Chatbot custom notification for https', () => {
    const alert = present(regressionAlert(unitOutcome({ changes: [findingChange('opened')] })));
    const parsed = structure(alert);
    expect(Object.keys(JSON.parse(alert.message))).toEqual(['default', 'email', 'https']);
    expect(parsed.email).toBe(parsed.default);
    expect(parsed.default.startsWith('IRSA regressions:')).toBe(true);
    const notification = chat(alert);
    expect(notification.content.title).toContain('1 regression on checkout');
    expect(notification.content.nextSteps).toContain(
      'See the history: `irsa-audit history --cluster checkout --account 210987654321`',
    );
    expect(notification.content.keywords).toEqual(['HIGH', '210987654321', 'eu-west-1', 'checkout']);
    expect(notification.metadata?.additionalContext).toMatchObject({ maxSeverity: 'high', regressions: '1' });
  });

  it('threads the alerts of one cluster together across runs, and apart from other clusters', () => {
    const thread = (runId: string, cluster: string) =>
      chat(
        present(
          regressionAlert(
            unitOutcome({ runId, unit: clusterUnit({ cluster }), changes: [findingChange('opened')] }),
          ),
        ),
      ).metadata?.threadId;
    expect(thread('run-1', 'checkout')).toBe(thread('run-2', 'checkout'));
    expect(thread('run-1', 'checkout')).not.toBe(thread('run-1', 'batch'));
  });
});

describe('regressionAlert: size', () => {
  it('keeps 20,000 regressions under the budget, most severe first, and counts what it left out', () => {
    const resolved = ['IRSA-001', 'IRSA-004', 'IRSA-011'].map((checkId) =>
      findingChange('resolved', { checkId }),
    );
    const changes = [...manyRegressions(20_000, { critical: 40 }), ...resolved];
    const alert = present(regressionAlert(unitOutcome({ changes })));
    expect(publishSize(alert)).toBeLessThanOrEqual(KB240);
    const body = text(alert);
    const listed = body.match(SEVERITY_LINE) ?? [];
    const more = /^\.\.\. and (\d+) more: (.*)$/m.exec(body);
    expect(more).not.toBeNull();
    expect(listed.length).toBeGreaterThan(40);
    expect(listed.length + Number(more?.[1])).toBe(20_000);
    // Every critical one is listed, and before any other.
    expect(listed.slice(0, 40).every((line) => line.startsWith('CRITICAL'))).toBe(true);
    expect(listed.slice(40).some((line) => line.startsWith('CRITICAL'))).toBe(false);
    expect(more?.[2]).toMatch(/^\d+ high IRSA-\d{3}, /);
    expect(more?.[2]).toMatch(/\d+ low IRSA-\d{3}/);
    // The resolved findings are still listed after them.
    expect(body).toMatch(
      /^Resolved \(3\):\n {2}- HIGH {2}IRSA-001 .*\n {2}- HIGH {2}IRSA-004 .*\n {2}- HIGH {2}IRSA-011 /m,
    );
    expect(alert.attributes.regressions?.StringValue).toBe('20000');
    expect(alert.attributes.maxSeverity?.StringValue).toBe('critical');
    const description = chat(alert).content.description;
    expect(description).toMatch(/… and \d+ more: /);
  });

  it('stays valid UTF-8 JSON within the budget when multi-byte text falls on the limit', () => {
    const samples = ['設定が壊れています', '😀🚀👩‍👩‍👧', 'Zürich é́', 'ασφάλεια'];
    const changes = manyRegressions(400, {
      message: (i) => `${(samples[i % samples.length] ?? '').repeat(1 + (i % 7))} pod ${i} "quoted" \\ back`,
    });
    for (let budget = 16 * 1024; budget <= 48 * 1024; budget += 1531) {
      const alert = present(regressionAlert(unitOutcome({ changes }), { budgetBytes: budget }));
      expect(publishSize(alert)).toBeLessThanOrEqual(budget);
      expectWellFormed(alert.message);
      const body = text(alert);
      const listed = body.match(SEVERITY_LINE)?.length ?? 0;
      const omitted = Number(/^\.\.\. and (\d+) more/m.exec(body)?.[1]);
      // The limit fell inside the list: some are listed, the rest counted.
      expect(listed).toBeGreaterThan(0);
      expect(listed + omitted).toBe(400);
      chat(alert);
    }
  });

  it.each([
    ['', 'even'],
    ['x', 'odd'],
  ])('repairs broken input text and clips long messages between code points (%s, %s offset)', (pad) => {
    const change = findingChange('opened', {
      message: `${pad}bell\u0007 lone \uD83D surrogate ${'😀'.repeat(3000)}`,
      title: 'line\nbreak',
    });
    const alert = present(regressionAlert(unitOutcome({ changes: [change] })));
    expectWellFormed(alert.message);
    const body = text(alert);
    expectWellFormed(body);
    expectWellFormed(chat(alert).content.description);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
    expect(body).not.toMatch(/[\u0000-\u0008\u000B-\u001F]/);
    expect(body).toContain('line break');
    const messageLine = body.split('\n').find((line) => line.includes('lone'));
    expect(messageLine?.endsWith('😀…')).toBe(true);
    expect(messageLine?.length).toBeLessThan(1100);
  });

  it('never cuts a command: one too long is replaced by where to find it', () => {
    const remediation = `kubectl apply -f - <<'EOF'\n${'x'.repeat(6000)}\nEOF`;
    const alert = present(
      regressionAlert(unitOutcome({ changes: [findingChange('opened', { remediation })] })),
    );
    const body = text(alert);
    expect(body).not.toContain('xxxxxxxxxx');
    expect(body).toContain(`fix: the command is ${remediation.length} characters long`);
    expect(chat(alert).content.description).not.toContain('```');
  });

  it('refuses a budget SNS cannot take or the fixed parts cannot fit in', () => {
    const outcome = unitOutcome({ changes: [findingChange('opened')] });
    expect(() => regressionAlert(outcome, { budgetBytes: 300_000 })).toThrow(/budgetBytes/);
    expect(() => regressionAlert(outcome, { budgetBytes: 1_000 })).toThrow(/budgetBytes/);
  });
});

describe('digestMessage', () => {
  it('reports the run: accounts, clusters, findings, open severities and the regressed clusters', () => {
    const digest = runDigest({
      regressedUnits: [
        { unit: clusterUnit(), regressions: 3, maxSeverity: 'critical' },
        { unit: clusterUnit({ cluster: 'batch' }), regressions: 1, maxSeverity: 'medium' },
      ],
    });
    const message = digestMessage(digest);
    const body = text(message);
    expect(body).toContain('run run-2026-05-01T02:00:00Z');
    expect(body).toContain('Started 2026-05-01 02:00 UTC, completed 2026-05-01 02:14 UTC (14m 30s).');
    expect(body).toContain('Accounts: 3 planned, 2 audited, 1 failed.');
    expect(body).toContain('111122223333: AccessDenied: sts:AssumeRole');
    expect(body).toMatch(/Clusters: 5 audited, 1 partial .*1 baselined/);
    expect(body).toContain('Findings this run: 4 new, 2 resolved, 3 regressions.');
    expect(body).toContain('Open findings after the run: 1 critical, 4 high, 0 medium, 2 low (7 in all');
    const critical = body.indexOf('CRITICAL  210987654321 / eu-west-1 / checkout: 3 regressions');
    expect(critical).toBeGreaterThan(0);
    expect(body.indexOf('MEDIUM    210987654321 / eu-west-1 / batch: 1 regression')).toBeGreaterThan(
      critical,
    );
    expectValidSubject(message.subject);
    expect(message.subject).toBe(
      '[irsa-audit] Nightly digest: 3 regressions, 4 new, 2 resolved, 1 account failed',
    );
    const notification = chat(message);
    expect(notification.content.description).toContain('`111122223333`');
    expect(notification.content.description).toContain('`210987654321 / eu-west-1 / batch`: 1 regression');
  });

  it('sets digest attributes: the most severe open severity, or none', () => {
    const message = digestMessage(
      runDigest({ openBySeverity: bySeverity({ medium: 2, low: 1 }), regressions: 0 }),
    );
    expect(message.attributes).toEqual({
      eventType: { DataType: 'String', StringValue: 'digest' },
      maxSeverity: { DataType: 'String', StringValue: 'medium' },
      regressions: { DataType: 'Number', StringValue: '0' },
      accountsFailed: { DataType: 'Number', StringValue: '1' },
    });
    const quiet = digestMessage(
      runDigest({ openBySeverity: bySeverity(), regressedUnits: [], regressions: 0 }),
    );
    expect(quiet.attributes.maxSeverity?.StringValue).toBe('none');
    expect(text(quiet)).toContain('No cluster has regressions.');
  });

  it('caps the regressed clusters and failed accounts, counting the rest, within the budget', () => {
    const regressedUnits = Array.from({ length: 500 }, (_, i) => ({
      unit: clusterUnit({ cluster: `cluster-${i}` }),
      regressions: 2,
      maxSeverity: 'high' as const,
    }));
    const accountsFailed = Array.from({ length: 3000 }, (_, i) => ({
      accountId: String(100000000000 + i),
      reason: `AccessDenied ${'é'.repeat(400)}`,
    }));
    const message = digestMessage(runDigest({ regressedUnits, accountsFailed }), { budgetBytes: 32 * 1024 });
    expect(publishSize(message)).toBeLessThanOrEqual(32 * 1024);
    expectWellFormed(message.message);
    const body = text(message);
    const listedUnits =
      body.match(/^ {2}- HIGH {6}210987654321 \/ eu-west-1 \/ cluster-\d+: 2 regressions$/gm) ?? [];
    const moreUnits = Number(/^ {2}\.\.\. and (\d+) more clusters with (\d+) regressions$/m.exec(body)?.[1]);
    expect(listedUnits.length).toBeGreaterThan(0);
    expect(listedUnits.length + moreUnits).toBe(500);
    const listedAccounts = body.match(/^ {2}- 1\d{11}: AccessDenied/gm) ?? [];
    const moreAccounts = Number(/^ {2}\.\.\. and (\d+) more accounts$/m.exec(body)?.[1]);
    expect(listedAccounts.length + moreAccounts).toBe(3000);
    const description = chat(message).content.description;
    expect(description).toMatch(/… and \d+ more clusters/);
    expect(description).toMatch(/… and \d+ more accounts/);
  });
});
