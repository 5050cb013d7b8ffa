import type { Buffer } from 'node:buffer';

import { NotConnectedError, PublishError, TransportClosedError } from '@cloudbus/core/transport';
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';

import { closeChannel, type ClosingSteps } from './closing-steps.js';
import { RabbitMqPublishRefusal } from './rabbitmq-errors.js';
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

/** What the publisher needs from the connection (see RabbitMqConnection). */
export interface PublishingConnection {
  /** True while `model` is open and in use or being set up: a channel of it that closed is reopened on it. */
  isLive(model: ChannelModel): boolean;
  /** Waits for a set-up step on `model` at most `setupTimeoutMs`; past it drops the connection and rejects. */
  setupStep<T>(model: ChannelModel, step: Promise<T>, what: string): Promise<T>;
  /** Drops a connection the broker stopped answering on; the transport reconnects. */
  drop(model: ChannelModel, reason: string): void;
  /** True while the broker blocks publishing on `model` (resource alarm). */
  isBlocked(model: ChannelModel): boolean;
}

/** A batch being published: resolves when every message is confirmed, rejects listing those that were not. */
class Batch {
  /** Items written to the channel so far (the next one to write). */
  next = 0;
  remaining: number;
  /** Failures of messages never written to the channel. */
  unsent = 0;
  readonly failed: string[] = [];
  cause: unknown;
  /** The connection the batch was handed to, and its confirm timeout. */
  model: ChannelModel | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Items written to a channel that was lost before the broker confirmed them: written again on the next one. */
  resend: number[] = [];
  /** Held for the next channel (in `#held`): a batch is held at most once at a time. */
  held = false;
  /** 1 once an item's outcome is known: a later confirm (or failure) of it changes nothing. */
  readonly #settled: Uint8Array;

  constructor(
    readonly items: readonly PublishItem[],
    readonly resolve: () => void,
    readonly reject: (error: Error) => void,
  ) {
    this.remaining = items.length;
    this.#settled = new Uint8Array(items.length);
  }

  /** Records the outcome of item `index` (`error` null or undefined: confirmed), once; the first outcome stands. */
  settle(index: number, error: unknown): void {
    if (this.#settled[index] === 1) return;
    this.#settled[index] = 1;
    if (error !== null && error !== undefined) {
      this.failed.push(this.items[index]!.id);
      this.cause ??= error;
    }
    if (--this.remaining > 0) return;
    clearTimeout(this.timer);
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

  /** Items not written to the channel yet, or to be written again, fail with `error`. */
  failUnsent(error: unknown): void {
    for (const index of this.resend.splice(0)) this.settle(index, error);
    while (this.next < this.items.length) {
      this.unsent++;
      this.settle(this.next++, error);
    }
  }

  /** Item `index` was written to a channel lost before its confirm: it is written again on the next channel. */
  lose(index: number): void {
    if (this.#settled[index] === 1) return;
    this.resend.push(index);
  }

  /** Items left to write: new ones and those to write again. */
  get unwritten(): number {
    return this.items.length - this.next + this.resend.length;
  }

  /** Items written to the channel and not confirmed yet fail with `error`. */
  failUnconfirmed(error: unknown): void {
    for (let index = 0; index < this.next && this.remaining > 0; index++) this.settle(index, error);
  }
}

/** A batch waiting for the connection to come back. */
interface HeldBatch {
  readonly batch: Batch;
  readonly timer: NodeJS.Timeout;
}

/**
 * Publishes through one confirm channel per connection. A batch resolves when the broker has
 * confirmed each message, and rejects with `PublishError` (listing the ids) on a nack, on a channel
 * error (an exchange deleted), or when confirms are still missing `publishTimeoutMs` after it was
 * handed to the channel (the connection is then taken for stuck and dropped, unless the broker is
 * blocking publishers). While there is no channel, batches are held (up to `publishBufferSize`
 * messages, `publishBufferTimeoutMs` each), then sent in order on the next one. Messages written to
 * a channel lost with its connection before the broker confirmed them are held the same way and
 * written again, with the same message id, on the next connection, within `publishTimeoutMs` of the
 * first write: the broker may then hold two copies, which consumers' inbox (keyed by the id) absorbs.
 * Socket backpressure is respected: writing pauses until the channel drains.
 */
export class RabbitMqPublisher {
  readonly #options: ResolvedRabbitMqOptions;
  readonly #closing: ClosingSteps;
  readonly #connection: PublishingConnection;
  #channel: ConfirmChannel | undefined;
  /** The connection of {@link #channel}. */
  #model: ChannelModel | undefined;
  #lastError: unknown;
  /** Batches with messages not yet written, in order. */
  #sending: Batch[] = [];
  /** The channel whose 'drain' writing waits for, if any. */
  #waitingForDrain: ConfirmChannel | undefined;
  #held: HeldBatch[] = [];
  #heldCount = 0;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #closed = false;
  /** Channels the broker closed with an error (not lost with the connection): what they lost fails. */
  readonly #channelErrors = new WeakMap<ConfirmChannel, unknown>();

  constructor(options: ResolvedRabbitMqOptions, closing: ClosingSteps, connection: PublishingConnection) {
    this.#options = options;
    this.#closing = closing;
    this.#connection = connection;
  }

  /**
   * Opens the confirm channel on a new connection, then sends what was held. A channel that closes
   * while its connection is live is reopened on it.
   */
  async attach(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: unknown) => {
      this.#lastError = error;
      this.#channelErrors.set(channel, error);
    });
    channel.once('close', () => this.#onChannelClose(channel, model));
    if (!this.#connection.isLive(model)) {
      // Dropped while the channel was opening (set-up timed out): it goes with its connection.
      void closeChannel(channel);
      throw new TransportClosedError('rabbitmq transport: the connection was dropped while the publishing channel opened.');
    }
    this.#channel = channel;
    this.#model = model;
    this.#flushHeld();
  }

  /** Publishes a batch; see the class comment for what the promise means. */
  publish(items: readonly PublishItem[]): Promise<void> {
    if (this.#closed) return Promise.reject(new NotConnectedError('rabbitmq transport: cannot publish after close().'));
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#inFlight++;
      const batch = new Batch(
        items,
        () => this.#done(resolve),
        (error) => this.#done(() => reject(error)),
      );
      // A connection dropped (the broker stopped answering) keeps its channel until it has closed: hold meanwhile.
      if (this.#channel === undefined || this.#model === undefined || !this.#connection.isLive(this.#model)) this.#hold(batch);
      else {
        this.#send(batch);
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

  /** Queues a batch for the current channel, and starts its confirm timeout. */
  #send(batch: Batch): void {
    const model = this.#model;
    batch.model = model;
    // A batch written again after a lost connection keeps the deadline of its first write.
    batch.timer ??= setTimeout(() => this.#expire(batch), this.#options.publishTimeoutMs);
    this.#sending.push(batch);
  }

  /**
   * A batch still not confirmed `publishTimeoutMs` after it was handed to the channel: what was not
   * confirmed fails (what was written may have been stored; what was not, was not), later confirms
   * are ignored, and the connection is taken for stuck (the broker no longer serves this channel)
   * and dropped, unless the broker is blocking publishers, which a new connection would not change.
   */
  #expire(batch: Batch): void {
    if (batch.remaining === 0) return;
    const timeoutMs = this.#options.publishTimeoutMs;
    const error = new RabbitMqPublishRefusal(`no confirm from the broker within ${timeoutMs} ms (publishTimeoutMs)`);
    batch.failUnsent(error);
    batch.failUnconfirmed(error);
    const model = batch.model;
    // A batch held since its connection was lost says nothing about the connection in use now.
    if (model === undefined || batch.held || model !== this.#model || this.#connection.isBlocked(model)) return;
    this.#connection.drop(model, `a publish was not confirmed within ${timeoutMs} ms (publishTimeoutMs)`);
  }

  #done(settle: () => void): void {
    settle();
    if (--this.#inFlight === 0) this.#idle?.();
  }

  #pump(): void {
    const channel = this.#channel;
    if (channel === undefined || this.#waitingForDrain === channel) return;
    const sending = this.#sending;
    while (sending.length > 0) {
      const batch = sending[0]!;
      const items = batch.items;
      while (batch.unwritten > 0) {
        const again = batch.resend.length > 0;
        const index = again ? batch.resend.shift()! : batch.next++;
        const item = items[index]!;
        let writable: boolean;
        try {
          writable = channel.publish(item.exchange, item.routingKey, item.content, item.properties, (error: unknown) => this.#confirmed(batch, index, channel, error));
        } catch (error) {
          // The channel is closing: this message and everything after it was never sent. (amqplib
          // registered its confirm callback before throwing: the 'channel closed' it gets later
          // changes nothing, failUnsent or lose settles it first.)
          if (again) batch.resend.unshift(index);
          else batch.next--;
          this.#sending = [];
          for (const unsent of sending) this.#channelLost(channel, unsent, this.#lastError ?? error);
          return;
        }
        if (!writable) {
          if (batch.unwritten === 0) sending.shift();
          this.#waitingForDrain = channel;
          channel.once('drain', () => {
            if (this.#waitingForDrain === channel) this.#waitingForDrain = undefined;
            if (this.#channel === channel) this.#pump();
          });
          return;
        }
      }
      sending.shift();
    }
  }

  /**
   * The broker's answer for item `index` written on `channel`. amqplib answers `channel closed` for
   * what was unconfirmed when a channel closes: when the connection was lost (no channel error), the
   * item is written again on the next connection instead of failing.
   */
  #confirmed(batch: Batch, index: number, channel: ConfirmChannel, error: unknown): void {
    if (error instanceof Error && error.message === 'channel closed' && !this.#closed && !this.#channelErrors.has(channel)) {
      batch.lose(index);
      this.#holdAgain(batch);
      return;
    }
    batch.settle(index, error);
  }

  /** What was not written when `channel` closed: held for the next one after a lost connection, failed after a channel error or close(). */
  #channelLost(channel: ConfirmChannel, batch: Batch, error: unknown): void {
    if (this.#closed || this.#channelErrors.has(channel)) batch.failUnsent(error);
    else this.#holdAgain(batch);
  }

  /** Holds a batch that has items left to write for the next channel, once. */
  #holdAgain(batch: Batch): void {
    if (batch.held || batch.remaining === 0 || batch.unwritten === 0) return;
    this.#hold(batch);
  }

  #onChannelClose(channel: ConfirmChannel, model: ChannelModel): void {
    if (this.#channel !== channel) return;
    this.#channel = undefined;
    this.#model = undefined;
    this.#waitingForDrain = undefined;
    const error = this.#lastError ?? new RabbitMqPublishRefusal('channel closed');
    const sending = this.#sending;
    this.#sending = [];
    for (const batch of sending) this.#channelLost(channel, batch, error);
    if (this.#closed) return;
    // A channel error on a live connection (e.g. an exchange deleted under us): open a new channel.
    // A lost connection is handled by the reconnection, which calls attach() again.
    setTimeout(() => {
      if (this.#closed || this.#channel !== undefined || !this.#connection.isLive(model)) return;
      // Bounded: a broker that leaves the new channel unanswered gets the connection dropped and replaced.
      this.#connection.setupStep(model, this.attach(model), 'the reopening of the publishing channel').catch((attachError: unknown) => {
        this.#options.logger.warn('rabbitmq transport: could not reopen the publishing channel', {
          error: attachError instanceof Error ? attachError.message : String(attachError),
        });
      });
    }, this.#options.reconnectMinDelayMs);
  }

  #hold(batch: Batch): void {
    const size = this.#options.publishBufferSize;
    const count = batch.unwritten;
    if (this.#heldCount + count > size) {
      batch.failUnsent(new RabbitMqPublishRefusal(`not connected, and the publish buffer is full (${size} messages held)`));
      return;
    }
    const timeoutMs = this.#options.publishBufferTimeoutMs;
    batch.held = true;
    const held: HeldBatch = {
      batch,
      timer: setTimeout(() => {
        const index = this.#held.indexOf(held);
        if (index === -1) return;
        this.#held.splice(index, 1);
        this.#heldCount -= count;
        batch.held = false;
        batch.failUnsent(new RabbitMqPublishRefusal(`not connected for ${timeoutMs} ms (publishBufferTimeoutMs)`));
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
      batch.held = false;
      // Settled meanwhile (its confirm deadline passed): nothing to write.
      if (batch.remaining > 0 && batch.unwritten > 0) this.#send(batch);
    }
    this.#pump();
  }
}
