/**
 * Credentials of the lean AWS clients: a fixed value, a provider, or by default the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), where Lambda puts the execution
 * role's credentials. Nothing else (INI files, SSO, IMDS) is looked at: the lean clients run only
 * in the Lambda bundles.
 */
import type { AwsCredentials } from '../../appsync/sigv4-signer.js';

/** Credentials as a client takes them. */
export type CredentialsInput = AwsCredentials | (() => Promise<AwsCredentials>);

/** No credentials where they were looked for; the SDK's error has the same name. */
export class CredentialsProviderError extends Error {
  override readonly name = 'CredentialsProviderError';
}

/** The credentials in the environment now; throws CredentialsProviderError when there are none. */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new CredentialsProviderError('Unable to find environment variable credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).');
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }) };
}

/** A provider over {@link CredentialsInput}; the environment is read at every call, as Lambda may refresh it. */
export function credentialProvider(input: CredentialsInput | undefined): () => Promise<AwsCredentials> {
  if (input === undefined) return async () => environmentCredentials();
  if (typeof input === 'function') return input;
  return async () => input;
}
