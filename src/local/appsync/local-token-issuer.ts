import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK, type JWTPayload, type CryptoKey } from 'jose';

/** Issuer name in every local token (the `iss` claim); stands in for the Cognito user pool URL. */
export const LOCAL_ISSUER = 'urn:iot-platform:local-cognito';
/** Audience of every local token (the `aud` claim); stands in for the user pool app client id. */
export const LOCAL_CLIENT_ID = 'iot-platform-local-client';
const ALG = 'ES256';

/** Where the issuer's key lives, relative to the local data directory. */
export const ISSUER_KEY_FILE = join('cognito', 'issuer-key.json');

/** The claims of a verified local token, as Cognito puts them in an ID token. */
export interface LocalTokenClaims extends JWTPayload {
  sub: string;
  'cognito:username': string;
  'cognito:groups': string[];
  token_use: 'id';
}

/** Options of {@link LocalTokenIssuer.issue}. */
export interface IssueOptions {
  readonly user: string;
  readonly groups: readonly string[];
  /** A duration from now such as '1h', '15m' or '-1m' (already expired). @default '1h' */
  readonly expiresIn?: string;
}

/**
 * The local stand-in for the Cognito user pool: signs ID-token-shaped JWTs with an ES256 key
 * and verifies them. The key is kept under the data directory so `iotctl token` and
 * `iotctl local` agree, or only in memory for ephemeral platforms and tests.
 */
export class LocalTokenIssuer {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
  ) {}

  private static processIssuer: Promise<LocalTokenIssuer> | undefined;

  /**
   * The one in-memory issuer of this process: an ephemeral platform verifies with it, and a
   * test in the same process signs with it. Nothing is written to disk.
   */
  static forProcess(): Promise<LocalTokenIssuer> {
    return (LocalTokenIssuer.processIssuer ??= LocalTokenIssuer.ephemeral());
  }

  /** An issuer with a fresh key that lives only in this object. */
  static async ephemeral(): Promise<LocalTokenIssuer> {
    const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
    return new LocalTokenIssuer(privateKey, publicKey);
  }

  /** The issuer whose key is stored under `dataDir` (created on first use, mode 0600). */
  static async fromDataDir(dataDir: string): Promise<LocalTokenIssuer> {
    const path = join(dataDir, ISSUER_KEY_FILE);
    let jwk: JWK;
    try {
      jwk = JSON.parse(await readFile(path, 'utf8')) as JWK;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const { privateKey } = await generateKeyPair(ALG, { extractable: true });
      jwk = await exportJWK(privateKey);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      // 'wx' so two processes starting at once keep the first key instead of overwriting it.
      await writeFile(path, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
        jwk = JSON.parse(await readFile(path, 'utf8')) as JWK;
      });
    }
    const privateKey = (await importJWK(jwk, ALG)) as CryptoKey;
    const { d: _d, ...publicJwk } = jwk;
    const publicKey = (await importJWK(publicJwk, ALG)) as CryptoKey;
    return new LocalTokenIssuer(privateKey, publicKey);
  }

  /** A signed token for `user` in `groups`. */
  async issue(options: IssueOptions): Promise<string> {
    // A stable sub per user name, as a user pool keeps one sub per user.
    const digest = createHash('sha256').update(options.user).digest('hex');
    const sub = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-8${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
    return new SignJWT({
      'cognito:username': options.user,
      'cognito:groups': [...options.groups],
      token_use: 'id',
      auth_time: Math.floor(Date.now() / 1000),
    })
      .setProtectedHeader({ alg: ALG, kid: 'local' })
      .setSubject(sub)
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_CLIENT_ID)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(options.expiresIn ?? '1h')
      .sign(this.privateKey);
  }

  /** The claims of a token this issuer signed; throws on a forged, foreign or expired token. */
  async verify(token: string): Promise<LocalTokenClaims> {
    const { payload } = await jwtVerify(token, this.publicKey, {
      algorithms: [ALG],
      issuer: LOCAL_ISSUER,
      audience: LOCAL_CLIENT_ID,
      requiredClaims: ['exp', 'sub'],
    });
    const groups = payload['cognito:groups'];
    return {
      ...payload,
      sub: payload.sub!,
      'cognito:username': String(payload['cognito:username'] ?? payload.sub),
      'cognito:groups': Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
      token_use: 'id',
    };
  }
}
