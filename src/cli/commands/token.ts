/**
 * `iotctl token`: prints a user pool token from the local issuer, for the local GraphQL server
 * (`Authorization` header, or graphql-ws connectionParams.Authorization).
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { API_GROUPS, type ApiGroup } from '../../contracts/groups.js';
import { LocalTokenIssuer } from '../../local/appsync/local-token-issuer.js';
import { stdoutLines, type LineWriter } from '../output.js';


/** Options of {@link issueLocalToken}. */
export interface TokenOptions {
  readonly user: string;
  readonly group: ApiGroup;
  /** e.g. '1h', '30m', '7d' */
  readonly expires: string;
  /** The data directory of `iotctl local` (the issuer's key lives there). */
  readonly dataDir: string;
}

/** Signs a token with the key of the platform that uses `dataDir`; that platform's server accepts it. */
export async function issueLocalToken(options: TokenOptions): Promise<string> {
  const issuer = await LocalTokenIssuer.fromDataDir(resolve(options.dataDir));
  return issuer.issue({ user: options.user, groups: [options.group], expiresIn: options.expires });
}

function parseUser(value: string): string {
  if (!/^[\w.@+-]{1,128}$/.test(value)) throw new InvalidArgumentError('use 1-128 letters, digits or . @ + - _');
  return value;
}

function parseDuration(value: string): string {
  if (!/^\d+\s*(s|m|h|d)$/.test(value)) throw new InvalidArgumentError('use a duration such as 30m, 1h or 7d');
  return value.replace(/\s+/g, '');
}

/** Adds `token` to `program`; `write` receives the token line (stdout by default). */
export function register(program: Command, write: LineWriter = stdoutLines): void {
  program
    .command('token')
    .description('print a token for the local GraphQL server, signed by the local issuer (the Cognito stand-in)')
    .requiredOption('--user <name>', 'user name (the token\'s cognito:username)', parseUser)
    .addOption(new Option('--group <group>', 'Cognito group: admin may do everything, viewer may read and subscribe').choices(API_GROUPS).makeOptionMandatory())
    .option('--expires <duration>', 'lifetime, e.g. 30m, 1h, 7d', parseDuration, '1h')
    .option('--data-dir <dir>', 'data directory of `iotctl local` (an --ephemeral platform only accepts tokens minted in its own process)', '.local')
    .action(async (options: TokenOptions) => {
      write(await issueLocalToken(options));
    });
}
