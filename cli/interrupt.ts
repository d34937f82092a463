/**
 * What the CLI undoes when it is interrupted (Ctrl-C, a `kill`, a closed terminal) in the middle of
 * a command. By default Node exits at once on SIGINT, SIGTERM and SIGHUP, and no `finally` runs:
 * `check --live` left its temporary snapshot (every account's roles and trust policies, every
 * cluster's ServiceAccounts and pods: 395 MB for 600,000 pods) and the collection's scratch folder
 * under TMPDIR. While something is registered here, those signals run the registered steps instead,
 * newest first, then end the process with the shell's code for the signal (128 + its number: 130
 * for SIGINT). A second signal while they run ends it at once, after removing what is left to
 * remove without waiting. With nothing registered, the signals do what they do by default.
 */
import { rmSync } from 'node:fs';
import { constants } from 'node:os';

/** One thing to do on an interrupt. */
export interface InterruptStep {
  /** Done on the first signal, awaited before the next step. */
  readonly run?: () => void | Promise<void>;
  /** A folder to remove: on the first signal after the steps registered after it, on a second at once. */
  readonly remove?: string;
  /** What to say on stderr once the steps are done (a folder left incomplete, ...). */
  readonly say?: string;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type InterruptSignal = (typeof SIGNALS)[number];

const steps: InterruptStep[] = [];
let interrupted = false;
const writeStderr = (text: string) => process.stderr.write(text);

/** The exit code a shell gives a process ended by `signal`: 128 plus its number. */
export function exitCodeFor(signal: InterruptSignal): number {
  return 128 + constants.signals[signal];
}

function removeNow(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // Best effort: the process is ending either way.
  }
}

async function onSignal(signal: InterruptSignal): Promise<void> {
  if (interrupted) {
    // Asked again: remove what is left without waiting for anything, and go.
    for (const step of [...steps].reverse()) if (step.remove) removeNow(step.remove);
    process.exit(exitCodeFor(signal));
  }
  interrupted = true;
  writeStderr(`\nirsa-audit: interrupted (${signal}); stopping\n`);
  const said: string[] = [];
  for (const step of [...steps].reverse()) {
    try {
      await step.run?.();
    } catch {
      // The step's own failure does not stop the others.
    }
    if (step.remove) removeNow(step.remove);
    if (step.say) said.push(step.say);
  }
  for (const text of said) writeStderr(`${text}\n`);
  process.exit(exitCodeFor(signal));
}

const handlers = new Map<InterruptSignal, () => void>(
  SIGNALS.map((signal) => [signal, () => void onSignal(signal)]),
);

/**
 * Registers `step` until the returned function is called (in a `finally`, where the command
 * undoes it itself when it is not interrupted).
 */
export function onInterrupt(step: InterruptStep): () => void {
  if (steps.length === 0) for (const [signal, handler] of handlers) process.on(signal, handler);
  steps.push(step);
  return () => {
    const index = steps.indexOf(step);
    if (index >= 0) steps.splice(index, 1);
    if (steps.length === 0 && !interrupted)
      for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
