import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Options for the DynamoDB clients; every field falls back to the SDK's own defaults. */
export interface DynamoDbClientOptions {
  /** Set for dynalite or LocalStack; the SDK also honours AWS_ENDPOINT_URL. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: DynamoDBClientConfig['credentials'];
  readonly maxAttempts?: number;
  /** Per-request HTTP limits, e.g. `{ requestTimeout, connectionTimeout, throwOnRequestTimeout: true }` (the SDK sets none). */
  readonly requestHandler?: DynamoDBClientConfig['requestHandler'];
}

/** A document client that drops undefined attributes, as every repository here expects. */
export function createDocumentClient(options: DynamoDbClientOptions = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(options.endpoint && { endpoint: options.endpoint }),
    ...(options.region && { region: options.region }),
    ...(options.credentials && { credentials: options.credentials }),
    ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
    ...(options.requestHandler && { requestHandler: options.requestHandler }),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}
