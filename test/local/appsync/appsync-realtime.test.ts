import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CREATE, startGraphqlHarness, type GraphqlHarness } from '../../graphql/helpers.js';

type Message = { type: string; id?: string; payload?: any };

/** A raw AppSync real-time client, speaking the protocol as Amplify does. */
class RealtimeClient {
  readonly messages: Message[] = [];
  private waiters: (() => void)[] = [];
  readonly socket: WebSocket;
  closed = false;

  /** `via`: where the auth header goes, the `header` query parameter or a `header-` subprotocol (both AppSync's). */
  constructor(url: string, header: Record<string, string> | undefined, via: 'query' | 'subprotocol' = 'query') {
    const encoded = header && Buffer.from(JSON.stringify(header)).toString(via === 'query' ? 'base64' : 'base64url');
    const query = encoded && via === 'query' ? `?header=${encoded}&payload=e30=` : '';
    this.socket = new WebSocket(`${url}${query}`, encoded && via === 'subprotocol' ? ['graphql-ws', `header-${encoded}`] : 'graphql-ws');
    this.socket.on('message', (raw) => {
      this.messages.push(JSON.parse(raw.toString()) as Message);
      this.waiters.splice(0).forEach((w) => w());
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  send(message: Message): void {
    this.socket.send(JSON.stringify(message));
  }

  async next(predicate: (m: Message) => boolean): Promise<Message> {
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (this.closed) throw new Error(`socket closed; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

describe("AppSync's real-time protocol on /graphql/realtime", () => {
  let h: GraphqlHarness;
  let url: string;

  beforeAll(async () => {
    h = await startGraphqlHarness();
    url = `${h.realtimeUrl}/realtime`;
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('acknowledges the connection, starts a filtered deviceUpdated subscription, delivers data and completes on stop', async () => {
    // Prepare
    const device = (await h.gql(CREATE, { input: { name: 'Fan', type: 'fan' } })).data!.createDevice;
    const other = (await h.gql(CREATE, { input: { name: 'Other fan', type: 'fan' } })).data!.createDevice;
    await h.platform.changeFeed.flush();
    const client = new RealtimeClient(url, { host: new URL(h.url).host, Authorization: h.viewerToken });
    await client.open();
    client.send({ type: 'connection_init' });
    const ack = await client.next((m) => m.type === 'connection_ack');
    const query = 'subscription S($id: ID) { deviceUpdated(id: $id) { id changeType device { name status } } }';

    // Act
    client.send({
      id: 'sub-1',
      type: 'start',
      payload: { data: JSON.stringify({ query, variables: { id: device.id } }), extensions: { authorization: { Authorization: h.viewerToken, host: new URL(h.url).host } } },
    });
    await client.next((m) => m.type === 'start_ack' && m.id === 'sub-1');
    await h.platform.registry.update({ id: other.id, name: 'ignored' });
    await h.platform.registry.update({ id: device.id, status: 'ERROR' });
    const data = await client.next((m) => m.type === 'data');
    client.send({ id: 'sub-1', type: 'stop' });
    const complete = await client.next((m) => m.type === 'complete');

    // Assess
    expect(ack.payload).toEqual({ connectionTimeoutMs: 300_000 });
    expect(data).toEqual({ id: 'sub-1', type: 'data', payload: { data: { deviceUpdated: { id: device.id, changeType: 'UPDATED', device: { name: 'Fan', status: 'ERROR' } } } } });
    expect(complete.id).toBe('sub-1');
    expect(client.messages.filter((m) => m.type === 'data')).toHaveLength(1);
    client.socket.close();
  });

  it('takes the handshake header as a header- subprotocol too, as Amplify sends it, and refuses a forged one there', async () => {
    // Prepare
    const viewer = new RealtimeClient(url, { host: new URL(h.url).host, Authorization: h.viewerToken }, 'subprotocol');
    const forged = new RealtimeClient(url, { host: 'x', Authorization: `${h.viewerToken.slice(0, -4)}AAAA` }, 'subprotocol');
    await Promise.all([viewer.open(), forged.open()]);

    // Act
    viewer.send({ type: 'connection_init' });
    forged.send({ type: 'connection_init' });
    const [ack, refused] = await Promise.all([viewer.next((m) => m.type === 'connection_ack'), forged.next((m) => m.type === 'connection_error')]);

    // Assess
    expect(viewer.socket.protocol).toBe('graphql-ws');
    expect(ack.payload).toEqual({ connectionTimeoutMs: 300_000 });
    expect(refused.payload.errors[0].errorType).toBe('UnauthorizedException');
    viewer.socket.close();
  });

  it('refuses a connection without a valid token with connection_error', async () => {
    // Prepare
    const anonymous = new RealtimeClient(url, undefined);
    const forged = new RealtimeClient(url, { host: 'x', Authorization: `${h.viewerToken.slice(0, -4)}AAAA` });
    await Promise.all([anonymous.open(), forged.open()]);

    // Act
    anonymous.send({ type: 'connection_init' });
    forged.send({ type: 'connection_init' });
    const errors = await Promise.all([anonymous, forged].map((c) => c.next((m) => m.type === 'connection_error')));

    // Assess
    for (const error of errors) expect(error.payload.errors[0].errorType).toBe('UnauthorizedException');
    expect([anonymous, forged].some((c) => c.messages.some((m) => m.type === 'connection_ack'))).toBe(false);
  });

  it('refuses a start without authorization and a query that is not a subscription', async () => {
    // Prepare
    const client = new RealtimeClient(url, { host: 'x', Authorization: h.viewerToken });
    await client.open();
    client.send({ type: 'connection_init' });
    await client.next((m) => m.type === 'connection_ack');

    // Act
    client.send({ id: 'a', type: 'start', payload: { data: JSON.stringify({ query: 'subscription { deviceUpdated { id } }' }), extensions: {} } });
    client.send({ id: 'b', type: 'start', payload: { data: JSON.stringify({ query: '{ stats { total } }' }), extensions: { authorization: { Authorization: h.viewerToken } } } });
    const [a, b] = await Promise.all([client.next((m) => m.id === 'a'), client.next((m) => m.id === 'b')]);

    // Assess
    expect(a).toMatchObject({ type: 'error', payload: { errors: [{ errorType: 'UnauthorizedException' }] } });
    expect(b).toMatchObject({ type: 'error', payload: { errors: [{ errorType: 'ValidationError' }] } });
    client.socket.close();
  });
});
