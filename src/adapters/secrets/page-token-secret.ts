/**
 * The one resolver of the page-token HMAC key, for every door: the value itself when the
 * environment carries it (local, tests), else the string of the Secrets Manager secret it names.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../../contracts/config-reader.js';
import type { PageTokenSecretSource } from '../../contracts/environment/page-token-secret.js';
import { VARIABLES } from '../../contracts/environment/variables.js';

/** The key; throws ConfigError when the named secret has no string value. */
export async function resolvePageTokenSecret(
  source: PageTokenSecretSource,
  client: Pick<SecretsManagerClient, 'send' | 'destroy'> = new SecretsManagerClient({}),
): Promise<string> {
  if ('value' in source) return source.value;
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: source.arn }));
    if (!SecretString) throw new ConfigError(VARIABLES.pageTokenSecretArn, 'names a secret without a string value');
    return SecretString;
  } finally {
    // Read once at start: no connection is kept for a client nobody calls again.
    client.destroy();
  }
}
