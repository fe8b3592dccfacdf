import { describe, expect, it } from 'vitest';
import { TokenRejectedError, type AccessTokenClaims } from '../../src/grpc/access-token-verifier.js';
import { cachedTokenVerifier } from '../../src/grpc/cached-token-verifier.js';

const NOW = 1_800_000_000_000;
const claims = (exp: number): AccessTokenClaims => ({ sub: 'user', exp, iat: exp - 3600 }) as AccessTokenClaims;

/** A verifier that accepts tokens named "good-<exp seconds>" and counts its calls. */
function countingVerifier() {
  const calls: string[] = [];
  const verify = async (token: string) => {
    calls.push(token);
    const match = /^good-(\d+)$/.exec(token);
    if (!match) throw new TokenRejectedError('invalid');
    return claims(Number(match[1]));
  };
  return { calls, verify };
}

describe('cachedTokenVerifier', () => {
  it('peeks at the claims of an accepted token until it expires, never at an unknown or refused one', async () => {
    // Prepare
    const inner = countingVerifier();
    let now = NOW;
    const verify = cachedTokenVerifier(inner.verify, { now: () => now });
    const token = `good-${NOW / 1000 + 60}`;

    // Act
    const before = verify.peek(token);
    const accepted = await verify(token);
    const known = verify.peek(token);
    await verify('forged').catch(() => undefined);
    const refused = verify.peek('forged');
    now = NOW + 61_000;
    const expired = verify.peek(token);

    // Assess
    expect(before).toBeUndefined();
    expect(known).toBe(accepted);
    expect(refused).toBeUndefined();
    expect(expired).toBeUndefined();
    expect(inner.calls).toEqual([token, 'forged']);
  });

  it('verifies a token once and answers its later calls from memory until it expires', async () => {
    // Prepare
    const inner = countingVerifier();
    let now = NOW;
    const verify = cachedTokenVerifier(inner.verify, { now: () => now });
    const token = `good-${NOW / 1000 + 60}`;

    // Act
    const first = await verify(token);
    const second = await verify(token);
    now = NOW + 61_000;
    const late = await verify(token).catch((error: unknown) => error);

    // Assess
    expect(second).toBe(first);
    expect(inner.calls).toEqual([token]);
    expect(late).toBeInstanceOf(TokenRejectedError);
    expect((late as TokenRejectedError).reason).toBe('expired');
  });

  it('never remembers a refusal', async () => {
    // Prepare
    const inner = countingVerifier();
    const verify = cachedTokenVerifier(inner.verify, { now: () => NOW });

    // Act
    const results = await Promise.allSettled([verify('forged'), verify('forged')]);

    // Assess
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(inner.calls).toEqual(['forged', 'forged']);
  });

  it('forgets the oldest token beyond maxEntries', async () => {
    // Prepare
    const inner = countingVerifier();
    const verify = cachedTokenVerifier(inner.verify, { now: () => NOW, maxEntries: 2 });
    const [a, b, c] = [1, 2, 3].map((n) => `good-${NOW / 1000 + 60 + n}`) as [string, string, string];

    // Act
    for (const token of [a, b, c, b, a]) await verify(token);

    // Assess: c pushed a out; b stayed; a is verified again.
    expect(inner.calls).toEqual([a, b, c, a]);
  });
});
