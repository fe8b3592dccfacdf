import type { AppSyncIdentity } from 'aws-lambda';
import type { ApiGroup } from '../contracts/groups.js';
import { UnauthorizedError } from '../domain/errors.js';

/** The Cognito groups of a caller, or undefined when the caller is not a user pool user. */
export function cognitoGroups(identity: AppSyncIdentity | null | undefined): string[] | undefined {
  if (!identity || !('sub' in identity) || !('claims' in identity) || !('groups' in identity)) return undefined;
  const fromField = identity.groups;
  if (Array.isArray(fromField)) return fromField;
  const fromClaims = (identity.claims as Record<string, unknown> | undefined)?.['cognito:groups'];
  return Array.isArray(fromClaims) ? fromClaims.filter((g): g is string => typeof g === 'string') : [];
}

/**
 * Defence in depth behind AppSync's own directive check: a resolver refuses callers outside
 * `allowed`, so a schema edit that loosens a directive cannot open a write by itself.
 */
export function requireGroup(identity: AppSyncIdentity | null | undefined, allowed: readonly ApiGroup[], action: string): void {
  const groups = cognitoGroups(identity);
  if (!groups) throw new UnauthorizedError(`Not Authorized to ${action}: a user pool user is required`);
  if (!groups.some((g) => (allowed as readonly string[]).includes(g))) {
    throw new UnauthorizedError(`Not Authorized to ${action}: requires group ${allowed.join(' or ')}`);
  }
}
