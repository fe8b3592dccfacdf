/**
 * The AWS SDK packages the Lambda bundles replace with the platform's lean clients, and the
 * module each is replaced with (paths relative to the repository root). PlatformFunction hands
 * this table to esbuild as aliases, and the vitest project `lean-aws` to vite, so the tests that
 * run the adapters through the lean clients run exactly what is deployed. An import the lean
 * module does not export fails the bundling, not a cold start. No imports here: vitest's config
 * reads this file too.
 */
export const LEAN_AWS_CLIENTS: Readonly<Record<string, string>> = {
  '@aws-sdk/client-dynamodb': 'src/adapters/aws/lean/dynamodb.ts',
  '@aws-sdk/lib-dynamodb': 'src/adapters/aws/lean/dynamodb-document.ts',
  '@aws-sdk/client-sqs': 'src/adapters/aws/lean/sqs.ts',
  '@aws-sdk/client-iot-data-plane': 'src/adapters/aws/lean/iot-data-plane.ts',
  '@aws-sdk/client-iot': 'src/adapters/aws/lean/iot.ts',
  '@aws-sdk/client-sns': 'src/adapters/aws/lean/sns.ts',
  '@aws-sdk/client-eventbridge': 'src/adapters/aws/lean/eventbridge.ts',
  '@aws-sdk/client-secrets-manager': 'src/adapters/aws/lean/secrets-manager.ts',
  '@aws-sdk/client-timestream-write': 'src/adapters/aws/lean/timestream-write.ts',
  '@aws-sdk/client-timestream-query': 'src/adapters/aws/lean/timestream-query.ts',
  '@aws-sdk/credential-provider-env': 'src/adapters/aws/lean/credential-provider-env.ts',
};
