/**
 * A verified-token memo in front of an {@link AccessTokenVerifier}: a caller sends the same
 * access token on every call for up to an hour, and checking its RS256 signature again each
 * time costs more CPU than the GetDevice handler itself. The memo is keyed by the whole token
 * text (so only that exact signed token hits) and still refuses it once it expires.
 */
import { TokenRejectedError, type AccessTokenClaims, type AccessTokenVerifier } from './access-token-verifier.js';

/** Options of {@link cachedTokenVerifier}. */
export interface CachedTokenVerifierOptions {
  /** Tokens remembered at once; the oldest is forgotten first. @default 10_000 */
  readonly maxEntries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A verifier that can also answer from its memo without waiting. */
export interface CachedTokenVerifier extends AccessTokenVerifier {
  /** The claims of `token` if it was accepted before and has not expired since; else undefined (then call the verifier). */
  peek(token: string): AccessTokenClaims | undefined;
}

/** `verify`, remembering each token it accepted until that token's `exp`; refusals are never remembered. */
export function cachedTokenVerifier(verify: AccessTokenVerifier, options: CachedTokenVerifierOptions = {}): CachedTokenVerifier {
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const accepted = new Map<string, { claims: AccessTokenClaims; expiresAtMs: number }>();
  const peek = (token: string): AccessTokenClaims | undefined => {
    const hit = accepted.get(token);
    return hit && now() < hit.expiresAtMs ? hit.claims : undefined;
  };
  const cached = async (token: string): Promise<AccessTokenClaims> => {
    const known = peek(token);
    if (known) return known;
    // Accepted once and expired since.
    if (accepted.delete(token)) throw new TokenRejectedError('expired');
    const claims = await verify(token);
    // A token without exp was refused by the verifier already; this only guards the arithmetic.
    if (typeof claims.exp === 'number') {
      if (accepted.size >= maxEntries) accepted.delete(accepted.keys().next().value!);
      accepted.set(token, { claims, expiresAtMs: claims.exp * 1000 });
    }
    return claims;
  };
  return Object.assign(cached, { peek });
}
