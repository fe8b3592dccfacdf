/**
 * What the Lambda bundles load in place of `@aws-sdk/credential-provider-env` (PlatformFunction
 * aliases it at bundle time): `fromEnv()` over the lean clients' environment reader, without the
 * SDK's core that the original imports.
 */
import type { AwsCredentials } from '../../appsync/sigv4-signer.js';
import { environmentCredentials } from './credentials.js';

/** A provider of the environment's credentials, read at every call. */
export const fromEnv = (): (() => Promise<AwsCredentials>) => async () => environmentCredentials();
