import { describe, expect, it } from 'vitest';
import type { DeviceStateWriter } from '../../src/ports/device-state-writer.js';
import { InMemoryDeadLetterQueue } from '../../src/adapters/sqs/in-memory-dead-letter-queue.js';
import { DISCARDED_METRICS } from '../../src/adapters/metrics/discarded-metrics.js';
import { lineLogger } from '../../src/adapters/logging/line-logger.js';
import { composePresenceFunction } from '../../src/functions/presence-function.js';

describe('presence function logs', () => {
  it('log the client id and reason of an event it cannot apply, never its IP address or the whole event', async () => {
    // Prepare
    const lines: string[] = [];
    const handler = composePresenceFunction({
      devices: { recordPresence: async () => 'unknown' } as unknown as DeviceStateWriter,
      deadLetters: new InMemoryDeadLetterQueue(),
      logger: lineLogger('presence', (line) => lines.push(line), 'info'),
      metrics: DISCARDED_METRICS,
    });
    const event = {
      clientId: 'not-a-device-id',
      timestamp: Date.now(),
      eventType: 'disconnected',
      sessionIdentifier: 'f1c2d3e4-aaaa-bbbb-cccc-000000000000',
      principalIdentifier: 'c'.repeat(64),
      ipAddress: '203.0.113.77',
      disconnectReason: 'CONNECTION_LOST',
      versionNumber: 3,
    };

    // Act
    await handler(event).catch(() => undefined);

    // Assess
    const text = lines.join('\n');
    expect(text).toContain('not-a-device-id');
    expect(text).not.toContain('203.0.113.77');
    expect(text).not.toContain('f1c2d3e4-aaaa');
    expect(text).not.toContain('c'.repeat(64));
  });
});
