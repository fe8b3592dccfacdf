import { accessSync, constants, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string>;
}
interface Job {
  readonly needs?: string | string[];
  readonly if?: string;
  readonly environment?: string | { name: string };
  readonly permissions?: Record<string, string>;
  readonly steps: Step[];
}
interface Workflow {
  readonly on: Record<string, { branches?: string[] } | null>;
  readonly permissions?: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

const root = new URL('../../', import.meta.url);
const workflow = (name: string): Workflow => parse(readFileSync(new URL(`.github/workflows/${name}`, root), 'utf8')) as Workflow;
const runs = (job: Job): string[] => job.steps.flatMap((step) => (step.run ? [step.run] : []));

describe('CI workflow', () => {
  const ci = workflow('ci.yml');

  it('runs on pull requests and on pushes to main', () => {
    // Assess
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(['pull_request', 'push']));
    expect(ci.on.push?.branches).toEqual(['main']);
  });

  it('runs .ci/run, which is executable, with read-only repository access', () => {
    // Act
    const commands = Object.values(ci.jobs).flatMap(runs);

    // Assess
    expect(commands).toContain('.ci/run');
    expect(() => accessSync(new URL('.ci/run', root), constants.X_OK)).not.toThrow();
    expect(ci.permissions).toEqual({ contents: 'read' });
  });
});

describe('deploy workflow', () => {
  const deploy = workflow('deploy.yml');
  const job = deploy.jobs.deploy!;

  it('deploys only main, only after .ci/run passed', () => {
    // Assess
    expect(deploy.on.push?.branches).toEqual(['main']);
    expect(job.if).toBe("github.ref == 'refs/heads/main'");
    const needs = [job.needs].flat();
    expect(needs).toHaveLength(1);
    expect(runs(deploy.jobs[needs[0]!]!)).toContain('.ci/run');
  });

  it('waits for a manual approval of the production environment', () => {
    // Assess
    expect(typeof job.environment === 'string' ? job.environment : job.environment?.name).toBe('production');
  });

  it('assumes an AWS role through OIDC, with no stored keys', () => {
    // Prepare
    const credentials = job.steps.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));

    // Assess
    expect(job.permissions).toMatchObject({ 'id-token': 'write', contents: 'read' });
    expect(credentials?.with?.['role-to-assume']).toBe('${{ vars.AWS_DEPLOY_ROLE_ARN }}');
    expect(Object.keys(credentials?.with ?? {})).not.toEqual(expect.arrayContaining(['aws-access-key-id']));
    expect(JSON.stringify(deploy)).not.toMatch(/secrets\.AWS_(ACCESS|SECRET)/);
  });

  it('runs cdk deploy of the platform stack after assuming the role', () => {
    // Act
    const index = job.steps.findIndex((step) => step.run?.includes('cdk deploy'));
    const credentials = job.steps.findIndex((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));

    // Assess
    expect(index).toBeGreaterThan(credentials);
    expect(job.steps[index]!.run).toMatch(/^npx cdk deploy IotPlatform --require-approval never/);
  });
});
