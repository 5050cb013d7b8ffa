import { randomUUID } from 'node:crypto';

import type { Logger } from '../logger.js';
import { SPEC_VERSION, type CloudEvent } from '../envelope/cloud-event.js';
import { encodeCloudEvent, type ContentMode } from '../envelope/wire-codec.js';
import type { Transport } from '../transport/transport.js';
import type { Telemetry, TelemetryEvent } from './telemetry.js';

/** CloudEvent type of the telemetry batches a bus publishes for inspectors. */
export const TELEMETRY_EVENT_TYPE = 'dev.cloudbus.telemetry';

/** Data of a telemetry batch event. */
export interface TelemetryBatch {
  readonly service: string;
  readonly records: readonly TelemetryEvent[];
  /** Records dropped since the previous batch because the transport could not take them in time. */
  readonly dropped?: number;
}

/** Options of telemetry publishing (`cloudbus({ publishTelemetry })`). */
export interface TelemetryPublishingOptions {
  /**
   * How often buffered records go out, in ms.
   * @default 250
   */
  readonly intervalMs?: number;
  /**
   * Records per batch event; a full buffer is sent at once.
   * @default 500
   */
  readonly maxBatch?: number;
  /**
   * Records kept while the transport cannot take them; older ones are dropped first (and counted
   * in the next batch's `dropped` field).
   * @default 10_000
   */
  readonly maxBuffered?: number;
  /**
   * How long `bus.stop()` waits for the last batch, in ms. Telemetry never holds up a shutdown: a
   * broker that does not answer, or MQTT with no inspector subscribed (the transport waits for a
   * subscriber to store a message), leaves the last batch unsent after this.
   * @default 2_000
   */
  readonly stopTimeoutMs?: number;
}

/**
 * Publishes the bus's telemetry over its own transport as `dev.cloudbus.telemetry` CloudEvents,
 * batched, so an inspector tapping the broker sees handler outcomes, retries and dead letters,
 * not only messages. Sent straight through the transport: no middleware, no telemetry of its
 * own (which would feed back into itself). Best effort: a failed send is retried with the next
 * batch, and never blocks or fails the application's work.
 */
export class TelemetryPublisher {
  readonly #buffer: TelemetryEvent[] = [];
  readonly #intervalMs: number;
  readonly #maxBatch: number;
  readonly #maxBuffered: number;
  readonly #stopTimeoutMs: number;
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(
    private readonly telemetry: Telemetry,
    private readonly transport: Transport,
    private readonly service: string,
    private readonly source: string,
    private readonly contentMode: ContentMode,
    private readonly logger: Logger,
    options: TelemetryPublishingOptions = {},
  ) {
    this.#intervalMs = options.intervalMs ?? 250;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#maxBuffered = options.maxBuffered ?? 10_000;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 2_000;
  }

  start(): void {
    this.#unsubscribe = this.telemetry.on((record) => {
      this.#buffer.push(record);
      if (this.#buffer.length > this.#maxBuffered) {
        this.#buffer.shift();
        this.#dropped++;
      }
      if (this.#buffer.length >= this.#maxBatch) this.#flushSoon(0);
      else this.#flushSoon(this.#intervalMs);
    });
  }

  /** Stops listening and sends what is buffered, waiting `stopTimeoutMs` at most (see {@link TelemetryPublishingOptions.stopTimeoutMs}). */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const flushed = (async () => {
      await this.#sending;
      await this.#send();
      return true;
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.#stopTimeoutMs)));
    const sent = await Promise.race([flushed, timedOut]);
    clearTimeout(timer);
    if (!sent) {
      this.logger.debug('telemetry: the last batch was not sent before stop', { records: this.#buffer.length, stopTimeoutMs: this.#stopTimeoutMs });
    }
  }

  #flushSoon(delayMs: number): void {
    if (this.#timer !== undefined && delayMs > 0) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#sending === undefined) {
        this.#sending = this.#send().finally(() => (this.#sending = undefined));
      } else {
        this.#flushSoon(this.#intervalMs);
      }
    }, delayMs);
  }

  async #send(): Promise<void> {
    while (this.#buffer.length > 0) {
      const records = this.#buffer.slice(0, this.#maxBatch);
      const data: TelemetryBatch = { service: this.service, records, ...(this.#dropped > 0 ? { dropped: this.#dropped } : {}) };
      const cloudEvent: CloudEvent = {
        specversion: SPEC_VERSION,
        id: randomUUID(),
        source: this.source,
        type: TELEMETRY_EVENT_TYPE,
        time: new Date().toISOString(),
        subject: this.service,
        datacontenttype: 'application/json',
        data,
      };
      try {
        await this.transport.publish([{ id: cloudEvent.id, type: cloudEvent.type, message: encodeCloudEvent(cloudEvent, this.contentMode) }]);
      } catch (error) {
        this.logger.debug('telemetry publishing failed; trying again with the next batch', { error: String(error) });
        return;
      }
      this.#buffer.splice(0, records.length);
      this.#dropped = 0;
    }
  }
}
