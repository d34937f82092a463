/**
 * The package as a user gets it (npm run test:pack; not part of `npm test`: it takes a minute).
 * `npm pack` (prepack builds dist/), then the tarball installed with npm, offline, into a scratch
 * folder, and its `irsa-audit` run from another folder holding only a copy of the sample fleet:
 * no TypeScript, no tsx, no dev dependency, no file of the repository.
 *
 * The install: `npm install -g ./irsa-auditor-*.tgz` resolves the dependencies' version ranges
 * from the registry, which needs the network (after `npm ci` the npm cache holds the packages'
 * tarballs, not the registry's metadata). So the test installs the tarball into a scratch project
 * whose lock file pins every runtime dependency as the repository's lock does, and runs
 * `npm ci --offline`: what npm installs is the same package, from the cache only, at the
 * versions the tests ran with.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, type ExpectedFinding, identity, REPO_ROOT, runNodeAsync } from '../support/run-cli.ts';

interface PackageJson {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
}

interface LockEntry {
  dev?: boolean;
  [field: string]: unknown;
}

const pkg: PackageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'irsa-pack-'));
const project = join(scratch, 'project');
const work = join(scratch, 'work');
let tarball = '';
let files: string[] = [];
let bin = '';

/** Runs a command to completion; throws with its output when it fails. */
function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 300_000 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** The installed `irsa-audit`, run by its shebang (not `node FILE`), from `cwd`. */
function irsaAudit(args: string[], cwd = work, env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd,
      env: { ...process.env, NO_COLOR: '1', IRSA_AUDIT_NODE_NOTICE: 'off', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

beforeAll(() => {
  // npm pack runs prepack (npm run build) and prints the tarball's file name last.
  const packed = run('npm', ['pack', '--json', '--pack-destination', scratch], REPO_ROOT);
  const [result] = JSON.parse(packed.slice(packed.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  if (!result) throw new Error(`npm pack printed no result: ${packed}`);
  tarball = join(scratch, result.filename);
  files = result.files.map((f) => f.path).sort();

  // A scratch project that depends on the tarball, its lock pinning the runtime dependencies
  // exactly as the repository's lock does (every entry that is not a dev dependency).
  mkdirSync(project);
  const lock: { packages: Record<string, LockEntry> } = JSON.parse(
    readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'),
  );
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'irsa-pack-test', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
      ...(pkg.peerDependencies ? { peerDependencies: pkg.peerDependencies } : {}),
      ...(pkg.peerDependenciesMeta ? { peerDependenciesMeta: pkg.peerDependenciesMeta } : {}),
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev) packages[path] = entry;
  }
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'irsa-pack-test', private: true, dependencies: { [pkg.name]: spec } }),
  );
  writeFileSync(
    join(project, 'package-lock.json'),
    JSON.stringify({ name: 'irsa-pack-test', lockfileVersion: 3, requires: true, packages }),
  );
  run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project);
  bin = join(project, 'node_modules', '.bin', 'irsa-audit');

  // The user's folder: a copy of the sample fleet the package ships, nothing else.
  mkdirSync(work);
  cpSync(join(project, 'node_modules', pkg.name, 'examples', 'fleet'), join(work, 'fleet'), {
    recursive: true,
  });
}, 600_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const expected: ExpectedFinding[] = JSON.parse(
  readFileSync(join(REPO_ROOT, 'examples/fleet/expected-findings.json'), 'utf8'),
).findings;
const failing = (stdout: string) =>
  (JSON.parse(stdout).findings as (ExpectedFinding & { status: string })[])
    .filter((f) => f.status === 'fail')
    .map(identity)
    .sort();

describe('the package (npm pack, installed offline)', () => {
  it('holds the built CLI, the docs and the sample fleet, and no TypeScript', () => {
    expect(files).toContain('bin/irsa-audit.mjs');
    expect(files).toContain('dist/cli.mjs');
    expect(files).toContain('dist/page-decoder.worker.mjs');
    expect(files).toContain('dist/collection.worker.mjs');
    expect(files).toContain('examples/fleet/expected-findings.json');
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(files.filter((f) => /^(test|shared|cli|emulator|functions|infra|node_modules)\//.test(f))).toEqual(
      [],
    );
  });

  it('irsa-audit --version prints the package version', async () => {
    const run = await irsaAudit(['--version']);
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('irsa-audit checks lists the catalogue', async () => {
    const run = await irsaAudit(['checks', '--format', 'json']);
    expect(run.status).toBe(0);
    const ids = (JSON.parse(run.stdout) as { id: string }[]).map((c) => c.id);
    expect(ids).toContain('IRSA-001');
    expect(ids).toContain('IRSA-023');
  });

  it('irsa-audit check fleet finds what the sources find (the IAM catalogue read from node_modules)', async () => {
    const installed = await irsaAudit(['check', 'fleet', '--format', 'json', '--fail-on', 'critical']);
    expect(installed.stderr).toBe('');
    expect(installed.status).toBe(1);
    expect(failing(installed.stdout)).toEqual(expected.map(identity).sort());
    // The same report as the TypeScript CLI of the repository, but for the time it was made.
    const sources = await runNodeAsync(
      [join(REPO_ROOT, 'bin/irsa-audit.mjs'), 'check', 'fleet', '--format', 'json', '--fail-on', 'critical'],
      { cwd: work, env: { NO_COLOR: '1', IRSA_AUDIT_DIST: '0' }, timeoutMs: 120_000 },
    );
    expect(sources.status).toBe(1);
    const timeless = (stdout: string) => stdout.replace(/"generatedAt": "[^"]*"/g, '"generatedAt": "-"');
    expect(timeless(installed.stdout)).toBe(timeless(sources.stdout));
  });

  it('irsa-audit check --live, through the emulator it serves and decode worker threads, finds what the sources find', async () => {
    const emulator: ChildProcess = spawn(bin, ['emulate', 'fleet'], {
      cwd: work,
      env: { ...process.env, IRSA_AUDIT_NODE_NOTICE: 'off' },
    });
    try {
      const env = await new Promise<Record<string, string>>((resolve, reject) => {
        let out = '';
        emulator.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          if (!out.includes('Press Ctrl-C')) return;
          const vars = [...out.matchAll(/^export (\w+)=(.*)$/gm)].map(([, name = '', value = '']) => [
            name,
            value.replace(/^'(.*)'$/, '$1'),
          ]);
          resolve(Object.fromEntries(vars));
        });
        emulator.on('exit', (code) => reject(new Error(`irsa-audit emulate exited ${code}: ${out}`)));
      });
      const liveArgs = [
        ...['check', '--live', '--organization', '--role-name', 'irsa-auditor'],
        ...['--threads', '2', '--format', 'json', '-q'],
      ];
      const live = await irsaAudit(liveArgs, work, env);
      expect(live.status).toBe(0);
      const sources = await runNodeAsync([join(REPO_ROOT, 'bin/irsa-audit.mjs'), ...liveArgs], {
        cwd: work,
        env: { ...env, NO_COLOR: '1', IRSA_AUDIT_DIST: '0' },
        timeoutMs: 120_000,
      });
      expect(sources.status).toBe(0);
      expect(failing(live.stdout)).toEqual(failing(sources.stdout));
      expect(failing(live.stdout)).toContain('IRSA-004 210987654321 checkout - - -');
    } finally {
      emulator.kill('SIGINT');
    }
  });

  it('irsa-audit pipeline says how to add dynalite, which the package does not install', async () => {
    const run = await irsaAudit(['pipeline', 'fleet']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/irsa-audit pipeline needs dynalite.*npm install -g dynalite@/);
  });
});
