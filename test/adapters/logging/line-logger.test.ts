import { describe, expect, it } from 'vitest';
import { lineLogger } from '../../../src/adapters/logging/line-logger.js';

describe('lineLogger', () => {
  it('writes scope, level and fields on one line, from the minimum level up', () => {
    // Prepare
    const lines: string[] = [];
    const logger = lineLogger('ingest', (line) => lines.push(line), 'warn');

    // Act
    logger.info('Batch processed', { records: 3 });
    logger.warn('Records dead-lettered', { reasons: { INVALID_JSON: 1 } });
    logger.error('Infrastructure failure', { stage: 'telemetry', error: new Error('ECONNRESET') });

    // Assess
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('ingest: WARN Records dead-lettered {"reasons":{"INVALID_JSON":1}}');
    expect(lines[1]).toMatch(/^ingest: ERROR Infrastructure failure \{"stage":"telemetry","error":"Error: ECONNRESET\\n {4}at /);
  });

  it('writes a bare message at info level without fields', () => {
    const lines: string[] = [];
    lineLogger('graphql', (line) => lines.push(line)).info('ready');
    expect(lines).toEqual(['graphql: ready']);
  });
});
