/**
 * The console's end-to-end harness: the real platform (`iotctl local` as a child process on a
 * temporary data directory and OS-picked ports), the console built as `npm start` builds it, and
 * Debian's Chromium driven by playwright-core (never a downloaded browser).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from 'graphql-ws';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { READY_LINE } from '../../../src/cli/commands/local.js';
import { SUBSCRIPTION_STARTED_FIELD } from '../../../src/contracts/live-updates.js';
import { readDeviceBundle, type DeviceBundle } from '../../../src/provisioning/device-bundle.js';
import { connectBundle } from '../../local/iot-core/mqtt-device.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'iotctl.js');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** The browser the tests drive: Debian's package (`apt-get install -y chromium`). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where screenshots of every view are kept (ignored by git). */
export const SCREENSHOT_DIR = join(ROOT, 'test-results', 'console');
/** The two screens the console is designed for. */
export const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

const run = promisify(execFile);

/** Builds the console unless console/dist is newer than its sources (what `npm start` does). */
export async function buildConsole(): Promise<void> {
  await run(process.execPath, [TSX, join(ROOT, 'scripts', 'build-console.ts'), '--if-stale'], { cwd: ROOT });
}

/** A running `iotctl local` and what it printed. */
export interface LocalPlatformProcess {
  readonly consoleUrl: string;
  readonly graphqlUrl: string;
  readonly dynamodb: string;
  readonly mqttPort: number;
  readonly dataDir: string;
  iotctl(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

function where(output: string, service: string): string {
  const match = new RegExp(`^${service}\\s+(\\S+)$`, 'm').exec(output);
  if (!match) throw new Error(`no ${service} row in:\n${output}`);
  return match[1]!;
}

/** Starts `iotctl local` on free ports and a temporary data directory, and waits until it is ready. */
export async function startPlatform(): Promise<LocalPlatformProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'console-e2e-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'local', '--data-dir', dataDir, '--port-dynamodb', '0', '--port-mqtt', '0', '--port-graphql', '0', '--port-grpc', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 90_000;
  while (!output.includes(READY_LINE)) {
    if (child.exitCode !== null) throw new Error(`iotctl local exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`iotctl local not ready after 90 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const mqttUrl = where(output, 'mqtt');
  return {
    consoleUrl: where(output, 'console').replace(/\/$/, ''),
    graphqlUrl: where(output, 'graphql'),
    dynamodb: where(output, 'dynamodb'),
    mqttPort: Number(new URL(mqttUrl.replace('mqtts:', 'http:')).port),
    dataDir,
    iotctl: async (args) => (await run(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' })).stdout,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Launches Debian's Chromium headless; a clear error when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it with \`apt-get update && apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** What a console e2e file shares across its flows: the platform, Chromium and an admin's API token. */
export interface ConsoleSuite {
  readonly platform: LocalPlatformProcess;
  readonly browser: Browser;
  /** A token from `iotctl token` for an admin, for the API calls a test makes from Node. */
  readonly adminToken: string;
}

/** How long a flow waits for the page to show something, with room for a loaded 2-core machine. */
export const WAIT = { timeout: 30_000 };
/** One browser flow against the real platform, with room for a loaded 2-core machine. */
export const FLOW_TIMEOUT_MS = 180_000;

/**
 * Starts a {@link ConsoleSuite} before the file's tests and stops it after them; `started`
 * receives it, to set the file's own variables.
 */
export function useConsoleSuite(started: (suite: ConsoleSuite) => void): void {
  let suite: Partial<ConsoleSuite> = {};
  beforeAll(async () => {
    suite = await startConsoleSuite();
    started(suite as ConsoleSuite);
  }, 180_000);
  afterAll(() => stopConsoleSuite(suite), 60_000);
}

/** Builds the console, starts `iotctl local` and Chromium side by side, and mints an admin token. */
export async function startConsoleSuite(): Promise<ConsoleSuite> {
  await buildConsole();
  const [platform, browser] = await Promise.all([startPlatform(), launchChromium()]);
  const adminToken = (await platform.iotctl(['token', '--user', 'e2e-admin', '--group', 'admin', '--data-dir', platform.dataDir])).trim();
  return { platform, browser, adminToken };
}

/** Closes what {@link startConsoleSuite} started (either may be missing when the start failed). */
export async function stopConsoleSuite(suite: Partial<ConsoleSuite>): Promise<void> {
  await suite.browser?.close();
  await suite.platform?.stop();
}

/** A fresh browser context (own sessionStorage) at one of {@link VIEWPORTS}. */
export async function newPage(browser: Browser, viewport: keyof typeof VIEWPORTS = 'desktop'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: VIEWPORTS[viewport], deviceScaleFactor: 1, reducedMotion: 'reduce' });
  const page = await context.newPage();
  return { context, page };
}

/** Saves a full-page screenshot as `<name>-<viewport>.png` in {@link SCREENSHOT_DIR}. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // Two frames: a resize reaches ResizeObserver-driven charts before the picture is taken.
  await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
  // Nothing may stick out sideways: at 390 px that is the difference between usable and not.
  const overflowing = (await page.evaluate(
    `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map((e) => e.tagName.toLowerCase() + '.' + e.className)`,
  )) as string[];
  if (overflowing.length > 0) throw new Error(`${name}: wider than the ${page.viewportSize()?.width} px viewport: ${overflowing.join(', ')}`);
  const size = page.viewportSize();
  const label = size && size.width < 600 ? 'phone' : 'desktop';
  const path = join(SCREENSHOT_DIR, `${name}-${label}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** Signs in through the local sign-in form and waits for the console's navigation. */
export async function signIn(page: Page, url: string, user: string, group: 'admin' | 'viewer'): Promise<void> {
  await page.goto(url);
  await page.getByLabel('User name').fill(user);
  await page.getByRole('radio', { name: new RegExp(`^${group}`) }).check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** Provisions a device with its certificate through `iotctl device create`. */
export async function provisionDevice(platform: LocalPlatformProcess, name: string, type = 'thermostat'): Promise<DeviceBundle> {
  const out = mkdtempSync(join(tmpdir(), 'console-e2e-device-'));
  await platform.iotctl(['device', 'create', name, '--type', type, '--out', out, '--endpoint', platform.dynamodb, '--data-dir', platform.dataDir, '--mqtt-port', String(platform.mqttPort)]);
  const bundle = await readDeviceBundle(out);
  rmSync(out, { recursive: true, force: true });
  return bundle;
}

/** Publishes telemetry as the device over mutual TLS at QoS 1 (acknowledged = durable). */
export async function publishTelemetry(platform: LocalPlatformProcess, bundle: DeviceBundle, metrics: Record<string, number>, seq: number): Promise<void> {
  const client = await connectBundle(`mqtts://127.0.0.1:${platform.mqttPort}`, bundle);
  try {
    await client.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify({ v: 1, ts: Date.now(), seq, metrics }), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}

/**
 * Waits until the registry shows `value` as the device's latest `metric`, for a test that needs
 * the reading stored before it goes on (a chart reads stored readings only).
 */
export async function waitForReading(platform: LocalPlatformProcess, token: string, id: string, metric: string, value: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const read = await graphql(platform, token, 'query($id: ID!) { device(id: $id) { readings { metric numberValue } } }', { id });
    const readings: Array<{ metric: string; numberValue?: number }> = read.data?.device?.readings ?? [];
    if (readings.some((r) => r.metric === metric && r.numberValue === value)) return;
    if (Date.now() > deadline) throw new Error(`${id}: ${metric} = ${value} was not stored within 30 s (last read ${JSON.stringify(read)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** POSTs a GraphQL request from Node with a token from `iotctl token`. */
export async function graphql(platform: LocalPlatformProcess, token: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: any; errors?: Array<{ errorType: string; message: string }> }> {
  const response = await fetch(platform.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: token },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as never;
}

/** A device as firmware runs it: connected over mutual TLS, answering commands and applying deltas. */
export interface SimulatedDevice {
  /** Commands received, in order ({ id, name, payload }). */
  readonly commands: Array<{ id: string; name: string; payload: unknown }>;
  /** Deltas received, in order ({ version, delta }). */
  readonly deltas: Array<{ version: number; delta: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/**
 * Connects a real MQTT.js client as the device. It answers every command IN_PROGRESS, then
 * SUCCEEDED with `{ handled: <name> }`, and reports every delta it receives as its new state,
 * as the device contract asks. It subscribes before resolving, so nothing sent after is missed.
 */
export async function connectSimulatedDevice(platform: LocalPlatformProcess, bundle: DeviceBundle): Promise<SimulatedDevice> {
  const { topics } = bundle.manifest;
  const client = await connectBundle(`mqtts://127.0.0.1:${platform.mqttPort}`, bundle);
  const commands: SimulatedDevice['commands'] = [];
  const deltas: SimulatedDevice['deltas'] = [];
  client.on('message', (topic, raw) => {
    const message = JSON.parse(raw.toString()) as Record<string, any>;
    if (topic === topics.commands) {
      // A QoS 1 redelivery of the same id is the same command.
      if (commands.some((c) => c.id === message.id)) return;
      commands.push({ id: message.id, name: message.name, payload: message.payload });
      void (async () => {
        await client.publishAsync(topics.commandResponses, JSON.stringify({ v: 1, id: message.id, status: 'IN_PROGRESS' }), { qos: 1 });
        await client.publishAsync(topics.commandResponses, JSON.stringify({ v: 1, id: message.id, status: 'SUCCEEDED', result: { handled: message.name } }), { qos: 1 });
      })();
    } else if (topic === topics.delta) {
      deltas.push({ version: message.version, delta: message.delta });
      void client.publishAsync(topics.state, JSON.stringify({ v: 1, reported: message.delta }), { qos: 1 });
    }
  });
  await client.subscribeAsync([topics.commands, topics.delta], { qos: 1 });
  return { commands, deltas, stop: () => client.endAsync() };
}

/** A device's changes as a Node subscriber of deviceUpdated(id) receives them. */
export interface DeviceChangeWatch {
  /** Resolves with the first change (already received or to come) that `matches`. */
  waitFor(matches: (change: { sequence: string; device: any }) => boolean): Promise<void>;
  close(): Promise<void>;
}

/**
 * Subscribes to deviceUpdated(id) from Node over graphql-ws and resolves once the server confirmed
 * that the subscription listens, so that every later change of the device reaches it.
 */
export async function watchDeviceChanges(platform: LocalPlatformProcess, token: string, id: string): Promise<DeviceChangeWatch> {
  const changes: Array<{ sequence: string; device: any }> = [];
  const waiters = new Set<() => void>();
  let confirm: () => void = () => {};
  const started = new Promise<void>((resolve) => (confirm = resolve));
  const client = createClient({
    url: platform.graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: token },
    retryAttempts: 0,
    on: { ping: (received, payload) => void (received && (payload as Record<string, unknown> | undefined)?.[SUBSCRIPTION_STARTED_FIELD] && confirm()) },
  });
  let failed: unknown;
  client.subscribe<{ deviceUpdated: { sequence: string; device: any } }>(
    { query: 'subscription($id: ID) { deviceUpdated(id: $id) { sequence device { id name version readings { metric numberValue } } } }', variables: { id } },
    {
      next: ({ data }) => {
        if (data?.deviceUpdated) changes.push(data.deviceUpdated);
        for (const wake of waiters) wake();
      },
      error: (error) => {
        failed = error;
        confirm();
        for (const wake of waiters) wake();
      },
      complete: () => {},
    },
  );
  await started;
  if (failed) throw new Error(`deviceUpdated(${id}) failed: ${JSON.stringify(failed)}`);
  return {
    waitFor: (matches) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (failed) reject(new Error(`deviceUpdated(${id}) failed: ${JSON.stringify(failed)}`));
          else if (changes.some(matches)) resolve();
          else return;
          waiters.delete(check);
          clearTimeout(timer);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`deviceUpdated(${id}): no matching change within 30 s (got ${JSON.stringify(changes)})`));
        }, 30_000);
        waiters.add(check);
        check();
      }),
    close: () => client.dispose() as Promise<void>,
  };
}

/**
 * Makes `change` land in the window of the read-then-subscribe race, deterministically: the
 * page's first `read` query (by GraphQL operation name) is answered by the server, then `change`
 * runs to its end, and only then does the page get the (now stale) answer. A `subscription`
 * start the page sends while that read is held waits for the change too, so a page that reads
 * before its subscription listens misses the change for good; a page that reads only once it
 * listens hears it. Await `changed`: it carries the change's own failure.
 */
export async function changeBetweenReadAndSubscription(page: Page, names: { read: string; subscription: string }, change: () => Promise<void>): Promise<{ changed: Promise<void> }> {
  let held: Promise<void> | undefined;
  let settle: (outcome: { error?: unknown }) => void = () => {};
  const outcome = new Promise<{ error?: unknown }>((resolve) => (settle = resolve));
  await page.route('**/graphql', async (route) => {
    if (held || route.request().method() !== 'POST' || !new RegExp(`query ${names.read}\\b`).test(route.request().postData() ?? '')) return route.continue();
    held = outcome.then(() => undefined);
    const response = await route.fetch();
    try {
      await change();
      settle({});
    } catch (error) {
      settle({ error });
    }
    await route.fulfill({ response });
  });
  // Both protocols: graphql-ws on /graphql, AppSync's on /graphql/realtime. Frames keep their order.
  await page.routeWebSocket((url) => /\/graphql(\/realtime)?$/.test(url.pathname), (ws) => {
    const server = ws.connectToServer();
    let forwarded = Promise.resolve();
    ws.onMessage((message) => {
      const text = String(message);
      forwarded = forwarded.then(async () => {
        if (held && text.includes(`subscription ${names.subscription}`)) await held;
        server.send(message);
      });
    });
  });
  return {
    changed: outcome.then(({ error }) => {
      if (error) throw error;
    }),
  };
}
