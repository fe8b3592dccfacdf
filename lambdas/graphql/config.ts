/** Configuration of the GraphQL resolver Lambda, read once from the environment at cold start. */

/** Settings the resolver Lambda runs with. */
export interface GraphqlConfig {
  /** Devices table (DEVICES_TABLE_NAME, set by Storage.grantDevicesReadWrite). */
  readonly devicesTableName: string;
  /** Stats table (STATS_TABLE_NAME, set by Storage.grantStatsRead). */
  readonly statsTableName: string;
  /** Telemetry table (TELEMETRY_TABLE_NAME); absent when telemetry goes to Timestream. */
  readonly telemetryTableName?: string;
  /** Page-token secret: the value itself (PAGE_TOKEN_SECRET) or a Secrets Manager ARN (PAGE_TOKEN_SECRET_ARN). */
  readonly pageTokenSecret: { readonly value: string } | { readonly arn: string };
}

/** Reads the configuration; throws naming the first missing variable, so a misdeployed function fails fast. */
export function readGraphqlConfig(env: NodeJS.ProcessEnv = process.env): GraphqlConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`Missing environment variable ${name}`);
    return value;
  };
  const pageTokenSecret = env.PAGE_TOKEN_SECRET
    ? { value: env.PAGE_TOKEN_SECRET }
    : { arn: required('PAGE_TOKEN_SECRET_ARN') };
  return {
    devicesTableName: required('DEVICES_TABLE_NAME'),
    statsTableName: required('STATS_TABLE_NAME'),
    ...(env.TELEMETRY_TABLE_NAME && { telemetryTableName: env.TELEMETRY_TABLE_NAME }),
    pageTokenSecret,
  };
}
