/**
 * Timeouts, enforced on time by a scheduler (a one-minute schedule in the cloud, a one-second
 * timer locally) over the index of deadlines, never by DynamoDB TTL, which can lag for days.
 * Each TIMED_OUT is one conditional write that only succeeds once the deadline has passed and
 * while the command is not final, so a sweep racing an answer or another sweep records it once.
 */
import { isTerminal, type Command } from './command.js';
import type { CommandRepository } from '../ports/command-repository.js';

/**
 * Records TIMED_OUT for `command`, as its caller just read it, once its deadline is at or before
 * `at`; undefined when it was final or not yet due (the write's own conditions decide).
 */
export async function timeOutCommand(commands: Pick<CommandRepository, 'transition'>, command: Command, at: string): Promise<Command | undefined> {
  if (isTerminal(command.status)) return undefined;
  const reason = command.sentAt ? `no final answer within ${command.timeoutSeconds} s of delivery` : 'the device did not connect before expiresAt';
  return commands.transition(command.id, { to: 'TIMED_OUT', at, afterDeadline: true, statusReason: reason });
}
