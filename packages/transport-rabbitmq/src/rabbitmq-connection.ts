import { TransportClosedError } from '@cloudbus/core';
import { connect, type ChannelModel } from 'amqplib';

import { closeConnection, destroySocket, type ClosingSteps } from './closing-steps.js';
import { coalesceWrites } from './coalesced-writes.js';
import { connectionAdvice, RabbitMqConnectionError, redact, safeCause } from './rabbitmq-connection-error.js';
import { toAmqpConnectArguments, type ResolvedRabbitMqOptions } from './rabbitmq-transport-options.js';

/** Called on every (re)connection, before the connection is handed out; a rejection drops it and retries. */
export type ConnectedHook = (model: ChannelModel) => Promise<void>;

/**
 * One AMQP connection that comes back: when the broker goes away it reconnects with exponential
 * backoff (min to max delay), runs the `onConnected` hook (re-declare topology, reopen the
 * publisher channel, resume consumers), and only then reports itself connected again. Once
 * {@link stopReconnecting} or {@link close} was called it never connects again.
 */
export class RabbitMqConnection {
  readonly #options: ResolvedRabbitMqOptions;
  readonly #onConnected: ConnectedHook;
  readonly #closing: ClosingSteps;
  #model: ChannelModel | undefined;
  /** A connection open but still being set up (by open() or a reconnection). */
  #pending: ChannelModel | undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #delay: number;
  #waiters: (() => void)[] = [];
  /** Connections that closed before they were adopted. */
  readonly #lost = new WeakSet<ChannelModel>();

  constructor(options: ResolvedRabbitMqOptions, onConnected: ConnectedHook, closing: ClosingSteps) {
    this.#options = options;
    this.#onConnected = onConnected;
    this.#closing = closing;
    this.#delay = options.reconnectMinDelayMs;
  }

  /** The open connection, or undefined while reconnecting. */
  get current(): ChannelModel | undefined {
    return this.#model;
  }

  /**
   * True while `model` is the connection in use or the one being set up (by open() or a
   * reconnection), and has not closed: a channel of it that closed can be opened again on it.
   */
  isLive(model: ChannelModel): boolean {
    return (model === this.#model || model === this.#pending) && !this.#lost.has(model);
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Connects once; rejects with {@link RabbitMqConnectionError} (no credentials in it) when it cannot. */
  async open(): Promise<void> {
    const model = await this.#connect();
    try {
      this.#pending = model;
      if (this.#closed) throw new TransportClosedError('rabbitmq transport: closed while connecting.');
      await this.#onConnected(model);
      if (this.#closed) throw new TransportClosedError('rabbitmq transport: closed while connecting.');
      if (this.#lost.has(model)) throw new RabbitMqConnectionError(this.#options.endpoint, `rabbitmq transport: the connection to ${this.#options.endpoint} closed while setting up.`);
    } catch (error) {
      await this.#dispose(model, this.#closing.deadline());
      throw error;
    } finally {
      if (this.#pending === model) this.#pending = undefined;
    }
    this.#adopt(model);
  }

  /** Resolves once connected (at once when connected); never rejects. */
  whenConnected(): Promise<void> {
    if (this.#model !== undefined || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * From now on, never connects again: cancels a scheduled reconnection, and makes one in progress
   * give up (its connection is closed by {@link close}). The current connection stays open.
   */
  stopReconnecting(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake();
  }

  /**
   * Stops reconnecting and closes the connection (and one being set up), waiting for the broker
   * until `deadline` at most; past it, or when the connection is known to be unresponsive,
   * destroys the socket. Never rejects.
   */
  async close(deadline: number): Promise<void> {
    this.stopReconnecting();
    const model = this.#model;
    const pending = this.#pending;
    this.#model = undefined;
    this.#pending = undefined;
    if (model !== undefined) await this.#dispose(model, deadline);
    if (pending !== undefined) await this.#dispose(pending, deadline);
  }

  /** Closes a connection, waiting for the broker until `deadline` at most, then destroys its socket. */
  async #dispose(model: ChannelModel, deadline: number): Promise<void> {
    if (await this.#closing.wait(model, closeConnection(model), deadline)) return;
    destroySocket(model);
  }

  async #connect(): Promise<ChannelModel> {
    const options = this.#options;
    const { url, socketOptions } = toAmqpConnectArguments(options);
    let model: ChannelModel;
    try {
      model = await connect(url, socketOptions);
    } catch (error) {
      const secrets = [options.password, options.username];
      throw new RabbitMqConnectionError(
        options.endpoint,
        `rabbitmq transport: cannot connect to ${options.endpoint}: ${connectionAdvice(error)} (${redact(error instanceof Error ? error.message : String(error), secrets)}).`,
        { cause: safeCause(error, secrets) },
      );
    }
    // Errors are followed by 'close', where reconnection happens; without a listener they would crash the process.
    model.on('error', () => {});
    coalesceWrites(model);
    model.once('close', (error?: unknown) => this.#onClose(model, error));
    return model;
  }

  #adopt(model: ChannelModel): void {
    this.#model = model;
    this.#delay = this.#options.reconnectMinDelayMs;
    model.on('blocked', (reason: unknown) => {
      this.#options.logger.warn('rabbitmq transport: the broker blocked publishing (resource alarm); publishes wait', { reason: String(reason) });
    });
    this.#wake();
  }

  /** A connection closed: the current one is lost (reconnect); one still being set up is marked, so it is not adopted. */
  #onClose(model: ChannelModel, error: unknown): void {
    if (this.#model !== model) {
      this.#lost.add(model);
      return;
    }
    this.#model = undefined;
    if (this.#closed) return;
    this.#options.logger.warn('rabbitmq transport: connection lost, reconnecting', {
      endpoint: this.#options.endpoint,
      error: error instanceof Error ? redact(error.message, [this.#options.password]) : undefined,
    });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    const delay = this.#delay;
    this.#delay = Math.min(delay * 2, this.#options.reconnectMaxDelayMs);
    this.#timer = setTimeout(() => void this.#reconnect(), delay);
  }

  async #reconnect(): Promise<void> {
    if (this.#closed) return;
    let model: ChannelModel | undefined;
    try {
      model = await this.#connect();
      if (this.#closed) {
        await this.#dispose(model, this.#closing.deadline());
        return;
      }
      this.#pending = model;
      await this.#onConnected(model);
      if (this.#lost.has(model)) throw new Error('the connection closed while setting up');
    } catch (error) {
      if (model !== undefined) await this.#dispose(model, this.#closing.deadline());
      if (this.#closed) return;
      // Unreachable broker: expected during an outage, debug. Connected but set-up failed: worth a warning.
      const log = model === undefined ? this.#options.logger.debug : this.#options.logger.warn;
      log.call(this.#options.logger, 'rabbitmq transport: reconnection failed, trying again', {
        endpoint: this.#options.endpoint,
        error: redact(error instanceof Error ? error.message : String(error), [this.#options.password]),
      });
      this.#schedule();
      return;
    } finally {
      if (model !== undefined && this.#pending === model) this.#pending = undefined;
    }
    if (this.#closed) {
      await this.#dispose(model, this.#closing.deadline());
      return;
    }
    this.#options.logger.info('rabbitmq transport: reconnected', { endpoint: this.#options.endpoint });
    this.#adopt(model);
  }

  #wake(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}
