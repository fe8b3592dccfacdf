/** What the Lambda bundles load in place of `@aws-sdk/client-timestream-write` (see timestream.ts). */
import type { LeanClientConfig } from './aws-client.js';
import { commandClass } from './aws-json-protocol.js';
import { TimestreamClient } from './timestream.js';

/** Timestream's write client. */
export class TimestreamWriteClient extends TimestreamClient {
  constructor(config: LeanClientConfig = {}) {
    super('ingest', config);
  }
}

export const WriteRecordsCommand = commandClass('WriteRecords');
