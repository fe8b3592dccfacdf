/** Commands and twin ports for resolver tests that do not exercise them: any call fails the test loudly. */
import type { ResolverDeps } from '../../src/graphql/resolver-handler.js';

const unused = (): never => {
  throw new Error('this test does not expect commands or twin calls');
};

export const UNUSED_COMMANDS: ResolverDeps['commands'] = { send: unused, get: unused, list: unused, cancel: unused };
export const UNUSED_TWINS: ResolverDeps['twins'] = { get: unused, updateDesired: unused };
