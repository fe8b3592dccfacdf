import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INGEST_SETTINGS,
  DEFAULT_LOCAL_INGEST_SETTINGS,
  ingestSettings,
  localIngestSettings,
} from '../../src/contracts/ingest-settings.js';
import { endpointTable } from '../../src/cli/commands/local.js';

describe('ingestSettings', () => {
  it('keeps the cloud defaults (60 s window) when nothing is overridden', () => {
    // Act
    const settings = ingestSettings({});

    // Assess
    expect(settings).toEqual({ batchSize: 10_000, batchWindowSeconds: 60 });
    expect(settings).toEqual(DEFAULT_INGEST_SETTINGS);
  });

  it('names the offending setting when an override is out of range', () => {
    // Act / Assess
    expect(() => ingestSettings({ batchWindowSeconds: '301' })).toThrow(/batchWindowSeconds/);
    expect(() => ingestSettings({ batchSize: 0 })).toThrow(/batchSize/);
  });
});

describe('localIngestSettings', () => {
  it('uses a 1 s window with the cloud batch size when the environment sets nothing', () => {
    // Act
    const settings = localIngestSettings({});

    // Assess
    expect(settings).toEqual({ batchSize: 10_000, batchWindowSeconds: 1 });
    expect(settings).toEqual(DEFAULT_LOCAL_INGEST_SETTINGS);
  });

  it('lets INGEST_BATCH_SIZE and INGEST_BATCH_WINDOW_SECONDS win over the local defaults', () => {
    // Act
    const window = localIngestSettings({ INGEST_BATCH_WINDOW_SECONDS: '0' });
    const both = localIngestSettings({ INGEST_BATCH_SIZE: '50', INGEST_BATCH_WINDOW_SECONDS: '60' });

    // Assess
    expect(window).toEqual({ batchSize: 10_000, batchWindowSeconds: 0 });
    expect(both).toEqual({ batchSize: 50, batchWindowSeconds: 60 });
  });

  it('refuses a malformed environment override with the setting name', () => {
    // Act / Assess
    expect(() => localIngestSettings({ INGEST_BATCH_WINDOW_SECONDS: 'soon' })).toThrow(/batchWindowSeconds/);
  });
});

describe('endpointTable', () => {
  it('shows the effective ingest batching and the variables that override it', () => {
    // Prepare
    const platform = {
      endpoints: { mqtt: 'mqtts://127.0.0.1:8883' },
      tables: { devices: 'iot-Devices', stats: 'iot-Stats', telemetry: 'iot-Telemetry', alarms: 'iot-Alarms', commands: 'iot-Commands', twins: 'iot-Twins' },
      dataDir: undefined,
      ingest: { batchSize: 10_000, batchWindowSeconds: 1 },
    };

    // Act
    const table = endpointTable(platform);

    // Assess
    expect(table).toMatch(/^ingest batches\s+up to 10000 records or 1 s \(INGEST_BATCH_SIZE, INGEST_BATCH_WINDOW_SECONDS\)$/m);
  });
});
