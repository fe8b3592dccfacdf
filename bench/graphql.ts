/**
 * `npm run bench:graphql`: latency of device(id) and devices(limit: 25) through the local GraphQL
 * server (HTTP, token verification, per-field auth, the direct-Lambda event and the resolver
 * handler) beside a bare graphql-js execution of the same query text over the same registry and
 * data, in the same run. The difference is the local server's own overhead.
 */
import { performance } from 'node:perf_hooks';
import { graphql, type GraphQLSchema } from 'graphql';
import { APPSYNC_SCALARS } from '../src/local/appsync/appsync-scalars.js';
import { toGraphqlDevice } from '../src/wire/graphql-device.js';
import { LocalTokenIssuer } from '../src/local/appsync/local-token-issuer.js';
import { buildSchemaFromSdl } from '../src/graphql/schema-source.js';
import type { DeviceRegistry } from '../src/domain/device-registry.js';
import { startLocalPlatform } from '../src/local/platform.js';

const DEVICES = 100;
const WARMUP = 30;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 400);

const DEVICE = 'query D($id: ID!) { device(id: $id) { id name type status createdAt updatedAt lastSeen version metadata { key value } readings { metric numberValue } } }';
const DEVICES_PAGE = 'query L { devices(limit: 25) { items { id name type status version metadata { key value } } nextToken total } }';

/** graphql-js alone: the schema file, AppSync scalars, resolvers calling the registry directly. */
function bareSchema(registry: DeviceRegistry): GraphQLSchema {
  const schema = buildSchemaFromSdl();
  for (const [name, impl] of Object.entries(APPSYNC_SCALARS)) {
    const type = schema.getType(name);
    if (type) Object.assign(type, { serialize: impl.serialize, parseValue: impl.parseValue, parseLiteral: impl.parseLiteral });
  }
  const fields = schema.getQueryType()!.getFields();
  fields.device!.resolve = async (_s, args) => toGraphqlDevice(await registry.get(args.id as string));
  fields.devices!.resolve = async (_s, args) => {
    const page = await registry.list({ limit: args.limit as number });
    return { items: page.items.map(toGraphqlDevice), nextToken: page.nextPageToken ?? null, total: page.total ?? null };
  };
  return schema;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

type Run = (i: number) => Promise<void>;

/**
 * Times two runs of the same query interleaved (alternating which goes first), so both see the
 * same machine load: on a shared 2-core machine, back-to-back phases would measure the neighbours.
 */
async function measurePair(a: Run, b: Run): Promise<[{ p50: number; p99: number }, { p50: number; p99: number }]> {
  for (let i = 0; i < WARMUP; i++) {
    await a(i);
    await b(i);
  }
  const samples: [number[], number[]] = [[], []];
  const timed = async (run: Run, i: number, into: number[]) => {
    const start = performance.now();
    await run(i);
    into.push(performance.now() - start);
  };
  for (let i = 0; i < ITERATIONS; i++) {
    if (i % 2 === 0) {
      await timed(a, i, samples[0]);
      await timed(b, i, samples[1]);
    } else {
      await timed(b, i, samples[1]);
      await timed(a, i, samples[0]);
    }
  }
  return samples.map((list) => {
    list.sort((x, y) => x - y);
    return { p50: percentile(list, 50), p99: percentile(list, 99) };
  }) as [{ p50: number; p99: number }, { p50: number; p99: number }];
}

async function main(): Promise<void> {
  const platform = await startLocalPlatform({ ephemeral: true, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
  try {
    const ids: string[] = [];
    for (let i = 0; i < DEVICES; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          platform.registry.create({ name: `Bench ${i + j}`, type: 'bench', metadata: { site: 'berlin', floor: String(j) } }),
        ),
      );
      ids.push(...batch.map((d) => d.id));
    }
    await platform.changeFeed.flush();
    const token = await (await LocalTokenIssuer.forProcess()).issue({ user: 'bench', groups: ['viewer'] });
    const url = platform.endpoints.graphql!;
    const viaServer = (query: string, variables: Record<string, unknown>) => async () => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: token }, body: JSON.stringify({ query, variables }) });
      const body = (await response.json()) as { errors?: unknown[] };
      if (!response.ok || body.errors) throw new Error(`server answered ${response.status}: ${JSON.stringify(body.errors)}`);
    };
    const schema = bareSchema(platform.registry);
    const bare = (query: string, variables: Record<string, unknown>) => async () => {
      const result = await graphql({ schema, source: query, variableValues: variables });
      if (result.errors) throw new Error(`graphql-js: ${JSON.stringify(result.errors)}`);
    };

    const rows: [string, string, { p50: number; p99: number }][] = [];
    const pairs: [string, Run, Run][] = [
      ['device(id)', (i) => viaServer(DEVICE, { id: ids[i % ids.length] })(), (i) => bare(DEVICE, { id: ids[i % ids.length] })()],
      ['devices(limit: 25)', () => viaServer(DEVICES_PAGE, {})(), () => bare(DEVICES_PAGE, {})()],
    ];
    for (const [name, server, baseline] of pairs) {
      const [serverStats, bareStats] = await measurePair(server, baseline);
      rows.push([name, 'local server', serverStats], [name, 'bare graphql-js', bareStats]);
    }

    console.log(`GraphQL latency, ${ITERATIONS} requests per mode, interleaved, after ${WARMUP} warm-up pairs; ${DEVICES} devices in dynalite (same registry and data for both modes)`);
    console.log('query                mode               p50 ms    p99 ms');
    for (const [name, mode, { p50, p99 }] of rows) {
      console.log(`${name.padEnd(20)} ${mode.padEnd(16)} ${p50.toFixed(2).padStart(8)}  ${p99.toFixed(2).padStart(8)}`);
    }
    for (const query of ['device(id)', 'devices(limit: 25)']) {
      const server = rows.find((r) => r[0] === query && r[1] === 'local server')![2];
      const baseline = rows.find((r) => r[0] === query && r[1] === 'bare graphql-js')![2];
      console.log(`${query}: local server overhead p50 +${(server.p50 - baseline.p50).toFixed(2)} ms, p99 +${(server.p99 - baseline.p99).toFixed(2)} ms over bare graphql-js`);
    }
  } finally {
    await platform.stop();
  }
}

await main();
