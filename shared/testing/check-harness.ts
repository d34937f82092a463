/**
 * Registers the fixture tests of one check: every pass fixture yields at least one pass and no
 * failure, every fail fixture yields exactly the expected failing subjects, each with a message
 * and a remediation, and every not-evaluated fixture yields no pass and no fail for its subject.
 */
import { describe, expect, it } from 'vitest';
import type { Check, CheckResult, Subject } from '../checks/types.ts';
import { AuditContext } from '../engine/audit-context.ts';
import type { Fleet } from '../model/fleet.ts';

export const FIXTURE_NOW = new Date('2026-01-01T00:00:00Z');

export interface PassFixture {
  readonly name: string;
  readonly fleet: () => Fleet;
  readonly now?: Date;
}

export interface FailFixture extends PassFixture {
  /** The failing subjects, in any order; only the fields given are compared. */
  readonly expect: readonly Partial<Subject>[];
  /** Substrings the (single) failure's message or evidence must contain. */
  readonly mentions?: readonly string[];
  /** Substrings its message, evidence and remediation must not contain (advice that does not apply). */
  readonly absent?: readonly string[];
}

export interface NotEvaluatedFixture extends PassFixture {
  readonly expect: readonly Partial<Subject>[];
}

export function runCheck(check: Check, fleet: Fleet, now: Date = FIXTURE_NOW): CheckResult[] {
  return check.evaluate(new AuditContext(fleet, now));
}

function subjectKey(subject: Partial<Subject>): string {
  // Sorted top-level keys; nested objects (the workload) keep all their fields.
  return JSON.stringify(Object.fromEntries(Object.entries(subject).sort(([a], [b]) => a.localeCompare(b))));
}

/** The result's subject fields that `like` names (`resource` undefined when the result has none). */
function pick(result: CheckResult, like: Partial<Subject>): Partial<Subject> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(like)) {
    out[key] = key === 'resource' ? (result.resource ?? undefined) : result[key as keyof CheckResult];
  }
  return out as Partial<Subject>;
}

export function describeCheck(
  check: Check,
  fixtures: {
    pass: readonly PassFixture[];
    fail: readonly FailFixture[];
    notEvaluated?: readonly NotEvaluatedFixture[];
  },
): void {
  describe(`${check.metadata.id} ${check.metadata.name}`, () => {
    it('has at least one passing and one failing fixture', () => {
      expect(fixtures.pass.length).toBeGreaterThan(0);
      expect(fixtures.fail.length).toBeGreaterThan(0);
    });
    for (const fixture of fixtures.pass) {
      it(`passes: ${fixture.name}`, () => {
        const results = runCheck(check, fixture.fleet(), fixture.now);
        expect(results.filter((r) => r.status === 'fail')).toEqual([]);
        expect(results.some((r) => r.status === 'pass')).toBe(true);
      });
    }
    for (const fixture of fixtures.fail) {
      it(`fails: ${fixture.name}`, () => {
        const results = runCheck(check, fixture.fleet(), fixture.now);
        const failures = results.filter((r) => r.status === 'fail');
        const template = fixture.expect[0] ?? {};
        const actual = failures.map((f) => subjectKey(pick(f, template))).sort();
        expect(actual).toEqual(fixture.expect.map(subjectKey).sort());
        for (const failure of failures) {
          expect(failure.checkId).toBe(check.metadata.id);
          expect(failure.message.length).toBeGreaterThan(10);
          expect(failure.remediation ?? '').not.toBe('');
        }
        const rendered = failures
          .map((f) => `${f.message} ${JSON.stringify(f.evidence)} ${f.remediation}`)
          .join('\n');
        for (const text of fixture.mentions ?? []) expect(rendered).toContain(text);
        for (const text of fixture.absent ?? []) expect(rendered).not.toContain(text);
      });
    }
    for (const fixture of fixtures.notEvaluated ?? []) {
      it(`is not evaluated: ${fixture.name}`, () => {
        const results = runCheck(check, fixture.fleet(), fixture.now);
        const template = fixture.expect[0] ?? {};
        const wanted = new Set(fixture.expect.map(subjectKey));
        const about = results.filter((r) => wanted.has(subjectKey(pick(r, template))));
        expect(about.length).toBeGreaterThan(0);
        expect(about.map((r) => r.status)).toEqual(about.map(() => 'not-evaluated'));
      });
    }
  });
}
