import type { Buffer } from 'node:buffer';

import { Backoff, PublishError, TransportClosedError } from '@cloudbus/core/transport';
import type { IClientPublishOptions, MqttClient, Packet } from 'mqtt';

import type { PublishKind } from './mqtt-publisher.js';
import type { PublishOutcome } from './publish-batch.js';
import type { PublishWindow } from './publish-window.js';
import type { SubscriberTopics } from './subscriber-topics.js';

/** What every pending publish of one transport shares (one object per transport). */
export interface PublishContext {
  readonly client: MqttClient;
  readonly window: PublishWindow;
  readonly subscribers: SubscriberTopics;
  readonly publishTimeoutMs: number;
  readonly isClosed: () => boolean;
}

/**
 * One message on its way to the broker, holding a place in the publish window until it is stored or
 * given up. Published again (same payload, new packet id) after a doubling backoff while the broker
 * answers "No matching subscribers" for a topic that must have one (see {@link SubscriberTopics}),
 * until it is stored, its batch times out, the transport closes, or `publishTimeoutMs` passes (then
 * it fails with `PublishError`). Reports to its {@link PublishOutcome} by index: no promise per message.
 */
export class PendingPublish {
  /** Wait before publishing again a message the broker had no subscriber for; made on the first such answer. */
  #backoff: Backoff | undefined;
  #deadline = 0;

  constructor(
    private readonly context: PublishContext,
    private readonly topic: string,
    private readonly payload: Buffer,
    private readonly options: IClientPublishOptions,
    private readonly kind: PublishKind,
    private readonly outcome: PublishOutcome,
    private readonly index: number,
  ) {}

  send(): void {
    this.context.client.publish(this.topic, this.payload, this.options, this.#onAck);
  }

  #fail(error: Error): void {
    this.context.window.release();
    this.outcome.failed(this.index, error);
  }

  readonly #onAck = (error?: Error, packet?: Packet): void => {
    if (error !== undefined && error !== null) {
      this.#fail(error);
      return;
    }
    if (this.context.subscribers.stored(this.topic, this.kind, packet?.messageId)) {
      this.context.window.release();
      this.outcome.confirmed(this.index);
      return;
    }
    this.outcome.unrouted = true;
    if (this.#deadline === 0) this.#deadline = Date.now() + this.context.publishTimeoutMs;
    this.#backoff ??= new Backoff(50, 1_000);
    setTimeout(() => this.#retry(), this.#backoff.next());
  };

  #retry(): void {
    if (this.context.isClosed()) {
      this.#fail(new TransportClosedError('mqtt transport: closed while a message waited for a subscriber; it was not stored.'));
    } else if (this.outcome.abandoned) {
      this.#fail(new PublishError('mqtt transport: not published again, its batch timed out.', []));
    } else if (Date.now() >= this.#deadline) {
      this.#fail(
        new PublishError(
          `mqtt transport: the broker had no subscriber for ${this.topic} for ${this.context.publishTimeoutMs} ms, though it had before ` +
            `(are its consumers back after a broker restart?), and did not store the message. Publish it again.`,
          [],
        ),
      );
    } else {
      this.send();
    }
  }
}
