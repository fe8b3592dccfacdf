/**
 * The local change feed: captured stream records → the events function composed as the events
 * Lambda composes it (stats counters, then every publisher) → live listeners. Publishers and listeners can be
 * added while the platform runs (the GraphQL and gRPC servers start after the feed).
 */
import type { DynamoDBRecord } from 'aws-lambda';
import type { CommandChange, CommandChangePublisher } from '../../commands/command-change.js';
import { CommandSequenceFilter } from '../../commands/command-sequence-filter.js';
import type { DeviceChange } from '../../domain/device-change.js';
import type { ChangePublisher, ChangeSource } from '../../ports/change-feed.js';
import type { StatsProjector } from '../../ports/stats.js';
import { DISCARDED_METRICS } from '../../adapters/metrics/discarded-metrics.js';
import { composeEventsFunction } from '../../functions/events-function.js';
import type { Logger } from '../../ports/logger.js';
import { StreamPoller, type StreamPollerOptions } from './stream-poller.js';

/** Options for {@link LocalChangeFeed}. */
export interface LocalChangeFeedOptions {
  readonly stats: StatsProjector;
  /** Batching and retry settings; the CDK-named defaults of stream-poller.ts otherwise. */
  readonly poller?: StreamPollerOptions;
  /** Where the events function logs (a failed record, before it is retried). @default nowhere */
  readonly logger?: Logger;
  /** Told about listener errors (a listener never fails delivery). */
  readonly onListenerError?: (error: unknown) => void;
}

const SILENT_LOGGER: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Local DynamoDB Streams consumer that also is a {@link ChangeSource}. */
export class LocalChangeFeed implements ChangeSource {
  private readonly publishers: ChangePublisher[] = [];
  private readonly commandPublishers: CommandChangePublisher[] = [];
  private readonly commandListeners = new Set<(change: CommandChange) => void>();
  /** Sequences handed to command listeners: a redelivered transition is not shown twice. */
  private readonly commandListened = new CommandSequenceFilter();
  private readonly listeners = new Set<(change: DeviceChange) => void>();
  /** Last sequence handed to listeners per device: a redelivered batch is not shown twice. */
  private readonly listened = new Map<string, string>();
  private readonly poller: StreamPoller;

  constructor(private readonly options: LocalChangeFeedOptions) {
    const toListeners: ChangePublisher = { publish: async (change) => this.notify(change) };
    // One stable publisher that reads the current list, so publishers added later are called too.
    const added: ChangePublisher = {
      publish: async (change) => {
        await Promise.all(this.publishers.map((publisher) => publisher.publish(change)));
      },
      // Each added publisher gets the batch as the events Lambda's would: whole, or change by change.
      publishTelemetryBatch: async (changes) => {
        await Promise.all(
          this.publishers.map(async (publisher) => {
            if (publisher.publishTelemetryBatch) await publisher.publishTelemetryBatch(changes);
            else for (const change of changes) await publisher.publish(change);
          }),
        );
      },
    };
    const commands: CommandChangePublisher = {
      publish: async (change) => {
        this.notifyCommand(change);
        await Promise.all(this.commandPublishers.map((publisher) => publisher.publish(change)));
      },
    };
    const handler = composeEventsFunction({
      stats: options.stats,
      publishers: [toListeners, added],
      commandPublishers: [commands],
      logger: options.logger ?? SILENT_LOGGER,
      metrics: DISCARDED_METRICS,
    });
    this.poller = new StreamPoller(handler, options.poller);
  }

  /** Receives one captured stream record (the change-capture proxy's `onRecord`); resolves once it is durable. */
  readonly capture = (record: DynamoDBRecord): Promise<void> => this.poller.push(record);

  /** Delivers the records a previous process captured but did not deliver; call before the first capture. */
  recover(): Promise<number> {
    return this.poller.recover();
  }

  /** Adds a publisher that gets every change from now on (at least once, like the events Lambda's). */
  addPublisher(publisher: ChangePublisher): void {
    this.publishers.push(publisher);
  }

  /** Adds a publisher that gets every command status transition from now on (at least once). */
  addCommandPublisher(publisher: CommandChangePublisher): void {
    this.commandPublishers.push(publisher);
  }

  /** Calls `listener` once for every command status transition from now on; returns the function that stops it. */
  subscribeCommands(listener: (change: CommandChange) => void): () => void {
    this.commandListeners.add(listener);
    return () => {
      this.commandListeners.delete(listener);
    };
  }

  /** Calls `listener` once for every change from now on; returns the function that stops it. */
  subscribe(listener: (change: DeviceChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves when every change captured so far was delivered (or given up on after retries). */
  flush(): Promise<void> {
    return this.poller.flush();
  }

  /** Delivers what is queued (bounded wait) and stops; returns how many records were left undelivered. */
  stop(drainMs?: number): Promise<number> {
    return this.poller.stop(drainMs);
  }

  private notifyCommand(change: CommandChange): void {
    if (!this.commandListened.accept(change)) return;
    for (const listener of this.commandListeners) {
      try {
        listener(change);
      } catch (error) {
        this.options.onListenerError?.(error);
      }
    }
  }

  private notify(change: DeviceChange): void {
    const last = this.listened.get(change.device.id);
    if (last !== undefined && last >= change.sequence) return;
    this.listened.set(change.device.id, change.sequence);
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.options.onListenerError?.(error);
      }
    }
  }
}
