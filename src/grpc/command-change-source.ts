/**
 * Command transitions for WatchCommands: one bus subscription to the command change topics
 * (where the change feed publishes every transition as CommandChange JSON), fanned out to the
 * open streams. Locally the bus is the embedded broker; on Fargate MQTT over WSS to IoT Core.
 */
import { CommandSequenceFilter } from '../commands/command-sequence-filter.js';
import { isCommandStatus } from '../commands/command.js';
import type { CommandChange } from '../commands/command-change.js';
import { isPaddedSequence } from '../domain/change-sequence.js';
import { COMMAND_CHANGE_TOPIC_FILTER, commandChangeTopic } from '../contracts/topics.js';
import type { MessageBus } from '../ports/message-bus.js';
import type { Logger } from '../ports/logger.js';

/** A live source of command transitions. */
export interface CommandChangeSource {
  /** Calls `listener` for every transition from now on; returns a function that stops it. */
  subscribe(listener: (change: CommandChange) => void): () => void;
  close(): Promise<void>;
}

/** Subscribes to the command change topics on `bus`; a payload that is not a CommandChange is logged and dropped. */
export async function subscribeToCommandChanges(bus: MessageBus, log: Logger): Promise<CommandChangeSource> {
  const listeners = new Set<(change: CommandChange) => void>();
  // The change feed publishes at least once: streams get each transition once.
  const relayed = new CommandSequenceFilter();
  const close = await bus.subscribe(COMMAND_CHANGE_TOPIC_FILTER, (topic, payload) => {
    const change = decode(topic, payload);
    if (!change) {
      log.warn('dropped a message that is not a command change', { topic, bytes: payload.length });
      return;
    }
    if (!relayed.accept(change)) return;
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (error) {
        log.error('command watch listener failed', { error: String(error) });
      }
    }
  });
  return {
    subscribe(listener) {
      const entry = (change: CommandChange): void => listener(change);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    close,
  };
}

function decode(topic: string, payload: Buffer): CommandChange | undefined {
  try {
    const change = JSON.parse(payload.toString('utf8')) as CommandChange;
    const command = change?.command;
    if (typeof command?.id !== 'string' || typeof command.deviceId !== 'string' || !isCommandStatus(command.status)) return undefined;
    if (topic !== commandChangeTopic(command.deviceId) || typeof change.changedAt !== 'string' || !isPaddedSequence(change.sequence)) return undefined;
    return change;
  } catch {
    return undefined;
  }
}
