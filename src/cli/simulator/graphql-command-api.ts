/** The simulator's {@link CommandApi} over the GraphQL door, with the admin token re-minted before it expires. */
import type { CommandStatus } from '../../commands/command.js';
import { graphqlClient, type GraphqlTarget } from '../graphql-client.js';
import type { CommandApi } from './command-driver.js';

const SEND = `mutation Send($input: SendCommandInput!) { sendCommand(input: $input) { id } }`;
const LIST = `query List($deviceId: ID!, $limit: Int, $nextToken: String) { commands(deviceId: $deviceId, limit: $limit, nextToken: $nextToken) { items { id status } nextToken } }`;
const DESIRE = `mutation Desire($deviceId: ID!, $patch: AWSJSON!) { updateDesiredState(deviceId: $deviceId, patch: $patch) { version } }`;
const TWIN = `query Twin($id: ID!) { device(id: $id) { twin { delta } } }`;
const STATUS = `query Status($id: ID!) { device(id: $id) { status } }`;

/** Minted local tokens live 5 minutes: a client older than this is replaced. */
const CLIENT_LIFETIME_MS = 4 * 60_000;

/** A CommandApi calling `target`. */
export function graphqlCommandApi(target: GraphqlTarget): CommandApi {
  let current: { at: number; client: Promise<Awaited<ReturnType<typeof graphqlClient>>> } | undefined;
  const gql = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    if (!current || Date.now() - current.at > CLIENT_LIFETIME_MS) current = { at: Date.now(), client: graphqlClient(target) };
    return (await current.client)<T>(query, variables);
  };
  return {
    async send(deviceId, timeoutSeconds) {
      const { sendCommand } = await gql<{ sendCommand: { id: string } }>(SEND, { input: { deviceId, name: 'simulated', payload: '{"simulated":true}', timeoutSeconds } });
      return sendCommand.id;
    },
    async statuses(deviceId, ids) {
      const found = new Map<string, CommandStatus>();
      let nextToken: string | null | undefined;
      do {
        const { commands } = await gql<{ commands: { items: { id: string; status: CommandStatus }[]; nextToken: string | null } }>(LIST, { deviceId, limit: 100, ...(nextToken && { nextToken }) });
        for (const item of commands.items) if (ids.has(item.id)) found.set(item.id, item.status);
        nextToken = commands.nextToken;
      } while (nextToken && found.size < ids.size);
      return found;
    },
    async desire(deviceId, patch) {
      await gql(DESIRE, { deviceId, patch: JSON.stringify(patch) });
    },
    async online(deviceId) {
      const { device } = await gql<{ device: { status: string } | null }>(STATUS, { id: deviceId });
      return device?.status === 'ONLINE';
    },
    async inSync(deviceId) {
      const { device } = await gql<{ device: { twin: { delta: string } } | null }>(TWIN, { id: deviceId });
      return device !== null && Object.keys(JSON.parse(device.twin.delta) as object).length === 0;
    },
  };
}
