import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { topicMatches } from '../../../src/contracts/topics.js';
import { IotMqttMessageBus } from '../../../src/adapters/iot/iot-mqtt-message-bus.js';
import { CHANGE_TOPIC_FILTER, changeTopic } from '../../../src/contracts/topics.js';
import { startWsBroker, waitFor } from './ws-broker.js';

describe('IotMqttMessageBus', () => {
  let broker: Aedes;
  let http: Server;
  let url: string;
  let bus: IotMqttMessageBus | undefined;

  beforeEach(async () => {
    broker = new Aedes();
    await broker.listen();
    http = createServer();
    new WebSocketServer({ server: http }).on('connection', (ws) => broker.handle(createWebSocketStream(ws) as never));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/mqtt`;
  });
  afterEach(async () => {
    await bus?.close();
    bus = undefined;
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
    await new Promise<void>((r) => broker.close(() => r()));
  });

  const connect = () =>
    IotMqttMessageBus.connect({
      endpoint: 'unused',
      region: 'us-east-1',
      credentials: async () => ({ accessKeyId: 'x', secretAccessKey: 'y' }),
      clientId: `device-service-test-${Math.random().toString(16).slice(2)}`,
      url,
      reconnectDelayMs: 50,
    });

  it('delivers messages on the change topics to a subscriber, over MQTT on WebSockets', async () => {
    // Prepare
    bus = await connect();
    const got: [string, string][] = [];
    await bus.subscribe(CHANGE_TOPIC_FILTER, (topic, payload) => got.push([topic, payload.toString()]));

    // Act
    await bus.publish(changeTopic('abc'), '{"x":1}');
    await bus.publish('dt/iot/abc/telemetry', 'not for us');
    await new Promise((r) => setTimeout(r, 100));

    // Assess
    expect(got).toEqual([[changeTopic('abc'), '{"x":1}']]);
  });

  it('resubscribes after the connection drops', async () => {
    // Prepare
    bus = await connect();
    const got: string[] = [];
    await bus.subscribe(CHANGE_TOPIC_FILTER, (_t, payload) => got.push(payload.toString()));

    // Act
    http.closeAllConnections();
    for (let i = 0; i < 200 && !bus.connected; i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 50));
    await bus.publish(changeTopic('abc'), 'after reconnect');
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));

    // Assess
    expect(got).toEqual(['after reconnect']);
  });

  it('reports the connection down while the broker is stopped and up again only once resubscribed', async () => {
    // Prepare
    const broker2 = await startWsBroker();
    const bus2 = await IotMqttMessageBus.connect({
      endpoint: 'unused',
      region: 'us-east-1',
      credentials: async () => ({ accessKeyId: 'x', secretAccessKey: 'y' }),
      clientId: `device-service-test-${Math.random().toString(16).slice(2)}`,
      url: broker2.url,
      reconnectDelayMs: 50,
    });
    try {
      const states: boolean[] = [];
      bus2.onConnectionChange((connected) => states.push(connected));
      const got: string[] = [];
      await bus2.subscribe(CHANGE_TOPIC_FILTER, (_t, payload) => got.push(payload.toString()));
      const upAtStart = bus2.connected;

      // Act
      await broker2.stop();
      const wentDown = await waitFor(() => !bus2.connected);
      await new Promise((r) => setTimeout(r, 200)); // a few failed reconnects against a stopped broker
      const stillDown = !bus2.connected;
      await broker2.start();
      const cameBack = await waitFor(() => bus2.connected);
      await bus2.publish(changeTopic('abc'), 'after restart');
      await waitFor(() => got.length > 0);

      // Assess
      expect([upAtStart, wentDown, stillDown, cameBack]).toEqual([true, true, true, true]);
      expect(states).toEqual([false, true]);
      // "up" means resubscribed: the fresh broker has no session, yet the change arrives.
      expect(got).toEqual(['after restart']);
    } finally {
      await bus2.close();
      await broker2.stop();
    }
  });

  it('matches MQTT wildcards as a broker does', () => {
    expect(topicMatches('internal/device-changes/#', 'internal/device-changes/a')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/d')).toBe(false);
    expect(topicMatches('a/b', 'a/b/c')).toBe(false);
  });
});
