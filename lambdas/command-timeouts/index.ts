/**
 * Command timeout Lambda: run every minute by an EventBridge schedule, it records TIMED_OUT for
 * every command whose deadline has passed, through the sparse deadline index (never a scan).
 * DynamoDB TTL is not used: it can lag for days, and answers check the deadline themselves.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbCommandRepository } from '../../src/adapters/dynamodb/command-repository.js';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { sweepCommandTimeouts } from '../../src/commands/command-timeouts.js';
import { readCommandTimeoutsEnvironment } from '../../src/contracts/environment/device-control-function.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readCommandTimeoutsEnvironment();
const commands = new DynamoDbCommandRepository(createDocumentClient(), config.commandsTableName);

/** Lambda entry point (scheduled event; its content is not used). */
export const handler = lambdaEntry({ logger, metrics }, async (): Promise<{ timedOut: number }> => {
  try {
    const timedOut = await sweepCommandTimeouts(commands, new Date().toISOString());
    metrics.addMetric('CommandsTimedOut', MetricUnit.Count, timedOut);
    if (timedOut > 0) logger.info('Commands timed out', { timedOut });
    return { timedOut };
  } finally {
    metrics.publishStoredMetrics();
  }
});
