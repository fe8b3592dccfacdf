/**
 * Builds CDK stacks for unit tests quickly: template validation off and Lambda bundling
 * skipped, so a stack synthesizes in well under a second.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PlatformStack, type PlatformStackProps } from '../../lib/platform-stack.js';

/** Handler used by construct tests that must not depend on a real Lambda entry point. */
export const FIXTURE_HANDLER = 'test/lib/fixtures/handler.ts';

/** An app with template validation off and bundling skipped for every stack. */
export function testApp(context: Record<string, unknown> = {}): App {
  process.env.CDK_VALIDATION = 'false';
  return new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
}

/** An empty stack in a fast test app, for testing one construct. */
export function testStack(context: Record<string, unknown> = {}): Stack {
  return new Stack(testApp(context), 'TestStack');
}

/** The platform stack and its template, built the way bin/app.ts builds it (minus cdk-nag and bundling). */
export function buildPlatformStack(
  options: { context?: Record<string, unknown>; props?: PlatformStackProps } = {},
): { stack: PlatformStack; template: Template } {
  const stack = new PlatformStack(testApp(options.context), 'IotPlatform', options.props);
  return { stack, template: Template.fromStack(stack) };
}
