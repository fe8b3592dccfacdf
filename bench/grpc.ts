/**
 * `npm run bench:grpc`: the gRPC DeviceService against a bare grpc-js server, in the same run.
 *
 * 1. Unary: GetDevice (in-memory repository, the real handlers, guards and logging) vs a bare
 *    grpc-js echo that answers with a pre-encoded buffer of the same size as the Device
 *    response. Closed loop, concurrency 64, rounds interleaved so both see the same machine load.
 * 2. Streaming: WatchDevices with 10,000 concurrent streams on one server (over enough
 *    connections for the server's max_concurrent_streams); a change made with UpdateDevice is
 *    timed from the call to its arrival on every stream; the baseline is a bare grpc-js server
 *    stream that writes the same number of bytes to as many streams. Server memory per stream
 *    is the growth of the server process's RSS from before the streams opened, and GetDevice
 *    runs against the server while the changes fan out, to show it keeps serving.
 *
 * Each server runs in its own child process from an esbuild bundle (like the deployed service);
 * the load generator runs here and sends pre-encoded requests with identity serializers, so
 * the client does the same work against both servers. Both speak TLS with one local CA; the
 * DeviceService also verifies the bearer token of every call, as deployed, so the ratio measures
 * the handlers plus authentication against bare grpc-js on the same transport.
 */
import { inMemoryAlarms } from '../src/grpc/in-memory-alarms.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { InMemoryDeviceRepository } from '../src/adapters/memory/in-memory-device-repository.js';
import { InMemoryStats } from '../src/adapters/memory/in-memory-stats.js';
import { DeviceRegistry } from '../src/domain/device-registry.js';
import { createPageTokenCodec } from '../src/domain/page-token.js';
import { descriptor } from '../src/generated/proto/descriptor.js';
import { pinoLogger } from '../src/adapters/logging/pino-logger.js';
import { ChangeFanout } from '../src/grpc/change-fanout.js';
import { startDeviceServer, type ServerTlsIdentity } from '../src/grpc/server.js';
import { localAccessTokenVerifier } from '../src/grpc/access-token-verifier.js';
import { LOCAL_CLIENT_IDS, LOCAL_ISSUER, LocalTokenIssuer } from '../src/local/appsync/local-token-issuer.js';
import { DEVICES_SCOPES } from '../src/contracts/grpc-access.js';
import { openLocalCa, type LocalCa } from '../src/local/iot-core/ca.js';
import { bundleForNode } from '../scripts/build-grpc.js';

const CONCURRENCY = 64;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_MS = 1_000;
const STREAMS = Number(process.env.BENCH_STREAMS ?? 10_000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
/** Streams per connection: below the DeviceService's max_concurrent_streams (256). */
const STREAMS_PER_CONNECTION = 200;
const DEVICES = 1_000;

const root = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace);
const GetDeviceRequest = root.lookupType('iot.device.v1.GetDeviceRequest');
const UpdateDeviceRequest = root.lookupType('iot.device.v1.UpdateDeviceRequest');
const identity = (b: Buffer): Buffer => b;
const SERVICE = '/iot.device.v1.DeviceService/';
const ECHO = '/bench.Echo/';

function method(path: string, responseStream = false): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream: false, responseStream, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}

// ---------------------------------------------------------------- servers (child processes)

/** The CA the parent created (BENCH_CA_DIR): its server certificate is every child's identity. */
async function benchCa(): Promise<LocalCa> {
  const dir = process.env.BENCH_CA_DIR;
  if (!dir) throw new Error('BENCH_CA_DIR is not set');
  return openLocalCa(dir);
}

function tlsOf(ca: LocalCa): ServerTlsIdentity {
  return { certificateChainPem: ca.server.certificatePem, privateKeyPem: ca.server.privateKeyPem };
}

/** The DeviceService over an in-memory registry holding DEVICES devices; prints its port and ids. */
async function serveDevices(): Promise<void> {
  const changes = new ChangeFanout();
  const stats = new InMemoryStats();
  const repository = new InMemoryDeviceRepository({
    onChange: async (change) => {
      await stats.apply(change);
      changes.emit(change);
    },
  });
  const registry = new DeviceRegistry({ repository, stats, pageTokens: createPageTokenCodec('bench-secret-bench-secret-bench') });
  const ids: string[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const device = await registry.create({ name: `pump ${i}`, type: 'pump', status: 'ONLINE', metadata: { site: 'north', floor: String(i % 8), serial: `SN-${100000 + i}` } });
    ids.push(device.id);
  }
  // The per-call JSON line is built by the production logger, then dropped instead of written to a pipe.
  let logged = 0;
  const log = pinoLogger({ level: 'info', destination: { write: () => void (logged += 1) } });
  // Production server options: the watch streams are spread so that each connection stays within MAX_CONCURRENT_STREAMS.
  const issuer = await LocalTokenIssuer.ephemeral();
  const verifyToken = localAccessTokenVerifier({ issuer: LOCAL_ISSUER, jwk: issuer.publicJwk as never, clientIds: LOCAL_CLIENT_IDS });
  const server = await startDeviceServer({ registry, changes, alarms: inMemoryAlarms(), log, tls: tlsOf(await benchCa()), verifyToken });
  const token = await issuer.issueForClient({ scopes: [DEVICES_SCOPES.read, DEVICES_SCOPES.write] });
  process.stdout.write(`${JSON.stringify({ port: server.port, ids, token })}\n`);
}

/** Bare grpc-js: a unary echo answering `reply`, and a fan-out stream of the same bytes. */
async function serveEcho(replyBytes: number): Promise<void> {
  const reply = Buffer.alloc(replyBytes, 7);
  const subscribers = new Set<grpc.ServerWritableStream<Buffer, Buffer>>();
  const server = new grpc.Server({ 'grpc.max_concurrent_streams': 4_096 });
  server.addService(
    { Echo: method(`${ECHO}Echo`), Subscribe: method(`${ECHO}Subscribe`, true), Publish: method(`${ECHO}Publish`) },
    {
      Echo: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, reply),
      Subscribe: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        subscribers.add(call);
        call.on('cancelled', () => subscribers.delete(call));
        call.sendMetadata(new grpc.Metadata());
      },
      Publish: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        for (const s of subscribers) s.write(reply);
        cb(null, Buffer.alloc(0));
      },
    },
  );
  const { certificateChainPem, privateKeyPem } = tlsOf(await benchCa());
  const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(certificateChainPem), private_key: Buffer.from(privateKeyPem) }], false);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (e, p) => (e ? reject(e) : resolve(p))));
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

// ---------------------------------------------------------------- load generator

interface Started {
  readonly child: ChildProcess;
  readonly info: { port: number; ids?: string[]; token?: string };
}

/**
 * The servers run from an esbuild bundle of this file, as the service runs in its container
 * (tsx would add its own per-closure helpers to the hot path).
 */
async function bundleSelf(): Promise<string> {
  // Inside the repository (dist/ is ignored) so the bundle resolves the external esbuild import.
  const outDir = join(dirname(fileURLToPath(import.meta.url)), '../dist/bench-grpc');
  rmSync(outDir, { recursive: true, force: true });
  await bundleForNode({ 'bench-grpc': fileURLToPath(import.meta.url) }, outDir, { sourcemap: false, external: ['esbuild'] });
  return join(outDir, 'bench-grpc.mjs');
}

let serverEntry: string | undefined;
let caDir: string | undefined;
let caPem: string | undefined;

function startChild(args: string[]): Promise<Started> {
  // BENCH_CHILD_ARGS (e.g. "--cpu-prof") profiles the servers.
  const extra = process.env.BENCH_CHILD_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...extra, serverEntry!, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_CA_DIR: caDir } });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server ${args[0]} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, info: JSON.parse(line) }));
  });
}

/** A TLS client trusting the bench CA; with `token`, every call carries it as a bearer token. */
function rawClient(port: number, methods: Record<string, grpc.MethodDefinition<Buffer, Buffer>>, local = false, token?: string): grpc.Client & Record<string, Function> {
  const Ctor = grpc.makeGenericClientConstructor(methods as grpc.ServiceDefinition, 'Raw');
  const tls = grpc.credentials.createSsl(Buffer.from(caPem!));
  const credentials = token
    ? grpc.credentials.combineChannelCredentials(
        tls,
        grpc.credentials.createFromMetadataGenerator((_p, cb) => {
          const metadata = new grpc.Metadata();
          metadata.set('authorization', `Bearer ${token}`);
          cb(null, metadata);
        }),
      )
    : tls;
  return new Ctor(`127.0.0.1:${port}`, credentials, local ? { 'grpc.use_local_subchannel_pool': 1 } : {}) as never;
}

function unary(client: Record<string, Function>, name: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => client[name]!(request, (e: Error | null, r: Buffer) => (e ? reject(e) : resolve(r))));
}

interface RunResult {
  readonly qps: number;
  readonly p50: number;
  readonly p99: number;
  readonly calls: number;
}

async function closedLoop(ms: number, next: () => Promise<unknown>): Promise<RunResult> {
  const latencies: number[] = [];
  const until = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await next();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return { qps: (latencies.length / elapsed) * 1000, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), calls: latencies.length };
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const fmt = (n: number, d = 2) => n.toFixed(d).padStart(9);

/** Resident memory of a process (Linux /proc), in bytes. */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

async function watchBench(
  label: string,
  open: () => grpc.ClientReadableStream<Buffer>,
  trigger: (n: number) => Promise<unknown>,
  serverPid: number,
  during?: () => Promise<unknown>,
): Promise<{ p50: number; p99: number; max: number; delivered: number; expected: number; bytesPerStream: number; during?: RunResult }> {
  const rssBefore = rssOf(serverPid);
  const streams: grpc.ClientReadableStream<Buffer>[] = [];
  let pending: { t0: number; left: number; done: () => void } | undefined;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: STREAMS }, () => {
      const s = open();
      streams.push(s);
      s.on('error', () => undefined);
      s.on('data', () => {
        if (!pending) return;
        latencies.push(performance.now() - pending.t0);
        if (--pending.left === 0) pending.done();
      });
      return new Promise((r) => s.once('metadata', r));
    }),
  );
  const bytesPerStream = (rssOf(serverPid) - rssBefore) / STREAMS;
  console.error(`${label}: ${STREAMS} streams open`);
  let changing = true;
  const other = during
    ? (async () => {
        // Other RPCs in short rounds until the fan-out is done.
        const rounds: RunResult[] = [];
        while (changing) rounds.push(await closedLoop(250, during));
        return rounds;
      })()
    : undefined;
  for (let n = 1; n <= CHANGES; n++) {
    await new Promise<void>((done) => {
      pending = { t0: performance.now(), left: STREAMS, done };
      void trigger(n);
    });
    pending = undefined;
    await new Promise((r) => setTimeout(r, 20));
  }
  changing = false;
  const rounds = await other;
  for (const s of streams) s.cancel();
  latencies.sort((a, b) => a - b);
  void label;
  const during_ = rounds && rounds.length > 0
    ? { qps: rounds.reduce((a, r) => a + r.qps, 0) / rounds.length, p50: rounds.reduce((a, r) => a + r.p50, 0) / rounds.length, p99: Math.max(...rounds.map((r) => r.p99)), calls: rounds.reduce((a, r) => a + r.calls, 0) }
    : undefined;
  return { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: latencies.at(-1) ?? NaN, delivered: latencies.length, expected: STREAMS * CHANGES, bytesPerStream, ...(during_ && { during: during_ }) };
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error('bench:grpc exceeded its 600 s budget');
    process.exit(2);
  }, 600_000);
  deadline.unref();
  serverEntry = await bundleSelf();
  caDir = mkdtempSync(join(tmpdir(), 'bench-grpc-ca-'));
  caPem = (await openLocalCa(caDir)).caCertificatePem;
  const devices = await startChild(['serve-devices']);
  const ids = devices.info.ids!;
  const token = devices.info.token!;
  const deviceClient = rawClient(devices.info.port, { GetDevice: method(`${SERVICE}GetDevice`), UpdateDevice: method(`${SERVICE}UpdateDevice`) }, false, token);
  const sample = await unary(deviceClient, 'GetDevice', Buffer.from(GetDeviceRequest.encode({ id: ids[0] }).finish()));
  const echo = await startChild(['serve-echo', String(sample.length)]);
  const echoClient = rawClient(echo.info.port, { Echo: method(`${ECHO}Echo`) });

  const requests = ids.map((id) => Buffer.from(GetDeviceRequest.encode({ id }).finish()));
  let i = 0;
  const getDevice = () => unary(deviceClient, 'GetDevice', requests[i++ % requests.length]!);
  const echoCall = () => unary(echoClient, 'Echo', requests[i++ % requests.length]!);

  console.log(`bench:grpc  Node ${process.version}, ${CONCURRENCY} concurrent calls, ${ROUNDS} interleaved rounds of ${ROUND_MS / 1000} s, response ${sample.length} bytes, TLS on both, bearer token verified per DeviceService call`);
  await closedLoop(WARMUP_MS, echoCall);
  await closedLoop(WARMUP_MS, getDevice);
  const results: Record<'echo' | 'device', RunResult[]> = { echo: [], device: [] };
  for (let r = 0; r < ROUNDS; r++) {
    results.echo.push(await closedLoop(ROUND_MS, echoCall));
    results.device.push(await closedLoop(ROUND_MS, getDevice));
  }
  const summary = (rs: RunResult[]) => ({
    qps: rs.reduce((a, r) => a + r.qps, 0) / rs.length,
    p50: rs.reduce((a, r) => a + r.p50, 0) / rs.length,
    p99: rs.reduce((a, r) => a + r.p99, 0) / rs.length,
    calls: rs.reduce((a, r) => a + r.calls, 0),
  });
  const e = summary(results.echo);
  const d = summary(results.device);
  console.log('\nUnary                               QPS    p50 ms    p99 ms     calls');
  console.log(`  baseline: bare grpc-js echo  ${fmt(e.qps, 0)} ${fmt(e.p50)} ${fmt(e.p99)} ${String(e.calls).padStart(9)}`);
  console.log(`  DeviceService GetDevice      ${fmt(d.qps, 0)} ${fmt(d.p50)} ${fmt(d.p99)} ${String(d.calls).padStart(9)}`);
  // Other work on a shared machine shifts whole rounds: the median of the per-round ratios
  // (each echo round is followed by its GetDevice round) is the steadier figure.
  const ratios = results.device.map((r, k) => r.qps / results.echo[k]!.qps).sort((a, b) => a - b);
  const ratio = ratios[Math.floor(ratios.length / 2)]!;
  console.log(`  GetDevice / echo QPS: mean ${(d.qps / e.qps).toFixed(2)}, per round ${ratios.map((r) => r.toFixed(2)).join(' ')}, median ${ratio.toFixed(2)} (target >= 0.90: ${ratio >= 0.9 ? 'met' : 'NOT met'})`);
  echoClient.close();

  // Streaming: STREAMS_PER_CONNECTION streams per connection, as many clients would open.
  const connections = Math.ceil(STREAMS / STREAMS_PER_CONNECTION);
  const watchMethods = { WatchDevices: method(`${SERVICE}WatchDevices`, true) };
  const watchClients = Array.from({ length: connections }, () => rawClient(devices.info.port, watchMethods, true, token));
  const watchRequest = Buffer.alloc(0);
  let s = 0;
  const watched = await watchBench(
    'WatchDevices',
    () => watchClients[s++ % watchClients.length]!.WatchDevices(watchRequest) as grpc.ClientReadableStream<Buffer>,
    (n) => unary(deviceClient, 'UpdateDevice', Buffer.from(UpdateDeviceRequest.encode({ device: { id: ids[0], name: `renamed ${n}` }, updateMask: { paths: ['name'] } }).finish())),
    devices.child.pid!,
    getDevice,
  );
  for (const c of watchClients) c.close();

  const fanout = await startChild(['serve-echo', String(sample.length)]);
  const fanoutMethods = { Subscribe: method(`${ECHO}Subscribe`, true), Publish: method(`${ECHO}Publish`) };
  const fanoutClients = Array.from({ length: connections }, () => rawClient(fanout.info.port, fanoutMethods, true));
  const publisher = rawClient(fanout.info.port, fanoutMethods);
  let f = 0;
  const bare = await watchBench(
    'bare fan-out',
    () => fanoutClients[f++ % fanoutClients.length]!.Subscribe(Buffer.alloc(0)) as grpc.ClientReadableStream<Buffer>,
    () => unary(publisher, 'Publish', Buffer.alloc(0)),
    fanout.child.pid!,
  );
  for (const c of [...fanoutClients, publisher]) c.close();

  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`.padStart(10);
  console.log(`\nStreaming: ${STREAMS.toLocaleString('en-US')} concurrent streams on one server (${connections} connections), ${CHANGES} changes`);
  console.log('                                                     p50 ms    p99 ms    max ms  delivered      memory/stream');
  console.log(`  baseline: bare grpc-js fan-out (same bytes)       ${fmt(bare.p50)} ${fmt(bare.p99)} ${fmt(bare.max)} ${bare.delivered}/${bare.expected} ${kib(bare.bytesPerStream)}`);
  console.log(`  WatchDevices (UpdateDevice -> every stream)       ${fmt(watched.p50)} ${fmt(watched.p99)} ${fmt(watched.max)} ${watched.delivered}/${watched.expected} ${kib(watched.bytesPerStream)}`);
  console.log('  (latency = from sending the change until it arrives on a stream; memory = server RSS growth while the streams opened, divided by the streams)');
  const p99Ratio = watched.p99 / bare.p99;
  console.log(`  ${STREAMS.toLocaleString('en-US')} streams, ${watched.delivered === watched.expected ? 'all delivered' : `${watched.expected - watched.delivered} NOT delivered`}; WatchDevices p99 / bare fan-out p99 = ${p99Ratio.toFixed(2)} (target <= 2: ${p99Ratio <= 2 ? 'met' : 'NOT met'})`);
  if (watched.during) {
    console.log(`  GetDevice on the same server while the changes fanned out: ${watched.during.calls} calls, all answered, ${watched.during.qps.toFixed(0)} QPS, p50 ${watched.during.p50.toFixed(2)} ms, worst round p99 ${watched.during.p99.toFixed(2)} ms`);
  }

  deviceClient.close();
  for (const c of [devices.child, echo.child, fanout.child]) c.kill('SIGTERM');
  rmSync(dirname(serverEntry), { recursive: true, force: true });
  rmSync(caDir, { recursive: true, force: true });
}

const [mode, arg] = process.argv.slice(2);
if (mode) process.once('SIGTERM', () => process.exit(0));
if (mode === 'serve-devices') await serveDevices();
else if (mode === 'serve-echo') await serveEcho(Number(arg));
else await main();
