import { describe, expect, it } from 'vitest';
import { AuthRules, type Caller } from '../../../src/local/appsync/auth-rules.js';
import { buildSchemaFromSdl } from '../../../src/graphql/schema-source.js';

const rules = new AuthRules(buildSchemaFromSdl());
const user = (groups: string[]): Caller => ({ mode: 'cognito', username: 'u', sub: 's', groups, claims: {} });
const iam: Caller = { mode: 'iam', accessKeyId: 'K' };

describe('AuthRules from the schema directives', () => {
  it.each([
    ['admin', 'Mutation', 'createDevice', true],
    ['viewer', 'Mutation', 'createDevice', false],
    ['viewer', 'Query', 'devices', true],
    ['none', 'Query', 'devices', false],
    ['admin', 'Mutation', 'publishDeviceUpdate', false],
    ['viewer', 'Subscription', 'deviceUpdated', true],
    ['none', 'Device', 'name', true],
  ] as const)('a user in %s may call %s.%s: %s', (group, type, field, allowed) => {
    // Act / Assess
    expect(rules.allows(user(group === 'none' ? [] : [group]), type, field)).toBe(allowed);
  });

  it.each([
    ['Mutation', 'publishDeviceUpdate', true],
    ['DeviceChange', 'device', true],
    ['Device', 'metadata', true],
    ['Query', 'device', false],
    ['DeviceConnection', 'items', false],
    ['Subscription', 'deviceUpdated', false],
  ] as const)('an IAM caller may read %s.%s: %s', (type, field, allowed) => {
    // Act / Assess
    expect(rules.allows(iam, type, field)).toBe(allowed);
  });
});
