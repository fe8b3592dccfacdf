import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK, type JWTPayload, type CryptoKey } from 'jose';

/** Issuer name in every local token (the `iss` claim); stands in for the Cognito user pool URL. */
export const LOCAL_ISSUER = 'urn:iot-platform:local-cognito';
/** Audience of every local token (the `aud` claim); stands in for the user pool app client id. */
export const LOCAL_CLIENT_ID = 'iot-platform-local-client';
/** The local stand-in for the internal app client (client-credentials grant, resource-server scopes). */
export const LOCAL_MACHINE_CLIENT_ID = 'iot-platform-local-internal-client';
/** Every app client id whose tokens the local doors accept. */
export const LOCAL_CLIENT_IDS: readonly string[] = [LOCAL_CLIENT_ID, LOCAL_MACHINE_CLIENT_ID];
const ALG = 'ES256';
const KID = 'local';

/** Where the issuer's key lives, relative to the local data directory. */
export const ISSUER_KEY_FILE = join('cognito', 'issuer-key.json');

/** The claims of a verified local token (ID or access token), with the user name and groups normalised. */
export interface LocalTokenClaims extends JWTPayload {
  sub: string;
  'cognito:username': string;
  'cognito:groups': string[];
  token_use: 'id' | 'access';
}

/** Options of {@link LocalTokenIssuer.issue}. */
export interface IssueOptions {
  readonly user: string;
  readonly groups: readonly string[];
  /** A duration from now such as '1h', '15m' or '-1m' (already expired). @default '1h' */
  readonly expiresIn?: string;
  /**
   * `id` is shaped like a Cognito ID token (aud = client id, cognito:username); `access` like a
   * Cognito access token (client_id, username, scope), which the gRPC door requires as the
   * cloud's does. AppSync, and so the local GraphQL server, accepts both.
   * @default 'id'
   */
  readonly tokenUse?: 'id' | 'access';
}

/** Options of {@link LocalTokenIssuer.issueForClient}. */
export interface MachineTokenOptions {
  /** Resource-server scopes such as `devices/read`. */
  readonly scopes: readonly string[];
  /** @default '1h' */
  readonly expiresIn?: string;
  /** @default LOCAL_MACHINE_CLIENT_ID */
  readonly clientId?: string;
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
    /** The verification key as a JWK (kid and alg set), for verifiers that take a JWKS. */
    readonly publicJwk: JWK,
  ) {}

  private static async create(privateKey: CryptoKey, publicKey: CryptoKey): Promise<LocalTokenIssuer> {
    const { kty, crv, x, y } = await exportJWK(publicKey);
    return new LocalTokenIssuer(privateKey, publicKey, { kty, crv, x, y, kid: KID, alg: ALG, use: 'sig' } as JWK);
  }

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
    return LocalTokenIssuer.create(privateKey, publicKey);
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
    const publicKey = (await importJWK(publicJwk, ALG, { extractable: true })) as CryptoKey;
    return LocalTokenIssuer.create(privateKey, publicKey);
  }

  /** A signed token for `user` in `groups`. */
  async issue(options: IssueOptions): Promise<string> {
    // A stable sub per user name, as a user pool keeps one sub per user.
    const digest = createHash('sha256').update(options.user).digest('hex');
    const sub = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-8${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
    const common = { 'cognito:groups': [...options.groups], auth_time: Math.floor(Date.now() / 1000) };
    const jwt =
      options.tokenUse === 'access'
        ? new SignJWT({ ...common, token_use: 'access', client_id: LOCAL_CLIENT_ID, username: options.user, scope: 'aws.cognito.signin.user.admin' })
        : new SignJWT({ ...common, token_use: 'id', 'cognito:username': options.user }).setAudience(LOCAL_CLIENT_ID);
    return this.sign(jwt.setSubject(sub), options.expiresIn);
  }

  /**
   * An access token as Cognito's client-credentials grant returns it: the subject is the app
   * client, the rights are the `scope` claim, and there is no user or group.
   */
  async issueForClient(options: MachineTokenOptions): Promise<string> {
    const clientId = options.clientId ?? LOCAL_MACHINE_CLIENT_ID;
    const jwt = new SignJWT({ token_use: 'access', client_id: clientId, scope: options.scopes.join(' '), auth_time: Math.floor(Date.now() / 1000), version: 2 });
    return this.sign(jwt.setSubject(clientId), options.expiresIn);
  }

  private sign(jwt: SignJWT, expiresIn = '1h'): Promise<string> {
    return jwt
      .setProtectedHeader({ alg: ALG, kid: KID })
      .setIssuer(LOCAL_ISSUER)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(expiresIn)
      .sign(this.privateKey);
  }

  /**
   * The claims of an ID or access token this issuer signed; throws on a forged, foreign or
   * expired token, or one of an unknown app client.
   */
  async verify(token: string): Promise<LocalTokenClaims> {
    const { payload } = await jwtVerify(token, this.publicKey, {
      algorithms: [ALG],
      issuer: LOCAL_ISSUER,
      requiredClaims: ['exp', 'sub', 'token_use'],
    });
    const tokenUse = payload.token_use;
    const audience = tokenUse === 'id' ? payload.aud : tokenUse === 'access' ? payload.client_id : undefined;
    if (typeof audience !== 'string' || !LOCAL_CLIENT_IDS.includes(audience)) {
      throw Object.assign(new Error('token of an unknown client or token use'), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
    }
    const groups = payload['cognito:groups'];
    return {
      ...payload,
      sub: payload.sub!,
      'cognito:username': String(payload['cognito:username'] ?? payload.username ?? payload.sub),
      'cognito:groups': Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
      token_use: tokenUse as 'id' | 'access',
    };
  }
}
