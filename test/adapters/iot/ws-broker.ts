import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';

/** A local aedes MQTT broker over WebSockets on 127.0.0.1 that can be stopped and restarted on the same port. */
export interface WsBroker {
  readonly url: string;
  /** Drops every connection and stops listening (the broker's sessions are gone, as on a restart). */
  stop(): Promise<void>;
  /** A fresh broker on the same port. */
  start(): Promise<void>;
}

/** Starts the broker on a free port. */
export async function startWsBroker(): Promise<WsBroker> {
  let broker: Aedes | undefined;
  let http: Server | undefined;
  let port = 0;
  const sockets = new Set<WebSocket>();
  const start = async (): Promise<void> => {
    const b = new Aedes();
    await b.listen();
    const h = createServer();
    new WebSocketServer({ server: h }).on('connection', (ws) => {
      sockets.add(ws);
      ws.once('close', () => sockets.delete(ws));
      b.handle(createWebSocketStream(ws) as never);
    });
    await new Promise<void>((resolve, reject) => {
      h.once('error', reject);
      h.listen(port, '127.0.0.1', resolve);
    });
    port = (h.address() as AddressInfo).port;
    broker = b;
    http = h;
  };
  const stop = async (): Promise<void> => {
    const [b, h] = [broker, http];
    broker = undefined;
    http = undefined;
    for (const ws of sockets) ws.terminate();
    sockets.clear();
    if (h) {
      h.closeAllConnections();
      await new Promise<void>((r) => h.close(() => r()));
    }
    if (b) await new Promise<void>((r) => b.close(() => r()));
  };
  await start();
  return { url: `ws://127.0.0.1:${port}/mqtt`, stop, start };
}

/** Polls `condition` every 20 ms for up to 5 s. */
export async function waitFor(condition: () => boolean): Promise<boolean> {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  return condition();
}
