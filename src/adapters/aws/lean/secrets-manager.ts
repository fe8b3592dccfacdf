/** What the Lambda bundles load in place of `@aws-sdk/client-secrets-manager`: GetSecretValue over JSON 1.1 (`secretsmanager.<Operation>`). */
import { LeanClient, type LeanClientConfig } from './aws-client.js';
import { base64Blob, callJson, commandClass, parseJsonError, type LeanCommand } from './aws-json-protocol.js';

const SECRETS_MANAGER = {
  signingName: 'secretsmanager',
  host: (region: string) => `secretsmanager.${region}.amazonaws.com`,
  endpointEnv: 'SECRETS_MANAGER',
  parseError: parseJsonError,
};

/** Secrets Manager's client. */
export class SecretsManagerClient extends LeanClient {
  constructor(config: LeanClientConfig = {}) {
    super(SECRETS_MANAGER, config);
  }

  /** Sends one operation; its answer as the SDK returns it (SecretBinary as Uint8Array, CreatedDate as Date). */
  async send<O = Record<string, unknown>>(command: LeanCommand<unknown>): Promise<O> {
    const output = await callJson<Record<string, unknown>>(this.core, '1.1', `secretsmanager.${command.operation}`, command.input);
    if (typeof output.SecretBinary === 'string') output.SecretBinary = base64Blob(output.SecretBinary);
    if (typeof output.CreatedDate === 'number') output.CreatedDate = new Date(output.CreatedDate * 1000);
    return output as O;
  }
}

export const GetSecretValueCommand = commandClass('GetSecretValue');
