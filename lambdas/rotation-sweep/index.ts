/**
 * Certificate rotation sweep Lambda: run by an EventBridge schedule, it finishes every rotation
 * whose grace period has ended (Devices table's byGraceEnd index, never a Scan) through the same
 * finish as `iotctl device rotate --finish --target aws`: the old certificate is revoked and
 * detached in IoT Core, then the binding keeps only the new one. Without it an old certificate
 * would stay valid in AWS until someone ran the finish by hand.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { IoTClient } from '@aws-sdk/client-iot';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceCredentialStore } from '../../src/adapters/dynamodb/device-credentials-store.js';
import { DynamoDbDueRotations } from '../../src/adapters/dynamodb/due-rotations.js';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { powertoolsMetrics } from '../../src/adapters/powertools/powertools-metrics.js';
import { readRotationSweepEnvironment } from '../../src/contracts/environment/rotation-sweep-function.js';
import { composeRotationSweepFunction } from '../../src/functions/rotation-sweep-function.js';
import { finishAwsRotation } from '../../src/provisioning/rotation-finish.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readRotationSweepEnvironment();
const doc = createDocumentClient();
const iot = new IoTClient({});
const credentials = new DynamoDbDeviceCredentialStore(doc, config.devicesTableName);

const sweep = composeRotationSweepFunction({
  due: new DynamoDbDueRotations(doc, config.devicesTableName),
  finish: (deviceId, options) => finishAwsRotation({ iot, credentials }, deviceId, options),
  logger,
  metrics: powertoolsMetrics(metrics),
});

/** Lambda entry point (scheduled event; its content is not used). */
export const handler = lambdaEntry({ logger, metrics }, async () => sweep());
