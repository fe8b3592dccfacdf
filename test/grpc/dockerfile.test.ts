import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// No Docker engine here: these check the Dockerfile against the files the bundle test builds
// (main.mjs, health-client.mjs) and the health check the CDK task definition runs.
const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const dockerignore = readFileSync(new URL('../../.dockerignore', import.meta.url), 'utf8');
const device = readFileSync(new URL('../../lib/device-service.ts', import.meta.url), 'utf8');

describe('Dockerfile', () => {
  it('runs the bundle on an arm64 distroless image as a non-root user', () => {
    const stages = dockerfile.split('\n').filter((l) => l.startsWith('FROM '));
    expect(stages).toHaveLength(2);
    expect(stages[1]).toMatch(/^FROM --platform=linux\/arm64 gcr\.io\/distroless\/nodejs\d+-debian\d+:nonroot$/);
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/nodejs\/bin\/node", "--enable-source-maps", "\/app\/main\.mjs"\]$/m);
  });

  it('checks health with the bundled health client, the same command the ECS task definition uses', () => {
    expect(dockerfile).toMatch(/^\s+CMD \["\/nodejs\/bin\/node", "\/app\/health-client\.mjs"\]$/m);
    expect(device).toContain("command: ['CMD', '/nodejs/bin/node', '/app/health-client.mjs']");
  });

  it('sends only what the build stage copies into the build context', () => {
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'scripts/build-grpc.ts', 'src/']) {
      expect(dockerignore).toContain(`!${path}`);
      expect(dockerfile).toContain(path.replace(/\/$/, ''));
    }
    expect(dockerignore.split('\n')).toContain('*');
  });
});
