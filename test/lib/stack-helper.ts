/**
 * Builds CDK stacks for unit tests quickly: template validation off and Lambda bundling
 * skipped, so a stack synthesizes in well under a second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { PlatformStack, type PlatformStackProps } from '../../lib/platform-stack.js';

/** Handler used by construct tests that must not depend on a real Lambda entry point. */
export const FIXTURE_HANDLER = 'test/lib/fixtures/handler.ts';

/**
 * Where this test process's apps synthesize. An App without an outdir makes a temp cdk.out
 * directory of its own (about 25 MB: the stack stages the AWS CLI layer) and never removes it;
 * thousands of them filled the disk of a shared machine. One directory per test file, removed
 * after the file's tests (a process 'exit' hook would not run: vitest ends its workers with a
 * signal).
 */
const outRoot = mkdtempSync(join(tmpdir(), 'cdk-test-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));
let apps = 0;

/** An app with template validation off and bundling skipped for every stack. */
export function testApp(context: Record<string, unknown> = {}): App {
  process.env.CDK_VALIDATION = 'false';
  apps += 1;
  return new App({ outdir: join(outRoot, String(apps)), context: { 'aws:cdk:bundling-stacks': [], ...context } });
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
