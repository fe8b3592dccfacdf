import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../../src/cli/commands/command.js';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';
import { connect, provisionDevice, waitFor } from '../../commands/local-devices.js';

describe('iotctl command and twin', () => {
  let dataDir: string;
  let platform: LocalPlatform;

  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const program = new Command('iotctl').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    register(program, (line) => out.push(line), (line) => err.push(line));
    const exitCode = process.exitCode;
    await program.parseAsync(['node', 'iotctl', ...args, '--url', platform.endpoints.graphql!, '--data-dir', dataDir, '--user', 'cli-user']);
    const code = process.exitCode;
    process.exitCode = exitCode;
    return { out, err, code };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cli-command-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
  });

  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends a command with --wait and prints the final status once an MQTT device answered, then lists it', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'cli-device');
    const device = await connect(platform, bundle);
    device.client.on('message', (_topic, payload) => {
      const { id } = JSON.parse(payload.toString('utf8')) as { id: string };
      void device.client.publishAsync(bundle.manifest.topics.commandResponses, JSON.stringify({ v: 1, id, status: 'SUCCEEDED', result: { ok: true } }), { qos: 1 });
    });
    await device.client.subscribeAsync(bundle.manifest.topics.commands, { qos: 1 });
    await waitFor(async () => (await platform.registry.get(device.id)).status === 'ONLINE', 'ONLINE');

    // Act
    const sent = await run('command', 'send', device.id, 'reboot', '--payload', '{"delay":1}', '--wait');
    const listed = await run('command', 'list', device.id);

    // Assess
    expect(sent.err).toEqual([]);
    expect(sent.out).toHaveLength(1);
    expect(sent.out[0]).toMatch(/^[0-9a-f-]{36} SUCCEEDED \{"ok":true\}$/);
    const id = sent.out[0]!.split(' ')[0]!;
    expect(listed.out).toHaveLength(1);
    expect(listed.out[0]).toMatch(new RegExp(`^${id}  SUCCEEDED +reboot`));
    expect((await platform.commands.get(id)).createdBy).toBe('cli-user');
    await device.end();
  });

  it('sets and reads desired state, and reports a Conflict and a bad device as one error line with exit code 1', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'cli-twin');

    // Act
    const set = await run('twin', 'set', bundle.manifest.thingName, '--patch', '{"mode":"eco"}');
    const got = await run('twin', 'get', bundle.manifest.thingName);
    const stale = await run('twin', 'set', bundle.manifest.thingName, '--patch', '{"mode":"off"}', '--expected-version', '5');
    const unknown = await run('command', 'send', 'not-a-device', 'x');

    // Assess
    expect(JSON.parse(set.out.join('\n'))).toMatchObject({ desired: { mode: 'eco' }, delta: { mode: 'eco' }, version: 1 });
    expect(JSON.parse(got.out.join('\n'))).toMatchObject({ desired: { mode: 'eco' }, reported: {}, version: 1 });
    expect(stale).toMatchObject({ out: [], code: 1 });
    expect(stale.err[0]).toMatch(/^iotctl twin set: Conflict: twin of .* is at version 1, not 5$/);
    expect(unknown.err[0]).toMatch(/^iotctl command send: ValidationError: deviceId must be a UUID/);
  });
});
