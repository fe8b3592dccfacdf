import { createHash, timingSafeEqual } from 'node:crypto';
import { createAppSyncSigner, type AwsCredentials } from '../../adapters/appsync/sigv4-signer.js';

/** A request as the local server received it, for SigV4 verification. */
export interface SignedRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** Why a signature was refused (never shown with secrets). */
export class SignatureError extends Error {
  override readonly name = 'SignatureError';
}

const AUTH_RE =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
/** AWS refuses signatures more than 5 minutes off; so does the local server. */
const MAX_SKEW_MS = 5 * 60_000;

function header(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function parseAmzDate(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) throw new SignatureError('x-amz-date is malformed');
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/**
 * Verifies AppSync-style SigV4 requests against a fixed set of local credentials: the IAM
 * auth mode of the local server. It recomputes the signature with the SDK's SignatureV4 (the
 * publisher signs with the lean clients' own signer, so each checks the other) and checks the
 * body hash, the scope and the clock skew.
 */
export class LocalIamVerifier {
  private readonly byKeyId: Map<string, AwsCredentials>;

  constructor(
    credentials: readonly AwsCredentials[],
    private readonly region: string,
    private readonly now: () => number = Date.now,
  ) {
    this.byKeyId = new Map(credentials.map((c) => [c.accessKeyId, c]));
  }

  /** The access key id of a correctly signed request; SignatureError otherwise. */
  async verify(request: SignedRequest): Promise<string> {
    const authorization = header(request.headers, 'authorization') ?? '';
    const m = AUTH_RE.exec(authorization);
    if (!m) throw new SignatureError('Authorization is not a SigV4 signature');
    const [, keyId, day, region, service, signedHeaderList, signature] = m as unknown as string[];
    const credentials = this.byKeyId.get(keyId!);
    if (!credentials) throw new SignatureError('Unknown access key');
    if (service !== 'appsync' || region !== this.region) throw new SignatureError('Signature scope is not this API');
    const amzDate = header(request.headers, 'x-amz-date');
    if (!amzDate) throw new SignatureError('x-amz-date is missing');
    const signingDate = parseAmzDate(amzDate);
    if (!amzDate.startsWith(day!)) throw new SignatureError('Credential date does not match x-amz-date');
    if (Math.abs(this.now() - signingDate.getTime()) > MAX_SKEW_MS) throw new SignatureError('Signature expired');
    const signedNames = signedHeaderList!.split(';');
    if (!signedNames.includes('host')) throw new SignatureError('host must be signed');
    const bodyHash = createHash('sha256').update(request.body).digest('hex');
    const declaredHash = header(request.headers, 'x-amz-content-sha256');
    // The signer trusts a present x-amz-content-sha256, so the body must match it.
    if (declaredHash !== undefined && declaredHash !== bodyHash) throw new SignatureError('Body does not match its hash');
    const headers: Record<string, string> = {};
    for (const name of signedNames) {
      const value = header(request.headers, name);
      if (value === undefined) throw new SignatureError(`Signed header ${name} is missing`);
      headers[name] = value;
    }
    const host = headers.host!;
    const signer = createAppSyncSigner(this.region, credentials);
    const expected = await signer.sign(
      { method: request.method, protocol: 'http:', hostname: host.split(':')[0]!, path: request.path, query: {}, headers, body: request.body },
      { signingDate },
    );
    const expectedSig = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization))?.[1] ?? '';
    if (expectedSig.length !== signature!.length || !timingSafeEqual(Buffer.from(expectedSig), Buffer.from(signature!))) {
      throw new SignatureError('Signature does not match');
    }
    return keyId!;
  }
}
