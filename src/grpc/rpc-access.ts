/**
 * Who may call which RPC. Human access tokens carry Cognito groups and get the rights those
 * groups have on the GraphQL API (admin reads and writes, viewer reads); machine tokens carry
 * resource-server scopes (`devices/read`, `devices/write`).
 */
import { DEVICES_SCOPES, type DeviceRight } from '../contracts/grpc-access.js';
import type { DeviceServiceHandlers } from '../generated/proto/iot/device/v1/DeviceService.js';
import { READ_GROUPS, WRITE_GROUPS } from '../contracts/groups.js';
import type { AccessTokenClaims } from './access-token-verifier.js';

/** The right each DeviceService RPC needs: a new RPC does not compile until it is listed here. */
export const RPC_RIGHTS: Readonly<Record<keyof DeviceServiceHandlers, DeviceRight>> = {
  CreateDevice: 'write',
  UpdateDevice: 'write',
  DeleteDevice: 'write',
  GetDevice: 'read',
  ListDevices: 'read',
  GetDeviceStats: 'read',
  WatchDevices: 'read',
  SendCommand: 'write',
  CancelCommand: 'write',
  UpdateDesiredState: 'write',
  GetCommand: 'read',
  ListCommands: 'read',
  WatchCommands: 'read',
  GetTwin: 'read',
  GetTelemetry: 'read',
  // Alarm rules and actions change the fleet's alarming: write, as on the GraphQL API (admin).
  CreateAlarmRule: 'write',
  UpdateAlarmRule: 'write',
  DeleteAlarmRule: 'write',
  AcknowledgeAlarm: 'write',
  SnoozeAlarm: 'write',
  DisableAlarm: 'write',
  EnableAlarm: 'write',
  GetAlarmRule: 'read',
  ListAlarmRules: 'read',
  ListAlarms: 'read',
  GetAlarm: 'read',
  WatchAlarms: 'read',
};

/** An authenticated caller of the gRPC door. */
export interface GrpcCaller {
  /** The user's `sub`, or the app client id of a machine caller: what every log line names. */
  readonly id: string;
  readonly kind: 'user' | 'client';
  readonly rights: ReadonlySet<DeviceRight>;
}

const GROUP_RIGHTS: ReadonlyArray<readonly [readonly string[], DeviceRight]> = [
  [READ_GROUPS, 'read'],
  [WRITE_GROUPS, 'write'],
];

/** The caller a verified access token describes. */
export function callerOf(claims: AccessTokenClaims): GrpcCaller {
  const rights = new Set<DeviceRight>();
  const groups = Array.isArray(claims['cognito:groups']) ? claims['cognito:groups'].filter((g): g is string => typeof g === 'string') : [];
  for (const [allowed, right] of GROUP_RIGHTS) if (groups.some((g) => allowed.includes(g))) rights.add(right);
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  for (const [right, scope] of Object.entries(DEVICES_SCOPES) as Array<[DeviceRight, string]>) if (scopes.includes(scope)) rights.add(right);
  // A client-credentials token has no username; its subject is the client id.
  const user = typeof claims.username === 'string';
  const id = user ? String(claims.sub) : String(claims.client_id ?? claims.sub);
  return { id, kind: user ? 'user' : 'client', rights };
}
