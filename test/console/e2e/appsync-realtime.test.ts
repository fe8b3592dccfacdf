/**
 * The cloud console's live updates, in Debian's Chromium: the console configured for AppSync
 * (`realtimeProtocol: 'appsync'`) subscribes through Amplify's AppSync real-time client against
 * the local server's AppSync protocol endpoint (/graphql/realtime). Amplify always turns the
 * GraphQL URL into a wss:// URL, so the console is served here through a TLS front on loopback
 * (a key made in memory, trusted by this browser context only) that forwards to `iotctl local`.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskTlsIdentity } from '../../../src/grpc/task-tls-identity.js';
import {
  buildConsole,
  changeBetweenReadAndSubscription,
  launchChromium,
  provisionDevice,
  publishTelemetry,
  screenshot,
  startPlatform,
  watchDeviceChanges,
  type LocalPlatformProcess,
} from './harness.js';

const WAIT = { timeout: 30_000 };

/** HTTPS and WSS on a free loopback port, forwarding every request and upgrade to `target`. */
async function startTlsFront(target: URL): Promise<{ origin: string; close(): Promise<void> }> {
  const identity = await createTaskTlsIdentity();
  const port = Number(target.port);
  const server: Server = createHttpsServer({ cert: identity.certificateChainPem, key: identity.privateKeyPem }, (req, res) => {
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (answer: IncomingMessage) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (req, socket, head) => {
    const upstream = connect(port, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)];
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('cloud live updates over AppSync’s real-time protocol, in Chromium', () => {
  let platform: LocalPlatformProcess;
  let browser: Browser;
  let front: { origin: string; close(): Promise<void> };
  let adminToken: string;

  beforeAll(async () => {
    await buildConsole();
    [platform, browser] = await Promise.all([startPlatform(), launchChromium()]);
    front = await startTlsFront(new URL(platform.consoleUrl));
    adminToken = (await platform.iotctl(['token', '--user', 'cloud-admin', '--group', 'admin', '--data-dir', platform.dataDir])).trim();
  }, 180_000);

  afterAll(async () => {
    await front?.close();
    await browser?.close();
    await platform?.stop();
  }, 60_000);

  it('updates a reading live through Amplify’s AppSync client, over wss:// to /graphql/realtime, the first one landing between the page’s read and its subscription', async () => {
    // Prepare: a device; a console whose /config.json says AppSync, as the cloud's does.
    const bundle = await provisionDevice(platform, 'Rooftop sensor', 'weather');
    const watch = await watchDeviceChanges(platform, adminToken, bundle.manifest.thingName);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ignoreHTTPSErrors: true, reducedMotion: 'reduce' });
    // Signed in already (the local sign-in door only serves pages of its own http origin).
    await context.addInitScript((token) => (globalThis as unknown as { sessionStorage: { setItem(key: string, value: string): void } }).sessionStorage.setItem('iot-console.local-session', token), adminToken);
    await context.route('**/config.json', (route) =>
      route.fulfill({ contentType: 'application/json', body: JSON.stringify({ auth: 'local', graphqlUrl: '/graphql', realtimeProtocol: 'appsync', region: 'eu-west-1' }) }),
    );
    const page = await context.newPage();
    const sockets: Array<{ url: string; frames: string[] }> = [];
    page.on('websocket', (ws) => {
      const seen = { url: ws.url(), frames: [] as string[] };
      sockets.push(seen);
      ws.on('framereceived', (frame) => seen.frames.push(String(frame.payload)));
    });
    // The first reading lands after the page's read is answered and before the page gets it.
    const { changed } = await changeBetweenReadAndSubscription(page, { read: 'Device', subscription: 'DeviceUpdated' }, async () => {
      await publishTelemetry(platform, bundle, { wind: 3.5 }, 1);
      await watch.waitFor((c) => c.device.readings.some((r: { metric: string; numberValue?: number }) => r.metric === 'wind' && r.numberValue === 3.5));
    });
    await page.goto(`${front.origin}/devices/${bundle.manifest.thingName}`);
    await changed;
    await expect.poll(() => page.getByTestId('reading-wind').textContent(), WAIT).toBe('3.5');
    // The subscription is acknowledged before the device publishes again.
    await expect.poll(() => sockets.flatMap((s) => s.frames).some((f) => f.includes('"start_ack"')), WAIT).toBe(true);

    // Act
    await publishTelemetry(platform, bundle, { wind: 12.25 }, 2);

    // Assess: the reading moved without a reload, over AppSync's protocol and nothing else.
    await expect.poll(() => page.getByTestId('reading-wind').textContent(), WAIT).toBe('12.25');
    expect(new Set(sockets.map((s) => new URL(s.url).origin + new URL(s.url).pathname))).toEqual(new Set([`${front.origin.replace('https', 'wss')}/graphql/realtime`]));
    expect(sockets.flatMap((s) => s.frames).some((f) => f.includes('"connection_ack"'))).toBe(true);
    await expect(page.getByText('Live updates unavailable').count()).resolves.toBe(0);
    await screenshot(page, '26-cloud-live-updates');
    await watch.close();
    await context.close();
  }, 180_000);
});
