/**
 * Opaque, tamper-evident page tokens. A token carries the repository's cursor, the listing
 * scope (the filters it was issued for) and a format version, signed with HMAC-SHA256.
 * Doors only ever hand the repository a cursor that this codec produced for the same
 * filters, so a forged, foreign or corrupted token is a ValidationError before any read.
 *
 * Layout (then base64url): [version: 1 byte][HMAC-SHA256: 32 bytes][JSON body]
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PageCursor } from '../ports/device-repository.js';
import { ValidationError } from './errors.js';

/** The filters a listing was made with; a token is only valid for the same scope. */
export type PageScope = Readonly<Record<string, string | undefined>>;

/** Turns repository cursors into signed page tokens and back. */
export interface PageTokenCodec {
  /** A token for `cursor` that is only accepted back with the same `scope`. */
  encode(cursor: PageCursor, scope: PageScope): string;
  /** The cursor inside `token`; ValidationError when the token is not one of ours for `scope`. */
  decode(token: unknown, scope: PageScope): PageCursor;
}

/** Format version written into every token; older or newer versions are rejected. */
export const PAGE_TOKEN_VERSION = 1;
/** Longest token accepted, in characters: checked before any decoding work. */
export const MAX_PAGE_TOKEN_LENGTH = 2048;
/** Shortest accepted secret, in bytes. */
export const MIN_PAGE_TOKEN_SECRET_BYTES = 16;

const MAC_BYTES = 32;
const HEADER_BYTES = 1 + MAC_BYTES;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const FIELD = 'pageToken';

interface TokenBody {
  readonly s: Record<string, string>;
  readonly c: Record<string, string | number>;
}

/**
 * A codec signing with `secret` (env `PAGE_TOKEN_SECRET` in the doors). Every instance that
 * shares the secret accepts the others' tokens, so any Lambda or task can continue a listing.
 */
export function createPageTokenCodec(secret: string | Uint8Array): PageTokenCodec {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (key.length < MIN_PAGE_TOKEN_SECRET_BYTES) {
    throw new Error(`Page token secret must be at least ${MIN_PAGE_TOKEN_SECRET_BYTES} bytes (set PAGE_TOKEN_SECRET)`);
  }
  const mac = (version: number, body: Buffer): Buffer =>
    createHmac('sha256', key).update(Buffer.from([version])).update(body).digest();

  return {
    encode(cursor, scope) {
      const body = Buffer.from(JSON.stringify({ s: normalizeScope(scope), c: cursor } satisfies TokenBody), 'utf8');
      const token = Buffer.concat([Buffer.from([PAGE_TOKEN_VERSION]), mac(PAGE_TOKEN_VERSION, body), body]).toString('base64url');
      if (token.length > MAX_PAGE_TOKEN_LENGTH) throw new Error(`Page cursor too large for a token (${token.length} characters)`);
      return token;
    },

    decode(token, scope) {
      if (typeof token !== 'string' || token.length === 0) throw invalid('must be a non-empty string');
      if (token.length > MAX_PAGE_TOKEN_LENGTH) throw invalid(`is longer than ${MAX_PAGE_TOKEN_LENGTH} characters`);
      if (!BASE64URL.test(token)) throw invalid('is not a page token returned by this service');
      const bytes = Buffer.from(token, 'base64url');
      if (bytes.length <= HEADER_BYTES) throw invalid('is truncated or not a page token returned by this service');
      const version = bytes[0]!;
      if (version !== PAGE_TOKEN_VERSION) throw invalid('has an unsupported format version; start the listing again');
      const body = bytes.subarray(HEADER_BYTES);
      const given = bytes.subarray(1, HEADER_BYTES);
      if (!timingSafeEqual(given, mac(version, body))) {
        throw invalid('is forged, corrupted or was issued by another deployment; start the listing again');
      }
      // Signed by us, so the body is our own JSON; still checked so a bug never turns into a crash.
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (cause) {
        throw invalid('is corrupted', cause);
      }
      if (!isTokenBody(parsed)) throw invalid('is corrupted');
      if (!sameScope(parsed.s, normalizeScope(scope))) {
        throw invalid('was issued for a listing with other filters; pass the same filters as the first page');
      }
      return parsed.c;
    },
  };
}

function invalid(reason: string, cause?: unknown): ValidationError {
  return new ValidationError(`pageToken ${reason}`, FIELD, cause === undefined ? undefined : { cause });
}

/** Drops absent filters and sorts keys, so `{status: undefined}` and `{}` are the same scope. */
function normalizeScope(scope: PageScope): Record<string, string> {
  const result: Record<string, string> = {};
  for (const key of Object.keys(scope).sort()) {
    const value = scope[key];
    if (value !== undefined) result[key] = value;
  }
  return result;
}

function sameScope(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

function isTokenBody(value: unknown): value is TokenBody {
  if (typeof value !== 'object' || value === null) return false;
  const { s, c } = value as Record<string, unknown>;
  return isFlatRecord(s, (v) => typeof v === 'string') && isFlatRecord(c, (v) => typeof v === 'string' || typeof v === 'number');
}

function isFlatRecord(value: unknown, valid: (v: unknown) => boolean): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(valid);
}
