import { CONSOLE_CONFIG_PATH, type ConsoleRuntimeConfig } from '../../src/contracts/console-config';

export type { ConsoleRuntimeConfig };

/** Thrown when /config.json is missing or not a console configuration. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Reads the runtime configuration: written at deploy time in the cloud, answered by the local
 * server locally, so one build runs against any stack.
 */
export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<ConsoleRuntimeConfig> {
  let response: Response;
  try {
    response = await fetchImpl(CONSOLE_CONFIG_PATH, { cache: 'no-cache' });
  } catch (error) {
    throw new ConfigError(`Could not reach ${CONSOLE_CONFIG_PATH}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new ConfigError(`${CONSOLE_CONFIG_PATH} answered HTTP ${response.status}`);
  const config = (await response.json()) as Partial<ConsoleRuntimeConfig>;
  if ((config.auth !== 'local' && config.auth !== 'cognito') || typeof config.graphqlUrl !== 'string') {
    throw new ConfigError(`${CONSOLE_CONFIG_PATH} is not a console configuration`);
  }
  if (config.auth === 'cognito' && !config.cognito) throw new ConfigError(`${CONSOLE_CONFIG_PATH} names no user pool for Cognito sign-in`);
  return config as ConsoleRuntimeConfig;
}

/** An absolute http(s) URL for the GraphQL endpoint, resolved against the page's origin. */
export function graphqlHttpUrl(config: ConsoleRuntimeConfig, origin = window.location.origin): string {
  return new URL(config.graphqlUrl, origin).toString();
}

/** The WebSocket URL of subscriptions: the configured one, else the GraphQL URL over ws(s). */
export function realtimeWsUrl(config: ConsoleRuntimeConfig, origin = window.location.origin): string {
  if (config.realtimeUrl) return new URL(config.realtimeUrl, origin).toString();
  return graphqlHttpUrl(config, origin).replace(/^http/, 'ws');
}
