/**
 * A process that audits more than once (a warm Lambda, the engine benchmark) keeps the code V8
 * optimised for the findings: the layout of a result outlives the audit that made it (one object
 * literal makes them all, shared/checks/results.ts; shared/engine/shapes.ts), so freeing an
 * audit's report does not throw that code away. Read from
 * V8's own trace of what it optimises and deoptimises, in a child process; nothing is timed.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/run-cli.ts';

const AUDITS = 8;

describe('audits in a warm process', () => {
  it("do not deoptimise the findings' code once an audit's report is freed", () => {
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--expose-gc',
        '--trace-opt',
        '--trace-deopt',
        'test/support/warm-audits.ts',
        String(AUDITS),
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const trace = run.stdout;
    expect(trace).toContain(`audited ${AUDITS} times`);
    // Not vacuous: the function that makes every result was optimised (it runs for every finding).
    expect(trace).toMatch(/completed (compiling|optimizing) \S+ <JSFunction makeResult \(/);
    // "weak objects": optimised code that embedded an object the collector has since freed (here,
    // a result's layout dying with the last finding of an audit) is thrown away, to be compiled again.
    const thrownAway = trace
      .split('\n')
      .filter((line) => line.includes('reason: weak objects'))
      .map((line) => /<SharedFunctionInfo ([^>]*)>/.exec(line)?.[1] ?? '')
      .filter((name) => name === 'makeResult' || name === 'toFinding');
    expect(thrownAway).toEqual([]);
  });
});
