import type { Buffer } from 'node:buffer';

import { PublishError, TransportClosedError } from '@cloudbus/core';
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';

import { closeChannel, type ClosingSteps } from './closing-steps.js';
import type { ResolvedRabbitMqOptions } from './rabbitmq-transport-options.js';

/** One message to publish on the confirm channel. */
export interface PublishItem {
  /** CloudEvent id, reported in `PublishError.unconfirmed`. */
  readonly id: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly properties: Options.Publish;
}

/** A batch being published: resolves when every message is confirmed, rejects listing those that were not. */
class Batch {
  next = 0;
  remaining: number;
  /** Failures of messages never written to the channel. */
  unsent = 0;
  readonly failed: string[] = [];
  cause: unknown;

  constructor(
    readonly items: readonly PublishItem[],
    readonly resolve: () => void,
    readonly reject: (error: Error) => void,
  ) {
    this.remaining = items.length;
  }

  settle(id: string, error: unknown): void {
    if (error !== null && error !== undefined) {
      this.failed.push(id);
      this.cause ??= error;
    }
    if (--this.remaining > 0) return;
    if (this.failed.length === 0) {
      this.resolve();
      return;
    }
    const reason = this.cause instanceof Error ? this.cause.message : String(this.cause);
    const what =
      this.unsent === this.failed.length
        ? `${this.failed.length} of ${this.items.length} message(s) were not published (${reason})`
        : `the broker did not confirm ${this.failed.length} of ${this.items.length} message(s) (${reason}); some may have been stored`;
    this.reject(
      new PublishError(
        `rabbitmq transport: ${what}. Publish them again (consumers must tolerate duplicates).`,
        this.failed,
        { cause: this.cause },
      ),
    );
  }

  /** Items not written to the channel yet fail with `error`. */
  failUnsent(error: unknown): void {
    while (this.next < this.items.length) {
      this.unsent++;
      this.settle(this.items[this.next++]!.id, error);
    }
  }
}

/** A batch waiting for the connection to come back. */
interface HeldBatch {
  readonly batch: Batch;
  readonly timer: NodeJS.Timeout;
}

/**
 * Publishes through one confirm channel per connection. A batch resolves when the broker has
 * confirmed each message, and rejects with `PublishError` (listing the ids) on a nack or when the
 * channel or connection is lost first. While there is no channel, batches are held (up to
 * `publishBufferSize` messages, `publishBufferTimeoutMs` each), then sent in order on the next one.
 * Socket backpressure is respected: writing pauses until the channel drains.
 */
export class RabbitMqPublisher {
  readonly #options: ResolvedRabbitMqOptions;
  readonly #closing: ClosingSteps;
  #channel: ConfirmChannel | undefined;
  /** The connection of {@link #channel}. */
  #model: ChannelModel | undefined;
  #lastError: unknown;
  /** Batches with messages not yet written, in order. */
  #sending: Batch[] = [];
  #waitingForDrain = false;
  #held: HeldBatch[] = [];
  #heldCount = 0;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #closed = false;

  constructor(options: ResolvedRabbitMqOptions, closing: ClosingSteps) {
    this.#options = options;
    this.#closing = closing;
  }

  /**
   * Opens the confirm channel on a new connection, then sends what was held. `isLive` tells whether
   * the connection is still open and in use (or being set up): a channel that closes on a live
   * connection is reopened on it.
   */
  async attach(model: ChannelModel, isLive: () => boolean): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: unknown) => {
      this.#lastError = error;
    });
    channel.once('close', () => this.#onChannelClose(channel, model, isLive));
    this.#channel = channel;
    this.#model = model;
    this.#flushHeld();
  }

  /** Publishes a batch; see the class comment for what the promise means. */
  publish(items: readonly PublishItem[]): Promise<void> {
    if (this.#closed) return Promise.reject(new TransportClosedError('rabbitmq transport: cannot publish after close().'));
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#inFlight++;
      const batch = new Batch(
        items,
        () => this.#done(resolve),
        (error) => this.#done(() => reject(error)),
      );
      if (this.#channel === undefined) this.#hold(batch);
      else {
        this.#sending.push(batch);
        this.#pump();
      }
    });
  }

  /**
   * Rejects what is held, waits (until `deadline` at most) for the confirms of batches in flight,
   * then closes the channel (until `deadline` at most). Never rejects; batches still unconfirmed
   * are rejected when the connection closes.
   */
  async close(deadline: number): Promise<void> {
    this.#closed = true;
    const held = this.#held;
    this.#held = [];
    this.#heldCount = 0;
    for (const { batch, timer } of held) {
      clearTimeout(timer);
      batch.failUnsent(new TransportClosedError('rabbitmq transport: closed before the connection came back.'));
    }
    const channel = this.#channel;
    const model = this.#model;
    if (channel === undefined || model === undefined) return;
    if (this.#inFlight > 0) {
      const idle = new Promise<void>((resolve) => (this.#idle = resolve));
      await this.#closing.wait(model, idle, deadline);
    }
    // #onChannelClose rejects what is still unconfirmed once the channel is closed.
    await this.#closing.wait(model, closeChannel(channel), deadline);
  }

  #done(settle: () => void): void {
    settle();
    if (--this.#inFlight === 0) this.#idle?.();
  }

  #pump(): void {
    const channel = this.#channel;
    if (channel === undefined || this.#waitingForDrain) return;
    const sending = this.#sending;
    while (sending.length > 0) {
      const batch = sending[0]!;
      const items = batch.items;
      while (batch.next < items.length) {
        const item = items[batch.next++]!;
        let settled = false;
        let writable: boolean;
        try {
          writable = channel.publish(item.exchange, item.routingKey, item.content, item.properties, (error: unknown) => {
            if (settled) return;
            settled = true;
            batch.settle(item.id, error);
          });
        } catch (error) {
          // The channel is closing: this message and everything after it was never sent.
          settled = true;
          const cause = this.#lastError ?? error;
          batch.next--;
          this.#sending = [];
          for (const unsent of sending) unsent.failUnsent(cause);
          return;
        }
        if (!writable) {
          if (batch.next === items.length) sending.shift();
          this.#waitingForDrain = true;
          channel.once('drain', () => {
            this.#waitingForDrain = false;
            if (this.#channel === channel) this.#pump();
          });
          return;
        }
      }
      sending.shift();
    }
  }

  #onChannelClose(channel: ConfirmChannel, model: ChannelModel, isLive: () => boolean): void {
    if (this.#channel !== channel) return;
    this.#channel = undefined;
    this.#model = undefined;
    this.#waitingForDrain = false;
    const error = this.#lastError ?? new Error('channel closed');
    const sending = this.#sending;
    this.#sending = [];
    for (const batch of sending) batch.failUnsent(error);
    if (this.#closed) return;
    // A channel error on a live connection (e.g. an exchange deleted under us): open a new channel.
    // A lost connection is handled by the reconnection, which calls attach() again.
    setTimeout(() => {
      if (this.#closed || this.#channel !== undefined || !isLive()) return;
      this.attach(model, isLive).catch((attachError: unknown) => {
        this.#options.logger.warn('rabbitmq transport: could not reopen the publishing channel', {
          error: attachError instanceof Error ? attachError.message : String(attachError),
        });
      });
    }, this.#options.reconnectMinDelayMs);
  }

  #hold(batch: Batch): void {
    const size = this.#options.publishBufferSize;
    const count = batch.items.length;
    if (this.#heldCount + count > size) {
      batch.failUnsent(new Error(`not connected, and the publish buffer is full (${size} messages held)`));
      return;
    }
    const timeoutMs = this.#options.publishBufferTimeoutMs;
    const held: HeldBatch = {
      batch,
      timer: setTimeout(() => {
        const index = this.#held.indexOf(held);
        if (index === -1) return;
        this.#held.splice(index, 1);
        this.#heldCount -= count;
        batch.failUnsent(new Error(`not connected for ${timeoutMs} ms (publishBufferTimeoutMs)`));
      }, timeoutMs),
    };
    this.#held.push(held);
    this.#heldCount += count;
  }

  #flushHeld(): void {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    this.#heldCount = 0;
    for (const { batch, timer } of held) {
      clearTimeout(timer);
      this.#sending.push(batch);
    }
    this.#pump();
  }
}
