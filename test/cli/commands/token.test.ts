import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { register } from '../../../src/cli/commands/token.js';
import * as grpc from '@grpc/grpc-js';
import { startLocalPlatform } from '../../../src/local/platform.js';
import { call, newClient } from '../../grpc/helpers.js';

describe('iotctl token', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotctl-token-'));
    dirs.push(dir);
    return dir;
  };

  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function run(args: string[]): Promise<string[]> {
    const lines: string[] = [];
    const program = new Command('iotctl').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    register(program, (line) => lines.push(line));
    await program.parseAsync(['node', 'iotctl', 'token', ...args]);
    return lines;
  }

  it('prints a token that the local platform using the same data directory accepts, with the given group', async () => {
    // Prepare
    const dataDir = tempDir();
    const [viewer] = await run(['--user', 'victor', '--group', 'viewer', '--data-dir', dataDir]);
    const platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    const post = (query: string) =>
      fetch(platform.endpoints.graphql!, { method: 'POST', headers: { 'content-type': 'application/json', authorization: viewer! }, body: JSON.stringify({ query }) }).then(
        async (r) => ({ status: r.status, ...((await r.json()) as { data?: any; errors?: { errorType: string }[] }) }),
      );

    try {
      // Act
      const read = await post('{ stats { total } }');
      const write = await post('mutation { createDevice(input: { name: "x", type: "x" }) { id } }');

      // Assess
      expect(read).toMatchObject({ status: 200, data: { stats: { total: 0 } } });
      expect(write.errors![0]!.errorType).toBe('Unauthorized');
    } finally {
      await platform.stop();
    }
  });

  it('prints tokens the gRPC door accepts too: a viewer reads but may not write, a devices/write machine token writes', async () => {
    // Prepare
    const dataDir = tempDir();
    const [viewer] = await run(['--user', 'victor', '--group', 'viewer', '--data-dir', dataDir]);
    const [machine] = await run(['--scope', 'devices/read', '--scope', 'devices/write', '--data-dir', dataDir]);
    const platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    const asViewer = newClient(platform.endpoints.grpc!, { caPem: platform.caCertificatePem, as: { token: viewer! } });
    const asMachine = newClient(platform.endpoints.grpc!, { caPem: platform.caCertificatePem, as: { token: machine! } });

    try {
      // Act
      const viewerRead = await call(asViewer, 'getDeviceStats', {});
      const viewerWrite = await call(asViewer, 'createDevice', { device: { name: 'x', type: 'x' } });
      const machineWrite = await call(asMachine, 'createDevice', { device: { name: 'x', type: 'x' } });

      // Assess
      expect(viewerRead.error).toBeNull();
      expect(viewerWrite.error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(machineWrite.error).toBeNull();
      expect(JSON.parse(Buffer.from(machine!.split('.')[1]!, 'base64url').toString())).toMatchObject({ token_use: 'access', scope: 'devices/read devices/write' });
    } finally {
      asViewer.close();
      asMachine.close();
      await platform.stop();
    }
  });

  it('refuses an unknown scope, and --scope together with --user', async () => {
    // Prepare
    const dataDir = tempDir();

    // Act
    const badScope = run(['--scope', 'devices/admin', '--data-dir', dataDir]);
    const both = run(['--scope', 'devices/read', '--user', 'x', '--group', 'admin', '--data-dir', dataDir]);
    const neither = run(['--data-dir', dataDir]);

    // Assess
    await expect(badScope).rejects.toThrow(/use devices\/read or devices\/write/);
    await expect(both).rejects.toThrow(/--scope is for machine callers/);
    await expect(neither).rejects.toThrow(/give --user and --group/);
  });

  it('refuses an unknown group and a malformed lifetime', async () => {
    // Prepare
    const dataDir = tempDir();

    // Act
    const badGroup = run(['--user', 'x', '--group', 'root', '--data-dir', dataDir]);
    const badExpiry = run(['--user', 'x', '--group', 'admin', '--expires', 'soon', '--data-dir', dataDir]);

    // Assess
    await expect(badGroup).rejects.toThrow(/Allowed choices are admin, viewer/);
    await expect(badExpiry).rejects.toThrow(/duration such as 30m/);
  });
});
