import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script, createContext } from 'node:vm';
import { createGraphiQLFetcher, type Fetcher } from '@graphiql/toolkit';
import { getIntrospectionQuery, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CREATE, UPDATE, startGraphqlHarness, type GraphqlHarness } from '../../graphql/helpers.js';

const require = createRequire(import.meta.url);

function packageFile(name: string, file: string): Buffer {
  return readFileSync(join(dirname(require.resolve(`${name}/package.json`)), file));
}

/** URLs the page loads over the network (data: URLs aside), in document order. */
function assetUrls(html: string, base: string): string[] {
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, base).href).filter((u) => !u.startsWith('data:'));
}

/** A raw GET that keeps the path as written (fetch would normalise `..`). */
function rawGet(url: string, path: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    request({ host: hostname, port, path, method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

describe('GraphiQL on the local server', () => {
  let h: GraphqlHarness;

  beforeAll(async () => {
    h = await startGraphqlHarness();
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
  });

  it('serves GraphiQL to a browser on GET /graphql, every script and stylesheet from this server', async () => {
    // Act
    const response = await fetch(h.url, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    const html = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>/);
    const origin = new URL(h.url).origin;
    const urls = assetUrls(html, h.url);
    expect(urls.every((u) => u.startsWith(`${origin}/graphiql/`))).toBe(true);
    expect(urls.map((u) => u.split('/').pop())).toEqual([
      'graphiql.min.css',
      'react.production.min.js',
      'react-dom.production.min.js',
      'graphiql.min.js',
      'start.js',
    ]);
  });

  it('serves each asset the page references with its content type, the versioned ones cacheable for good', async () => {
    // Prepare
    const html = await (await fetch(h.url, { headers: { accept: 'text/html' } })).text();
    const expected: Record<string, Buffer> = {
      'graphiql.min.css': packageFile('graphiql', 'graphiql.min.css'),
      'react.production.min.js': packageFile('react', 'umd/react.production.min.js'),
      'react-dom.production.min.js': packageFile('react-dom', 'umd/react-dom.production.min.js'),
      'graphiql.min.js': packageFile('graphiql', 'graphiql.min.js'),
    };

    for (const url of assetUrls(html, h.url)) {
      // Act
      const response = await fetch(url);
      const body = Buffer.from(await response.arrayBuffer());

      // Assess
      const name = url.split('/').pop()!;
      expect(response.status, url).toBe(200);
      expect(response.headers.get('content-type'), url).toBe(name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(body.length, url).toBeGreaterThan(0);
      expect(Number(response.headers.get('content-length')), url).toBe(body.length);
      if (name === 'start.js') {
        expect(response.headers.get('cache-control')).toBe('no-cache');
      } else {
        expect(body.equals(expected[name]!), url).toBe(true);
        expect(response.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable');
        expect(url).toMatch(/\/graphiql\/(graphiql|react|react-dom)@\d+\.\d+\.\d+\//);
      }
    }
  });

  it('points GraphiQL at this path for HTTP and graphql-ws, with the headers editor open on a token hint', async () => {
    // Prepare
    const html = await (await fetch(h.url, { headers: { accept: 'text/html' } })).text();
    const startUrl = assetUrls(html, h.url).find((u) => u.endsWith('/start.js'))!;
    const source = await (await fetch(startUrl)).text();
    const seen: { fetcherOptions?: Record<string, unknown>; rootId?: string; props?: Record<string, unknown> } = {};
    const fetcher = (): void => {};
    const GraphiQL = Object.assign(() => null, {
      createFetcher: (options: Record<string, unknown>) => ((seen.fetcherOptions = options), fetcher),
    });
    const context = createContext({
      location: new URL(h.url),
      document: { getElementById: (id: string) => ((seen.rootId = id), {}) },
      React: { createElement: (_type: unknown, props: Record<string, unknown>) => props },
      ReactDOM: { createRoot: () => ({ render: (props: Record<string, unknown>) => (seen.props = props) }) },
      GraphiQL,
    });

    // Act
    new Script(source).runInContext(context);

    // Assess
    expect(seen.fetcherOptions).toEqual({ url: h.url, subscriptionUrl: h.realtimeUrl });
    expect(seen.rootId).toBe('graphiql');
    expect(seen.props!.fetcher).toBe(fetcher);
    expect(seen.props!.defaultEditorToolsVisibility).toBe('headers');
    expect(JSON.parse(seen.props!.defaultHeaders as string)).toEqual({ Authorization: expect.stringContaining('iotctl token --user me --group admin') });
    const query = parse(seen.props!.defaultQuery as string);
    expect(query.definitions.map((d) => ('operation' in d ? d.operation : d.kind))).toEqual(['query', 'subscription']);
  });

  it('keeps the JSON API: a GET that does not ask for HTML is refused, POST still answers', async () => {
    // Act
    const get = await fetch(h.url, { headers: { accept: 'application/json' } });
    const post = await h.gql('query { stats { total } }');

    // Assess
    expect(get.status).toBe(405);
    expect(get.headers.get('content-type')).toMatch(/^application\/json/);
    expect(post.status).toBe(200);
    expect(post.errors).toBeUndefined();
    expect(typeof post.data!.stats.total).toBe('number');
  });

  it('answers unknown and traversing asset paths with 404', async () => {
    // Act
    const statuses = await Promise.all(
      ['/graphiql/', '/graphiql/package.json', '/graphiql/../package.json', '/graphiql/graphiql@3.9.0/../../package.json', '/graphiql/react@0.0.0/react.production.min.js'].map((p) =>
        rawGet(h.url, p),
      ),
    );

    // Assess
    expect(statuses).toEqual([404, 404, 404, 404, 404]);
  });

  describe("GraphiQL's own fetcher (@graphiql/toolkit, bundled in graphiql.min.js) with a pasted token", () => {
    let fetcher: Fetcher;
    const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

    beforeAll(() => {
      // The toolkit opens graphql-ws with the browser's global WebSocket, which Node 20 lacks.
      (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
      fetcher = createGraphiQLFetcher({ url: h.url, subscriptionUrl: h.realtimeUrl, fetch: globalThis.fetch });
    });

    afterAll(() => {
      (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
    });

    /** Starts one operation as GraphiQL does: parsed document and the headers editor's object. */
    async function start(query: string, headers: Record<string, string>, variables?: Record<string, unknown>) {
      const documentAST = parse(query);
      const operation = documentAST.definitions[0] as { name?: { value: string } };
      return fetcher({ query, variables, operationName: operation.name?.value ?? null }, { documentAST, headers });
    }

    /** A query or mutation's one response (the HTTP fetcher streams, as for incremental delivery). */
    async function run(query: string, headers: Record<string, string>, variables?: Record<string, unknown>): Promise<any> {
      const result = await start(query, headers, variables);
      if (!(Symbol.asyncIterator in Object(result))) return result;
      for await (const value of result as AsyncIterable<unknown>) return value;
      throw new Error('the fetcher ended without a response');
    }

    it('loads the schema by introspection with the token, and explains the refusal with the hint left in place', async () => {
      // Act
      const withToken = (await fetcher({ query: getIntrospectionQuery(), operationName: 'IntrospectionQuery' }, { headers: { Authorization: h.adminToken } })) as {
        data: { __schema: { subscriptionType: { name: string } } };
      };
      const withHint = (await fetcher(
        { query: getIntrospectionQuery(), operationName: 'IntrospectionQuery' },
        { headers: { Authorization: 'paste the output of: npx iotctl token --user me --group admin' } },
      )) as unknown as { errors: { errorType: string; message: string }[] };

      // Assess
      expect(withToken.data.__schema.subscriptionType.name).toBe('Subscription');
      expect(withHint.errors[0]).toEqual({ errorType: 'UnauthorizedException', message: 'Valid authorization header not provided.' });
    });

    it('runs a mutation over HTTP and receives the resulting deviceUpdated over graphql-ws, the token sent as connectionParams', async () => {
      // Prepare
      const headers = { Authorization: h.adminToken };
      const created = (await run(CREATE, headers, { input: { name: 'graphiql-seen', type: 'graphiql' } })) as { data: { createDevice: { id: string } } };
      const id = created.data.createDevice.id;
      const live = (await start(`subscription Watch($id: ID) { deviceUpdated(id: $id) { id changeType device { name } } }`, headers, { id })) as AsyncIterableIterator<{
        data?: { deviceUpdated: { id: string; changeType: string; device: { name: string } } };
        errors?: unknown[];
      }>;
      const updates: { id: string; changeType: string; device: { name: string } }[] = [];
      const errors: unknown[] = [];
      const reading = (async () => {
        for await (const message of live) {
          if (message.errors) errors.push(...message.errors);
          if (message.data?.deviceUpdated.changeType === 'UPDATED') updates.push(message.data.deviceUpdated);
          if (updates.length > 0 || errors.length > 0) return;
        }
      })();
      let done = false;
      void reading.finally(() => (done = true));

      // Act: update until the subscription, registered asynchronously, reports an update.
      for (let round = 0; !done && round < 200; round++) {
        await run(UPDATE, headers, { input: { id, name: `graphiql-seen-${round}` } });
        await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 50))]);
      }
      await reading;
      await live.return?.();

      // Assess
      expect(errors).toEqual([]);
      expect(updates[0]).toMatchObject({ id, changeType: 'UPDATED', device: { name: expect.stringMatching(/^graphiql-seen-\d+$/) } });
    });
  });
});
