import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { CONSOLE_CONFIG_PATH, LOCAL_CONSOLE_CONFIG, type ConsoleRuntimeConfig } from '../../contracts/console-config.js';


const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/**
 * The console's policy, as strict as the CloudFront one: scripts and styles only from this origin
 * (no inline, no eval), connections back to this server over HTTP and WebSocket.
 */
export function consoleContentSecurityPolicy(host: string | undefined): string {
  const ws = host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? ` ws://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${ws}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>IoT console</title></head>
<body><h1>The console is not built yet</h1><p>Run <code>npm run build:console</code> (or restart with <code>npm start</code>, which builds it) and reload.
GraphQL is at <a href="/graphql">/graphql</a>.</p></body></html>`;

function headers(req: IncomingMessage, contentType: string, length: number, cache: string): Record<string, string | number> {
  return {
    'content-type': contentType,
    'content-length': length,
    'cache-control': cache,
    'content-security-policy': consoleContentSecurityPolicy(req.headers.host),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}

function sendBody(req: IncomingMessage, res: ServerResponse, status: number, body: Buffer, contentType: string, cache: string): void {
  res.writeHead(status, headers(req, contentType, body.length, cache));
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Serves the built console from `dir` for GET/HEAD: its files, /config.json, and index.html for
 * every other path without a file extension (the app routes in the browser, as CloudFront's
 * error responses do in the cloud). Returns false for requests it does not answer.
 */
export function createConsoleFiles(dir: string, config: ConsoleRuntimeConfig = LOCAL_CONSOLE_CONFIG) {
  const root = resolve(dir);
  return async function serveConsole(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === CONSOLE_CONFIG_PATH) {
      sendBody(req, res, 200, Buffer.from(JSON.stringify(config)), TYPES['.json']!, 'no-cache');
      return true;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return false;
    }
    const file = resolve(join(root, normalize(decoded)));
    if (file !== root && !file.startsWith(root + sep)) return false;
    const extension = extname(file);
    if (extension && TYPES[extension]) {
      const found = await stat(file).catch(() => undefined);
      if (!found?.isFile()) return false;
      // Vite puts a content hash in every name under assets/, so those never change.
      const cache = file.startsWith(join(root, 'assets') + sep) ? 'public, max-age=31536000, immutable' : 'no-cache';
      sendBody(req, res, 200, await readFile(file), TYPES[extension]!, cache);
      return true;
    }
    if (extension) return false;
    const index = await readFile(join(root, 'index.html')).catch(() => undefined);
    if (!index) {
      sendBody(req, res, 503, Buffer.from(NOT_BUILT_PAGE), TYPES['.html']!, 'no-store');
      return true;
    }
    sendBody(req, res, 200, index, TYPES['.html']!, 'no-cache');
    return true;
  };
}
