/**
 * Certificate signing requests: the device keeps its private key and sends only a CSR. Before
 * anything signs one (the local CA, or AWS IoT's CreateCertificateFromCsr) it must carry a key
 * strong enough for a long-lived device identity and prove possession of that key (its
 * self-signature verifies).
 */
import 'reflect-metadata';
import { createPublicKey, webcrypto } from 'node:crypto';
import { Pkcs10CertificateRequest } from '@peculiar/x509';
import { ValidationError } from '../domain/errors.js';

/** A CSR that passed {@link parseCertificateRequest}. */
export interface CertificateRequest {
  /** The CSR as given (PEM). */
  readonly pem: string;
  /** The requested public key, SubjectPublicKeyInfo DER. */
  readonly publicKeySpki: Uint8Array;
  /** e.g. `RSA 3072` or `EC P-256`. */
  readonly keyDescription: string;
}

/** Minimum RSA modulus: NIST SP 800-57 retires anything shorter. */
export const MIN_RSA_BITS = 2048;
/** The curves AWS IoT Core accepts for device certificates (OpenSSL names to NIST names). */
const ALLOWED_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384' };

/** Parses and checks a PEM CSR; ValidationError (field `csr`) for garbage, a weak key or a bad signature. */
export async function parseCertificateRequest(pem: string, source = 'CSR'): Promise<CertificateRequest> {
  let request: Pkcs10CertificateRequest;
  try {
    request = new Pkcs10CertificateRequest(pem);
  } catch (error) {
    throw new ValidationError(`${source} is not a PEM certificate signing request: ${(error as Error).message}`, 'csr', { cause: error });
  }
  const publicKeySpki = new Uint8Array(request.publicKey.rawData);
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(publicKeySpki), format: 'der', type: 'spki' });
  } catch (error) {
    throw new ValidationError(`${source} carries an unreadable public key: ${(error as Error).message}`, 'csr', { cause: error });
  }
  const details = key.asymmetricKeyDetails ?? {};
  let keyDescription: string;
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new ValidationError(`${source}: RSA key of ${bits} bits is too weak (at least ${MIN_RSA_BITS})`, 'csr');
    keyDescription = `RSA ${bits}`;
  } else if (key.asymmetricKeyType === 'ec') {
    const curve = ALLOWED_CURVES[details.namedCurve ?? ''];
    if (!curve) throw new ValidationError(`${source}: EC curve ${details.namedCurve ?? 'unknown'} is not accepted (use P-256 or P-384)`, 'csr');
    keyDescription = `EC ${curve}`;
  } else {
    throw new ValidationError(`${source}: ${key.asymmetricKeyType ?? 'unknown'} keys are not accepted (use RSA >= ${MIN_RSA_BITS}, EC P-256 or P-384)`, 'csr');
  }
  let verified = false;
  try {
    verified = await request.verify(webcrypto as unknown as Parameters<Pkcs10CertificateRequest['verify']>[0]);
  } catch {
    verified = false;
  }
  // Without a valid self-signature nothing proves the requester holds the private key.
  if (!verified) throw new ValidationError(`${source}: the CSR's signature does not verify`, 'csr');
  return { pem, publicKeySpki, keyDescription };
}
