/**
 * Cognito groups of the API: the user pool creates them (lib/api.ts), the schema's
 * `@aws_cognito_user_pools` directives name them, the resolvers check them and the local
 * token issuer puts them in its tokens.
 */

/** Every group, each with what its members may do (the group description in Cognito). */
export const API_GROUP_DESCRIPTIONS = {
  admin: 'May do everything',
  viewer: 'May read and subscribe',
} as const;

/** A Cognito group of this API. */
export type ApiGroup = keyof typeof API_GROUP_DESCRIPTIONS;

/** Every group of the API, in creation order. */
export const API_GROUPS = Object.keys(API_GROUP_DESCRIPTIONS) as readonly ApiGroup[];

/** Groups allowed to read and subscribe. */
export const READ_GROUPS: readonly ApiGroup[] = ['admin', 'viewer'];

/** Groups allowed to change the registry. */
export const WRITE_GROUPS: readonly ApiGroup[] = ['admin'];
