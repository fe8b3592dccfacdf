/**
 * Command sweep Lambda: run every minute by an EventBridge schedule, through the sparse deadline
 * index (never a scan), it records TIMED_OUT for every command whose deadline has passed, and
 * re-drives the waiting commands whose re-drive check is due: published when their device is
 * ONLINE, left for its next subscription when it is not, FAILED after repeated failed publishes.
 * DynamoDB TTL is not used: it can lag for days, and answers check the deadline themselves.
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbCommandRepository } from '../../src/adapters/dynamodb/command-repository.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { IotDataDeviceMessenger } from '../../src/adapters/iot/iot-data-device-messenger.js';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { RegistryDevicePresence } from '../../src/adapters/registry-device-presence.js';
import { CommandService, type CommandSweepSummary } from '../../src/commands/command-service.js';
import { readCommandTimeoutsEnvironment } from '../../src/contracts/environment/device-control-function.js';
import { COMMAND_SWEEP_METRICS } from '../../src/contracts/metrics.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readCommandTimeoutsEnvironment();
const doc = createDocumentClient();
const commands = new CommandService({
  commands: new DynamoDbCommandRepository(doc, config.commandsTableName),
  presence: new RegistryDevicePresence(new DynamoDbDeviceRepository(doc, config.devicesTableName)),
  messenger: new IotDataDeviceMessenger(new IoTDataPlaneClient({})),
  // The sweep never lists commands, so its page tokens are never handed out.
  pageTokens: createPageTokenCodec(randomBytes(32)),
  onDeliveryError: (error, command) => logger.warn('Re-drive publish failed; the command waits for the next sweep', { commandId: command.id, deviceId: command.deviceId, error: error as Error }),
});

/** Lambda entry point (scheduled event; its content is not used). */
export const handler = lambdaEntry({ logger, metrics }, async (): Promise<CommandSweepSummary> => {
  try {
    const summary = await commands.sweep();
    metrics.addMetric(COMMAND_SWEEP_METRICS.timedOut, MetricUnit.Count, summary.timedOut);
    metrics.addMetric(COMMAND_SWEEP_METRICS.redelivered, MetricUnit.Count, summary.redelivered);
    metrics.addMetric(COMMAND_SWEEP_METRICS.gaveUp, MetricUnit.Count, summary.gaveUp);
    if (summary.gaveUp > 0) logger.error('Commands given up after repeated failed publishes (FAILED)', { ...summary });
    else if (summary.timedOut + summary.redelivered + summary.parked > 0) logger.info('Command sweep', { ...summary });
    return summary;
  } finally {
    metrics.publishStoredMetrics();
  }
});
