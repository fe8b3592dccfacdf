/**
 * The core of the lean AWS clients: resolves the endpoint, region and credentials as the SDK
 * does from the environment, signs each attempt with SigV4, sends it over the shared keep-alive
 * transport and retries as the SDK's standard mode does. Protocols (JSON, REST-JSON, query) are
 * thin layers over {@link AwsClient.request}.
 */
import { AwsServiceError, type ResponseMetadata } from './aws-service-error.js';
import { credentialProvider, type CredentialsInput } from './credentials.js';
import { keepAliveTransport, sharedTransport, type HttpResponse, type HttpSend } from './http-transport.js';
import { createRequestSigner, escapeRfc3986, type RequestSigner } from './request-signer.js';
import { backoffMs, processRetryQuota, retryKind, type RetryQuota } from './retry-strategy.js';

/** The client configuration the platform's code passes (a subset of the SDK's; other fields are ignored). */
export interface LeanClientConfig {
  /** @default AWS_REGION */
  readonly region?: string;
  /** @default AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the regional endpoint */
  readonly endpoint?: string;
  /** @default the environment's credentials */
  readonly credentials?: CredentialsInput;
  /** Attempts per call, the first included. @default AWS_MAX_ATTEMPTS, else 3 */
  readonly maxAttempts?: number;
  /** Timeouts in ms, as the SDK's node handler takes them. */
  readonly requestHandler?: { readonly connectionTimeout?: number; readonly requestTimeout?: number };
  /** The HTTP transport (tests). @default the process's shared keep-alive transport */
  readonly transport?: HttpSend;
  /** The retry quota (tests). @default the process's */
  readonly retryQuota?: RetryQuota;
  /** Waits between attempts (tests). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What a client needs to know of its service. */
export interface ServiceDescription {
  /** SigV4 signing name, e.g. `dynamodb`, `iotdata`. */
  readonly signingName: string;
  /** The regional endpoint's host. */
  readonly host: (region: string) => string;
  /** The `<SERVICE>` of AWS_ENDPOINT_URL_<SERVICE>, e.g. `DYNAMODB`, `IOT_DATA_PLANE`. */
  readonly endpointEnv: string;
  /** Reads an error answer: the AWS error code, its message and the answer's other fields. */
  readonly parseError: (response: HttpResponse) => { code: string; message: string; fields?: Record<string, unknown> };
}

/** One API request before signing. */
export interface AwsRequest {
  readonly method: string;
  /** Path below the endpoint's, labels already escaped. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Sends to this origin instead of the client's endpoint (SQS sends to the queue URL's host unless an endpoint is configured). */
  readonly origin?: URL;
}

/** A successful answer and the SDK-shaped metadata. */
export interface AwsAnswer {
  readonly response: HttpResponse;
  readonly $metadata: ResponseMetadata;
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** AWS_MAX_ATTEMPTS, as the SDK reads it; a value that is not a positive integer stops the client naming the variable. */
function attemptsFromEnvironment(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.AWS_MAX_ATTEMPTS;
  if (raw === undefined || raw === '') return undefined;
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`AWS_MAX_ATTEMPTS must be a positive integer, not ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** The endpoint a client of `service` sends to, as the SDK resolves it. */
export function resolveEndpoint(service: ServiceDescription, region: string, configured?: string, env: NodeJS.ProcessEnv = process.env): { url: URL; custom: boolean } {
  const fromEnv = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true' ? undefined : (env[`AWS_ENDPOINT_URL_${service.endpointEnv}`] ?? env.AWS_ENDPOINT_URL);
  const custom = configured ?? fromEnv;
  return custom ? { url: new URL(custom), custom: true } : { url: new URL(`https://${service.host(region)}`), custom: false };
}

/** A signed, retrying client of one AWS service. */
export class AwsClient {
  readonly region: string;
  readonly endpoint: URL;
  /** Whether the endpoint was configured (config or environment) rather than derived from the region. */
  readonly customEndpoint: boolean;
  private readonly signer: RequestSigner;
  private readonly send: HttpSend;
  private readonly maxAttempts: number;
  private readonly quota: RetryQuota;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly service: ServiceDescription,
    config: LeanClientConfig = {},
  ) {
    const region = config.region ?? process.env.AWS_REGION;
    if (!region) throw new Error('Region is missing: set AWS_REGION or pass region');
    this.region = region;
    const { url, custom } = resolveEndpoint(service, region, config.endpoint);
    this.endpoint = url;
    this.customEndpoint = custom;
    this.signer = createRequestSigner(service.signingName, region, credentialProvider(config.credentials));
    const timeouts = config.requestHandler;
    this.send =
      config.transport ??
      (timeouts && (timeouts.connectionTimeout !== undefined || timeouts.requestTimeout !== undefined)
        ? keepAliveTransport({ connectionTimeoutMs: timeouts.connectionTimeout, requestTimeoutMs: timeouts.requestTimeout })
        : sharedTransport());
    this.maxAttempts = Math.max(1, config.maxAttempts ?? attemptsFromEnvironment() ?? 3);
    this.quota = config.retryQuota ?? processRetryQuota;
    this.sleep = config.sleep ?? sleepMs;
  }

  /** Sends one request, retrying what may be retried; throws AwsServiceError for an error answer, the network error otherwise. */
  async request(request: AwsRequest): Promise<AwsAnswer> {
    const origin = request.origin ?? this.endpoint;
    const basePath = origin === this.endpoint ? this.endpoint.pathname.replace(/\/$/, '') : '';
    const path = `${basePath}${request.path}`;
    const query = request.query ?? {};
    const search = Object.entries(query)
      .map(([key, value]) => `${escapeRfc3986(key)}=${escapeRfc3986(value)}`)
      .join('&');
    const url = new URL(`${origin.protocol}//${origin.host}${path}${search ? `?${search}` : ''}`);
    let totalRetryDelay = 0;
    let cost: number | undefined;
    for (let attempt = 1; ; attempt += 1) {
      let failure: unknown;
      try {
        const headers = await this.signer.sign({
          method: request.method,
          protocol: origin.protocol,
          hostname: origin.hostname,
          ...(origin.port && { port: Number(origin.port) }),
          path,
          query,
          headers: { ...request.headers, host: origin.host },
          ...(request.body !== undefined && { body: request.body }),
        });
        const response = await this.send({ method: request.method, url, headers, ...(request.body !== undefined && { body: request.body }) });
        const $metadata: ResponseMetadata = {
          httpStatusCode: response.status,
          ...(header(response, 'x-amzn-requestid') && { requestId: header(response, 'x-amzn-requestid') }),
          ...(header(response, 'x-amz-id-2') && { extendedRequestId: header(response, 'x-amz-id-2') }),
          attempts: attempt,
          totalRetryDelay,
        };
        if (response.status >= 200 && response.status < 300) {
          this.quota.release(cost);
          return { response, $metadata };
        }
        const { code, message, fields } = this.service.parseError(response);
        failure = new AwsServiceError(code, message, response.status, $metadata, fields);
      } catch (error) {
        failure = error;
        if (error && typeof error === 'object' && !('$metadata' in error)) Object.assign(error, { $metadata: { attempts: attempt, totalRetryDelay } });
      }
      const kind = retryKind(failure);
      if (!kind || attempt >= this.maxAttempts) throw failure;
      cost = this.quota.acquire(failure);
      if (cost === undefined) throw failure;
      const delay = backoffMs(attempt, kind);
      totalRetryDelay += delay;
      await this.sleep(delay);
    }
  }
}

/** What every lean client class shares: its core and the SDK's `destroy`. */
export abstract class LeanClient {
  /** The transport core (endpoint, region, signing, retries). */
  readonly core: AwsClient;

  constructor(service: ServiceDescription, config: LeanClientConfig = {}) {
    this.core = new AwsClient(service, config);
  }

  /** Kept for the SDK's surface: the keep-alive transport is the process's, shared with other clients. */
  destroy(): void {}
}

/** A response header as one string. */
export function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
