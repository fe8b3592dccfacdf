/**
 * AWS IoT's live connectivity (GetThingConnectivityData, one call per thing) as the presence
 * reconciler's source of truth. Calls run with bounded concurrency, and throttling or a server
 * error is retried with exponential backoff and full jitter, so a fleet of thousands stays under
 * the API's request rate instead of failing the run. A thing IoT does not know, or one it keeps
 * refusing, is left out of the answer: the reconciler corrects only what IoT says is disconnected.
 */
import { GetThingConnectivityDataCommand, type IoTClient } from '@aws-sdk/client-iot';
import { mapSettled } from '../../concurrency/bounded-concurrency.js';
import type { Connectivity, ConnectivitySource } from '../../devices/presence-reconciler.js';

/** The IoT calls the source makes (the client, or a test's recorder). */
export type IotConnectivitySender = Pick<IoTClient, 'send'>;

/** Options of {@link IotConnectivitySource}. */
export interface IotConnectivityOptions {
  /** Calls in flight at once. @default 10 */
  readonly concurrency?: number;
  /** Attempts per thing when throttled or on a server error. @default 5 */
  readonly attempts?: number;
  /** First backoff ceiling; doubles per attempt, up to 5 s. @default 100 */
  readonly baseDelayMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
  /** @default Math.random */
  readonly random?: () => number;
  /** Told about each thing left out, with why. */
  readonly onSkipped?: (thingName: string, reason: string) => void;
}

const RETRIED = new Set(['ThrottlingException', 'ServiceUnavailableException', 'InternalFailureException', 'TooManyRequestsException']);

/** Thing connectivity through the IoT control plane. */
export class IotConnectivitySource implements ConnectivitySource {
  constructor(
    private readonly iot: IotConnectivitySender,
    private readonly options: IotConnectivityOptions = {},
  ) {}

  async connectivity(deviceIds: readonly string[]): Promise<ReadonlyMap<string, Connectivity>> {
    const observedAt = (this.options.clock ?? Date.now)();
    const answers = await mapSettled(deviceIds, this.options.concurrency ?? 10, (id) => this.one(id, observedAt));
    const truth = new Map<string, Connectivity>();
    answers.forEach((answer, index) => {
      const id = deviceIds[index]!;
      if (answer.status === 'fulfilled') {
        if (answer.value) truth.set(id, answer.value);
        return;
      }
      const error = answer.reason as { name?: string; message?: string };
      // Connectivity data needs fleet indexing with thing connectivity on: a setup error, not one device's.
      if (error.name === 'IndexNotReadyException' || error.name === 'InvalidRequestException') throw answer.reason;
      this.options.onSkipped?.(id, `${error.name ?? 'Error'}: ${error.message ?? ''}`);
    });
    return truth;
  }

  private async one(thingName: string, observedAt: number): Promise<Connectivity | undefined> {
    const attempts = this.options.attempts ?? 5;
    const random = this.options.random ?? Math.random;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const answer = await this.iot.send(new GetThingConnectivityDataCommand({ thingName }));
        if (answer.connected === undefined) return undefined;
        // When IoT says when the connection changed, that is the truth's time; an event after it wins.
        const at = answer.timestamp?.getTime() ?? observedAt;
        return { connected: answer.connected, at, ...(answer.disconnectReason && answer.disconnectReason !== 'NONE' && { disconnectReason: answer.disconnectReason }) };
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        if (name === 'ResourceNotFoundException') {
          this.options.onSkipped?.(thingName, 'no such thing in IoT');
          return undefined;
        }
        if (!RETRIED.has(name) || attempt >= attempts) throw error;
        const ceiling = Math.min(5_000, (this.options.baseDelayMs ?? 100) * 2 ** (attempt - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * ceiling)));
      }
    }
  }
}
