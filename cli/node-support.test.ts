import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultStampFile, nodeSupportNotice, SDK_WARNING_SWITCH } from './node-support.ts';

const scratch = mkdtempSync(join(tmpdir(), 'irsa-node-notice-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function notice(
  version: string,
  env: NodeJS.ProcessEnv,
  stampFile: string,
  now = new Date('2026-12-06T10:00:00Z'),
) {
  const lines: string[] = [];
  const shown = nodeSupportNotice(version, { env, stderr: (t) => lines.push(t), stampFile, now });
  return { shown, lines };
}

describe('the Node.js 20 notice', () => {
  it('on Node 20: one line on stderr once a day, and the SDK warning switched off', () => {
    const env: NodeJS.ProcessEnv = {};
    const stamp = join(scratch, 'a', 'node-notice');
    const first = notice('20.20.2', env, stamp);
    expect(first.shown).toBe(true);
    expect(first.lines).toHaveLength(1);
    expect(first.lines[0]).toMatch(
      /^irsa-audit: Node\.js 20\.20\.2 is past its end of life .* Node\.js 22 or later from January 2027.*\n$/,
    );
    expect(first.lines[0]?.trimEnd()).not.toContain('\n');
    expect(env[SDK_WARNING_SWITCH]).toBe('true');
    expect(readFileSync(stamp, 'utf8')).toBe('2026-12-06\n');
    // The same day: nothing; the next day: once more.
    expect(notice('20.20.2', env, stamp).lines).toEqual([]);
    expect(notice('20.20.2', env, stamp, new Date('2026-12-07T08:00:00Z')).lines).toHaveLength(1);
  });

  it('keeps a value the user gave the SDK switch, and IRSA_AUDIT_NODE_NOTICE=off hides the notice', () => {
    const env: NodeJS.ProcessEnv = { [SDK_WARNING_SWITCH]: 'false', IRSA_AUDIT_NODE_NOTICE: 'off' };
    const run = notice('20.11.0', env, join(scratch, 'b', 'node-notice'));
    expect(run).toEqual({ shown: false, lines: [] });
    expect(env[SDK_WARNING_SWITCH]).toBe('false');
  });

  it('does nothing on Node 22 and later', () => {
    for (const version of ['22.0.0', '24.11.1']) {
      const env: NodeJS.ProcessEnv = {};
      expect(notice(version, env, join(scratch, 'c', 'node-notice'))).toEqual({ shown: false, lines: [] });
      expect(env).toEqual({});
    }
  });

  it('keeps its stamp in the cache folder (XDG_CACHE_HOME when set)', () => {
    expect(defaultStampFile({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/irsa-audit/node-notice');
    expect(defaultStampFile({})).toMatch(/\.cache\/irsa-audit\/node-notice$/);
  });
});
