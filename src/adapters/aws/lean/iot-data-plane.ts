/**
 * What the Lambda bundles load in place of `@aws-sdk/client-iot-data-plane`: Publish over
 * REST-JSON (`POST /topics/{topic}`), the payload as the raw body and the MQTT 5 properties as
 * query parameters and headers, as the SDK sends them.
 */
import { LeanClient, type LeanClientConfig } from './aws-client.js';
import { commandClass, parseJsonError, type LeanCommand } from './aws-json-protocol.js';
import { callRestJson, type RestOperation } from './rest-json-protocol.js';

const IOT_DATA = {
  signingName: 'iotdata',
  host: (region: string) => `data-ats.iot.${region}.amazonaws.com`,
  endpointEnv: 'IOT_DATA_PLANE',
  parseError: parseJsonError,
};

const OPERATIONS: Readonly<Record<string, RestOperation>> = {
  Publish: {
    method: 'POST',
    path: '/topics/{topic}',
    query: { qos: 'qos', retain: 'retain', contentType: 'contentType', responseTopic: 'responseTopic', messageExpiry: 'messageExpiry' },
    headers: {
      userProperties: 'x-amz-mqtt5-user-properties',
      payloadFormatIndicator: 'x-amz-mqtt5-payload-format-indicator',
      correlationData: 'x-amz-mqtt5-correlation-data',
    },
    payload: 'payload',
  },
};

/** The IoT data plane's client (Publish). */
export class IoTDataPlaneClient extends LeanClient {
  constructor(config: LeanClientConfig = {}) {
    super(IOT_DATA, config);
  }

  /** Sends one operation; its answer as the SDK returns it. */
  async send<O = Record<string, unknown>>(command: LeanCommand<unknown>): Promise<O> {
    const operation = OPERATIONS[command.operation];
    if (!operation) throw new Error(`The lean IoT data plane client has no ${command.operation}`);
    const input = command.input as { userProperties?: string };
    // A JSON-valued header travels base64-encoded.
    const sent = input.userProperties === undefined ? command : { ...command, input: { ...input, userProperties: Buffer.from(input.userProperties, 'utf8').toString('base64') } };
    return callRestJson<O>(this.core, operation, sent);
  }
}

export const PublishCommand = commandClass('Publish');
