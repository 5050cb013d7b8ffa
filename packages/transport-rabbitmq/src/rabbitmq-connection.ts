import { connect, type ChannelModel } from 'amqplib';

import { connectionAdvice, RabbitMqConnectionError, redact, safeCause } from './rabbitmq-connection-error.js';
import { toAmqpConnectArguments, type ResolvedRabbitMqOptions } from './rabbitmq-transport-options.js';

/** Called on every (re)connection, before the connection is handed out; a rejection drops it and retries. */
export type ConnectedHook = (model: ChannelModel) => Promise<void>;

/**
 * One AMQP connection that comes back: when the broker goes away it reconnects with exponential
 * backoff (min to max delay), runs the `onConnected` hook (re-declare topology, reopen the
 * publisher channel, resume consumers), and only then reports itself connected again.
 */
export class RabbitMqConnection {
  readonly #options: ResolvedRabbitMqOptions;
  readonly #onConnected: ConnectedHook;
  #model: ChannelModel | undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #delay: number;
  #waiters: (() => void)[] = [];
  /** Connections that closed before they were adopted. */
  readonly #lost = new WeakSet<ChannelModel>();

  constructor(options: ResolvedRabbitMqOptions, onConnected: ConnectedHook) {
    this.#options = options;
    this.#onConnected = onConnected;
    this.#delay = options.reconnectMinDelayMs;
  }

  /** The open connection, or undefined while reconnecting. */
  get current(): ChannelModel | undefined {
    return this.#model;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Connects once; rejects with {@link RabbitMqConnectionError} (no credentials in it) when it cannot. */
  async open(): Promise<void> {
    const model = await this.#connect();
    try {
      await this.#onConnected(model);
      if (this.#lost.has(model)) throw new RabbitMqConnectionError(this.#options.endpoint, `rabbitmq transport: the connection to ${this.#options.endpoint} closed while setting up.`);
    } catch (error) {
      await model.close().catch(() => {});
      throw error;
    }
    this.#adopt(model);
  }

  /** Resolves once connected (at once when connected); never rejects. */
  whenConnected(): Promise<void> {
    if (this.#model !== undefined || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const model = this.#model;
    this.#model = undefined;
    this.#wake();
    if (model !== undefined) await model.close().catch(() => {});
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
        await model.close().catch(() => {});
        return;
      }
      await this.#onConnected(model);
      if (this.#lost.has(model)) throw new Error('the connection closed while setting up');
    } catch (error) {
      if (model !== undefined) await model.close().catch(() => {});
      // Unreachable broker: expected during an outage, debug. Connected but set-up failed: worth a warning.
      const log = model === undefined ? this.#options.logger.debug : this.#options.logger.warn;
      log.call(this.#options.logger, 'rabbitmq transport: reconnection failed, trying again', {
        endpoint: this.#options.endpoint,
        error: redact(error instanceof Error ? error.message : String(error), [this.#options.password]),
      });
      this.#schedule();
      return;
    }
    if (this.#closed) {
      await model.close().catch(() => {});
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
