/** The catalogue is the public interface: ids unique and exactly those of docs/checks.md, metadata complete. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '#shared/checks/catalogue.ts';
import { SEVERITIES } from '#shared/checks/types.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const doc = readFileSync(join(REPO_ROOT, 'docs/checks.md'), 'utf8');
/** `| IRSA-001 | oidc-provider-missing | critical | ...` rows of the catalogue tables. */
const documented = [
  ...doc.matchAll(/^\| ((?:IRSA|PODID|AUDIT)-\d{3}) \| ([a-z0-9-]+) \| (critical|high|medium|low) \|/gm),
].map((m) => ({
  id: m[1],
  name: m[2],
  severity: m[3],
}));

describe('the check catalogue', () => {
  it('has unique ids', () => {
    const ids = CATALOGUE.map((c) => c.metadata.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('holds exactly the documented checks', () => {
    expect(documented.length).toBeGreaterThan(20);
    const expected = documented.map((d) => d.id);
    expect(CATALOGUE.map((c) => c.metadata.id).sort()).toEqual(expected.sort());
  });

  it.each(CATALOGUE.map((c) => [c.metadata.id, c] as const))(
    '%s matches its documented name and severity',
    (_id, check) => {
      const row = documented.find((d) => d.id === check.metadata.id);
      expect(row).toEqual({
        id: check.metadata.id,
        name: check.metadata.name,
        severity: check.metadata.severity,
      });
    },
  );

  it.each(CATALOGUE.map((c) => [c.metadata.id, c] as const))('%s has complete metadata', (_id, check) => {
    const m = check.metadata;
    expect(SEVERITIES).toContain(m.severity);
    for (const text of [m.title, m.risk, m.remediation]) expect(text.length).toBeGreaterThan(15);
    expect(m.references.length).toBeGreaterThan(0);
  });

  it('keeps each check in a folder named after its id and name, with its fixture tests beside it', () => {
    const folders = readdirSync(join(REPO_ROOT, 'shared/checks'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.sort()).toEqual(
      CATALOGUE.map((c) => `${c.metadata.id.toLowerCase()}-${c.metadata.name}`).sort(),
    );
    for (const folder of folders) {
      expect(existsSync(join(REPO_ROOT, 'shared/checks', folder, 'check.ts'))).toBe(true);
      expect(
        existsSync(join(REPO_ROOT, 'shared/checks', folder, 'check.test.ts')),
        `${folder}/check.test.ts`,
      ).toBe(true);
    }
  });
});
