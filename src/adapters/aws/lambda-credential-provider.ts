/**
 * What the Lambda bundles load in place of `@aws-sdk/credential-provider-node` (PlatformFunction
 * aliases it at bundle time): the execution role's credentials, which Lambda always puts in the
 * environment. The default chain would bring SSO, STS, INI files, IMDS and the container
 * endpoint into every cold start for nothing; outside Lambda nothing imports this file.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** The SDK clients' default credential provider, reduced to the environment. */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]): ReturnType<typeof fromEnv> => fromEnv(init);
