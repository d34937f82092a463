/**
 * The API server's cache of token reviews: a bearer token it accepted is not verified again for a
 * short while, as kube-apiserver caches webhook TokenReviews (`--authentication-token-webhook-cache-ttl`)
 * and the EKS authenticator caches its STS answers. Refusals are never cached, so a bad token is
 * refused with its reason every time. Without it, the emulator re-derived a SigV4 signature for
 * every list page a collector requested.
 */
import type { EksTokenVerdict } from '#shared/aws/eks-token.ts';

/** How long an accepted token stays accepted without a new review. */
export const TOKEN_REVIEW_TTL_MS = 10_000;
const MAX_ENTRIES = 1_000;

/** Wraps `verify` with a cache of its acceptances. */
export function tokenReviews(
  verify: (token: string) => EksTokenVerdict,
  now: () => number = Date.now,
): (token: string) => EksTokenVerdict {
  const accepted = new Map<string, { verdict: EksTokenVerdict; until: number }>();
  return (token) => {
    const time = now();
    const cached = accepted.get(token);
    if (cached && cached.until > time) return cached.verdict;
    const verdict = verify(token);
    if (verdict.ok) {
      if (accepted.size >= MAX_ENTRIES) accepted.clear();
      accepted.set(token, { verdict, until: time + TOKEN_REVIEW_TTL_MS });
    } else {
      accepted.delete(token);
    }
    return verdict;
  };
}
