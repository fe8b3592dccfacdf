import { isIP } from 'node:net';
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import type { AppSyncScalarName } from './appsync-definitions.js';

/**
 * AppSync's built-in scalars with AppSync's documented validation rules, so the local server
 * refuses exactly the inputs the deployed API refuses (before any resolver runs).
 */

const OFFSET = '(?:Z|[+-]\\d{2}:\\d{2}(?::\\d{2})?)';
const TIME = '(\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.\\d{1,9})?)?';
const DATE = '(-?\\d{4,})-(\\d{2})-(\\d{2})';
const DATE_RE = new RegExp(`^${DATE}${OFFSET}?$`);
const TIME_RE = new RegExp(`^${TIME}${OFFSET}?$`);
const DATE_TIME_RE = new RegExp(`^${DATE}T${TIME}${OFFSET}$`);
// RFC 5322 is far wider; this is the practical subset AppSync accepts (local@domain.tld).
const EMAIL_RE = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const PHONE_RE = /^\+?\d(?:[\s-]?\d){5,19}$/;

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

function isAwsDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  return !!m && validDate(m[1]!, m[2]!, m[3]!);
}

function isAwsTime(value: string): boolean {
  const m = TIME_RE.exec(value);
  return !!m && validTime(m[1]!, m[2]!, m[3]);
}

/** Whether `value` is a valid AWSDateTime (offset required, seconds and fraction optional). */
export function isAwsDateTime(value: string): boolean {
  const m = DATE_TIME_RE.exec(value);
  return !!m && validDate(m[1]!, m[2]!, m[3]!) && validTime(m[4]!, m[5]!, m[6]);
}

function isAwsUrl(value: string): boolean {
  try {
    const url = new URL(value);
    // AppSync: a scheme is required and the path may not contain "//".
    return url.protocol.length > 1 && !url.pathname.includes('//');
  } catch {
    return false;
  }
}

function isAwsIpAddress(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

function invalid(name: string, value: unknown): GraphQLError {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value) : String(value);
  return new GraphQLError(`Invalid ${name} value ${shown}`, { extensions: { errorType: 'ValidationError' } });
}

function stringScalar(name: AppSyncScalarName, check: (value: string) => boolean, description: string): GraphQLScalarType {
  const accept = (value: unknown): string => {
    if (typeof value !== 'string' || !check(value)) throw invalid(name, value);
    return value;
  };
  return new GraphQLScalarType({
    name,
    description,
    serialize: accept,
    parseValue: accept,
    parseLiteral(ast: ValueNode) {
      if (ast.kind !== Kind.STRING) throw invalid(name, 'kind' in ast ? `a ${ast.kind} literal` : ast);
      return accept(ast.value);
    },
  });
}

function parseJsonText(value: unknown): unknown {
  if (typeof value !== 'string') throw invalid('AWSJSON', value);
  try {
    return JSON.parse(value);
  } catch {
    throw invalid('AWSJSON', value);
  }
}

const awsTimestamp = new GraphQLScalarType({
  name: 'AWSTimestamp',
  description: 'Seconds since 1970-01-01T00:00Z (may be negative).',
  serialize(value) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid('AWSTimestamp', value);
    return value;
  },
  parseValue(value) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid('AWSTimestamp', value);
    return value;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.INT) throw invalid('AWSTimestamp', `a ${ast.kind} literal`);
    const value = Number(ast.value);
    if (!Number.isSafeInteger(value)) throw invalid('AWSTimestamp', ast.value);
    return value;
  },
});

const awsJson = new GraphQLScalarType({
  name: 'AWSJSON',
  description: 'A JSON document sent as a string; resolvers receive it parsed.',
  // Resolvers return plain values; AppSync sends them to clients as JSON text.
  serialize: (value) => (typeof value === 'string' ? value : JSON.stringify(value)),
  parseValue: parseJsonText,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw invalid('AWSJSON', `a ${ast.kind} literal`);
    return parseJsonText(ast.value);
  },
});

/** Every AppSync scalar, implemented with its AppSync validation rule. */
export const APPSYNC_SCALARS: Readonly<Record<AppSyncScalarName, GraphQLScalarType>> = {
  AWSDate: stringScalar('AWSDate', isAwsDate, 'Extended ISO 8601 date (YYYY-MM-DD), optional offset.'),
  AWSTime: stringScalar('AWSTime', isAwsTime, 'Extended ISO 8601 time (hh:mm[:ss[.sss]]), optional offset.'),
  AWSDateTime: stringScalar('AWSDateTime', isAwsDateTime, 'Extended ISO 8601 date-time with a required offset.'),
  AWSTimestamp: awsTimestamp,
  AWSEmail: stringScalar('AWSEmail', (v) => EMAIL_RE.test(v), 'An email address (local@domain).'),
  AWSJSON: awsJson,
  AWSURL: stringScalar('AWSURL', isAwsUrl, 'A URL with a scheme.'),
  AWSPhone: stringScalar('AWSPhone', (v) => PHONE_RE.test(v), 'A phone number; digits may be space- or hyphen-separated.'),
  AWSIPAddress: stringScalar('AWSIPAddress', isAwsIpAddress, 'An IPv4 or IPv6 address, optional CIDR prefix.'),
};
