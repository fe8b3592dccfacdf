/** What the Lambda bundles load in place of `@aws-sdk/client-eventbridge`: EventBridge over JSON 1.1 (`AWSEvents.<Operation>`). */
import { LeanClient, type LeanClientConfig } from './aws-client.js';
import { callJson, commandClass, parseJsonError, type LeanCommand } from './aws-json-protocol.js';

const EVENTBRIDGE = {
  signingName: 'events',
  host: (region: string) => `events.${region}.amazonaws.com`,
  endpointEnv: 'EVENTBRIDGE',
  parseError: parseJsonError,
};

/** Event `Time` members are timestamps: epoch seconds on the wire. */
function timesAsEpochSeconds(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return key === 'Time' && raw instanceof Date ? raw.getTime() / 1000 : value;
}

/** EventBridge's client. */
export class EventBridgeClient extends LeanClient {
  constructor(config: LeanClientConfig = {}) {
    super(EVENTBRIDGE, config);
  }

  /** Sends one operation; its answer as the SDK returns it. */
  send<O = Record<string, unknown>>(command: LeanCommand<unknown>): Promise<O> {
    return callJson<O>(this.core, '1.1', `AWSEvents.${command.operation}`, command.input, { replacer: timesAsEpochSeconds });
  }
}

export const PutEventsCommand = commandClass('PutEvents');
