import { Aedes } from 'aedes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnavailableError, ValidationError } from '../../../src/domain/errors.js';
import { createAedesMessageBus } from '../../../src/local/iot-core/message-bus.js';
import type { MessageBus } from '../../../src/ports/message-bus.js';

describe('createAedesMessageBus', () => {
  let broker: Aedes;
  let bus: MessageBus;
  const failures: string[] = [];
  beforeEach(async () => {
    broker = new Aedes();
    await broker.listen();
    bus = createAedesMessageBus(broker, { onListenerError: (error) => failures.push(String(error)) });
  });
  afterEach(async () => {
    if (!broker.closed) await new Promise<void>((resolve) => broker.close(() => resolve()));
  });

  it('delivers messages matching a wildcard filter until unsubscribed', async () => {
    // Prepare
    const received: string[] = [];
    const unsubscribe = await bus.subscribe('internal/device-changes/#', (topic, payload) => received.push(`${topic} ${payload.toString()}`));

    // Act
    await bus.publish('internal/device-changes/a', '1', { qos: 1 });
    await bus.publish('other/topic', '2');
    await bus.publish('internal/device-changes/b', new Uint8Array([0x33]));
    await unsubscribe();
    await bus.publish('internal/device-changes/c', '4');

    // Assess
    expect(received).toEqual(['internal/device-changes/a 1', 'internal/device-changes/b 3']);
  });

  it('refuses to publish to a filter or an empty topic, and after the broker closed', async () => {
    // Act / Assess
    await expect(bus.publish('a/+', 'x')).rejects.toBeInstanceOf(ValidationError);
    await expect(bus.publish('', 'x')).rejects.toBeInstanceOf(ValidationError);
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await expect(bus.publish('a/b', 'x')).rejects.toBeInstanceOf(UnavailableError);
  });

  it('keeps delivering to other subscribers when one listener throws', async () => {
    // Prepare
    const received: string[] = [];
    await bus.subscribe('t', () => {
      throw new Error('listener bug');
    });
    await bus.subscribe('t', (_topic, payload) => received.push(payload.toString()));

    // Act
    await bus.publish('t', 'ok').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));

    // Assess
    expect(received).toEqual(['ok']);
    expect(failures).toEqual(['Error: listener bug']);
  });
});
