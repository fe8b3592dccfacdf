import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTokenIssuer } from '../../../src/local/appsync/local-token-issuer.js';
import { CREATE, DELETE, GET, LIST, STATS, UPDATE, settledStats, startGraphqlHarness, type GqlResponse, type GraphqlHarness } from '../../graphql/helpers.js';

const PUBLISH = `mutation P($input: DeviceChangeInput!) { publishDeviceUpdate(input: $input) { id } }`;
const TELEMETRY = `query T($deviceId: ID!, $from: AWSDateTime!, $to: AWSDateTime!) {
  telemetry(deviceId: $deviceId, metric: "temp", from: $from, to: $to) { items { timestamp numberValue } nextToken } }`;

describe('local GraphQL server', () => {
  let h: GraphqlHarness;

  /** Devices of one type, counted through the listing (the registry's own view). */
  async function countOfType(type: string): Promise<number> {
    const { data } = await h.gql(LIST, { limit: 100, filter: { type } });
    return data!.devices.items.length;
  }

  beforeAll(async () => {
    h = await startGraphqlHarness();
  });

  afterAll(async () => {
    await h?.stop();
  });

  describe('registry', () => {
    it('creates, reads, updates and deletes a device', async () => {
      // Prepare
      const created = await h.gql(CREATE, {
        input: { name: 'Boiler 1', type: 'boiler', metadata: [{ key: 'site', value: 'berlin' }] },
      });
      const id = created.data!.createDevice.id as string;

      // Act
      const read = await h.gql(GET, { id }, h.viewerToken);
      const updated = await h.gql(UPDATE, { input: { id, status: 'MAINTENANCE', metadataJson: '{"site":"hamburg"}', expectedVersion: 1 } });
      const deleted = await h.gql(DELETE, { id, v: 2 });
      const afterDelete = await h.gql(GET, { id });

      // Assess
      expect(created.errors).toBeUndefined();
      expect(created.data!.createDevice).toMatchObject({
        name: 'Boiler 1', type: 'boiler', status: 'UNKNOWN', version: 1, metadata: [{ key: 'site', value: 'berlin' }], readings: [], lastSeen: null,
      });
      expect(read.data!.device).toEqual(created.data!.createDevice);
      expect(updated.data!.updateDevice).toMatchObject({ id, status: 'MAINTENANCE', version: 2, metadata: [{ key: 'site', value: 'hamburg' }] });
      expect(deleted.data!.deleteDevice).toMatchObject({ id, version: 2 });
      expect(afterDelete.errors![0]).toMatchObject({ errorType: 'NotFound', path: ['device'] });
    });

    it('answers a stale expectedVersion with a Conflict error and keeps the device', async () => {
      // Prepare
      const { data } = await h.gql(CREATE, { input: { name: 'Valve', type: 'valve' } });
      const id = data!.createDevice.id;

      // Act
      const result = await h.gql(UPDATE, { input: { id, name: 'Renamed', expectedVersion: 7 } });

      // Assess
      expect(result.errors![0]).toMatchObject({ errorType: 'Conflict' });
      expect((await h.gql(GET, { id })).data!.device).toMatchObject({ name: 'Valve', version: 1 });
    });

    it('pages through 250 devices with nextToken, each device exactly once', async () => {
      // Prepare
      const type = 'paged';
      const ids = new Set<string>();
      for (let batch = 0; batch < 25; batch++) {
        const created = await Promise.all(
          Array.from({ length: 10 }, (_, i) => h.platform.registry.create({ name: `Sensor ${batch * 10 + i}`, type })),
        );
        created.forEach((d) => ids.add(d.id));
      }

      // Act
      const seen: string[] = [];
      const pages: number[] = [];
      let nextToken: string | null = null;
      do {
        const page: GqlResponse = await h.gql(LIST, { limit: 100, nextToken, filter: { type } }, h.viewerToken);
        expect(page.errors).toBeUndefined();
        seen.push(...page.data!.devices.items.map((d: { id: string }) => d.id));
        pages.push(page.data!.devices.items.length);
        nextToken = page.data!.devices.nextToken;
      } while (nextToken);

      // Assess
      expect(pages).toEqual([100, 100, 50]);
      expect(new Set(seen).size).toBe(250);
      expect([...seen].sort()).toEqual([...ids].sort());
      // 250 registrations through dynalite: seconds alone, past the 30 s default while seven suites share two cores.
    }, 120_000);

    it('filters by type and by status, and reports the total the counters know', async () => {
      // Prepare
      const type = `filter-${randomUUID().slice(0, 8)}`;
      await h.gql(CREATE, { input: { name: 'a', type, status: 'ONLINE' } });
      await h.gql(CREATE, { input: { name: 'b', type, status: 'OFFLINE' } });
      await h.gql(CREATE, { input: { name: 'c', type, status: 'ONLINE' } });
      await h.platform.changeFeed.flush();

      // Act
      const byType = await h.gql(LIST, { filter: { type } });
      const byTypeAndStatus = await h.gql(LIST, { filter: { type, status: 'ONLINE' } });
      const byStatus = await h.gql(LIST, { limit: 100, filter: { status: 'OFFLINE' } });

      // Assess
      expect(byType.data!.devices).toMatchObject({ total: 3, nextToken: null });
      expect(byType.data!.devices.items.map((d: { name: string }) => d.name)).toEqual(['a', 'b', 'c']);
      expect(byTypeAndStatus.data!.devices.items.map((d: { name: string }) => d.name)).toEqual(['a', 'c']);
      expect(byStatus.data!.devices.items.every((d: { status: string }) => d.status === 'OFFLINE')).toBe(true);
      expect(byStatus.data!.devices.items.map((d: { name: string }) => d.name)).toContain('b');
    });

    it('keeps stats exact after concurrent writes through GraphQL and the domain core', async () => {
      // Prepare
      const type = `stats-${randomUUID().slice(0, 8)}`;
      const before = await settledStats(h);

      // Act
      const viaGraphql = Array.from({ length: 12 }, (_, i) => h.gql(CREATE, { input: { name: `g${i}`, type, status: 'ONLINE' } }));
      const viaCore = Array.from({ length: 12 }, (_, i) => h.platform.registry.create({ name: `c${i}`, type, status: 'OFFLINE' }));
      const [graphqlResults, coreDevices] = await Promise.all([Promise.all(viaGraphql), Promise.all(viaCore)]);
      await Promise.all([
        ...graphqlResults.slice(0, 4).map((r) => h.gql(UPDATE, { input: { id: r.data!.createDevice.id, status: 'ERROR' } })),
        ...coreDevices.slice(0, 3).map((d) => h.platform.registry.delete(d.id)),
      ]);
      await settledStats(h);
      const after = (await h.gql(STATS, {}, h.viewerToken)).data!.stats;

      // Assess
      const count = (stats: typeof before, status: string) => stats.byStatus.find((s: { status: string }) => s.status === status).count;
      expect(after.total - before.total).toBe(21);
      expect(count(after, 'ONLINE') - count(before, 'ONLINE')).toBe(8);
      expect(count(after, 'ERROR') - count(before, 'ERROR')).toBe(4);
      expect(count(after, 'OFFLINE') - count(before, 'OFFLINE')).toBe(9);
      expect(after.byType.find((t: { type: string }) => t.type === type)).toEqual({ type, count: 21 });
      expect(after.online).toBe(count(after, 'ONLINE'));
      expect(await countOfType(type)).toBe(21);
    });
  });

  describe('refusals', () => {
    it('answers a malformed request body with 400 before anything runs', async () => {
      // Act
      const response = await fetch(h.url, { method: 'POST', headers: { authorization: h.adminToken }, body: '{"query": ' });

      // Assess
      expect(response.status).toBe(400);
      expect(((await response.json()) as { errors: { errorType: string }[] }).errors[0]!.errorType).toBe('MalformedHttpRequestException');
    });

    it('answers a request without a token with 401', async () => {
      // Act
      const result = await h.gql(STATS, {}, null);

      // Assess
      expect(result.status).toBe(401);
      expect(result.errors![0]).toMatchObject({ errorType: 'UnauthorizedException' });
      expect(result.data).toBeUndefined();
    });

    it("refuses a viewer's mutation and writes nothing", async () => {
      // Prepare
      const type = `viewer-${randomUUID().slice(0, 8)}`;

      // Act
      const result = await h.gql(CREATE, { input: { name: 'nope', type } }, h.viewerToken);

      // Assess
      expect(result.status).toBe(200);
      expect(result.data).toBeNull();
      expect(result.errors![0]).toMatchObject({ errorType: 'Unauthorized', path: ['createDevice'] });
      expect(await countOfType(type)).toBe(0);
    });

    it('refuses a token signed by another issuer, a tampered token and an expired token', async () => {
      // Prepare
      const foreign = await (await LocalTokenIssuer.ephemeral()).issue({ user: 'mallory', groups: ['admin'] });
      const [header, , signature] = h.viewerToken.split('.');
      const claims = JSON.parse(Buffer.from(h.viewerToken.split('.')[1]!, 'base64url').toString());
      const promoted = Buffer.from(JSON.stringify({ ...claims, 'cognito:groups': ['admin'] })).toString('base64url');
      const tampered = `${header}.${promoted}.${signature}`;
      const expired = await h.issuer.issue({ user: 'alice', groups: ['admin'], expiresIn: '-1m' });

      // Act
      const results = await Promise.all([foreign, tampered, expired, 'not-a-jwt'].map((token) => h.gql(STATS, {}, token)));

      // Assess
      expect(results.map((r) => r.status)).toEqual([401, 401, 401, 401]);
      expect(results.map((r) => r.errors![0]!.errorType)).toEqual(Array(4).fill('UnauthorizedException'));
      expect(results[2]!.errors![0]!.message).toBe('Token has expired.');
    });

    it('refuses a user pool user, even an admin, calling the IAM-only publishDeviceUpdate', async () => {
      // Prepare
      const now = new Date().toISOString();
      const input = {
        id: randomUUID(), changeType: 'UPDATED', changedAt: now, sequence: '1',
        device: { id: randomUUID(), name: 'x', type: 'x', status: 'ONLINE', createdAt: now, updatedAt: now, metadata: [], version: 1, readings: [] },
      };

      // Act
      const result = await h.gql(PUBLISH, { input });

      // Assess
      expect(result.data).toBeNull();
      expect(result.errors![0]).toMatchObject({ errorType: 'Unauthorized', message: 'Not Authorized to access publishDeviceUpdate on type Mutation' });
    });
  });

  describe('bad input', () => {
    async function expectRefusedCreate(input: Record<string, unknown>, errorType: string, message: RegExp): Promise<void> {
      const type = (input.type as string) ?? 'x';
      const result = await h.gql(CREATE, { input });
      expect(result.errors?.[0]?.errorType).toBe(errorType);
      expect(result.errors![0]!.message).toMatch(message);
      expect(await countOfType(type)).toBe(0);
    }

    it('refuses an over-long name and writes nothing', async () => {
      await expectRefusedCreate({ name: 'n'.repeat(129), type: `long-${randomUUID().slice(0, 8)}` }, 'ValidationError', /name must be at most 128 characters/);
    });

    it('refuses an unknown enum value, in variables and in the query text, and writes nothing', async () => {
      // Prepare
      const type = `enum-${randomUUID().slice(0, 8)}`;

      // Act
      const inVariables = await h.gql(CREATE, { input: { name: 'x', type, status: 'BROKEN' } });
      const inLiteral = await h.gql(`mutation { createDevice(input: { name: "x", type: "${type}", status: BROKEN }) { id } }`);

      // Assess
      expect(inVariables.status).toBe(200);
      expect(inVariables.data).toBeUndefined();
      expect(inVariables.errors![0]).toMatchObject({ errorType: 'ValidationError' });
      expect(inVariables.errors![0]!.message).toMatch(/Value "BROKEN" does not exist in "DeviceStatus" enum/);
      expect(inLiteral.errors![0]).toMatchObject({ errorType: 'ValidationError' });
      expect(inLiteral.errors![0]!.message).toMatch(/BROKEN/);
      expect(await countOfType(type)).toBe(0);
    });

    it('refuses a bad AWSDateTime before any resolver runs', async () => {
      // Prepare
      const deviceId = (await h.gql(CREATE, { input: { name: 't', type: 'thermo' } })).data!.createDevice.id;

      // Act
      const results = await Promise.all(
        ['yesterday', '2026-02-30T00:00:00Z', '2026-01-01T10:00:00'].map((from) =>
          h.gql(TELEMETRY, { deviceId, from, to: '2026-01-02T00:00:00Z' }),
        ),
      );

      // Assess
      for (const result of results) {
        expect(result.status).toBe(200);
        expect(result.data).toBeUndefined();
        expect(result.errors![0]).toMatchObject({ errorType: 'ValidationError' });
        expect(result.errors![0]!.message).toMatch(/Invalid AWSDateTime value/);
      }
    });

    it('refuses bad AWSJSON and JSON that is not an object of strings, and writes nothing', async () => {
      // Prepare
      const type = `json-${randomUUID().slice(0, 8)}`;

      // Act
      const notJson = await h.gql(CREATE, { input: { name: 'x', type, metadataJson: '{site: berlin' } });
      const notStrings = await h.gql(CREATE, { input: { name: 'x', type, metadataJson: '{"floor": 3}' } });
      const notObject = await h.gql(CREATE, { input: { name: 'x', type, metadataJson: '[1,2]' } });

      // Assess
      expect(notJson.data).toBeUndefined();
      expect(notJson.errors![0]).toMatchObject({ errorType: 'ValidationError' });
      expect(notJson.errors![0]!.message).toMatch(/Invalid AWSJSON value/);
      expect(notStrings.errors![0]).toMatchObject({ errorType: 'ValidationError' });
      expect(notStrings.errors![0]!.message).toMatch(/metadataJson/);
      expect(notObject.errors![0]).toMatchObject({ errorType: 'ValidationError' });
      expect(await countOfType(type)).toBe(0);
    });

    it('refuses a forged nextToken and limits 0 and 10,000', async () => {
      // Prepare
      const first = await h.gql(LIST, { limit: 1 });
      const real = first.data!.devices.nextToken as string;
      const forged = `${real.slice(0, -4)}AAAA`;

      // Act
      const results = await Promise.all([
        h.gql(LIST, { limit: 1, nextToken: forged }),
        h.gql(LIST, { limit: 1, nextToken: 'bm90LWEtdG9rZW4' }),
        h.gql(LIST, { limit: 1, nextToken: real, filter: { status: 'ONLINE' } }),
        h.gql(LIST, { limit: 0 }),
        h.gql(LIST, { limit: 10_000 }),
      ]);

      // Assess
      for (const result of results) {
        expect(result.data).toBeNull();
        expect(result.errors![0]).toMatchObject({ errorType: 'ValidationError', path: ['devices'] });
      }
      expect(results[3]!.errors![0]!.message).toMatch(/limit must be an integer from 1 to 100, got 0/);
      expect(results[4]!.errors![0]!.message).toMatch(/got 10000/);
    });

    it('answers an unknown or malformed id with NotFound or ValidationError and changes nothing', async () => {
      // Prepare
      const unknown = randomUUID();
      const before = (await settledStats(h)).total;

      // Act
      const read = await h.gql(GET, { id: unknown });
      const update = await h.gql(UPDATE, { input: { id: unknown, name: 'ghost' } });
      const remove = await h.gql(DELETE, { id: unknown });
      const malformed = await h.gql(GET, { id: 'not-a-uuid' });

      // Assess
      expect([read, update, remove].map((r) => r.errors![0]!.errorType)).toEqual(['NotFound', 'NotFound', 'NotFound']);
      expect(malformed.errors![0]).toMatchObject({ errorType: 'ValidationError' });
      expect((await settledStats(h)).total).toBe(before);
    });
  });
});
