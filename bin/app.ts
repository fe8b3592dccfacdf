/**
 * CDK app entry (`npx cdk synth|deploy`): builds the platform stack, environment-agnostic so
 * synth needs no credentials, behind the cdk-nag AwsSolutions gate: any unacknowledged finding
 * fails the synth.
 */
import { App } from 'aws-cdk-lib';
import { addComplianceChecks, PlatformStack } from '../lib/platform-stack.js';

const app = new App();
new PlatformStack(app, 'IotPlatform', {
  description: 'Serverless IoT device platform: registry, change feed, ingestion, GraphQL and gRPC doors',
});
addComplianceChecks(app);
app.synth();
