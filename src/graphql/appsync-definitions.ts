/**
 * What AppSync declares implicitly for every schema. The schema file uses these without
 * declaring them (AppSync rejects a schema that redeclares them), so every local consumer
 * (the local server, codegen, the contract test) prepends this SDL before parsing.
 */
export const APPSYNC_SCALAR_NAMES = [
  'AWSDate',
  'AWSTime',
  'AWSDateTime',
  'AWSTimestamp',
  'AWSEmail',
  'AWSJSON',
  'AWSURL',
  'AWSPhone',
  'AWSIPAddress',
] as const;

/** One of AppSync's built-in scalar names. */
export type AppSyncScalarName = (typeof APPSYNC_SCALAR_NAMES)[number];

/** SDL of AppSync's built-in scalars and directives. */
export const APPSYNC_DEFINITIONS_SDL = `
${APPSYNC_SCALAR_NAMES.map((name) => `scalar ${name}`).join('\n')}
directive @aws_subscribe(mutations: [String!]!) on FIELD_DEFINITION
directive @aws_cognito_user_pools(cognito_groups: [String!]) on OBJECT | FIELD_DEFINITION
directive @aws_iam on OBJECT | FIELD_DEFINITION
directive @aws_api_key on OBJECT | FIELD_DEFINITION
directive @aws_oidc on OBJECT | FIELD_DEFINITION
directive @aws_lambda on OBJECT | FIELD_DEFINITION
directive @aws_auth(cognito_groups: [String!]) on FIELD_DEFINITION
`;
