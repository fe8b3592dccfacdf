/** Runtime limits of the gRPC service on Fargate (its environment is read by src/contracts/environment/device-service.ts). */

/**
 * DynamoDB client limits of the service. The SDK sets no HTTP timeout by default, so a hung
 * request would hold its call (and a cancelled call's leftover work, see device-service.ts)
 * forever; with these, one request ends within 3 attempts of (1 s connect + 3 s request) plus
 * the SDK's retry backoff. Single-item calls answer in milliseconds, so 3 s is generous.
 */
export const DYNAMODB_CLIENT_LIMITS = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true },
} as const;
