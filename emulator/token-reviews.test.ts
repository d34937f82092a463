import { describe, expect, it } from 'vitest';
import type { EksTokenVerdict } from '#shared/aws/eks-token.ts';
import { TOKEN_REVIEW_TTL_MS, tokenReviews } from './token-reviews.ts';

describe('token reviews', () => {
  function counting(verdicts: Record<string, EksTokenVerdict>) {
    const calls: string[] = [];
    let clock = 0;
    const review = tokenReviews(
      (token) => {
        calls.push(token);
        return verdicts[token] ?? { ok: false, reason: 'unknown' };
      },
      () => clock,
    );
    return { review, calls, advance: (ms: number) => (clock += ms) };
  }

  it('verifies an accepted token once within the TTL, and again after it', () => {
    const { review, calls, advance } = counting({ good: { ok: true, accessKeyId: 'AKIA1' } });
    expect(review('good')).toEqual({ ok: true, accessKeyId: 'AKIA1' });
    advance(TOKEN_REVIEW_TTL_MS - 1);
    expect(review('good').ok).toBe(true);
    expect(calls).toEqual(['good']);
    advance(1);
    review('good');
    expect(calls).toEqual(['good', 'good']);
  });

  it('never caches a refusal: each attempt is verified and refused with its reason', () => {
    const { review, calls } = counting({});
    expect(review('bad')).toEqual({ ok: false, reason: 'unknown' });
    expect(review('bad')).toEqual({ ok: false, reason: 'unknown' });
    expect(calls).toEqual(['bad', 'bad']);
  });

  it('refuses a token once its TTL is over and its new review refuses it (say, it expired)', () => {
    let ok = true;
    let clock = 0;
    const review = tokenReviews(
      () => (ok ? { ok: true, accessKeyId: 'AKIA1' } : { ok: false, reason: 'token expired' }),
      () => clock,
    );
    expect(review('t').ok).toBe(true);
    ok = false;
    clock += TOKEN_REVIEW_TTL_MS;
    expect(review('t')).toEqual({ ok: false, reason: 'token expired' });
  });
});
