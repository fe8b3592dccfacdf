/** Where a door finds its page-token HMAC key: the value itself, or a Secrets Manager ARN. */
import { ConfigError, type ConfigReader } from '../config-reader.js';
import { VARIABLES } from './variables.js';

/** The key itself (PAGE_TOKEN_SECRET, local and tests) or the ARN of the secret that holds it (the cloud). */
export type PageTokenSecretSource = { readonly value: string } | { readonly arn: string };

/** Reads PAGE_TOKEN_SECRET, else PAGE_TOKEN_SECRET_ARN, which must be an ARN. */
export function readPageTokenSecretSource(read: ConfigReader): PageTokenSecretSource {
  const value = read.optional(VARIABLES.pageTokenSecret);
  if (value) return { value };
  const arn = read.optional(VARIABLES.pageTokenSecretArn);
  if (!arn) throw new ConfigError(VARIABLES.pageTokenSecret, `is required (or ${VARIABLES.pageTokenSecretArn} naming a Secrets Manager secret)`);
  if (!arn.startsWith('arn:')) throw new ConfigError(VARIABLES.pageTokenSecretArn, 'must be a Secrets Manager ARN');
  return { arn };
}
