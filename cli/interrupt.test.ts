import { describe, expect, it } from 'vitest';
import { exitCodeFor, onInterrupt } from './interrupt.ts';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const listeners = () => SIGNALS.map((signal) => process.listenerCount(signal));

describe('onInterrupt', () => {
  it('handles the signals only while something is registered (then Node’s default applies again)', () => {
    const before = listeners();
    const first = onInterrupt({ say: 'first' });
    expect(listeners()).toEqual(before.map((n) => n + 1));
    const second = onInterrupt({ remove: '/nonexistent/irsa-audit-test' });
    expect(listeners()).toEqual(before.map((n) => n + 1));
    first();
    expect(listeners()).toEqual(before.map((n) => n + 1));
    second();
    expect(listeners()).toEqual(before);
    second(); // twice is harmless
    expect(listeners()).toEqual(before);
  });

  it('exits with the code a shell gives a process ended by the signal', () => {
    expect(SIGNALS.map(exitCodeFor)).toEqual([130, 143, 129]);
  });
});
