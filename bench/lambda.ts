/**
 * `npm run bench:lambda`: what each function costs at a cold start, relative to an empty handler.
 *
 * Every function is bundled by synthesizing a CDK app of PlatformFunctions, so the bundle is
 * the one PlatformFunction deploys (esbuild, ESM, minified, SDK inside, source maps), and so is
 * an empty handler: the baseline. Each sample is a fresh `node` process (NODE_OPTIONS as the
 * function sets it) that imports one bundle and calls its handler once with a representative
 * event against a local fake AWS endpoint; the processes run interleaved (one of each bundle per
 * round) so every bundle sees the same machine load. The process's CPU time (user + system) from
 * its start to the end of the import, and to the end of the first call, is the measure: a cold
 * start as it costs (node's boot included), steadier than wall time on a busy machine. Prints per
 * function `<function> import <x>x first-call <y>x`, medians over the rounds as ratios to the
 * empty handler, then the absolute medians. `-- --with-sdk` also bundles every function with the AWS
 * SDK's clients (`awsClients: 'sdk'`, what `-c lambdaAwsClients=sdk` deploys) and prints their
 * ratios from the same rounds: the lean clients' effect under the same load.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marshall } from '@aws-sdk/util-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { PlatformFunction } from '../lib/platform-function.js';
import { toDeviceItem } from '../src/adapters/dynamodb/device-item.js';
import { DEVICE_SERVICE_VARIABLES } from '../src/contracts/environment/device-service.js';
import { VARIABLES } from '../src/contracts/environment/variables.js';
import { LAMBDA_FUNCTIONS, type LambdaFunctionDefinition, type LambdaFunctionKey } from '../src/contracts/lambda-functions.js';
import { TELEMETRY_RULE } from '../src/contracts/rules.js';
import { ALARMS_TABLE, COMMANDS_TABLE, DEVICES_TABLE, STATS_TABLE, TELEMETRY_TABLE, TWINS_TABLE } from '../src/contracts/tables.js';
import { telemetryRuleOutput } from '../src/local/iot-core/telemetry-rule-output.js';

const ROUNDS = Math.max(15, Number(process.env.BENCH_LAMBDA_ROUNDS ?? 15));
const WITH_SDK = process.argv.includes('--with-sdk');
/** The name of a function's bundle with the SDK's clients. */
const sdkVariant = (name: string) => `${name}+sdk`;
const MEASURE = fileURLToPath(new URL('./lambda/measure.mjs', import.meta.url));
const DEVICE_ID = '0d8a0e0c-6b8c-4a0b-9c3e-8f1f2a3b4c5d';

/** The event each deployed function's first call gets (a new function does not compile until it has one). */
const EVENTS: Record<LambdaFunctionKey, () => unknown> = {
  ingest: ingestEvent,
  presence: () => ({ clientId: DEVICE_ID, timestamp: Date.now(), eventType: 'connected', versionNumber: 1 }),
  changeFeed: eventsEvent,
  graphql: graphqlEvent,
  // A reported-state message (the device is unknown to the fake endpoint, so it is dead-lettered).
  deviceControl: () => ({ kind: 'state', thingName: DEVICE_ID, payload: Buffer.from(JSON.stringify({ v: 1, reported: { on: true } })).toString('base64'), receivedAt: Date.now() }),
  commandTimeouts: () => ({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
  alarmEvents: () => ({ Records: [] }),
  alarmSweep: () => ({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
  presenceReconciler: () => ({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
  rotationSweep: () => ({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
};

/** The functions the stack deploys, each with the event its first call gets. The first entry is the baseline. */
const FUNCTIONS: ReadonlyArray<{ name: string; entry: string; event: () => unknown }> = [
  { name: 'empty', entry: 'bench/lambda/empty-handler.ts', event: () => ({}) },
  ...(Object.entries(LAMBDA_FUNCTIONS) as Array<[LambdaFunctionKey, LambdaFunctionDefinition]>).map(([key, fn]) => ({ name: fn.serviceName, entry: fn.entry, event: EVENTS[key] })),
];

function ingestEvent(): unknown {
  const output = telemetryRuleOutput(`$aws/rules/${TELEMETRY_RULE.ruleName}/dt/iot/${DEVICE_ID}/telemetry`, Buffer.from(JSON.stringify({ ts: Date.now(), seq: 1, temperature: 21.5 })), DEVICE_ID, Date.now())!;
  return {
    Records: [
      {
        eventSource: 'aws:kinesis',
        eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/ingest',
        eventID: 'shardId-000000000000:1',
        kinesis: { partitionKey: DEVICE_ID, sequenceNumber: '1', data: Buffer.from(JSON.stringify(output)).toString('base64'), approximateArrivalTimestamp: Date.now() / 1000 },
      },
    ],
  };
}

function eventsEvent(): unknown {
  const at = new Date().toISOString();
  const device = { id: DEVICE_ID, name: 'Boiler', type: 'sensor', status: 'ONLINE' as const, createdAt: at, updatedAt: at, metadata: {}, readings: {}, version: 1 };
  return {
    Records: [
      {
        eventID: '1',
        eventName: 'INSERT',
        eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/Devices/stream/1',
        dynamodb: { Keys: marshall({ id: DEVICE_ID }), NewImage: marshall(toDeviceItem(device)), SequenceNumber: '100', ApproximateCreationDateTime: Date.now() / 1000 },
      },
    ],
  };
}

function graphqlEvent(): unknown {
  return {
    arguments: {},
    identity: { sub: 's', issuer: 'i', username: 'u', claims: { 'cognito:groups': ['viewer'] }, sourceIp: ['127.0.0.1'], defaultAuthStrategy: 'ALLOW', groups: ['viewer'] },
    source: null,
    request: { headers: {}, domainName: null },
    prev: null,
    info: { fieldName: 'stats', parentTypeName: 'Query', variables: {}, selectionSetList: [], selectionSetGraphQL: '' },
    stash: {},
  };
}

/** A bundle as PlatformFunction deploys it: its path and the NODE_OPTIONS the function gets. */
interface Bundle {
  readonly path: string;
  readonly nodeOptions: string;
}

/** Bundles every entry through PlatformFunction; returns the bundle and its node options per function name. */
function bundle(outdir: string): Map<string, Bundle> {
  process.env.CDK_VALIDATION = 'false';
  // Asset metadata on the resources tells where each bundle was staged.
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'LambdaBench');
  const ids = new Map<string, string>();
  for (const fn of FUNCTIONS) {
    const created = new PlatformFunction(stack, `${fn.name.replace(/-/g, '')}Function`, { entry: fn.entry, serviceName: fn.name });
    ids.set(fn.name, stack.getLogicalId(created.node.defaultChild as never));
    if (!WITH_SDK || fn.name === 'empty') continue;
    const sdk = new PlatformFunction(stack, `${fn.name.replace(/-/g, '')}SdkFunction`, { entry: fn.entry, serviceName: fn.name, awsClients: 'sdk' });
    ids.set(sdkVariant(fn.name), stack.getLogicalId(sdk.node.defaultChild as never));
  }
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: Record<string, { Metadata?: Record<string, string>; Properties: { Environment?: { Variables?: Record<string, string> } } }>;
  };
  return new Map(
    [...ids].map(([name, id]) => {
      const resource = template.Resources[id]!;
      return [name, { path: join(outdir, resource.Metadata!['aws:asset:path']!, 'index.mjs'), nodeOptions: resource.Properties.Environment?.Variables?.NODE_OPTIONS ?? '' }];
    }),
  );
}

/** Answers every AWS call as an empty success (and AppSync with an empty data object). */
async function fakeAwsEndpoint(): Promise<Server> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'bench' });
      response.end(request.url?.startsWith('/graphql') ? '{"data":{"publishDeviceUpdate":null}}' : '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

interface Sample {
  readonly importUs: number;
  readonly firstCallUs: number;
  readonly rssMiB: number;
  /** What the first call threw, if it did (it should not: the fake endpoint answers everything). */
  readonly error?: string;
}

function sample(bundlePath: string, event: unknown, env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MEASURE, bundlePath, JSON.stringify(event)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').reverse().find((l) => l.includes('"importUs"'));
      if (code !== 0 || !line) reject(new Error(`measuring ${bundlePath} failed (exit ${code}): ${err.slice(-500)}`));
      else resolve(JSON.parse(line) as Sample);
    });
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-lambda-'));
  const endpoint = await fakeAwsEndpoint();
  try {
    const bundles = bundle(outdir);
    const startLoad = loadavg().map((l) => l.toFixed(1)).join(' ');
    const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
    // What the stack sets (plus what the Lambda runtime sets), pointed at the fake endpoint.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_SESSION_TOKEN: 'bench',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_FUNCTION_NAME: 'bench',
      AWS_ENDPOINT_URL: url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_METRICS_NAMESPACE: 'IotPlatform',
      [DEVICES_TABLE.tableNameEnv]: 'Devices',
      [STATS_TABLE.tableNameEnv]: 'Stats',
      [TELEMETRY_TABLE.tableNameEnv]: 'Telemetry',
      [ALARMS_TABLE.tableNameEnv]: 'Alarms',
      [COMMANDS_TABLE.tableNameEnv]: 'Commands',
      [TWINS_TABLE.tableNameEnv]: 'Twins',
      [VARIABLES.alarmEventBusName]: 'bench-bus',
      [VARIABLES.alarmTopicArn]: 'arn:aws:sns:us-east-1:123456789012:bench',
      [VARIABLES.alarmTopicEnabled]: 'true',
      [VARIABLES.telemetryStore]: 'dynamodb',
      [VARIABLES.deadLetterQueueUrl]: `${url}/123456789012/dead-letters`,
      [VARIABLES.pageTokenSecret]: 'bench-page-token-secret-0123456789',
      [VARIABLES.appSyncGraphqlUrl]: `${url}/graphql`,
      [VARIABLES.changeTopicEnabled]: 'true',
      [DEVICE_SERVICE_VARIABLES.iotEndpoint]: url,
    };
    const runs = FUNCTIONS.flatMap((fn) => [{ bundle: fn.name, fn }, ...(WITH_SDK && fn.name !== 'empty' ? [{ bundle: sdkVariant(fn.name), fn }] : [])]);
    const samples = new Map<string, Sample[]>(runs.map((run) => [run.bundle, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const { bundle: name, fn } of runs) {
        const { path, nodeOptions } = bundles.get(name)!;
        // NODE_OPTIONS as the deployed function has it (BENCH_NODE_OPTIONS overrides, e.g. --enable-source-maps).
        samples.get(name)!.push(await sample(path, fn.event(), { ...env, NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? nodeOptions, POWERTOOLS_SERVICE_NAME: fn.name }));
      }
    }
    const summary = (name: string) => {
      const s = samples.get(name)!;
      return { importUs: median(s.map((x) => x.importUs)), firstCallUs: median(s.map((x) => x.firstCallUs)), rssMiB: median(s.map((x) => x.rssMiB)) };
    };
    const base = summary('empty');
    const failed = [...samples].flatMap(([name, s]) => (s[0]?.error ? [`${name}: ${s[0].error}`] : []));
    console.log(`load average before the rounds ${startLoad}`);
    if (failed.length > 0) console.log(`first calls that threw (their figures include the error path):\n  ${failed.join('\n  ')}`);
    console.log(`bench:lambda: ${ROUNDS} interleaved rounds, one fresh node ${process.version} process per sample; CPU medians as ratios to the empty handler`);
    const ratios = (name: string, label = name) => {
      const s = summary(name);
      console.log(`${label} import ${(s.importUs / base.importUs).toFixed(2)}x first-call ${(s.firstCallUs / base.firstCallUs).toFixed(2)}x`);
    };
    for (const fn of FUNCTIONS.slice(1)) ratios(fn.name);
    if (WITH_SDK) {
      console.log("\nthe same functions with the AWS SDK's clients (-c lambdaAwsClients=sdk), same rounds:");
      for (const fn of FUNCTIONS.slice(1)) ratios(sdkVariant(fn.name), fn.name);
    }
    console.log(`\nabsolute medians (process CPU ms from its start; RSS after the first call; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}):`);
    for (const { bundle: name } of runs) {
      const s = summary(name);
      console.log(`  ${name.padEnd(24)} through import ${(s.importUs / 1000).toFixed(1).padStart(6)} ms  through first call ${(s.firstCallUs / 1000).toFixed(1).padStart(6)} ms  rss ${s.rssMiB.toFixed(0)} MiB`);
    }
  } finally {
    endpoint.close();
    rmSync(outdir, { recursive: true, force: true });
  }
}

await main();
