import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_OUT_DIR, generateProto, listFiles } from '../../scripts/generate-proto.js';

describe('generate-proto', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('matches the committed src/generated/proto output exactly', () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'proto-gen-'));

    // Act
    generateProto(dir);

    // Assess
    const fresh = listFiles(dir);
    expect(listFiles(DEFAULT_OUT_DIR)).toEqual(fresh);
    for (const file of fresh) {
      expect(readFileSync(join(DEFAULT_OUT_DIR, file), 'utf8'), `${file} drifted: run npm run generate`).toBe(
        readFileSync(join(dir, file), 'utf8'),
      );
    }
  });

  it('embeds every DeviceService method in the descriptor', async () => {
    // Act
    const { descriptor } = await import('../../src/generated/proto/descriptor.js');

    // Assess
    const methods = Object.keys(descriptor.nested.iot.nested.device.nested.v1.nested.DeviceService.methods);
    expect(methods).toEqual([
      'CreateDevice',
      'GetDevice',
      'ListDevices',
      'UpdateDevice',
      'DeleteDevice',
      'GetDeviceStats',
      'WatchDevices',
      'SendCommand',
      'GetCommand',
      'ListCommands',
      'CancelCommand',
      'WatchCommands',
      'GetTwin',
      'UpdateDesiredState',
      'CreateAlarmRule',
      'GetAlarmRule',
      'ListAlarmRules',
      'UpdateAlarmRule',
      'DeleteAlarmRule',
      'ListAlarms',
      'GetAlarm',
      'AcknowledgeAlarm',
      'SnoozeAlarm',
      'DisableAlarm',
      'EnableAlarm',
      'WatchAlarms',
      'GetTelemetry',
    ]);
  });
});
