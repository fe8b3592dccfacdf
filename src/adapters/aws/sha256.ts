/**
 * SHA-256 and HMAC-SHA-256 for SigV4 signers, as the AWS SDK computes them on Node: Smithy's
 * node:crypto Hash, which the SDK clients in the bundle already carry.
 */
import { Hash } from '@smithy/core/serde';
import type { ChecksumConstructor } from '@smithy/types';

/** The checksum constructor SignatureV4 takes as `sha256`. */
export const Sha256: ChecksumConstructor = Hash.bind(null, 'sha256');
