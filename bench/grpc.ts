/**
 * `npm run bench:grpc`: the gRPC DeviceService against a bare grpc-js server, in the same run.
 *
 * 1. Unary: GetDevice (in-memory repository, the real handlers, interceptors and logging) vs a
 *    bare grpc-js echo that answers with a pre-encoded buffer of the same size as the Device
 *    response. Closed loop, concurrency 64, rounds interleaved so both see the same machine load;
 *    each server's CPU per call (from /proc) is printed too, which machine load disturbs less.
 * 2. Streaming: WatchDevices with 10,000 concurrent streams (BENCH_STREAMS) on one server, 200 per
 *    connection (below max_concurrent_streams), against a bare grpc-js server stream writing the
 *    same number of bytes to as many streams, 500 streams per turn of the event loop like the
 *    watch hub (DEFAULT_FANOUT_CHUNK), both sets open at once: changes alternate one by
 *    one between the two servers, so both see the same machine load. A change made with
 *    UpdateDevice is timed from the call to its arrival on every stream; the bare one from a
 *    Publish call. Server memory per stream is the growth of the server process's RSS while its
 *    streams opened. Opens refused with RESOURCE_EXHAUSTED are retried after a backoff and counted.
 * 3. Other RPCs meanwhile: GetDevice rounds on the same server with the 10,000 streams open and
 *    idle, each followed by a round while changes fan out back to back to every stream.
 *
 * Each server runs in its own child process from an esbuild bundle (like the deployed service)
 * with the DeviceService's transport options; the load generator runs here and sends pre-encoded
 * requests with identity serializers, so the client does the same work against both servers.
 * Both speak TLS with one local CA. The DeviceService also verifies the bearer token of every
 * call and runs its receive budget, as deployed; the bare server has neither, so the ratios
 * measure the handlers, interceptors and logging against bare grpc-js on the same transport.
 */
import { inMemoryAlarms } from '../src/grpc/in-memory-alarms.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
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
import { SERVER_OPTIONS, startDeviceServer, type ServerTlsIdentity } from '../src/grpc/server.js';
import { DEFAULT_FANOUT_CHUNK } from '../src/grpc/watch-hub.js';
import { localAccessTokenVerifier } from '../src/grpc/access-token-verifier.js';
import { LOCAL_CLIENT_IDS, LOCAL_ISSUER, LocalTokenIssuer } from '../src/local/appsync/local-token-issuer.js';
import { DEVICES_SCOPES } from '../src/contracts/grpc-access.js';
import { openLocalCa, type LocalCa } from '../src/local/iot-core/ca.js';
import { bundleForNode } from '../scripts/build-grpc.js';

const CONCURRENCY = 64;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const WARMUP_MS = 1_000;
const STREAMS = Number(process.env.BENCH_STREAMS ?? 10_000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
/** GetDevice rounds (idle streams, then streams receiving changes) after the latency run. */
const DURING_ROUNDS = Number(process.env.BENCH_DURING_ROUNDS ?? 3);
/** How long one change may take to reach every stream before it counts as not delivered. */
const CHANGE_TIMEOUT_MS = 60_000;
/** Attempts to open one stream that the server refuses with RESOURCE_EXHAUSTED. */
const MAX_OPEN_ATTEMPTS = 5;
const BUDGET_S = Number(process.env.BENCH_BUDGET_S ?? 1_200);
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
  // The DeviceService's own transport options (stream limit, keepalive, message sizes), without its interceptors.
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(
    { Echo: method(`${ECHO}Echo`), Subscribe: method(`${ECHO}Subscribe`, true), Publish: method(`${ECHO}Publish`) },
    {
      Echo: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, reply),
      Subscribe: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        subscribers.add(call);
        call.on('cancelled', () => subscribers.delete(call));
        call.sendMetadata(new grpc.Metadata());
      },
      // The watch hub's fan-out strategy without its layers: DEFAULT_FANOUT_CHUNK streams per turn of the event loop.
      Publish: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const targets = [...subscribers];
        const writeFrom = (from: number): void => {
          const to = Math.min(targets.length, from + DEFAULT_FANOUT_CHUNK);
          for (let k = from; k < to; k++) targets[k]!.write(reply);
          if (to < targets.length) setImmediate(() => writeFrom(to));
        };
        writeFrom(0);
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
  // Profiled runs (BENCH_CHILD_ARGS) keep function names readable.
  await bundleForNode({ 'bench-grpc': fileURLToPath(import.meta.url) }, outDir, { sourcemap: false, external: ['esbuild'], minify: !process.env.BENCH_CHILD_ARGS });
  return join(outDir, 'bench-grpc.mjs');
}

let serverEntry: string | undefined;
let caDir: string | undefined;
let caPem: string | undefined;

function startChild(args: string[]): Promise<Started> {
  // BENCH_CHILD_ARGS (e.g. "--cpu-prof") profiles the servers.
  const extra = process.env.BENCH_CHILD_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...extra, serverEntry!, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_CA_DIR: caDir } });
  children.push(child);
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
  /** Server CPU (user + system) per call, in microseconds. */
  readonly cpuUs: number;
  readonly qps: number;
  readonly p50: number;
  readonly p99: number;
  readonly calls: number;
}

/** CPU time a process has used (Linux /proc, clock ticks of 10 ms), in microseconds. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** CONCURRENCY callers calling `next` back to back for `ms`; with `serverPid`, that server's CPU per call too. */
async function closedLoop(ms: number, next: () => Promise<unknown>, serverPid?: number): Promise<RunResult> {
  const latencies: number[] = [];
  const cpuBefore = serverPid ? cpuOf(serverPid) : NaN;
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
  const cpuUs = serverPid ? (cpuOf(serverPid) - cpuBefore) / latencies.length : NaN;
  latencies.sort((a, b) => a - b);
  return { cpuUs, qps: (latencies.length / elapsed) * 1000, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), calls: latencies.length };
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

/** Resolves after `ms`. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The 1-minute load average, to print beside each figure (the machine may be shared). */
const load = () => `load ${loadavg()[0]!.toFixed(1)}`;

/**
 * STREAMS server streams of one server, opened at once (as after a task restart), with the
 * arrival time of each delivery measured from the moment its change was triggered.
 */
class StreamGroup {
  readonly streams: grpc.ClientReadableStream<Buffer>[] = [];
  /** Streams whose response headers arrived (subscribed). */
  opened = 0;
  /** Subscribed streams not ended since. */
  private live = 0;
  /** Refusal details -> opens refused with RESOURCE_EXHAUSTED, then retried. */
  readonly refusedOpens = new Map<string, number>();
  /** Status name -> streams that ended (refused at open or cut later). */
  readonly ended = new Map<string, number>();
  delivered = 0;
  bytesPerStream = NaN;
  openMs = NaN;
  private pending: { t0: number; left: number; latencies: number[]; done: () => void } | undefined;
  private closing = false;

  constructor(
    readonly label: string,
    private readonly openOne: () => grpc.ClientReadableStream<Buffer>,
    private readonly serverPid: number,
  ) {}

  async open(count: number): Promise<void> {
    const rssBefore = rssOf(this.serverPid);
    const started = performance.now();
    await Promise.all(Array.from({ length: count }, () => this.openStream(1)));
    this.openMs = performance.now() - started;
    // Let the server finish its bookkeeping for the last streams before reading its memory.
    await sleep(500);
    this.bytesPerStream = (rssOf(this.serverPid) - rssBefore) / count;
    console.error(`${this.label}: ${this.opened}/${count} streams open in ${(this.openMs / 1000).toFixed(1)} s (${load()})`);
  }

  /**
   * Opens one stream. A refusal with RESOURCE_EXHAUSTED is retried after a random backoff, as
   * its details ask and as a client reconnecting after a task restart would.
   */
  private openStream(attempt: number): Promise<void> {
    const s = this.openOne();
    this.streams.push(s);
    let subscribed = false;
    s.on('data', () => {
      this.delivered += 1;
      const p = this.pending;
      if (!p) return;
      p.latencies.push(performance.now() - p.t0);
      if (--p.left === 0) p.done();
    });
    s.on('error', () => undefined);
    return new Promise<void>((settled) => {
      s.once('metadata', () => {
        subscribed = true;
        this.opened += 1;
        this.live += 1;
        settled();
      });
      s.once('status', (st: grpc.StatusObject) => {
        if (subscribed) {
          this.live -= 1;
          if (!this.closing) this.count(this.ended, `${grpc.status[st.code]} (${st.details})`);
          return;
        }
        if (st.code === grpc.status.RESOURCE_EXHAUSTED && attempt < MAX_OPEN_ATTEMPTS) {
          this.count(this.refusedOpens, st.details);
          void sleep(250 + Math.random() * 1_000 * attempt).then(() => this.openStream(attempt + 1).then(settled));
          return;
        }
        this.count(this.ended, `${grpc.status[st.code]} at open (${st.details})`);
        settled();
      });
    });
  }

  private count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  /** Triggers one change and waits until every open stream has it (or CHANGE_TIMEOUT_MS); returns the latencies. */
  async deliver(trigger: () => Promise<unknown>): Promise<number[]> {
    const latencies: number[] = [];
    await new Promise<void>((done) => {
      const timer = setTimeout(done, CHANGE_TIMEOUT_MS);
      this.pending = { t0: performance.now(), left: this.live, latencies, done: () => (clearTimeout(timer), done()) };
      trigger().catch((error: unknown) => {
        console.error(`${this.label}: trigger failed: ${String(error)}`);
        clearTimeout(timer);
        done();
      });
    });
    this.pending = undefined;
    return latencies;
  }

  close(): void {
    this.closing = true;
    for (const s of this.streams) s.cancel();
  }

  endedText(): string {
    const ended = this.ended.size === 0 ? 'none ended' : [...this.ended].map(([why, n]) => `${n} ended ${why}`).join(', ');
    const refused = [...this.refusedOpens].map(([why, n]) => `; ${n} opens refused RESOURCE_EXHAUSTED "${why}" and retried after a backoff`).join('');
    return ended + refused;
  }
}

function summarize(latencies: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), max: sorted.at(-1) ?? NaN };
}

const children: ChildProcess[] = [];

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error(`bench:grpc exceeded its ${BUDGET_S} s budget (BENCH_BUDGET_S)`);
    process.exit(2);
  }, BUDGET_S * 1000);
  deadline.unref();
  // A failed or timed-out run must not leave its servers behind.
  process.once('exit', () => {
    for (const c of children) c.kill('SIGTERM');
  });
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

  console.log(`bench:grpc  Node ${process.version}, ${cpus().length} cores, ${load()} at start`);
  console.log(`Both servers: TLS with the same local CA and certificate, each in its own process from an esbuild bundle; the client sends pre-encoded requests over the same kind of channels to both.`);
  console.log(`\nUnary: ${CONCURRENCY} concurrent calls, ${ROUNDS} interleaved rounds of ${ROUND_MS / 1000} s, response ${sample.length} bytes; bearer token verified per DeviceService call`);
  await closedLoop(WARMUP_MS, echoCall);
  await closedLoop(WARMUP_MS, getDevice);
  const results: Record<'echo' | 'device', RunResult[]> = { echo: [], device: [] };
  for (let r = 0; r < ROUNDS; r++) {
    results.echo.push(await closedLoop(ROUND_MS, echoCall, echo.child.pid));
    results.device.push(await closedLoop(ROUND_MS, getDevice, devices.child.pid));
  }
  const summary = (rs: RunResult[]) => ({
    cpuUs: rs.reduce((a, r) => a + r.cpuUs, 0) / rs.length,
    qps: rs.reduce((a, r) => a + r.qps, 0) / rs.length,
    p50: rs.reduce((a, r) => a + r.p50, 0) / rs.length,
    p99: rs.reduce((a, r) => a + r.p99, 0) / rs.length,
    calls: rs.reduce((a, r) => a + r.calls, 0),
  });
  const e = summary(results.echo);
  const d = summary(results.device);
  console.log('                                     QPS    p50 ms    p99 ms     calls  server CPU/call');
  console.log(`  baseline: bare grpc-js echo  ${fmt(e.qps, 0)} ${fmt(e.p50)} ${fmt(e.p99)} ${String(e.calls).padStart(9)}  ${fmt(e.cpuUs, 0)} us`);
  console.log(`  DeviceService GetDevice      ${fmt(d.qps, 0)} ${fmt(d.p50)} ${fmt(d.p99)} ${String(d.calls).padStart(9)}  ${fmt(d.cpuUs, 0)} us`);
  // Other work on a shared machine shifts whole rounds: the median of the per-round ratios
  // (each echo round is followed by its GetDevice round) is the steadier figure.
  const ratios = results.device.map((r, k) => r.qps / results.echo[k]!.qps).sort((a, b) => a - b);
  const ratio = ratios[Math.floor(ratios.length / 2)]!;
  console.log(`  GetDevice / echo QPS: mean ${(d.qps / e.qps).toFixed(2)}, per round ${ratios.map((r) => r.toFixed(2)).join(' ')}, median ${ratio.toFixed(2)} (target >= 0.90: ${ratio >= 0.9 ? 'met' : 'NOT met'}) (${load()})`);
  echoClient.close();

  // Streaming: STREAMS_PER_CONNECTION streams per connection, as many clients would open, on
  // both servers at once so that their changes can be interleaved one by one.
  const connections = Math.ceil(STREAMS / STREAMS_PER_CONNECTION);
  const watchMethods = { WatchDevices: method(`${SERVICE}WatchDevices`, true) };
  const watchClients = Array.from({ length: connections }, () => rawClient(devices.info.port, watchMethods, true, token));
  const fanoutMethods = { Subscribe: method(`${ECHO}Subscribe`, true), Publish: method(`${ECHO}Publish`) };
  const fanoutClients = Array.from({ length: connections }, () => rawClient(echo.info.port, fanoutMethods, true));
  const publisher = rawClient(echo.info.port, fanoutMethods);
  const watchRequest = Buffer.alloc(0);
  let s = 0;
  let f = 0;
  const watch = new StreamGroup('WatchDevices', () => watchClients[s++ % connections]!.WatchDevices(watchRequest) as grpc.ClientReadableStream<Buffer>, devices.child.pid!);
  const bare = new StreamGroup('bare fan-out', () => fanoutClients[f++ % connections]!.Subscribe(Buffer.alloc(0)) as grpc.ClientReadableStream<Buffer>, echo.child.pid!);
  await watch.open(STREAMS);
  await bare.open(STREAMS);
  let n = 0;
  const update = () => unary(deviceClient, 'UpdateDevice', Buffer.from(UpdateDeviceRequest.encode({ device: { id: ids[n % ids.length], name: `renamed ${++n}` }, updateMask: { paths: ['name'] } }).finish()));
  const publish = () => unary(publisher, 'Publish', Buffer.alloc(0));

  // 1. Delivery latency, one change at a time on each server in turn.
  const watchLatencies: number[] = [];
  const bareLatencies: number[] = [];
  const loads: number[] = [];
  // Per change, the time until its last stream had it: one slow change (a GC pause, another
  // process) moves the p99 of 20 changes, less so the median of these.
  const watchLast: number[] = [];
  const bareLast: number[] = [];
  for (let c = 0; c < CHANGES; c++) {
    const wl = await watch.deliver(update);
    watchLast.push(Math.max(...wl));
    watchLatencies.push(...wl);
    await sleep(20);
    const bl = await bare.deliver(publish);
    bareLast.push(Math.max(...bl));
    bareLatencies.push(...bl);
    await sleep(20);
    loads.push(loadavg()[0]!);
  }
  const fanned = n;
  const watchDelivered = watch.delivered;

  // 2. Other RPCs on the same server: GetDevice rounds with the streams open and idle, each
  // followed by a round while changes fan out back to back to every stream.
  const idle: RunResult[] = [];
  const busy: RunResult[] = [];
  const busyLatencies: number[] = [];
  for (let r = 0; r < DURING_ROUNDS; r++) {
    idle.push(await closedLoop(ROUND_MS, getDevice));
    let running = true;
    const fanning = (async () => {
      while (running) busyLatencies.push(...(await watch.deliver(update)));
    })();
    busy.push(await closedLoop(ROUND_MS, getDevice));
    running = false;
    await fanning;
  }
  // Changes still in flight when a deliver() timed out are counted once they land.
  await sleep(1_000);
  watch.close();
  bare.close();
  for (const c of [...watchClients, ...fanoutClients, publisher]) c.close();

  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`.padStart(10);
  const delivery = (delivered: number, changes: number) => `${delivered.toLocaleString('en-US')}/${(STREAMS * changes).toLocaleString('en-US')}`.padStart(17);
  const w = summarize(watchLatencies);
  const b = summarize(bareLatencies);
  const loadRange = `load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`;
  console.log(`\nStreaming: ${STREAMS.toLocaleString('en-US')} concurrent streams on one server (${connections} connections of ${STREAMS_PER_CONNECTION}), ${CHANGES} changes each, interleaved one by one (${loadRange})`);
  console.log('                                                 p50 ms    p99 ms    max ms   delivered/expected   memory/stream  streams open in');
  console.log(`  baseline: bare grpc-js fan-out (same chunks)  ${fmt(b.p50)} ${fmt(b.p99)} ${fmt(b.max)} ${delivery(bare.delivered, CHANGES)}      ${kib(bare.bytesPerStream)}  ${(bare.openMs / 1000).toFixed(1)} s`);
  console.log(`  WatchDevices (UpdateDevice -> every stream)  ${fmt(w.p50)} ${fmt(w.p99)} ${fmt(w.max)} ${delivery(watchDelivered, fanned)}      ${kib(watch.bytesPerStream)}  ${(watch.openMs / 1000).toFixed(1)} s`);
  console.log('  (latency: from sending the change until it arrives on a stream; memory: server RSS growth while the streams opened, per stream)');
  console.log(`  WatchDevices: ${watch.endedText()}`);
  console.log(`  bare fan-out: ${bare.endedText()}`);
  const wLast = summarize(watchLast);
  const bLast = summarize(bareLast);
  console.log(`  time until a change reached its last stream, median over the ${CHANGES} changes: WatchDevices ${wLast.p50.toFixed(0)} ms (slowest ${wLast.max.toFixed(0)}), bare ${bLast.p50.toFixed(0)} ms (slowest ${bLast.max.toFixed(0)}): ratio ${(wLast.p50 / bLast.p50).toFixed(2)}`);
  const p99Ratio = w.p99 / b.p99;
  const allDelivered = watchDelivered === STREAMS * fanned;
  console.log(`  ${STREAMS.toLocaleString('en-US')} streams, ${fanned} changes: ${allDelivered ? 'all delivered' : `${STREAMS * fanned - watchDelivered} NOT delivered`}; WatchDevices p99 / bare fan-out p99 = ${p99Ratio.toFixed(2)} (target <= 2: ${p99Ratio <= 2 ? 'met' : 'NOT met'})`);
  const i_ = summary(idle);
  const b_ = summary(busy);
  const during = summarize(busyLatencies);
  console.log(`\nOther RPCs while the ${STREAMS.toLocaleString('en-US')} streams run: ${DURING_ROUNDS} GetDevice rounds with the streams idle, each followed by one while changes fan out back to back (${load()})`);
  console.log('                                     QPS    p50 ms    p99 ms     calls');
  console.log(`  baseline: streams open, idle   ${fmt(i_.qps, 0)} ${fmt(i_.p50)} ${fmt(i_.p99)} ${String(i_.calls).padStart(9)}`);
  console.log(`  while changes fan out          ${fmt(b_.qps, 0)} ${fmt(b_.p50)} ${fmt(b_.p99)} ${String(b_.calls).padStart(9)}`);
  console.log(`  meanwhile ${n - fanned} changes fanned out to every stream: delivery p50 ${during.p50.toFixed(2)} ms, p99 ${during.p99.toFixed(2)} ms; total WatchDevices deliveries ${delivery(watch.delivered, n).trim()} (${watch.delivered === STREAMS * n ? 'all' : 'NOT all'})`);

  deviceClient.close();
  for (const c of children) c.kill('SIGTERM');
  rmSync(dirname(serverEntry), { recursive: true, force: true });
  rmSync(caDir, { recursive: true, force: true });
}

const [mode, arg] = process.argv.slice(2);
if (mode) {
  process.once('SIGTERM', () => process.exit(0));
  // A server whose bench died (SIGKILL, crash) exits instead of lingering.
  setInterval(() => process.ppid === 1 && process.exit(0), 1_000).unref();
}
if (mode === 'serve-devices') await serveDevices();
else if (mode === 'serve-echo') await serveEcho(Number(arg));
else await main();
