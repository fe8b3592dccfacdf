import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { API_GROUPS, type ApiGroup } from '../../contracts/console-config.js';
import type { LocalTokenIssuer } from './local-token-issuer.js';


/** Longest session the local sign-in hands out, as a Cognito ID token lives at most a day. */
const MAX_SESSION_SECONDS = 24 * 60 * 60;
const DEFAULT_SESSION_SECONDS = 60 * 60;
const MAX_BODY_BYTES = 4096;

/** What a successful sign-in answers. */
export interface LocalSignInResponse {
  readonly token: string;
  /** When the token expires (ISO 8601); the console returns to sign-in then. */
  readonly expiresAt: string;
  readonly user: string;
  readonly group: ApiGroup;
}

/** Whether `host` is a loopback interface: the only binding on which the sign-in is offered. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  // No CORS headers on purpose: only pages of this origin may read a token.
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function refuse(res: ServerResponse, status: number, errorType: string, message: string): void {
  reply(res, status, { errors: [{ errorType, message }] });
}

async function readSmallBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * POST /local/sign-in {user, group, expiresInSeconds?}: a token from the local issuer, so a person
 * signs in to the local console without copying `iotctl token` output. It stands in for Cognito's
 * hosted page, which checks a password; locally the machine's loopback is the boundary, so the
 * door is open only when the server listens on loopback, only to requests whose Host is loopback
 * (a DNS-rebinding page carries its own host name) and whose Origin, when a browser sends one, is
 * this server (another site's page cannot mint an admin token), and only with a JSON body (which
 * a cross-site form cannot send without a preflight this server never grants).
 */
export async function handleLocalSignIn(req: IncomingMessage, res: ServerResponse, issuer: LocalTokenIssuer, listenHost: string): Promise<void> {
  const host = req.headers.host ?? '';
  const hostName = host.replace(/:\d+$/, '');
  if (!isLoopbackHost(listenHost) || !isLoopbackHost(hostName)) {
    return refuse(res, 404, 'NotFound', 'Local sign-in is offered only on a loopback address');
  }
  if (req.method !== 'POST') return refuse(res, 405, 'BadRequestException', 'Use POST');
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) {
    return refuse(res, 403, 'UnauthorizedException', `Sign-in from origin ${origin} is not allowed`);
  }
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    return refuse(res, 415, 'BadRequestException', 'Send the sign-in as application/json');
  }
  const text = await readSmallBody(req);
  if (text === undefined) return refuse(res, 413, 'BadRequestException', `Sign-in body exceeds ${MAX_BODY_BYTES} bytes`);
  let body: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected an object');
    body = parsed as Record<string, unknown>;
  } catch (error) {
    return refuse(res, 400, 'ValidationError', `Invalid sign-in body: ${(error as Error).message}`);
  }
  const { user, group } = body;
  if (typeof user !== 'string' || !/^[\w.@+-]{1,128}$/.test(user)) {
    return refuse(res, 400, 'ValidationError', 'user: use 1-128 letters, digits or . @ + - _');
  }
  if (typeof group !== 'string' || !(API_GROUPS as readonly string[]).includes(group)) {
    return refuse(res, 400, 'ValidationError', `group: use one of ${API_GROUPS.join(', ')}`);
  }
  const seconds = body.expiresInSeconds ?? DEFAULT_SESSION_SECONDS;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SESSION_SECONDS) {
    return refuse(res, 400, 'ValidationError', `expiresInSeconds: use a whole number from 1 to ${MAX_SESSION_SECONDS}`);
  }
  const token = await issuer.issue({ user, groups: [group], expiresIn: `${seconds}s` });
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number };
  const response: LocalSignInResponse = {
    token,
    expiresAt: new Date(payload.exp * 1000).toISOString(),
    user,
    group: group as ApiGroup,
  };
  reply(res, 200, response);
}
