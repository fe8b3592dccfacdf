/** What the Lambda bundles load in place of `@aws-sdk/client-timestream-query` (see timestream.ts). */
import type { LeanClientConfig } from './aws-client.js';
import { commandClass } from './aws-json-protocol.js';
import { TimestreamClient } from './timestream.js';

/** Timestream's query client. */
export class TimestreamQueryClient extends TimestreamClient {
  constructor(config: LeanClientConfig = {}) {
    super('query', config);
  }
}

export const QueryCommand = commandClass('Query');
