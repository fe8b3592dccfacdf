/**
 * A simulated device's side of commands and the twin: it answers each command on its response
 * topic after a latency, succeeding, failing, rejecting or staying silent in configured shares,
 * and applies every desired-state delta it receives by reporting it back. What it decided per
 * command id is kept, so the run's accounting can hold the platform's statuses against it.
 */
import type { MqttClient } from 'mqtt';
import type { DeviceBundle } from '../../provisioning/device-bundle.js';

/** How simulated devices treat commands; the share left over by the three percentages stays silent. */
export interface CommandBehaviour {
  readonly successPercent: number;
  readonly failurePercent: number;
  readonly rejectPercent: number;
  /** Mean delay before an answer; each answer takes 0.5x to 1.5x of it. */
  readonly latencyMs: number;
}

/** Defaults of `iotctl simulate --commands`. */
export const DEFAULT_COMMAND_BEHAVIOUR: CommandBehaviour = { successPercent: 90, failurePercent: 5, rejectPercent: 5, latencyMs: 50 };

/** What a device does with one command. */
export type CommandDecision = 'SUCCEEDED' | 'FAILED' | 'REJECTED' | 'SILENT';

/** Everything the fleet's devices did, shared by all their responders. */
export class ResponderTally {
  /** Decision per command id (a redelivered command keeps its first decision). */
  readonly decisions = new Map<string, CommandDecision>();
  /** State reports published in answer to a delta. */
  reports = 0;
  /** Answers or reports whose publish was not acknowledged. */
  publishFailures = 0;
  private readonly pending = new Set<Promise<void>>();

  track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Resolves once every answer scheduled so far has been published (or failed). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

/** Draws one decision from the behaviour's shares. */
export function decide(behaviour: CommandBehaviour, random: () => number): CommandDecision {
  const roll = random() * 100;
  if (roll < behaviour.successPercent) return 'SUCCEEDED';
  if (roll < behaviour.successPercent + behaviour.failurePercent) return 'FAILED';
  if (roll < behaviour.successPercent + behaviour.failurePercent + behaviour.rejectPercent) return 'REJECTED';
  return 'SILENT';
}

const ANSWER_BODY: Record<Exclude<CommandDecision, 'SILENT'>, Record<string, unknown>> = {
  SUCCEEDED: { status: 'SUCCEEDED', result: { simulated: true } },
  FAILED: { status: 'FAILED', reason: 'simulated failure' },
  REJECTED: { status: 'REJECTED', reason: 'simulated rejection' },
};

/**
 * Subscribes the device to its command and delta topics and answers what arrives. Resolves once
 * both subscriptions are in place (queued commands and the current delta follow them).
 */
export async function attachResponder(
  client: MqttClient,
  bundle: DeviceBundle,
  options: { behaviour: CommandBehaviour; tally: ResponderTally; random: () => number },
): Promise<void> {
  const { behaviour, tally, random } = options;
  const { commands, delta, state } = bundle.manifest.topics;
  // Deltas can arrive out of order: one older than a delta already applied would report stale values.
  let appliedVersion = -1;
  const publish = (topic: string, body: unknown) =>
    client.publishAsync(topic, JSON.stringify(body), { qos: 1 }).then(
      () => undefined,
      () => {
        tally.publishFailures += 1;
      },
    );
  client.on('message', (topic, payload) => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      return;
    }
    if (topic === commands && typeof body.id === 'string' && typeof body.responseTopic === 'string') {
      const id = body.id;
      const decision = tally.decisions.get(id) ?? decide(behaviour, random);
      tally.decisions.set(id, decision);
      if (decision === 'SILENT') return;
      const delay = behaviour.latencyMs * (0.5 + random());
      const responseTopic = body.responseTopic;
      tally.track(new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() => publish(responseTopic, { v: 1, id, ...ANSWER_BODY[decision] })));
    } else if (topic === delta && body.delta && typeof body.delta === 'object' && typeof body.version === 'number') {
      if (body.version <= appliedVersion) return;
      appliedVersion = body.version;
      // Applying the desired state is instant here: report exactly what was asked for.
      tally.reports += 1;
      tally.track(publish(state, { v: 1, reported: body.delta }));
    }
  });
  await client.subscribeAsync([commands, delta], { qos: 1 });
}
