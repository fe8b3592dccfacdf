/**
 * Presigned `wss://<endpoint>/mqtt` URL for MQTT over WebSockets to AWS IoT Core, signed with
 * SigV4 (service `iotdevicegateway`). As AWS IoT requires, the session token of temporary
 * credentials (the Fargate task role's) is appended after signing, not signed.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import { Sha256 } from '../aws/sha256.js';

/** SigV4 service name of the IoT device gateway (MQTT, WebSockets). */
export const IOT_SIGNING_SERVICE = 'iotdevicegateway';

/** Inputs of {@link signIotWebSocketUrl}. */
export interface SignIotUrlInput {
  /** The account's IoT data endpoint host (`xxxx-ats.iot.<region>.amazonaws.com`). */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity;
  /** @default new Date() */
  readonly signingDate?: Date;
  /** @default 3600 (the URL only has to be valid while the connection is opened) */
  readonly expiresIn?: number;
}

/** The signed URL. */
export async function signIotWebSocketUrl(input: SignIotUrlInput): Promise<string> {
  const { sessionToken, ...longTerm } = input.credentials;
  const signer = new SignatureV4({
    service: IOT_SIGNING_SERVICE,
    region: input.region,
    credentials: { accessKeyId: longTerm.accessKeyId, secretAccessKey: longTerm.secretAccessKey },
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const signed = await signer.presign(
    { method: 'GET', protocol: 'wss:', hostname: input.endpoint, path: '/mqtt', headers: { host: input.endpoint }, query: {} },
    { expiresIn: input.expiresIn ?? 3600, ...(input.signingDate && { signingDate: input.signingDate }) },
  );
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const token = sessionToken ? `&X-Amz-Security-Token=${encodeURIComponent(sessionToken)}` : '';
  return `wss://${input.endpoint}/mqtt?${query}${token}`;
}
