/**
 * Verification of the bearer tokens the gRPC door accepts: Cognito ACCESS tokens (of a human
 * user or of a machine client using the client-credentials grant), checked by aws-jwt-verify for
 * signature (JWKS fetched once and cached), algorithm, issuer, `token_use`, client id and expiry.
 * The cloud verifies against the stack's user pool; the local platform against the local
 * issuer's key, with the same library and the same claim checks.
 */
import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import { FetchError, JwtExpiredError } from 'aws-jwt-verify/error';
import { SimpleJwksCache, type Jwk } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';

/** The verified claims of an access token. */
export type AccessTokenClaims = JwtPayload;

/** Verifies one token; rejects with {@link TokenRejectedError} or {@link TokenVerificationUnavailableError}. */
export type AccessTokenVerifier = (token: string) => Promise<AccessTokenClaims>;

/** The token is not one this door accepts; `reason` is safe to send back (it names no claim value). */
export class TokenRejectedError extends Error {
  constructor(
    readonly reason: 'expired' | 'invalid',
    options?: { cause?: unknown },
  ) {
    super(reason === 'expired' ? 'token expired' : 'token invalid', options);
    this.name = 'TokenRejectedError';
  }
}

/** The signing keys could not be fetched, so no token can be judged right now. */
export class TokenVerificationUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('token keys unavailable', options);
    this.name = 'TokenVerificationUnavailableError';
  }
}

function classify(error: unknown): Error {
  if (error instanceof FetchError) return new TokenVerificationUnavailableError({ cause: error });
  return new TokenRejectedError(error instanceof JwtExpiredError ? 'expired' : 'invalid', { cause: error });
}

/** Options of {@link cognitoAccessTokenVerifier}. */
export interface CognitoVerifierOptions {
  readonly userPoolId: string;
  readonly clientIds: readonly string[];
  /**
   * Where the user pool's JWKS is fetched instead of Cognito's own host, as the SDK honours
   * AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER (an emulator). The issuer checked stays Cognito's.
   * @default - https://cognito-idp.<region>.amazonaws.com
   */
  readonly endpointUrl?: string;
}

/** Access tokens of `userPoolId` issued to one of `clientIds`. */
export function cognitoAccessTokenVerifier(options: CognitoVerifierOptions): AccessTokenVerifier {
  const endpoint = options.endpointUrl?.replace(/\/+$/, '');
  const verifier = CognitoJwtVerifier.create(
    { userPoolId: options.userPoolId, tokenUse: 'access', clientId: [...options.clientIds] },
    endpoint ? { jwksCache: new SimpleJwksCache({ fetcher: endpointFetcher(endpoint) }) } : undefined,
  );
  return async (token) => {
    try {
      return await verifier.verify(token);
    } catch (error) {
      throw classify(error);
    }
  };
}

function endpointFetcher(endpoint: string) {
  return {
    async fetch(uri: string): Promise<ArrayBuffer> {
      const target = `${endpoint}${new URL(uri).pathname}`;
      const response = await fetch(target, { signal: AbortSignal.timeout(3_000) }).catch((error: unknown) => {
        throw new FetchError(target, error instanceof Error ? error.message : String(error));
      });
      if (!response.ok) throw new FetchError(target, `status ${response.status}`);
      return response.arrayBuffer();
    },
  };
}

/**
 * Access tokens signed with `jwk` by `issuer` for one of `clientIds`: the local issuer, or a
 * test's. The key is given, never fetched.
 */
export function localAccessTokenVerifier(options: { issuer: string; jwk: Jwk; clientIds: readonly string[] }): AccessTokenVerifier {
  const clientIds = [...options.clientIds];
  const verifier = JwtVerifier.create({
    issuer: options.issuer,
    audience: null,
    // Never fetched: the key is cached below and verifySync never goes to the network.
    jwksUri: 'https://local-issuer.invalid/.well-known/jwks.json',
    customJwtCheck: ({ payload }) => validateCognitoJwtFields(payload, { tokenUse: 'access', clientId: clientIds }),
  });
  verifier.cacheJwks({ keys: [options.jwk] });
  return async (token) => {
    try {
      return verifier.verifySync(token);
    } catch (error) {
      throw classify(error);
    }
  };
}
