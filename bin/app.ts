/**
 * CDK app entry (`npx cdk synth|deploy`): builds the platform stack, environment-agnostic so
 * synth needs no credentials, and gates it with cdk-nag AwsSolutions: any unacknowledged
 * finding fails the synth.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PlatformStack } from '../lib/platform-stack.js';

const app = new App();
new PlatformStack(app, 'IotPlatform', {
  description: 'Serverless IoT device platform: registry, change feed, ingestion, GraphQL and gRPC doors',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
