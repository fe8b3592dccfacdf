/**
 * The alarms wing of the local platform (the stand-ins of the alarm-events Lambda's stream
 * mapping, the EventBridge schedule of the sweep Lambda and the EventBridge / SNS targets): the store over the local Alarms table, the use cases
 * the doors call, the evaluator the ingest handler calls, the Alarms stream consumer (the
 * cloud's alarm-events Lambda handler behind a local stream poller) and a timer in place of the
 * scheduled sweep Lambda. Transitions reach alarmUpdated and WatchAlarms (live publishers the
 * GraphQL and MQTT steps add) and `<dataDir>/alarm-events.jsonl` (in memory when ephemeral),
 * each exactly once.
 */
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbAlarmStore } from '../../adapters/dynamodb/alarm-store.js';
import { openAlarmEventsFile } from '../../adapters/local/json-lines-alarm-events.js';
import { AlarmEvaluation, cachedDeviceTypes } from '../../alarms/alarm-evaluation.js';
import { AlarmCommandActions, type AlarmCommandActionsDeps } from '../../alarms/alarm-command-action.js';
import { composeAlarmEventsFunction } from '../../functions/alarm-events-function.js';
import { lineLogger } from '../../adapters/logging/line-logger.js';
import type { AlarmNotification, AlarmPublisher } from '../../alarms/alarm-notification.js';
import { AlarmService } from '../../alarms/alarm-service.js';
import { SilenceSchedule, sweepAlarms } from '../../alarms/alarm-sweep.js';
import { DynamoDbDeviceSilenceSource } from '../../adapters/dynamodb/device-silence-source.js';
import { oncePerTransition } from '../../alarms/once-per-transition.js';
import { CachedRules } from '../../alarms/rule-cache.js';
import type { PageTokenCodec } from '../../domain/page-token.js';
import type { DeviceRepository } from '../../ports/device-repository.js';
import { StreamPoller } from '../event-source-mapping/stream-poller.js';
import { ALARM_STREAM_MAPPING } from '../../contracts/alarms.js';

/** Where the local stand-in of the EventBridge / SNS targets writes. */
export const alarmEventsFile = (dataDir: string): string => join(dataDir, 'alarm-events.jsonl');

/** How often the local sweep runs (no-data rules, ended snoozes): 5 s, so a developer sees them soon; the cloud runs it each minute. */
export const LOCAL_ALARM_SWEEP_MS = 5_000;

/** Options of {@link startLocalAlarms}. */
export interface LocalAlarmsOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly devices: DeviceRepository;
  /** The Devices table, whose index keys and silence attributes the sweep reads. */
  readonly devicesTableName: string;
  readonly pageTokens: PageTokenCodec;
  /** The command use case rules' command actions go through; rules send no commands when absent. */
  readonly commands?: AlarmCommandActionsDeps['commands'];
  /** Events file directory; events are kept in memory (`events`) when absent. */
  readonly dataDir?: string;
  /** @default LOCAL_ALARM_SWEEP_MS */
  readonly sweepIntervalMs?: number;
  readonly log?: (line: string) => void;
}

/** The running alarms wing. */
export interface LocalAlarms {
  readonly service: AlarmService;
  readonly evaluation: AlarmEvaluation;
  /** Events published to the notification targets so far (always kept; also in the file when there is one). */
  readonly events: readonly AlarmNotification[];
  /** Where the events file is, or undefined when ephemeral. */
  readonly eventsFile: string | undefined;
  /** Receives each captured record of the Alarms table (the change-capture proxy routes them here); resolves once it is in the stream (durable with a data directory). */
  capture(record: DynamoDBRecord): Promise<void>;
  /** Adds a live publisher (alarmUpdated, WatchAlarms); it receives each transition once. */
  addLive(publisher: AlarmPublisher): void;
  /** Runs one sweep now (the timer runs it every sweepIntervalMs). */
  sweep(): Promise<void>;
  /** Resolves when every captured record was handled. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the wing; the sweep timer starts at once. */
export async function startLocalAlarms(options: LocalAlarmsOptions): Promise<LocalAlarms> {
  const log = options.log ?? (() => undefined);
  const store = new DynamoDbAlarmStore(options.doc, options.tableName);
  const rules = new CachedRules(store);
  const evaluation = new AlarmEvaluation({ store, rules, deviceType: cachedDeviceTypes(async (id) => (await options.devices.get(id))?.type) });
  // Same process: a rule or alarm changed through a door, or by the sweep, is seen at the next batch, not after the cache age.
  const service = new AlarmService({
    store,
    pageTokens: options.pageTokens,
    devices: options.devices,
    onRulesChanged: () => rules.invalidate(),
    onAlarmChanged: (deviceId) => evaluation.forget(deviceId),
  });

  const events: AlarmNotification[] = [];
  const eventsFile = options.dataDir ? alarmEventsFile(options.dataDir) : undefined;
  const file = eventsFile ? await openAlarmEventsFile(eventsFile) : undefined;
  const notify: AlarmPublisher[] = [
    oncePerTransition({
      publish: async (n) => {
        await file?.publish(n);
        events.push(n);
      },
    }),
  ];
  const live: AlarmPublisher[] = [];
  const handler = composeAlarmEventsFunction({
    history: store,
    live,
    notify,
    ...(options.commands && { actions: new AlarmCommandActions({ rules: store, commands: options.commands }) }),
    logger: lineLogger('alarms', log, 'warn'),
  });
  // Durable like the change feed's: transitions captured but not yet published survive a kill and go out at the next start.
  const poller = new StreamPoller(handler, {
    ...(options.dataDir && { dir: join(options.dataDir, 'streams', 'alarms') }),
    maxRecordAgeMs: ALARM_STREAM_MAPPING.maxRecordAgeSeconds * 1000,
    onDiscard: (record: DynamoDBRecord, reason: string) => log(`alarms: gave up on ${record.dynamodb?.SequenceNumber}: ${reason}`),
    log,
  });
  await poller.recover();

  let sweeping: Promise<void> | undefined;
  const silence = new DynamoDbDeviceSilenceSource(options.doc, options.devicesTableName);
  const schedule = new SilenceSchedule();
  const sweep = () =>
    // ruleCacheMs 0: the ingest handler shares this process's rule cache, which a rule change clears at once.
    (sweeping ??= sweepAlarms({ store, rules, devices: silence, schedule, ruleCacheMs: 0, onTransition: (i) => evaluation.forget(i.deviceId) })
      .then((summary) => {
        if (summary.transitions > 0) log(`alarms: sweep made ${summary.transitions} transition(s)`);
      })
      .catch((error: unknown) => log(`alarms: sweep failed: ${(error as Error).message}`))
      .finally(() => {
        sweeping = undefined;
      }));
  const timer = setInterval(() => void sweep(), options.sweepIntervalMs ?? LOCAL_ALARM_SWEEP_MS);
  timer.unref();

  return {
    service,
    evaluation,
    events,
    eventsFile,
    capture: (record) => poller.push(record),
    addLive: (publisher) => live.push(oncePerTransition(publisher)),
    sweep,
    flush: () => poller.flush(),
    async stop() {
      clearInterval(timer);
      await sweeping;
      await poller.stop();
    },
  };
}
