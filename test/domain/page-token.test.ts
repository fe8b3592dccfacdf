import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.js';
import { MAX_PAGE_TOKEN_LENGTH, createPageTokenCodec } from '../../src/domain/page-token.js';

const SECRET = 'test-secret-of-at-least-16-bytes';

const rejects = (fn: () => unknown, message: RegExp) => {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).field).toBe('pageToken');
  expect((error as Error).message).toMatch(message);
};

describe('page tokens', () => {
  it('returns the cursor when the token is decoded with the same scope', () => {
    // Prepare
    const codec = createPageTokenCodec(SECRET);
    const cursor = { createdKey: '2026-01-01T00:00:00.000Z#abc', listPk: 'DEVICE', n: 3 };

    // Act
    const token = codec.encode(cursor, { status: 'ONLINE', type: undefined });
    const decoded = codec.decode(token, { status: 'ONLINE' });

    // Assess
    expect(decoded).toEqual(cursor);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token).not.toContain('createdKey');
  });

  it('rejects a token issued for other filters', () => {
    // Prepare
    const codec = createPageTokenCodec(SECRET);
    const token = codec.encode({ createdKey: 'x' }, { status: 'ONLINE' });

    // Act / Assess
    rejects(() => codec.decode(token, { status: 'OFFLINE' }), /other filters/);
    rejects(() => codec.decode(token, {}), /other filters/);
    rejects(() => codec.decode(token, { status: 'ONLINE', type: 'sensor' }), /other filters/);
  });

  it('rejects a token signed with another secret', () => {
    // Prepare
    const foreign = createPageTokenCodec('another-secret-of-16-bytes-or-more').encode({ createdKey: 'x' }, {});

    // Act / Assess
    rejects(() => createPageTokenCodec(SECRET).decode(foreign, {}), /forged, corrupted/);
  });

  it('rejects every single-character corruption and every truncation without crashing', () => {
    // Prepare
    const codec = createPageTokenCodec(SECRET);
    const token = codec.encode({ createdKey: '2026-01-01T00:00:00.000Z#abc' }, {});
    const variants: string[] = [];
    for (let i = 0; i < token.length; i++) {
      const replacement = token[i] === 'A' ? 'B' : 'A';
      variants.push(token.slice(0, i) + replacement + token.slice(i + 1));
      if (i > 0) variants.push(token.slice(0, i));
    }

    // Act / Assess
    for (const variant of variants) {
      if (variant === token) continue;
      expect(() => codec.decode(variant, {}), variant).toThrow(ValidationError);
    }
  });

  it('rejects forged tokens of every shape with a clear message', () => {
    // Prepare
    const codec = createPageTokenCodec(SECRET);
    const unsigned = Buffer.concat([Buffer.from([1]), Buffer.alloc(32), Buffer.from('{"s":{},"c":{"createdKey":"z"}}')]).toString('base64url');
    const otherVersion = Buffer.concat([Buffer.from([2]), Buffer.alloc(40)]).toString('base64url');

    // Act / Assess
    rejects(() => codec.decode('', {}), /non-empty string/);
    rejects(() => codec.decode(42, {}), /non-empty string/);
    rejects(() => codec.decode('not a token!', {}), /not a page token/);
    rejects(() => codec.decode('abc', {}), /truncated/);
    rejects(() => codec.decode(unsigned, {}), /forged/);
    rejects(() => codec.decode(otherVersion, {}), /unsupported format version/);
    rejects(() => codec.decode('A'.repeat(MAX_PAGE_TOKEN_LENGTH + 1), {}), /longer than/);
    rejects(() => codec.decode(Buffer.from('{"createdKey":"x"}').toString('base64url'), {}), /./);
  });

  it('answers any input with the cursor or a ValidationError, never another error', () => {
    // Prepare
    const codec = createPageTokenCodec(SECRET);
    const valid = codec.encode({ createdKey: 'k', id: 'i' }, { type: 't' });

    // Act / Assess
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.base64String({ maxLength: 300 }), fc.constant(valid.slice(0, -1)), fc.anything()), (input) => {
        try {
          codec.decode(input, { type: 't' });
          return input === valid;
        } catch (error) {
          return error instanceof ValidationError;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a secret shorter than 16 bytes', () => {
    // Act / Assess
    expect(() => createPageTokenCodec('short')).toThrow(/at least 16 bytes/);
  });
});
