/**
 * The Timestream clients of the lean set (JSON 1.0, `Timestream_20181101.<Operation>`) with
 * Timestream's endpoint discovery: DescribeEndpoints on the service's regional host names the
 * cell to call and for how long, as the SDK does; a configured endpoint (a local stand-in) is
 * called directly. `timestream-write.ts` and `timestream-query.ts` are what the bundles alias.
 */
import { LeanClient, type LeanClientConfig } from './aws-client.js';
import { callJson, parseJsonError, type LeanCommand } from './aws-json-protocol.js';

/** A Timestream client of one API (`ingest` or `query`). */
export class TimestreamClient extends LeanClient {
  private discovered: { origin: URL; until: number } | undefined;
  private discovering: Promise<URL> | undefined;

  constructor(api: 'ingest' | 'query', config: LeanClientConfig = {}) {
    super(
      {
        signingName: 'timestream',
        host: (region) => `${api}.timestream.${region}.amazonaws.com`,
        endpointEnv: api === 'ingest' ? 'TIMESTREAM_WRITE' : 'TIMESTREAM_QUERY',
        parseError: parseJsonError,
      },
      config,
    );
  }

  /** Sends one operation; its answer as the SDK returns it. */
  async send<O = Record<string, unknown>>(command: LeanCommand<unknown>): Promise<O> {
    const target = `Timestream_20181101.${command.operation}`;
    if (this.core.customEndpoint) return callJson<O>(this.core, '1.0', target, command.input);
    try {
      return await callJson<O>(this.core, '1.0', target, command.input, {}, await this.cell());
    } catch (error) {
      // The cell moved: discover again, once.
      if ((error as { name?: string }).name !== 'InvalidEndpointException') throw error;
      this.discovered = undefined;
      return callJson<O>(this.core, '1.0', target, command.input, {}, await this.cell());
    }
  }

  private async cell(): Promise<URL> {
    if (this.discovered && this.discovered.until > Date.now()) return this.discovered.origin;
    this.discovering ??= callJson<{ Endpoints?: Array<{ Address?: string; CachePeriodInMinutes?: number }> }>(this.core, '1.0', 'Timestream_20181101.DescribeEndpoints', {})
      .then(({ Endpoints }) => {
        const endpoint = Endpoints?.find((e) => e.Address);
        if (!endpoint?.Address) throw new Error('Timestream DescribeEndpoints returned no endpoint');
        const origin = new URL(`https://${endpoint.Address}`);
        this.discovered = { origin, until: Date.now() + (endpoint.CachePeriodInMinutes ?? 1) * 60_000 };
        return origin;
      })
      .finally(() => (this.discovering = undefined));
    return this.discovering;
  }
}
