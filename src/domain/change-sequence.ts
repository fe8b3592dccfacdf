/**
 * Sequence numbers of registry changes. DynamoDB Streams numbers are decimal strings of
 * varying length (21-40 digits); padding them to one width makes string order numeric
 * order, which is what a DynamoDB condition (`marker < :seq`) compares.
 */

/** Width of every DeviceChange.sequence. */
export const SEQUENCE_WIDTH = 48;

const DIGITS = /^[0-9]+$/;

/** `raw` (decimal digits) left-padded with zeros to SEQUENCE_WIDTH; throws on anything else. */
export function padSequence(raw: string | bigint | number): string {
  const digits = typeof raw === 'string' ? raw : BigInt(raw).toString();
  if (!DIGITS.test(digits)) throw new Error(`A change sequence must be decimal digits, got "${digits.slice(0, 60)}"`);
  const trimmed = digits.replace(/^0+(?=.)/, '');
  if (trimmed.length > SEQUENCE_WIDTH) throw new Error(`A change sequence must have at most ${SEQUENCE_WIDTH} digits, got ${trimmed.length}`);
  return trimmed.padStart(SEQUENCE_WIDTH, '0');
}

/** Whether `value` is a padded sequence as produced by padSequence. */
export function isPaddedSequence(value: unknown): value is string {
  return typeof value === 'string' && value.length === SEQUENCE_WIDTH && DIGITS.test(value);
}
