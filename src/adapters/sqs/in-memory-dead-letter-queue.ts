import type { DeadLetter, DeadLetterQueue } from '../../ports/dead-letter.js';

/** Dead letters kept in memory: a test double and the local runtime's view of what was refused. */
export class InMemoryDeadLetterQueue implements DeadLetterQueue {
  readonly letters: DeadLetter[] = [];

  async send(letters: readonly DeadLetter[]): Promise<void> {
    this.letters.push(...letters);
  }
}
