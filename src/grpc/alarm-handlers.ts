/**
 * The alarm RPCs of DeviceService: each parses its request, calls one alarm use case and maps
 * the result, like the device handlers. The actor recorded for an operator's action is the
 * authenticated caller's id (a user's sub, or a machine client's id).
 */
import type { AlarmService } from '../alarms/alarm-service.js';
import type { DeviceServiceHandlers } from '../generated/proto/iot/device/v1/DeviceService.js';
import { fromProtoRule, fromProtoSeverity, fromProtoState, toProtoAlarm, toProtoRule, toProtoTransition } from './alarm-mapper.js';
import { guardUnary, type CallContext } from './call-guard.js';
import { fromInt64 } from './device-mapper.js';
import type { AlarmWatchHub } from './watch-alarms.js';

/** The alarm use cases the service calls. */
export type AlarmServicePort = Pick<
  AlarmService,
  'createRule' | 'getRule' | 'getRuleVersion' | 'listRules' | 'updateRule' | 'deleteRule' | 'listAlarms' | 'getAlarm' | 'history' | 'act' | 'activeBySeverity'
>;

/** Names of the alarm RPCs. */
export type AlarmRpc =
  | 'CreateAlarmRule'
  | 'GetAlarmRule'
  | 'ListAlarmRules'
  | 'UpdateAlarmRule'
  | 'DeleteAlarmRule'
  | 'ListAlarms'
  | 'GetAlarm'
  | 'AcknowledgeAlarm'
  | 'SnoozeAlarm'
  | 'DisableAlarm'
  | 'EnableAlarm'
  | 'WatchAlarms';


/** The alarm handlers. */
export function createAlarmHandlers(alarms: AlarmServicePort, context: CallContext, watch: AlarmWatchHub): Pick<DeviceServiceHandlers, AlarmRpc> {
  const paged = (n: number) => (n === 0 ? undefined : n);
  return {
    CreateAlarmRule: guardUnary(context, 'CreateAlarmRule', async (request, signal) => {
      const input = fromProtoRule(request.rule);
      signal.throwIfAborted();
      return toProtoRule(await alarms.createRule(input));
    }),
    GetAlarmRule: guardUnary(context, 'GetAlarmRule', async (request) => {
      const version = fromInt64(request.version, 'version');
      return toProtoRule(version === 0 ? await alarms.getRule(request.id) : await alarms.getRuleVersion(request.id, version));
    }),
    ListAlarmRules: guardUnary(context, 'ListAlarmRules', async () => ({ rules: (await alarms.listRules()).map(toProtoRule) })),
    UpdateAlarmRule: guardUnary(context, 'UpdateAlarmRule', async (request, signal) => {
      const input = fromProtoRule(request.rule);
      const version = fromInt64(request.rule?.version ?? '0', 'rule.version');
      signal.throwIfAborted();
      return toProtoRule(await alarms.updateRule(request.rule?.id, input, version === 0 ? undefined : version));
    }),
    DeleteAlarmRule: guardUnary(context, 'DeleteAlarmRule', async (request) => toProtoRule(await alarms.deleteRule(request.id))),
    ListAlarms: guardUnary(context, 'ListAlarms', async (request) => {
      const page = await alarms.listAlarms({
        ...(request._state && { state: fromProtoState(request.state) ?? request.state }),
        ...(request._severity && { severity: fromProtoSeverity(request.severity) ?? request.severity }),
        deviceId: request.deviceId,
        ruleId: request.ruleId,
        ...(paged(request.pageSize) && { limit: request.pageSize }),
        ...(request.pageToken && { pageToken: request.pageToken }),
      });
      return { alarms: page.items.map(toProtoAlarm), nextPageToken: page.nextPageToken ?? '' };
    }),
    GetAlarm: guardUnary(context, 'GetAlarm', async (request) => {
      const alarm = await alarms.getAlarm(request.id);
      const history = await alarms.history(request.id, paged(request.historyPageSize), request.historyPageToken || undefined);
      return { alarm: toProtoAlarm(alarm), history: history.items.map(toProtoTransition), nextHistoryPageToken: history.nextPageToken ?? '' };
    }),
    AcknowledgeAlarm: guardUnary(context, 'AcknowledgeAlarm', async (request, signal) => {
      signal.throwIfAborted();
      return toProtoAlarm(await alarms.act(request.id, { kind: 'ACKNOWLEDGE', ...(request.note && { note: request.note }) }, signal.caller));
    }),
    SnoozeAlarm: guardUnary(context, 'SnoozeAlarm', async (request, signal) => toProtoAlarm(await alarms.act(request.id, { kind: 'SNOOZE', seconds: request.seconds, ...(request.note && { note: request.note }) }, signal.caller))),
    DisableAlarm: guardUnary(context, 'DisableAlarm', async (request, signal) => toProtoAlarm(await alarms.act(request.id, { kind: 'DISABLE' }, signal.caller))),
    EnableAlarm: guardUnary(context, 'EnableAlarm', async (request, signal) => toProtoAlarm(await alarms.act(request.id, { kind: 'ENABLE' }, signal.caller))),
    WatchAlarms: watch.handle,
  };
}
