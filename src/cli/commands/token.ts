/**
 * `iotctl token`: prints an access token from the local issuer (the Cognito stand-in), which both
 * local doors accept: GraphQL (`Authorization` header, or graphql-ws connectionParams.Authorization)
 * and gRPC (`authorization: Bearer <token>` metadata). A person's token carries a group
 * (`--user`, `--group`); a machine caller's carries resource-server scopes (`--scope`), as the
 * client-credentials grant of the stack's internal app client returns them.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEVICES_SCOPES } from '../../contracts/grpc-access.js';
import { API_GROUPS, type ApiGroup } from '../../contracts/groups.js';
import { LocalTokenIssuer } from '../../local/appsync/local-token-issuer.js';
import { stdoutLines, type LineWriter } from '../output.js';

const SCOPES: readonly string[] = Object.values(DEVICES_SCOPES);

/** Options of {@link issueLocalToken}: a user in a group, or a machine caller with scopes. */
export type TokenOptions = {
  /** e.g. '1h', '30m', '7d' */
  readonly expires: string;
  /** The data directory of `iotctl local` (the issuer's key lives there). */
  readonly dataDir: string;
} & ({ readonly user: string; readonly group: ApiGroup; readonly scope?: undefined } | { readonly scope: readonly string[]; readonly user?: undefined; readonly group?: undefined });

/** Signs an access token with the key of the platform that uses `dataDir`; that platform's doors accept it. */
export async function issueLocalToken(options: TokenOptions): Promise<string> {
  const issuer = await LocalTokenIssuer.fromDataDir(resolve(options.dataDir));
  if (options.scope) return issuer.issueForClient({ scopes: options.scope, expiresIn: options.expires });
  return issuer.issue({ user: options.user, groups: [options.group], expiresIn: options.expires, tokenUse: 'access' });
}

function parseUser(value: string): string {
  if (!/^[\w.@+-]{1,128}$/.test(value)) throw new InvalidArgumentError('use 1-128 letters, digits or . @ + - _');
  return value;
}

function parseDuration(value: string): string {
  if (!/^\d+\s*(s|m|h|d)$/.test(value)) throw new InvalidArgumentError('use a duration such as 30m, 1h or 7d');
  return value.replace(/\s+/g, '');
}

function parseScope(value: string, previous: string[] = []): string[] {
  if (!SCOPES.includes(value)) throw new InvalidArgumentError(`use ${SCOPES.join(' or ')}`);
  return [...previous, value];
}

interface RawOptions {
  readonly user?: string;
  readonly group?: ApiGroup;
  readonly scope?: string[];
  readonly expires: string;
  readonly dataDir: string;
}

/** Adds `token` to `program`; `write` receives the token line (stdout by default). */
export function register(program: Command, write: LineWriter = stdoutLines): void {
  program
    .command('token')
    .description('print an access token signed by the local issuer (the Cognito stand-in); the local GraphQL and gRPC doors accept it')
    .option('--user <name>', "a person's user name (the token's username); needs --group", parseUser)
    .addOption(new Option('--group <group>', 'Cognito group: admin may do everything, viewer may read and subscribe').choices(API_GROUPS))
    .option('--scope <scope>', `a machine caller's scope, repeatable (${SCOPES.join(', ')}); instead of --user/--group`, parseScope)
    .option('--expires <duration>', 'lifetime, e.g. 30m, 1h, 7d', parseDuration, '1h')
    .option('--data-dir <dir>', 'data directory of `iotctl local` (an --ephemeral platform only accepts tokens minted in its own process)', '.local')
    .action(async (options: RawOptions, command: Command) => {
      const { expires, dataDir } = options;
      if (options.scope) {
        if (options.user || options.group) command.error('error: --scope is for machine callers; leave out --user and --group');
        write(await issueLocalToken({ scope: options.scope, expires, dataDir }));
        return;
      }
      if (!options.user || !options.group) command.error('error: give --user and --group (a person), or --scope (a machine caller)');
      write(await issueLocalToken({ user: options.user, group: options.group, expires, dataDir }));
    });
}
