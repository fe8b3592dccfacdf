/**
 * Every Lambda function the stack deploys: its handler module and its service name
 * (POWERTOOLS_SERVICE_NAME, the `service` of its logs and metrics). lib/ builds each one from
 * here, and the tests and `npm run bench:lambda` walk this list, so a new function is covered by
 * them once it is added here (the stack test fails for a deployed function missing from it).
 */
import { SERVICE_NAMES } from './metrics.js';

/** One deployed function. */
export interface LambdaFunctionDefinition {
  readonly serviceName: string;
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
}

/** The platform's functions by key. */
export const LAMBDA_FUNCTIONS = {
  ingest: { serviceName: SERVICE_NAMES.ingest, entry: 'lambdas/ingest/index.ts' },
  presence: { serviceName: SERVICE_NAMES.presence, entry: 'lambdas/presence/index.ts' },
  changeFeed: { serviceName: SERVICE_NAMES.changeFeed, entry: 'lambdas/events/index.ts' },
  graphql: { serviceName: SERVICE_NAMES.graphql, entry: 'lambdas/graphql/index.ts' },
  deviceControl: { serviceName: SERVICE_NAMES.deviceControl, entry: 'lambdas/device-control/index.ts' },
  commandTimeouts: { serviceName: SERVICE_NAMES.commandTimeouts, entry: 'lambdas/command-timeouts/index.ts' },
  alarmEvents: { serviceName: SERVICE_NAMES.alarmEvents, entry: 'lambdas/alarm-events/index.ts' },
  alarmSweep: { serviceName: SERVICE_NAMES.alarmSweep, entry: 'lambdas/alarm-sweep/index.ts' },
  presenceReconciler: { serviceName: SERVICE_NAMES.presenceReconciler, entry: 'lambdas/presence-reconciler/index.ts' },
  rotationSweep: { serviceName: SERVICE_NAMES.rotationSweep, entry: 'lambdas/rotation-sweep/index.ts' },
} as const satisfies Record<string, LambdaFunctionDefinition>;

/** A key of {@link LAMBDA_FUNCTIONS}. */
export type LambdaFunctionKey = keyof typeof LAMBDA_FUNCTIONS;
