import { describe, expect, it } from 'vitest';
import { REDACTED } from '../../../src/adapters/logging/pino-logger.js';
import { readDeviceServiceLogLevel } from '../../../src/contracts/environment/device-service.js';
import { recordingLogger } from '../../support/recording-logger.js';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';

describe('pino logger of the gRPC service', () => {
  it('writes one JSON line per entry with level label, time, message and fields', () => {
    // Prepare
    const log = recordingLogger('info');

    // Act
    log.info('rpc', { method: 'GetDevice', code: 'OK' });

    // Assess
    expect(log.lines).toEqual([{ level: 'info', time: expect.any(String), msg: 'rpc', method: 'GetDevice', code: 'OK' }]);
    expect(Number.isNaN(Date.parse(String(log.lines[0]!.time)))).toBe(false);
  });

  it.each([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
  ] as const)('at level %s writes only %j', (level, written) => {
    // Prepare
    const log = recordingLogger(level);

    // Act
    for (const at of ['debug', 'info', 'warn', 'error'] as const) log[at](at);

    // Assess
    expect(log.lines.map((l) => l.level)).toEqual(written);
  });

  it('reads its level from LOG_LEVEL (info when unset) and names the variable when it is invalid', () => {
    expect(readDeviceServiceLogLevel({})).toBe('info');
    expect(readDeviceServiceLogLevel({ LOG_LEVEL: 'warn' })).toBe('warn');
    expect(() => readDeviceServiceLogLevel({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL/);
  });

  it('censors authorization headers, tokens, keys and certificates by field', () => {
    // Prepare
    const log = recordingLogger();

    // Act
    log.warn('refused', {
      authorization: `Bearer ${JWT}`,
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
      metadata: { authorization: 'Bearer opaque-token-value', 'user-agent': 'grpc-node' },
      token: 'opaque-token-value',
      accessToken: 'opaque-access',
      privateKeyPem: 'key-material',
      certificatePem: 'cert-material',
      caller: 'abc',
    });

    // Assess
    const [line] = log.lines;
    expect(line).toMatchObject({
      authorization: REDACTED,
      headers: { authorization: REDACTED },
      metadata: { authorization: REDACTED, 'user-agent': 'grpc-node' },
      token: REDACTED,
      accessToken: REDACTED,
      privateKeyPem: REDACTED,
      certificatePem: REDACTED,
      caller: 'abc',
    });
    expect(log.text.join('')).not.toMatch(/opaque|key-material|cert-material|dXNlcjpwYXNz/);
  });

  it('censors token fields one level down in any object, an Error included, and leaves objects without one as they are', () => {
    // Prepare
    const log = recordingLogger();
    const error = Object.assign(new Error('refused upstream'), { token: 'opaque-token-value' });

    // Act
    log.error('failed', { request: { token: 'opaque-token-value', id: 7 }, error, counts: { token: 0 }, plain: { id: 1 } });

    // Assess
    expect(log.lines[0]).toMatchObject({ request: { token: REDACTED, id: 7 }, error: { type: 'Error', message: 'refused upstream', token: REDACTED }, counts: { token: REDACTED }, plain: { id: 1 } });
    expect(log.text.join('')).not.toMatch(/opaque/);
  });

  it('censors a JWT, or a cut-off part of one, and PEM blocks inside any field', () => {
    // Prepare
    const log = recordingLogger();

    // Act
    log.error('failed', { details: `bad id "${JWT}"`, deviceId: JWT.slice(0, 40), error: `cannot parse ${PEM} here` });

    // Assess
    expect(log.lines[0]).toMatchObject({ details: `bad id "${REDACTED}"`, deviceId: REDACTED, error: `cannot parse ${REDACTED} here` });
    for (const part of JWT.split('.')) expect(log.text.join('')).not.toContain(part);
  });

  it('logs an Error field with its type, message and stack', () => {
    // Prepare
    const log = recordingLogger();

    // Act
    log.error('probe failed', { error: new RangeError('out of range') });

    // Assess
    expect(log.lines[0]!.error).toMatchObject({ type: 'RangeError', message: 'out of range', stack: expect.stringContaining('RangeError') });
  });
});
