import { createHash, createHmac, type BinaryLike } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** AWS credentials as SigV4 needs them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** SHA-256 (and HMAC-SHA-256 when given a secret) from node:crypto, in the shape SignatureV4 expects. */
class NodeSha256 {
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

  constructor(private readonly secret?: BinaryLike) {
    this.hash = this.fresh();
  }

  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}

/** A SigV4 signer for AppSync (service `appsync`), for the publisher and the local verifier alike. */
export function createAppSyncSigner(
  region: string,
  credentials: AwsCredentials | (() => Promise<AwsCredentials>),
): SignatureV4 {
  return new SignatureV4({
    service: 'appsync',
    region,
    credentials,
    sha256: NodeSha256 as unknown as ConstructorParameters<typeof SignatureV4>[0]["sha256"],
    uriEscapePath: true,
  });
}
