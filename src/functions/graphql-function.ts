/**
 * The GraphQL resolver function as one composition, built by its Lambda module (lambdas/graphql)
 * and by the local AppSync stand-in, so every field resolves, fails and is counted alike.
 */
import { RESOLVER_METRICS } from '../contracts/metrics.js';
import type { DirectLambdaEvent } from '../graphql/appsync-router.js';
import { createResolverHandler, type ResolverDeps, type ResolverHandler } from '../graphql/resolver-handler.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsRecorder } from '../ports/metrics.js';

/** What the resolver function is built from. */
export interface GraphqlFunctionPorts extends Omit<ResolverDeps, 'onUnexpectedError'> {
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
}

/** The direct Lambda resolver; keeps the handler's `fields` so a server can check them against the schema. */
export function composeGraphqlFunction(ports: GraphqlFunctionPorts): ResolverHandler {
  const { logger, metrics, ...deps } = ports;
  const resolve = createResolverHandler({
    ...deps,
    onUnexpectedError: (error, event) => {
      metrics.count(RESOLVER_METRICS.unexpectedErrors, 1);
      logger.error('Resolver failed', { field: `${event.info.parentTypeName}.${event.info.fieldName}`, error });
    },
  });
  const handler = async (event: DirectLambdaEvent): Promise<unknown> => {
    // Resolver errors count every refused or failed field (domain errors included); unexpected
    // errors only the InternalFailure ones, the ones that need a person.
    metrics.count(RESOLVER_METRICS.resolutions, 1);
    try {
      return await resolve(event);
    } catch (error) {
      metrics.count(RESOLVER_METRICS.errors, 1);
      throw error;
    } finally {
      metrics.flush();
    }
  };
  return Object.assign(handler, { fields: resolve.fields });
}
