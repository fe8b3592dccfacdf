import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../aws/sha256.js';

/** AWS credentials as SigV4 needs them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * The SDK's SigV4 signer for AppSync (service `appsync`): the local server verifies with it what
 * the publisher signed with the lean clients' own signer, an independent implementation.
 */
export function createAppSyncSigner(
  region: string,
  credentials: AwsCredentials | (() => Promise<AwsCredentials>),
): SignatureV4 {
  return new SignatureV4({
    service: 'appsync',
    region,
    credentials,
    sha256: Sha256,
    uriEscapePath: true,
    // Signs exactly the headers it is given: x-amz-content-sha256 only when the request had it signed.
    applyChecksum: false,
  });
}
