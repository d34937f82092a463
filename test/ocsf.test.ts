/**
 * `--format ocsf`: each finding is an OCSF Compliance Finding event that the vendored schema
 * (test/fixtures/schemas/ocsf/, v1.8.0) accepts: every attribute the class and its objects require,
 * of its type and in its enum, nothing the schema does not define; the class, category and type
 * ids as the schema numbers them. The validator is proved too: remove any required attribute and
 * it says so.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asffId } from '#shared/notify/asff.ts';
import { runCheckCommand } from '../cli/commands/check.ts';
import { OCSF_VERSION } from '../cli/render/ocsf.ts';
import {
  categoryUid,
  OCSF_SCHEMA_VERSION,
  requiredPaths,
  resolveClass,
  validateEvent,
} from './support/ocsf-schema.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const CLASS = 'events/findings/compliance_finding.json';
const PROFILES = ['cloud'];
const NOW = new Date('2026-11-03T02:00:00.000Z');

type Event = Record<string, unknown> & {
  class_uid: number;
  category_uid: number;
  activity_id: number;
  type_uid: number;
  time: number;
  severity_id: number;
  status_id: number;
  metadata: { version: string; profiles: string[] };
  finding_info: { uid: string; title: string };
  compliance: { status_id: number };
  resources: { uid: string; type: string }[];
  unmapped: { status: string; severity: string };
};

async function ocsf(includePassed = false): Promise<Event[]> {
  let out = '';
  const code = await runCheckCommand(
    join(REPO_ROOT, 'examples/fleet'),
    {
      format: 'ocsf',
      config: join(REPO_ROOT, 'examples/irsa-audit.config.yaml'),
      now: NOW,
      includePassed,
      color: false,
      progress: false,
    },
    { stdout: (t) => (out += t), stderr: () => {}, cwd: REPO_ROOT, width: 100 },
  );
  expect(code).toBe(0);
  return JSON.parse(out) as Event[];
}

function getPath(value: unknown, path: string): Record<string, unknown> | undefined {
  let current: unknown = value;
  for (const part of path.split('.').slice(0, -1)) current = (current as Record<string, unknown>)?.[part];
  return current as Record<string, unknown> | undefined;
}

describe('the vendored schema', () => {
  it('is the version the renderer says, and Compliance Finding is class 2003 of category 2', () => {
    expect(OCSF_SCHEMA_VERSION).toBe(OCSF_VERSION);
    const schema = resolveClass(CLASS, PROFILES);
    expect(schema.category).toBe('findings');
    expect(categoryUid(schema.category) * 1000 + schema.uid).toBe(2003);
  });

  it('requires what the brief lists (derived from the files, not written here)', () => {
    const required = requiredPaths(CLASS, PROFILES);
    for (const path of [
      'activity_id',
      'category_uid',
      'class_uid',
      'type_uid',
      'time',
      'severity_id',
      'metadata',
      'metadata.version',
      'metadata.product',
      'finding_info',
      'finding_info.uid',
      'compliance',
      'cloud',
      'cloud.provider',
    ])
      expect(required).toContain(path);
  });
});

describe('check --format ocsf', () => {
  it('every event is a valid Compliance Finding: required attributes, types, enums, nothing undefined', async () => {
    for (const includePassed of [false, true]) {
      const events = await ocsf(includePassed);
      expect(events.length).toBeGreaterThan(5);
      for (const event of events)
        expect(validateEvent(event, CLASS, PROFILES), event.finding_info.uid).toEqual([]);
    }
  });

  it('numbers the class, category, activity and type as the schema does', async () => {
    const events = await ocsf(true);
    for (const e of events) {
      expect(e.class_uid).toBe(2003);
      expect(e.category_uid).toBe(2);
      expect(e.type_uid).toBe(e.class_uid * 100 + e.activity_id);
      expect(e.time).toBe(NOW.getTime());
      expect(e.metadata.version).toBe(OCSF_SCHEMA_VERSION);
      expect(e.metadata.profiles).toEqual(['cloud']);
      expect(e.severity_id).toBe({ critical: 5, high: 4, medium: 3, low: 2 }[e.unmapped.severity]);
      const expected = { fail: [1, 3], exempted: [3, 3], pass: [4, 1], 'not-evaluated': [1, 0] }[
        e.unmapped.status
      ];
      expect([e.status_id, e.compliance.status_id]).toEqual(expected);
      expect(e.resources.length).toBeGreaterThan(0);
    }
    expect(new Set(events.map((e) => e.unmapped.status))).toEqual(
      new Set(['fail', 'exempted', 'pass', 'not-evaluated']),
    );
  });

  it('finding_info.uid is the ASFF Id of the same finding', async () => {
    let json = '';
    await runCheckCommand(
      join(REPO_ROOT, 'examples/fleet'),
      {
        format: 'json',
        now: NOW,
        color: false,
        progress: false,
        config: join(REPO_ROOT, 'examples/irsa-audit.config.yaml'),
      },
      { stdout: (t) => (json += t), stderr: () => {}, cwd: REPO_ROOT, width: 100 },
    );
    const events = await ocsf();
    expect(events.map((e) => e.finding_info.uid)).toEqual(JSON.parse(json).findings.map(asffId));
  });

  it('the validator fails an event without any one required attribute, naming it', async () => {
    const [event] = await ocsf();
    const paths = requiredPaths(CLASS, PROFILES);
    expect(paths.length).toBeGreaterThan(10);
    for (const path of paths) {
      const copy = structuredClone(event) as Event;
      const parent = getPath(copy, path);
      const name = path.split('.').at(-1) ?? '';
      if (!parent || !(name in parent)) throw new Error(`the event has no ${path}`);
      delete parent[name];
      expect(validateEvent(copy, CLASS, PROFILES)).toContain(`$.${path}: required, missing`);
    }
    const wrong = structuredClone(event) as Event;
    wrong.severity_id = 42;
    (wrong as Record<string, unknown>).not_ocsf = 1;
    expect(validateEvent(wrong, CLASS, PROFILES).join('\n')).toMatch(
      /\$\.severity_id: 42 is not one of[\s\S]*\$\.not_ocsf: not an attribute/,
    );
  });
});
