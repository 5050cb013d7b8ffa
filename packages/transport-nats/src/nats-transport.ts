import {
  checkMessageSize,
  DeliveryLostError,
  NotConnectedError,
  PublishError,
  TopologyConflictError,
  TransportClosedError,
  type BrokerTransport,
  type SubscriptionInfo,
  type Delivery,
  type OutgoingMessage,
  type StoredDeadLetter,
  type Subscription,
  type SubscriptionSpec,
  type TransportCapabilities,
  type ConnectionState,
} from '@cloudbus/core/transport';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

import { encodePublishHeaders } from './nats-binding.js';
import { connectionStateOf, describe, openNatsConnection, watchConnection, type NatsLinkState } from './nats-connection.js';
import { NatsDeadLetters } from './nats-dead-letters.js';
import { NatsConnectionError } from './nats-errors.js';
import { NatsPublisher, type OutgoingNatsMessage } from './nats-publisher.js';
import { NatsSubscription } from './nats-subscription.js';
import { NatsTopology } from './nats-topology.js';
import { resolveNatsOptions, type NatsTransportOptions, type ResolvedNatsOptions } from './nats-transport-options.js';
import { subjectForType } from './subject-naming.js';

/** NATS' default `max_payload`, assumed until the server says otherwise at connect. */
const DEFAULT_MAX_PAYLOAD = 1_048_576;
/** Longest wait at close for the server to confirm it has everything sent so far. */
const FLUSH_TIMEOUT_MS = 2_000;

/** Counters a NATS transport keeps. */
export interface NatsTransportStats {
  /** Publishes the stream dropped as duplicates (same CloudEvent id inside the duplicate window). */
  readonly duplicatesDropped: number;
}

/** What exists once connected. */
interface Connected {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly topology: NatsTopology;
  readonly deadLetters: NatsDeadLetters;
  readonly publisher: NatsPublisher;
}

/**
 * The NATS JetStream transport. Events go to the stream `stream` on subject
 * `<subjectPrefix>.<type>` with `Nats-Msg-Id` = CloudEvent id; each handler subscription is one
 * durable pull consumer filtered on its types, shared by every instance of the service; dead
 * letters go to the stream `deadLetterStream`. See the package README for the layout and the
 * wire format. The parts: `nats-connection` (connect, reconnect, state), `nats-topology`
 * (streams and consumers), `nats-binding` (the CloudEvents NATS binding), `nats-publisher`,
 * `nats-subscription`, `nats-delivery`, `nats-dead-letters`.
 */
export class NatsTransport implements BrokerTransport {
  readonly name = 'nats';
  readonly options: ResolvedNatsOptions;
  #capabilities: TransportCapabilities;
  #state: NatsLinkState = 'new';
  /** The connection was lost and nats.js is reconnecting. */
  #reconnecting = false;
  #connecting: Promise<void> | undefined;
  #connected: Connected | undefined;
  readonly #subscriptions = new Set<NatsSubscription>();
  #duplicates = 0;
  /** Subject by event type: types are few, publishes many. */
  readonly #subjects = new Map<string, string>();

  /**
   * @param options transport options, validated here (throws `ConfigurationError`)
   * @param service the service name, the default connection name
   */
  constructor(options: NatsTransportOptions = {}, service?: string) {
    const resolved = resolveNatsOptions(options);
    this.options = resolved.connectionName === undefined && service !== undefined ? { ...resolved, connectionName: service } : resolved;
    this.#capabilities = capabilitiesFor(DEFAULT_MAX_PAYLOAD);
  }

  /** Where the connection is; `reconnecting` while nats.js replaces a lost one. */
  get connectionState(): ConnectionState {
    return connectionStateOf(this.#state, this.#reconnecting);
  }

  /** What JetStream offers; `maxMessageBytes` is the server's `max_payload` once connected. */
  get capabilities(): TransportCapabilities {
    return this.#capabilities;
  }

  /** Counters: duplicate publishes dropped by the stream. */
  get stats(): NatsTransportStats {
    return { duplicatesDropped: this.#duplicates };
  }

  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new NotConnectedError('nats transport: closed, create a new one.'));
    if (this.#state === 'connected') return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    this.#state = 'connecting';
    const options = this.options;
    let nc: NatsConnection;
    try {
      nc = await openNatsConnection(options);
    } catch (error) {
      if (this.#state === 'connecting') this.#state = 'new';
      throw error;
    }
    let connected: Omit<Connected, 'publisher'>;
    try {
      const jsm = await jetstreamManager(nc, { timeout: options.publishTimeoutMs });
      const js = jetstream(nc, { timeout: options.publishTimeoutMs });
      const topology = new NatsTopology(jsm, options);
      await topology.declareStreams();
      connected = { nc, js, topology, deadLetters: new NatsDeadLetters(js, jsm, options) };
    } catch (error) {
      if (this.#state === 'connecting') this.#state = 'new';
      await nc.close().catch(() => {});
      if (error instanceof NatsConnectionError || error instanceof TopologyConflictError) throw error;
      throw new NatsConnectionError(
        `nats transport: connected to ${options.endpoint}, but could not set up JetStream: ${describe(error)}. Start nats-server with JetStream enabled (-js) and check the account's JetStream limits.`,
        { cause: error },
      );
    }
    if (this.#isClosed()) {
      await nc.close().catch(() => {});
      throw new TransportClosedError('nats transport: closed while connecting.');
    }
    const publisher = new NatsPublisher(nc, {
      stream: options.stream,
      timeoutMs: options.publishTimeoutMs,
      logger: options.logger,
      onDuplicate: () => this.#duplicates++,
    });
    this.#connected = { ...connected, publisher };
    this.#capabilities = capabilitiesFor(nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD);
    this.#state = 'connected';
    watchConnection(nc, options, {
      lost: () => (this.#reconnecting = true),
      back: () => {
        this.#reconnecting = false;
        const resent = publisher.resendUnanswered();
        if (resent > 0) options.logger.info(`nats transport: sent ${resent} unacknowledged publish(es) again after the reconnection`, { server: options.endpoint });
        for (const subscription of this.#subscriptions) subscription.renew();
      },
    }).catch(() => {});
  }

  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new NotConnectedError('nats transport: cannot publish after close().'));
    const publisher = this.#connected?.publisher;
    if (publisher === undefined) return Promise.reject(new NotConnectedError('nats transport: not connected; call connect() first.'));
    const limit = this.#capabilities.maxMessageBytes;
    const prefix = this.options.subjectPrefix;
    const stream = this.options.stream;
    const outgoing = new Array<OutgoingNatsMessage>(messages.length);
    try {
      for (let i = 0; i < messages.length; i++) {
        const { id, type, message } = messages[i]!;
        const headers = encodePublishHeaders(message, id, stream);
        // Nothing of the batch is sent when one message is too large (or cannot be encoded).
        checkMessageSize(messages[i]!, limit, headers.bytes.byteLength + message.body.byteLength);
        outgoing[i] = { id, subject: this.#subject(prefix, type), headers, body: message.body };
      }
    } catch (error) {
      return Promise.reject(
        error instanceof Error ? error : new PublishError(`nats transport: cannot encode the batch: ${String(error)}.`, messages.map((outgoing) => outgoing.id)),
      );
    }
    return publisher.publish(outgoing);
  }

  subscribe(spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    if (this.#state === 'closed') return Promise.reject(new NotConnectedError('nats transport: cannot subscribe after close().'));
    const connected = this.#connected;
    if (connected === undefined) return Promise.reject(new NotConnectedError('nats transport: not connected; call connect() first.'));
    return this.#subscribe(connected, spec, onDelivery);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') throw new TransportClosedError('nats transport: already closed.');
    this.#state = 'closed';
    for (const subscription of [...this.#subscriptions]) await subscription.close();
    const connected = this.#connected;
    const closedBeforeConfirm = () => new TransportClosedError('nats transport: closed before JetStream confirmed the publish.');
    if (connected === undefined || connected.nc.isClosed()) {
      connected?.publisher.close(closedBeforeConfirm());
      return;
    }
    // Acks and hand-backs reach the server before the connection goes (not waiting forever while
    // reconnecting: the server redelivers whatever it did not hear about after AckWait).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([connected.nc.flush().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_TIMEOUT_MS)))]);
    clearTimeout(timer);
    connected.publisher.close(closedBeforeConfirm());
    await connected.nc.close();
  }

  /** Dead letters in the dead-letter stream, oldest first (read incrementally: each call fetches only new ones). */
  async readDeadLetters(): Promise<readonly StoredDeadLetter[]> {
    return this.#whileConnected('readDeadLetters').deadLetters.read();
  }

  /**
   * Removes the dead letters `select` picks from the dead-letter stream, by stream sequence.
   * Every letter is selected first, then the chosen ones are deleted one by one: a failure midway
   * leaves every letter not yet deleted stored. A letter another process deleted meanwhile is not
   * counted.
   */
  async removeDeadLetters(select: (letter: StoredDeadLetter) => boolean): Promise<number> {
    return this.#whileConnected('removeDeadLetters').deadLetters.remove(select, () => this.#whileConnected('removeDeadLetters'));
  }

  /**
   * The cloudbus durable consumers of the events stream (those whose description holds a
   * subscription record), with their filter subjects and what is waiting in them.
   */
  async listSubscriptions(): Promise<readonly SubscriptionInfo[]> {
    return this.#whileConnected('listSubscriptions').topology.listSubscriptions();
  }

  /** Deletes the subscription's durable consumer (and with it its place in the stream). */
  async removeSubscription(name: string): Promise<boolean> {
    return this.#whileConnected('removeSubscription').topology.removeSubscription(name);
  }

  /** What exists once connected; throws unless connected and not closed. */
  #whileConnected(method: string): Connected {
    const connected = this.#connected;
    if (connected === undefined || this.#state === 'closed') throw new NotConnectedError(`nats transport: ${method}() needs a connected transport.`);
    return connected;
  }

  /** Read through a method: `close()` may change the state while `connect()` awaits. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #subject(prefix: string, type: string): string {
    let subject = this.#subjects.get(type);
    if (subject === undefined) {
      subject = subjectForType(prefix, type);
      if (this.#subjects.size < 10_000) this.#subjects.set(type, subject);
    }
    return subject;
  }

  async #subscribe(connected: Connected, spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    const options = this.options;
    const { durable, filters } = await connected.topology.declareConsumer(spec);
    if (this.#state === 'closed') throw new TransportClosedError('nats transport: closed while subscribing.');
    const subscription = new NatsSubscription(
      {
        nc: connected.nc,
        pullSubject: `${connected.js.apiPrefix}.CONSUMER.MSG.NEXT.${options.stream}.${durable}`,
        ackWaitMs: options.ackWaitMs,
        logger: options.logger,
        storeDeadLetter: (delivery, message) => {
          if (this.#state === 'closed') return Promise.reject(new DeliveryLostError('nats transport: cannot dead-letter after close().'));
          return connected.deadLetters.store(delivery, message, durable);
        },
        closed: (closed) => this.#subscriptions.delete(closed),
      },
      spec,
      onDelivery,
    );
    this.#subscriptions.add(subscription);
    options.logger.info(`nats transport: ${spec.name} consumes stream ${options.stream} as durable ${durable}`, {
      subscription: spec.name,
      stream: options.stream,
      durable,
      filterSubjects: filters,
    });
    return subscription;
  }
}

function capabilitiesFor(maxMessageBytes: number): TransportCapabilities {
  return {
    maxMessageBytes,
    binaryMode: true,
    nativeDelayedRedelivery: true,
    publishDeduplication: true,
    ordered: true,
    durable: true,
  };
}
