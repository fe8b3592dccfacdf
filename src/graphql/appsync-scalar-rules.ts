import { isIP } from 'node:net';

/**
 * AppSync's documented validation rules of its string scalars, free of graphql-js so the
 * resolver Lambda can use them without bundling a GraphQL engine.
 */

const OFFSET = '(?:Z|[+-]\\d{2}:\\d{2}(?::\\d{2})?)';
const TIME = '(\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.\\d{1,9})?)?';
const DATE = '(-?\\d{4,})-(\\d{2})-(\\d{2})';
const DATE_RE = new RegExp(`^${DATE}${OFFSET}?$`);
const TIME_RE = new RegExp(`^${TIME}${OFFSET}?$`);
const DATE_TIME_RE = new RegExp(`^${DATE}T${TIME}${OFFSET}$`);
// RFC 5322 is far wider; this is the practical subset AppSync accepts (local@domain.tld).
/** AWSEmail. */
export const EMAIL_RE = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
/** AWSPhone. */
export const PHONE_RE = /^\+?\d(?:[\s-]?\d){5,19}$/;

function validDate(year: string, month: string, day: string): boolean {
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1) return false;
  const y = Number(year);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  return d <= days;
}

function validTime(hours: string, minutes: string, seconds: string | undefined): boolean {
  return Number(hours) <= 23 && Number(minutes) <= 59 && (seconds === undefined || Number(seconds) <= 59);
}

/** Whether `value` is a valid AWSDate. */
export function isAwsDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  return !!m && validDate(m[1]!, m[2]!, m[3]!);
}

/** Whether `value` is a valid AWSTime. */
export function isAwsTime(value: string): boolean {
  const m = TIME_RE.exec(value);
  return !!m && validTime(m[1]!, m[2]!, m[3]);
}

/** Whether `value` is a valid AWSDateTime (offset required, seconds and fraction optional). */
export function isAwsDateTime(value: string): boolean {
  const m = DATE_TIME_RE.exec(value);
  return !!m && validDate(m[1]!, m[2]!, m[3]!) && validTime(m[4]!, m[5]!, m[6]);
}

/** Whether `value` is a valid AWSURL. */
export function isAwsUrl(value: string): boolean {
  try {
    const url = new URL(value);
    // AppSync: a scheme is required and the path may not contain "//".
    return url.protocol.length > 1 && !url.pathname.includes('//');
  } catch {
    return false;
  }
}

/** Whether `value` is a valid AWSIPAddress. */
export function isAwsIpAddress(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}
