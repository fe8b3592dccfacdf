/**
 * What every Lambda module does around its handler, once: the invocation's Lambda context on
 * every log line (function_request_id, cold_start, function name and ARN) and the ColdStart
 * metric of the first invocation of each execution environment.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';

/** The Lambda entry point around `handle`. */
export function lambdaEntry<Event, Result>(
  tools: { readonly logger: Logger; readonly metrics: Metrics },
  handle: (event: Event) => Promise<Result>,
): (event: Event, context: Context) => Promise<Result> {
  return async (event, context) => {
    tools.logger.addContext(context);
    // Emits its own EMF document, once per execution environment.
    tools.metrics.captureColdStartMetric();
    return handle(event);
  };
}
