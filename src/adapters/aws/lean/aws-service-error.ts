/**
 * The error a lean AWS client throws for a service's error answer, shaped like the SDK's
 * ServiceException so callers' checks work unchanged: `name` is the AWS error code (from
 * x-amzn-errortype, `__type` or `code`, namespace and URI stripped), `$fault`, `$metadata`, and
 * every other field of the answer (CancellationReasons, Item, RejectedRecords...) on the error.
 */

/** What the SDK calls `$metadata`. */
export interface ResponseMetadata {
  readonly httpStatusCode?: number;
  readonly requestId?: string;
  readonly extendedRequestId?: string;
  readonly attempts: number;
  readonly totalRetryDelay: number;
}

/** An AWS service's error answer. */
export class AwsServiceError extends Error {
  override readonly name: string;
  readonly $fault: 'client' | 'server';
  $metadata: ResponseMetadata;

  constructor(code: string, message: string, status: number, metadata: ResponseMetadata, fields: Record<string, unknown> = {}) {
    super(message);
    for (const [key, value] of Object.entries(fields)) {
      if (key !== 'name' && key !== 'message' && key !== 'stack' && key !== '__type') (this as Record<string, unknown>)[key] = value;
    }
    this.name = code;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = metadata;
  }
}

/** `aws.protocoltests#FooError:http://internal.amazon.com/` → `FooError`. */
export function errorCode(raw: string): string {
  const withoutUri = raw.split(':')[0]!;
  return withoutUri.slice(withoutUri.lastIndexOf('#') + 1);
}
