/**
 * SigV4 for the lean AWS clients: Smithy's SignatureV4 (what the SDK and the AppSync publisher
 * sign with), with the session token signed as x-amz-security-token. No x-amz-content-sha256
 * header: only S3 needs it, and the payload hash is in the signature anyway.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../sha256.js';
import type { AwsCredentials } from '../../appsync/sigv4-signer.js';

/** A request as it is signed: path already escaped once (labels), query unescaped. */
export interface SignableRequest {
  readonly method: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/** Signs requests for one service in one region. */
export interface RequestSigner {
  /** The request's headers with x-amz-date, x-amz-security-token (with a session token) and authorization added. */
  sign(request: SignableRequest, at?: Date): Promise<Record<string, string>>;
}

/** A signer for `service` (the signing name, e.g. `dynamodb`, `iotdata`) in `region`, with credentials from `credentials`. */
export function createRequestSigner(service: string, region: string, credentials: AwsCredentials | (() => Promise<AwsCredentials>)): RequestSigner {
  const signer = new SignatureV4({ service, region, credentials, sha256: Sha256, uriEscapePath: true, applyChecksum: false });
  return {
    async sign(request, at) {
      const signed = await signer.sign({ ...request, headers: { ...request.headers } } as never, at ? { signingDate: at } : {});
      return (signed as unknown as { headers: Record<string, string> }).headers;
    },
  };
}
