import { Backoff, foreignProtocolAt, TransportClosedError } from '@cloudbus/core/transport';
import { connect, type ChannelModel } from 'amqplib';

import { closeConnection, destroySocket, type ClosingSteps } from './closing-steps.js';
import { coalesceWrites } from './coalesced-writes.js';
import { connectionAdvice, isHandshakeFailure, isVhostRefusal, RabbitMqConnectionError, redact, safeCause } from './rabbitmq-errors.js';
import { toAmqpConnectArguments, type RabbitMqNode, type ResolvedRabbitMqOptions } from './rabbitmq-transport-options.js';

/** Called on every (re)connection, before the connection is handed out; a rejection drops it and retries. */
export type ConnectedHook = (model: ChannelModel) => Promise<void>;

/**
 * One AMQP connection that comes back: when the broker goes away it reconnects with exponential
 * backoff (min to max delay), runs the `onConnected` hook (re-declare topology, reopen the
 * publisher channel, resume consumers), and only then reports itself connected again. Once
 * {@link stopReconnecting} or {@link close} was called it never connects again.
 *
 * A connection the broker keeps open but stops answering on (a set-up step or a publish confirm
 * overdue, see {@link setupStep} and {@link drop}) is dropped and replaced the same way: a broker
 * channel stuck after a restart never stalls the transport for longer than those bounds.
 *
 * With several nodes (a cluster, `url` a comma-separated list) each attempt tries them in turn,
 * starting after the node whose connection was lost or dropped, so a client of a dead node moves
 * to a live one instead of waiting for it.
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
  readonly #backoff: Backoff;
  #waiters: (() => void)[] = [];
  /** Connections that closed before they were adopted, and connections dropped. */
  readonly #lost = new WeakSet<ChannelModel>();
  /** Connections dropped while in use: their 'close' starts the reconnection. */
  readonly #dropped = new WeakSet<ChannelModel>();
  /** Connections whose publishers the broker blocks (resource alarm). */
  readonly #blocked = new WeakSet<ChannelModel>();
  /** Connections being disposed of, and when that is done. */
  readonly #disposing = new Map<ChannelModel, Promise<void>>();
  /** The node of each connection, by its index in `nodes`. */
  readonly #nodeOf = new WeakMap<ChannelModel, number>();
  /** The index of the node the next attempt tries first. */
  #next = 0;

  constructor(options: ResolvedRabbitMqOptions, onConnected: ConnectedHook, closing: ClosingSteps) {
    this.#options = options;
    this.#onConnected = onConnected;
    this.#closing = closing;
    this.#backoff = new Backoff(options.reconnectMinDelayMs, options.reconnectMaxDelayMs);
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

  /** True while the broker blocks publishing on `model` (resource alarm): confirms cannot come. */
  isBlocked(model: ChannelModel): boolean {
    return this.#blocked.has(model);
  }

  /**
   * Waits for one set-up step done on `model` (declaring, opening a channel, starting a consumer)
   * at most `setupTimeoutMs`. Past it the broker is taken for stuck on that connection: `model` is
   * dropped (see {@link drop}) and the step rejects with {@link RabbitMqConnectionError}, saying
   * what was not answered. `what` completes "did not answer ..."; `hint`, when given, ends the
   * message (what else leaves that step unanswered, and how to tell).
   */
  setupStep<T>(model: ChannelModel, step: Promise<T>, what: string, hint?: string): Promise<T> {
    const timeoutMs = this.#options.setupTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const endpoint = this.#endpointOf(model);
        const error = new RabbitMqConnectionError(
          endpoint,
          `rabbitmq transport: the broker at ${endpoint} did not answer ${what} within ${timeoutMs} ms (setupTimeoutMs); ` +
            `the connection is dropped and opened again. If the broker is only slow (many queues recovering), raise setupTimeoutMs.` +
            (hint === undefined ? '' : ` ${hint}`),
        );
        this.drop(model, error.message);
        reject(error);
      }, timeoutMs);
      step.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /**
   * Drops a connection the broker stopped answering on: it is no longer handed out nor live (its
   * channels are not reopened on it), it is closed (waiting for the broker `closeTimeoutMs` at
   * most, then its socket is destroyed, which rejects its pending operations and unconfirmed
   * publishes), and once it has closed, unless closed, the transport reconnects with the usual
   * backoff. A connection still being set up fails its set-up, which reconnects too. Does nothing
   * for a connection already lost or dropped.
   */
  drop(model: ChannelModel, reason: string): void {
    if (this.#lost.has(model) || this.#disposing.has(model)) return;
    this.#lost.add(model);
    this.#moveOn(model);
    if (this.#model === model) {
      // No longer handed out; the reconnection starts once it has closed (see #onClose), after its
      // channels: their users (publisher, subscriptions) are done with it before the new one comes.
      this.#model = undefined;
      this.#dropped.add(model);
    }
    if (!this.#closed) {
      this.#options.logger.warn('rabbitmq transport: the broker stopped answering on the connection; dropping it and reconnecting', {
        endpoint: this.#endpointOf(model),
        reason: redact(reason, this.#secrets()),
      });
    }
    // A connection being set up is reconnected by its set-up, which now fails.
    void this.#dispose(model, this.#closing.deadline());
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
      if (this.#lost.has(model)) {
        const endpoint = this.#endpointOf(model);
        throw new RabbitMqConnectionError(endpoint, `rabbitmq transport: the connection to ${endpoint} closed while setting up.`);
      }
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
    if (model !== undefined) void this.#dispose(model, deadline);
    if (pending !== undefined) void this.#dispose(pending, deadline);
    // Also the connections dropped a moment ago: none is left open once close() settles.
    await Promise.all(this.#disposing.values());
  }

  /**
   * Closes a connection, waiting for the broker until `deadline` at most, then destroys its socket.
   * Once per connection: a second call waits for the first.
   */
  #dispose(model: ChannelModel, deadline: number): Promise<void> {
    let disposing = this.#disposing.get(model);
    if (disposing === undefined) {
      disposing = this.#closeOrDestroy(model, deadline).finally(() => this.#disposing.delete(model));
      this.#disposing.set(model, disposing);
    }
    return disposing;
  }

  async #closeOrDestroy(model: ChannelModel, deadline: number): Promise<void> {
    if (await this.#closing.wait(model, closeConnection(model), deadline)) return;
    destroySocket(model);
  }

  /**
   * Connects to the first node that answers, trying each once from {@link #next}; rejects with
   * {@link RabbitMqConnectionError} (every node's failure, no credentials) when none does.
   */
  async #connect(): Promise<ChannelModel> {
    const nodes = this.#options.nodes;
    const failures: RabbitMqConnectionError[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const index = (this.#next + i) % nodes.length;
      try {
        const model = await this.#connectTo(nodes[index]!);
        this.#nodeOf.set(model, index);
        this.#next = index;
        return model;
      } catch (error) {
        failures.push(error as RabbitMqConnectionError);
      }
    }
    if (failures.length === 1) throw failures[0]!;
    throw new RabbitMqConnectionError(
      this.#options.endpoint,
      `rabbitmq transport: cannot connect to any of the ${nodes.length} nodes: ${failures.map((failure) => failure.message.replace(/^rabbitmq transport: cannot connect to /, '')).join('; ')}`,
      { cause: failures[0] },
    );
  }

  async #connectTo(node: RabbitMqNode): Promise<ChannelModel> {
    const { url, socketOptions } = toAmqpConnectArguments(this.#options, node);
    let model: ChannelModel;
    try {
      model = await connect(url, socketOptions);
    } catch (error) {
      const secrets = [node.password, node.username];
      const cause = safeCause(error, secrets);
      if (isVhostRefusal(error)) {
        throw new RabbitMqConnectionError(
          node.endpoint,
          `rabbitmq transport: cannot connect to ${node.endpoint}: virtual host '${node.vhost}' does not exist or access is refused. Create it (rabbitmqctl add_vhost) or give the user permissions on it (rabbitmqctl set_permissions -p <vhost> <user> ".*" ".*" ".*"), or fix the path of the URL.`,
          { cause, permanent: true },
        );
      }
      const foreign = node.protocol === 'amqp' && isHandshakeFailure(error) ? await foreignProtocolAt(`amqp://${node.hostname}:${node.port}`, 5672, 'AMQP') : undefined;
      if (foreign !== undefined) {
        throw new RabbitMqConnectionError(
          node.endpoint,
          `rabbitmq transport: ${node.endpoint} is not an AMQP 0-9-1 broker: ${foreign}. Point the URL at RabbitMQ (amqp://host:5672).`,
          { cause, permanent: true },
        );
      }
      throw new RabbitMqConnectionError(
        node.endpoint,
        `rabbitmq transport: cannot connect to ${node.endpoint}: ${connectionAdvice(error)} (${redact(error instanceof Error ? error.message : String(error), secrets)}).`,
        { cause },
      );
    }
    // Errors are followed by 'close', where reconnection happens; without a listener they would crash the process.
    model.on('error', () => {});
    model.on('blocked', (reason: unknown) => {
      this.#blocked.add(model);
      this.#options.logger.warn('rabbitmq transport: the broker blocked publishing (resource alarm); publishes wait', { reason: String(reason) });
    });
    model.on('unblocked', () => this.#blocked.delete(model));
    coalesceWrites(model);
    model.once('close', (error?: unknown) => this.#onClose(model, error));
    return model;
  }

  /** The node `model` is connected to, without credentials. */
  #endpointOf(model: ChannelModel): string {
    return this.#options.nodes[this.#nodeOf.get(model) ?? 0]!.endpoint;
  }

  /** Every node's password: none may reach a message. */
  #secrets(): string[] {
    return this.#options.nodes.map((node) => node.password);
  }

  /** `model` was lost or dropped: the next attempt starts with the node after its own. */
  #moveOn(model: ChannelModel): void {
    const index = this.#nodeOf.get(model);
    if (index !== undefined && index === this.#next) this.#next = (index + 1) % this.#options.nodes.length;
  }

  #adopt(model: ChannelModel): void {
    this.#model = model;
    this.#backoff.reset();
    this.#wake();
  }

  /** A connection closed: the current one is lost (reconnect); one still being set up is marked, so it is not adopted. */
  #onClose(model: ChannelModel, error: unknown): void {
    if (this.#dropped.has(model)) {
      this.#schedule();
      return;
    }
    if (this.#model !== model) {
      this.#lost.add(model);
      return;
    }
    this.#model = undefined;
    this.#moveOn(model);
    if (this.#closed) return;
    this.#options.logger.warn('rabbitmq transport: connection lost, reconnecting', {
      endpoint: this.#endpointOf(model),
      error: error instanceof Error ? redact(error.message, this.#secrets()) : undefined,
    });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#reconnect(), this.#backoff.next());
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
      if (this.#lost.has(model)) throw new TransportClosedError('the connection closed while setting up');
    } catch (error) {
      if (model !== undefined) await this.#dispose(model, this.#closing.deadline());
      if (this.#closed) return;
      // Unreachable broker: expected during an outage, debug. Connected but set-up failed: worth a warning.
      const log = model === undefined ? this.#options.logger.debug : this.#options.logger.warn;
      log.call(this.#options.logger, 'rabbitmq transport: reconnection failed, trying again', {
        endpoint: model === undefined ? this.#options.endpoint : this.#endpointOf(model),
        error: redact(error instanceof Error ? error.message : String(error), this.#secrets()),
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
    this.#options.logger.info('rabbitmq transport: reconnected', { endpoint: this.#endpointOf(model) });
    this.#adopt(model);
  }

  #wake(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}
