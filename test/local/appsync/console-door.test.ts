/**
 * The local server's console door: the built app at / (files, SPA routes, /config.json, a strict
 * CSP), and /local/sign-in, which mints local tokens only for same-origin loopback callers.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CONSOLE_CONFIG } from '../../../src/contracts/console-config.js';
import { isLoopbackHost } from '../../../src/local/appsync/local-sign-in.js';
import { startLocalGraphqlServer, type LocalGraphqlServer } from '../../../src/local/appsync/local-server.js';
import { LocalTokenIssuer } from '../../../src/local/appsync/local-token-issuer.js';

/** A raw request that keeps the path and Host header exactly as written. */
function raw(url: string, options: { path: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: options.path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('console door of the local server', () => {
  let server: LocalGraphqlServer;
  let issuer: LocalTokenIssuer;
  let origin: string;
  let dir: string;
  const resolverCalls: unknown[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'console-door-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'robots.txt'), 'not served: unknown type');
    issuer = await LocalTokenIssuer.ephemeral();
    server = await startLocalGraphqlServer({
      // The console door never reaches the resolver; a call would show up here.
      resolver: async (event) => {
        resolverCalls.push(event);
        return null;
      },
      issuer,
      port: 0,
      consoleDir: dir,
    });
    origin = new URL(server.url).origin;
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / and at every app route, never cached, under a strict content security policy', async () => {
    for (const path of ['/', '/devices', '/devices/0b0e4f36-8d2e-4a55-9d38-5e0f8d6c9a11?x=1']) {
      const response = await fetch(origin + path);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('<!doctype html><title>console</title>');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain(`connect-src 'self' ws://${new URL(origin).host}`);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe');
    }
  });

  it('serves hashed assets as immutable and answers /config.json with the local configuration', async () => {
    const asset = await fetch(`${origin}/assets/index-abc123.js`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toBe('console.log(1)');
    const config = await fetch(`${origin}/config.json`);
    expect(await config.json()).toEqual(LOCAL_CONSOLE_CONFIG);
  });

  it('answers missing files, unknown types, traversal and writes with 404, reaching neither the disk outside nor the resolver', async () => {
    for (const path of ['/assets/missing.js', '/robots.txt', '/../package.json', '/assets/..%2f..%2fpackage.json', '/%E0%A4%A']) {
      expect((await raw(origin, { path })).status, path).toBe(404);
    }
    expect((await raw(origin, { path: '/', method: 'DELETE' })).status).toBe(404);
    expect(resolverCalls).toEqual([]);
  });

  describe('/local/sign-in', () => {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      raw(origin, { path: '/local/sign-in', method: 'POST', headers: { 'content-type': 'application/json', origin, ...headers }, body: JSON.stringify(body) });

    it('signs a token the server accepts, for the user and group asked, expiring when it says', async () => {
      // Act
      const response = await post({ user: 'dana', group: 'viewer', expiresInSeconds: 120 });

      // Assess
      expect(response.status).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      expect(response.headers['cache-control']).toBe('no-store');
      const body = JSON.parse(response.body) as { token: string; expiresAt: string; user: string; group: string };
      expect(body).toMatchObject({ user: 'dana', group: 'viewer' });
      const claims = await issuer.verify(body.token);
      expect(claims['cognito:username']).toBe('dana');
      expect(claims['cognito:groups']).toEqual(['viewer']);
      expect(Date.parse(body.expiresAt)).toBe(claims.exp! * 1000);
      expect(claims.exp! - claims.iat!).toBe(120);
    });

    it('refuses a page of another origin, so another site cannot mint an admin token', async () => {
      const response = await post({ user: 'mallory', group: 'admin' }, { origin: 'https://evil.example' });
      expect(response.status).toBe(403);
      expect(JSON.parse(response.body).errors[0].errorType).toBe('UnauthorizedException');
    });

    it('refuses a Host that is not loopback (DNS rebinding) as if the door did not exist', async () => {
      const { port } = new URL(origin);
      const response = await post({ user: 'mallory', group: 'admin' }, { host: `rebound.example:${port}`, origin: `http://rebound.example:${port}` });
      expect(response.status).toBe(404);
    });

    it('answers bad input of every kind with a typed 4xx error and no token', async () => {
      const cases: Array<[string, Promise<{ status: number; body: string }>, number, string]> = [
        ['form body', raw(origin, { path: '/local/sign-in', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, body: 'user=a&group=admin' }), 415, 'BadRequestException'],
        ['GET', raw(origin, { path: '/local/sign-in' }), 405, 'BadRequestException'],
        ['not JSON', raw(origin, { path: '/local/sign-in', method: 'POST', headers: { 'content-type': 'application/json', origin }, body: '{' }), 400, 'ValidationError'],
        ['array', post([]), 400, 'ValidationError'],
        ['no user', post({ group: 'admin' }), 400, 'ValidationError'],
        ['bad user', post({ user: 'a b', group: 'admin' }), 400, 'ValidationError'],
        ['unknown group', post({ user: 'a', group: 'root' }), 400, 'ValidationError'],
        ['zero seconds', post({ user: 'a', group: 'admin', expiresInSeconds: 0 }), 400, 'ValidationError'],
        ['over a day', post({ user: 'a', group: 'admin', expiresInSeconds: 86_401 }), 400, 'ValidationError'],
        ['huge body', post({ user: 'a', group: 'admin', pad: 'x'.repeat(5000) }), 413, 'BadRequestException'],
      ];
      for (const [name, pending, status, errorType] of cases) {
        const response = await pending;
        expect(response.status, name).toBe(status);
        const body = JSON.parse(response.body) as { token?: string; errors: Array<{ errorType: string }> };
        expect(body.errors[0]!.errorType, name).toBe(errorType);
        expect(body.token, name).toBeUndefined();
      }
    });

    it('does not exist on a server listening on every interface, even for a loopback Host and Origin', async () => {
      // Prepare: reachable from other machines, so the loopback boundary no longer holds
      const exposed = await startLocalGraphqlServer({ resolver: async () => null, issuer, host: '0.0.0.0', port: 0, consoleDir: dir });
      const { port } = new URL(exposed.url);
      const local = `http://127.0.0.1:${port}`;

      // Act
      const response = await raw(local, { path: '/local/sign-in', method: 'POST', headers: { 'content-type': 'application/json', origin: local, host: `127.0.0.1:${port}` }, body: JSON.stringify({ user: 'mallory', group: 'admin' }) });
      const page = await raw(local, { path: '/' });
      await exposed.stop();

      // Assess
      expect(response.status).toBe(404);
      expect(JSON.parse(response.body)).toEqual({ errors: [{ errorType: 'NotFound', message: 'Local sign-in is offered only on a loopback address' }] });
      expect(page.status).toBe(200);
    });

    it('is offered only on loopback listeners', () => {
      expect(['127.0.0.1', '127.4.5.6', 'localhost', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
      expect(['0.0.0.0', '192.168.1.10', '::', 'example.com', ''].some(isLoopbackHost)).toBe(false);
    });
  });
});
