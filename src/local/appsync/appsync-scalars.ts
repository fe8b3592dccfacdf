import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import type { AppSyncScalarName } from '../../graphql/appsync-definitions.js';
import { EMAIL_RE, PHONE_RE, isAwsDate, isAwsDateTime, isAwsIpAddress, isAwsTime, isAwsUrl } from '../../graphql/appsync-scalar-rules.js';

/**
 * AppSync's built-in scalars with AppSync's documented validation rules, so the local server
 * refuses exactly the inputs the deployed API refuses (before any resolver runs).
 */

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
