import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/*
 * GraphiQL for the local server, served entirely from installed npm packages (graphiql's UMD
 * build and React 18's UMD builds), because developer machines have no internet at run time.
 * The graphiql bundle already contains @graphiql/toolkit's fetcher and a graphql-ws client;
 * the fetcher merges the headers editor into graphql-ws connectionParams, which is where the
 * server reads `Authorization`, so one pasted token serves queries and subscriptions alike.
 */

/** URL prefix of the static GraphiQL assets. */
export const GRAPHIQL_ASSET_PREFIX = '/graphiql/';

const require = createRequire(import.meta.url);

interface Asset {
  readonly contentType: string;
  /** Versioned assets never change under their URL; the bootstrap script is ours and may. */
  readonly immutable: boolean;
  readonly load: () => Buffer;
}

/** Reads `file` inside an installed package; its package.json is the one subpath every exports map allows. */
function packageFile(name: string, file: string): { version: string; load: () => Buffer } {
  const manifest = require.resolve(`${name}/package.json`);
  const { version } = require(manifest) as { version: string };
  const path = join(dirname(manifest), file);
  let cached: Buffer | undefined;
  return { version, load: () => (cached ??= readFileSync(path)) };
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/**
 * The browser side: one GraphiQL, its fetcher on this page's own URL (HTTP for queries and
 * mutations, ws:// on the same path for subscriptions), the headers editor open and kept
 * across reloads (shouldPersistHeaders) so a pasted token survives.
 */
const BOOTSTRAP = `'use strict';
(function () {
  var url = location.origin + location.pathname;
  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: url.replace(/^http/, 'ws') });
  var defaultHeaders = JSON.stringify({ Authorization: 'paste the output of: npx iotctl token --user me --group admin' }, null, 2);
  var defaultQuery = [
    '# Paste a token into Headers (below), from:',
    '#   npx iotctl token --user me --group admin',
    '# then re-fetch the schema (refresh icon, left).',
    '',
    'query Devices {',
    '  devices(limit: 10) {',
    '    items { id name type status version lastSeen }',
    '    nextToken',
    '    total',
    '  }',
    '  stats { total online byStatus { status count } }',
    '}',
    '',
    '# Live updates over graphql-ws: run this one.',
    'subscription Updates {',
    '  deviceUpdated {',
    '    id',
    '    changeType',
    '    device { id name status version lastSeen }',
    '  }',
    '}',
    ''
  ].join('\\n');
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: defaultHeaders,
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: true
    })
  );
})();
`;

function assets(): Map<string, Asset> {
  const react = packageFile('react', 'umd/react.production.min.js');
  const reactDom = packageFile('react-dom', 'umd/react-dom.production.min.js');
  const graphiqlJs = packageFile('graphiql', 'graphiql.min.js');
  const graphiqlCss = packageFile('graphiql', 'graphiql.min.css');
  const bootstrap = Buffer.from(BOOTSTRAP);
  // The version in the path is what makes immutable caching safe across upgrades.
  return new Map<string, Asset>([
    [`react@${react.version}/react.production.min.js`, { contentType: JS, immutable: true, load: react.load }],
    [`react-dom@${reactDom.version}/react-dom.production.min.js`, { contentType: JS, immutable: true, load: reactDom.load }],
    [`graphiql@${graphiqlJs.version}/graphiql.min.js`, { contentType: JS, immutable: true, load: graphiqlJs.load }],
    [`graphiql@${graphiqlCss.version}/graphiql.min.css`, { contentType: CSS, immutable: true, load: graphiqlCss.load }],
    ['start.js', { contentType: JS, immutable: false, load: () => bootstrap }],
  ]);
}

let assetTable: Map<string, Asset> | undefined;
function assetTableOf(): Map<string, Asset> {
  return (assetTable ??= assets());
}

/** The asset paths the page loads, in order (stylesheet first). */
export function graphiqlAssetPaths(): string[] {
  return [...assetTableOf().keys()].map((name) => GRAPHIQL_ASSET_PREFIX + name);
}

/**
 * A local dev page still gets a tight policy: only this origin's scripts (no inline, no eval),
 * inline styles (GraphiQL sets style attributes), fonts from data: URLs (inlined in the CSS),
 * and connections back to this server over HTTP and WebSocket.
 */
function contentSecurityPolicy(host: string | undefined): string {
  const ws = host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? ` ws://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    `connect-src 'self'${ws}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The GraphiQL page: no inline script, every asset from this server. */
export function graphiqlPage(): string {
  const paths = graphiqlAssetPaths();
  const styles = paths.filter((p) => p.endsWith('.css')).map((p) => `<link rel="stylesheet" href="${p}">`);
  const scripts = paths.filter((p) => p.endsWith('.js')).map((p) => `<script src="${p}"></script>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GraphiQL · IoT platform (local)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
${styles.join('\n')}
<style>html,body,#graphiql{height:100%;margin:0}</style>
</head><body>
<div id="graphiql">Loading GraphiQL…</div>
${scripts.join('\n')}
</body></html>`;
}

/** Whether a GET comes from a browser navigation (or anything else asking for HTML). */
export function acceptsHtml(req: IncomingMessage): boolean {
  return /\btext\/html\b/i.test(req.headers.accept ?? '');
}

/** Answers a GET for the GraphiQL page. */
export function sendGraphiqlPage(req: IncomingMessage, res: ServerResponse): void {
  const html = graphiqlPage();
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-cache',
    'content-security-policy': contentSecurityPolicy(req.headers.host),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(req.method === 'HEAD' ? undefined : html);
}

/**
 * Serves GET/HEAD under {@link GRAPHIQL_ASSET_PREFIX} from a fixed table of package files (no
 * path from the URL ever reaches the file system). Returns false when the path is not an asset
 * path, so the caller routes it; unknown names under the prefix get a 404 here.
 */
export function serveGraphiqlAsset(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (!path.startsWith(GRAPHIQL_ASSET_PREFIX)) return false;
  const asset = assetTableOf().get(path.slice(GRAPHIQL_ASSET_PREFIX.length));
  if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(asset ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(asset ? 'Use GET' : 'Not found');
    return true;
  }
  const body = asset.load();
  res.writeHead(200, {
    'content-type': asset.contentType,
    'content-length': body.length,
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
