import {
  byName,
  decodeSubscriptionRecord,
  encodeSubscriptionRecord,
  MessageTooLargeError,
  subscriptionInfo,
  subscriptionRecord,
  TransportClosedError,
  type SubscriptionAdmin,
  type SubscriptionInfo,
  type SubscriptionRecord,
  type DeadLetterReader,
  type DeadLetterRemover,
  type Delivery,
  type OutgoingMessage,
  type StoredDeadLetter,
  type Subscription,
  type SubscriptionSpec,
  type Transport,
  type TransportCapabilities,
  type WireMessage,
  type ConnectionState,
  type ConnectionStateReporter,
} from '@cloudbus/core';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import {
  connect,
  headers as natsHeaders,
  nanos,
  type NatsConnection,
} from '@nats-io/transport-node';

import { encodePublishHeaders, readWireMessage, writeHeaders } from './header-codec.js';
import { JetStreamPublisher, type OutgoingJetStreamMessage } from './jetstream-publisher.js';
import { natsConnectionOptions } from './nats-connection-options.js';
import { NatsConnectionError } from './nats-connection-error.js';
import { connectUnlessForeign } from './nats-greeting-check.js';
import type { NatsDelivery } from './nats-delivery.js';
import { NatsSubscription } from './nats-subscription.js';
import { resolveNatsOptions, type NatsTransportOptions, type ResolvedNatsOptions } from './nats-transport-options.js';
import { durableName, subjectForType } from './subject-naming.js';

/** NATS' default `max_payload`, assumed until the server says otherwise at connect. */
const DEFAULT_MAX_PAYLOAD = 1_048_576;
/** Dead letters fetched at once by `readDeadLetters`. */
const READ_CHUNK = 256;
const STREAM_NAME_IN_USE = 10058;
/**
 * JetStream API errors when a stream's replicas cannot be placed: replicas > 1 on a server that
 * is not clustered (10074), no suitable peers for placement (10005), insufficient resources (10023).
 */
const PLACEMENT_ERRORS = new Set([10074, 10005, 10023]);
/** Longest wait at close for the server to confirm it has everything sent so far. */
const FLUSH_TIMEOUT_MS = 2_000;

/** Counters a NATS transport keeps. */
export interface NatsTransportStats {
  /** Publishes the stream dropped as duplicates (same CloudEvent id inside the duplicate window). */
  readonly duplicatesDropped: number;
}

/**
 * The NATS JetStream transport. Events go to the stream `stream` on subject
 * `<subjectPrefix>.<type>` with `Nats-Msg-Id` = CloudEvent id; each handler subscription is one
 * durable pull consumer filtered on its types, shared by every instance of the service; dead
 * letters go to the stream `deadLetterStream`. See the package README for the layout and the
 * wire format.
 */
export class NatsTransport implements Transport, DeadLetterReader, DeadLetterRemover, ConnectionStateReporter, SubscriptionAdmin {
  readonly name = 'nats';
  readonly options: ResolvedNatsOptions;
  #capabilities: TransportCapabilities;
  #state: 'new' | 'connecting' | 'connected' | 'closed' = 'new';
  /** The connection was lost and nats.js is reconnecting. */
  #reconnecting = false;

  /** Where the connection is; `reconnecting` while nats.js replaces a lost one. */
  get connectionState(): ConnectionState {
    if (this.#state === 'closed') return 'closed';
    if (this.#state !== 'connected') return 'connecting';
    return this.#reconnecting ? 'reconnecting' : 'connected';
  }
  #connecting: Promise<void> | undefined;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;
  #publisher: JetStreamPublisher | undefined;
  readonly #subscriptions = new Set<NatsSubscription>();
  #duplicates = 0;
  /** Dead letters read so far, by stream sequence (messages in a stream never change). */
  readonly #deadLetters = new Map<number, StoredDeadLetter>();
  #deadLettersRead = 0;
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

  /** What JetStream offers; `maxMessageBytes` is the server's `max_payload` once connected. */
  get capabilities(): TransportCapabilities {
    return this.#capabilities;
  }

  /** Counters: duplicate publishes dropped by the stream. */
  get stats(): NatsTransportStats {
    return { duplicatesDropped: this.#duplicates };
  }

  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new TransportClosedError('nats transport: closed, create a new one.'));
    if (this.#state === 'connected') return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    this.#state = 'connecting';
    const options = this.options;
    let nc: NatsConnection;
    try {
      nc = await connectUnlessForeign(connect(await natsConnectionOptions(this.options)), options);
    } catch (error) {
      if (this.#state === 'connecting') this.#state = 'new';
      if (error instanceof NatsConnectionError) throw error;
      throw new NatsConnectionError(
        `nats transport: cannot connect to ${options.endpoint}: ${describe(error)}. Check that nats-server runs there (with -js for JetStream) and the URL, credentials and TLS options.`,
        { cause: error },
      );
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: options.requestTimeoutMs });
      this.#jsm = jsm;
      this.#js = jetstream(nc, { timeout: options.requestTimeoutMs });
      await this.#ensureStream(options.stream, `${options.subjectPrefix}.>`, true);
      await this.#ensureStream(options.deadLetterStream, `${options.deadLetterSubjectPrefix}.>`, false);
    } catch (error) {
      if (this.#state === 'connecting') this.#state = 'new';
      await nc.close().catch(() => {});
      if (error instanceof NatsConnectionError) throw error;
      throw new NatsConnectionError(
        `nats transport: connected to ${options.endpoint}, but could not set up JetStream: ${describe(error)}. Start nats-server with JetStream enabled (-js) and check the account's JetStream limits.`,
        { cause: error },
      );
    }
    if (this.#isClosed()) {
      await nc.close().catch(() => {});
      throw new TransportClosedError('nats transport: closed while connecting.');
    }
    this.#nc = nc;
    this.#publisher = new JetStreamPublisher(nc, {
      stream: options.stream,
      timeoutMs: options.requestTimeoutMs,
      logger: options.logger,
      onDuplicate: () => this.#duplicates++,
    });
    this.#capabilities = capabilitiesFor(nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD);
    this.#state = 'connected';
    this.#watchStatus(nc).catch(() => {});
  }

  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new TransportClosedError('nats transport: cannot publish after close().'));
    const publisher = this.#publisher;
    if (publisher === undefined) return Promise.reject(new TransportClosedError('nats transport: not connected; call connect() first.'));
    const limit = this.#capabilities.maxMessageBytes;
    const prefix = this.options.subjectPrefix;
    const stream = this.options.stream;
    const outgoing = new Array<OutgoingJetStreamMessage>(messages.length);
    try {
      for (let i = 0; i < messages.length; i++) {
        const { id, type, message } = messages[i]!;
        const headers = encodePublishHeaders(message, id, stream);
        const size = headers.bytes.byteLength + message.body.byteLength;
        // Nothing of the batch is sent when one message is too large (or cannot be encoded).
        if (size > limit) return Promise.reject(new MessageTooLargeError(id, size, limit));
        outgoing[i] = { id, subject: this.#subject(prefix, type), headers, body: message.body };
      }
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return publisher.publish(outgoing);
  }

  subscribe(spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    if (this.#state === 'closed') return Promise.reject(new TransportClosedError('nats transport: cannot subscribe after close().'));
    const nc = this.#nc;
    if (nc === undefined) return Promise.reject(new TransportClosedError('nats transport: not connected; call connect() first.'));
    return this.#subscribe(nc, spec, onDelivery);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') throw new TransportClosedError('nats transport: already closed.');
    this.#state = 'closed';
    for (const subscription of [...this.#subscriptions]) await subscription.close();
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed()) {
      this.#publisher?.close(new TransportClosedError('nats transport: closed before JetStream confirmed the publish.'));
      return;
    }
    // Acks and hand-backs reach the server before the connection goes (not waiting forever while
    // reconnecting: the server redelivers whatever it did not hear about after AckWait).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([nc.flush().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_TIMEOUT_MS)))]);
    clearTimeout(timer);
    this.#publisher?.close(new TransportClosedError('nats transport: closed before JetStream confirmed the publish.'));
    await nc.close();
  }

  /** Dead letters in the dead-letter stream, oldest first (read incrementally: each call fetches only new ones). */
  async readDeadLetters(): Promise<readonly StoredDeadLetter[]> {
    const jsm = this.#jsm;
    if (jsm === undefined || this.#state === 'closed') throw new TransportClosedError('nats transport: readDeadLetters() needs a connected transport.');
    const stream = this.options.deadLetterStream;
    const { state } = await jsm.streams.info(stream);
    for (const sequence of this.#deadLetters.keys()) {
      if (sequence < state.first_seq) this.#deadLetters.delete(sequence);
    }
    const from = Math.max(this.#deadLettersRead + 1, state.first_seq);
    for (let start = from; start <= state.last_seq; start += READ_CHUNK) {
      const end = Math.min(state.last_seq, start + READ_CHUNK - 1);
      const reads = [];
      for (let seq = start; seq <= end; seq++) reads.push(jsm.streams.getMessage(stream, { seq }));
      const stored = await Promise.all(reads);
      for (const message of stored) {
        if (message === null) continue;
        this.#deadLetters.set(message.seq, {
          message: readWireMessage(message.header, message.data),
          destination: message.subject.slice(this.options.deadLetterSubjectPrefix.length + 1),
        });
      }
      this.#deadLettersRead = end;
    }
    return [...this.#deadLetters.values()];
  }

  /**
   * Removes the dead letters `select` picks from the dead-letter stream, by stream sequence.
   * Every letter is selected first, then the chosen ones are deleted one by one: a failure midway
   * leaves every letter not yet deleted stored. A letter another process deleted meanwhile is not
   * counted.
   */
  async removeDeadLetters(select: (letter: StoredDeadLetter) => boolean): Promise<number> {
    await this.readDeadLetters();
    const chosen = [...this.#deadLetters].filter(([, letter]) => select(letter)).map(([sequence]) => sequence);
    const jsm = this.#jsm;
    if (jsm === undefined || this.#state === 'closed') throw new TransportClosedError('nats transport: removeDeadLetters() needs a connected transport.');
    let removed = 0;
    for (const sequence of chosen) {
      let deleted: boolean;
      try {
        deleted = await jsm.streams.deleteMessage(this.options.deadLetterStream, sequence, false);
      } catch (error) {
        if (!(error instanceof JetStreamApiError) || !/no message found/i.test(error.message)) throw error;
        deleted = false;
      }
      this.#deadLetters.delete(sequence);
      if (deleted) removed++;
    }
    return removed;
  }

  /**
   * The cloudbus durable consumers of the events stream (those whose description holds a
   * subscription record), with their filter subjects and what is waiting in them.
   */
  async listSubscriptions(): Promise<readonly SubscriptionInfo[]> {
    const jsm = this.#jsm;
    if (jsm === undefined || this.#state === 'closed') throw new TransportClosedError('nats transport: listSubscriptions() needs a connected transport.');
    const found: SubscriptionInfo[] = [];
    for await (const consumer of await jsm.consumers.list(this.options.stream)) {
      const record = recordOf(consumer.config.description);
      if (record === undefined || consumer.config.durable_name === undefined) continue;
      found.push(
        subscriptionInfo(
          {
            name: record.name,
            bindings: filtersOf(consumer.config),
            destination: `${this.options.stream}/${consumer.config.durable_name}`,
            pending: consumer.num_pending,
            concurrency: consumer.config.max_ack_pending,
          },
          record,
        ),
      );
    }
    return byName(found);
  }

  /** Deletes the subscription's durable consumer (and with it its place in the stream). */
  async removeSubscription(name: string): Promise<boolean> {
    const jsm = this.#jsm;
    if (jsm === undefined || this.#state === 'closed') throw new TransportClosedError('nats transport: removeSubscription() needs a connected transport.');
    const durable = durableName(name);
    try {
      const info = await jsm.consumers.info(this.options.stream, durable);
      if (recordOf(info.config.description)?.name !== name) return false;
      await jsm.consumers.delete(this.options.stream, durable);
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound) return false;
      throw error;
    }
    this.options.logger.info(`nats transport: removed subscription ${name} (durable ${durable} of stream ${this.options.stream})`, { subscription: name, durable });
    return true;
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

  /** Creates the stream, or adds the subject to it and sets the duplicate window when it exists. */
  async #ensureStream(name: string, subject: string, events: boolean): Promise<void> {
    const jsm = this.#jsm!;
    const options = this.options;
    const duplicateWindow = nanos(options.duplicateWindowMs);
    const maxAge = nanos(events ? options.maxAgeMs : options.deadLetterMaxAgeMs);
    for (let attempt = 0; ; attempt++) {
      let existing;
      try {
        existing = await jsm.streams.info(name);
      } catch (error) {
        if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
      }
      if (existing === undefined) {
        try {
          await jsm.streams.add({
            name,
            subjects: [subject],
            storage: StorageType.File,
            retention: RetentionPolicy.Limits,
            duplicate_window: duplicateWindow,
            max_age: maxAge,
            num_replicas: options.replicas,
          });
          return;
        } catch (error) {
          // Another process created it meanwhile: update it instead.
          if (error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE && attempt === 0) continue;
          if (options.replicas > 1 && error instanceof JetStreamApiError && PLACEMENT_ERRORS.has(error.code)) {
            throw new NatsConnectionError(
              `nats transport: cannot create the stream '${name}' with ${options.replicas} replicas: ${describe(error)}. ` +
                `Each replica needs its own JetStream server: a single server holds 1, a cluster needs at least ${options.replicas} JetStream servers with room for the stream. Lower the replicas option or add servers.`,
              { cause: error },
            );
          }
          throw new NatsConnectionError(`nats transport: cannot create the stream '${name}' for subjects '${subject}': ${describe(error)}. Another stream may capture these subjects: choose other stream / subject prefix options, or delete that stream.`, { cause: error });
        }
      }
      const config = existing.config;
      if ((config.num_replicas || 1) !== options.replicas) {
        options.logger.warn(`nats transport: the stream '${name}' exists with ${config.num_replicas || 1} replicas, the replicas option says ${options.replicas}; it keeps its own (change it with: nats stream edit ${name} --replicas ${options.replicas})`, {
          stream: name,
        });
      }
      const subjects = config.subjects ?? [];
      const hasSubject = subjects.includes(subject);
      if (hasSubject && config.duplicate_window === duplicateWindow && config.max_age === maxAge) return;
      if (config.max_age !== maxAge) {
        options.logger.info(`nats transport: the stream '${name}' now keeps messages for ${maxAge === 0 ? 'ever' : `${Math.round(maxAge / 1e6)} ms`} (was ${config.max_age === 0 ? 'for ever' : `${Math.round(config.max_age / 1e6)} ms`})`, {
          stream: name,
        });
      }
      try {
        await jsm.streams.update(name, {
          ...config,
          subjects: hasSubject ? subjects : [...subjects, subject],
          duplicate_window: duplicateWindow,
          max_age: maxAge,
        });
      } catch (error) {
        throw new NatsConnectionError(`nats transport: cannot update the stream '${name}' to capture '${subject}': ${describe(error)}.`, { cause: error });
      }
      return;
    }
  }

  async #subscribe(nc: NatsConnection, spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    const options = this.options;
    const durable = durableName(spec.name);
    const filters = spec.types.map((type) => subjectForType(options.subjectPrefix, type));
    const config: Partial<ConsumerConfig> = {
      durable_name: durable,
      description: consumerDescription(spec),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: options.startFrom === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
      ack_wait: nanos(options.ackWaitMs),
      max_deliver: options.maxDeliver,
      max_ack_pending: options.maxAckPending ?? spec.concurrency,
    };
    if (filters.length === 1) config.filter_subject = filters[0]!;
    else config.filter_subjects = filters;
    await this.#ensureConsumer(durable, config, spec.name);
    if (this.#state === 'closed') throw new TransportClosedError('nats transport: closed while subscribing.');
    const subscription = new NatsSubscription(
      {
        nc,
        pullSubject: `${this.#js!.apiPrefix}.CONSUMER.MSG.NEXT.${options.stream}.${durable}`,
        ackWaitMs: options.ackWaitMs,
        logger: options.logger,
        storeDeadLetter: (delivery, message) => this.#storeDeadLetter(delivery, message, durable),
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

  /** Creates the durable consumer, or brings an existing one to this configuration (its start position stays). */
  async #ensureConsumer(durable: string, config: Partial<ConsumerConfig>, subscription: string): Promise<void> {
    const jsm = this.#jsm!;
    const stream = this.options.stream;
    const filters = filtersOf(config);
    for (let attempt = 0; ; attempt++) {
      let existing;
      try {
        existing = await jsm.consumers.info(stream, durable);
      } catch (error) {
        if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
      }
      try {
        if (existing === undefined) {
          await jsm.consumers.add(stream, config);
          return;
        }
        // Always brought to this configuration: the description holds the subscription record.
        const removed = filtersOf(existing.config).filter((filter) => !filters.includes(filter));
        if (removed.length > 0) {
          this.options.logger.info(`nats transport: ${subscription} no longer receives ${removed.join(', ')}: the filter of durable ${durable} is updated`, {
            subscription,
            stream,
            durable,
            removed,
          });
        }
        const { deliver_policy: _start, durable_name: _name, ...update } = config;
        await jsm.consumers.update(stream, durable, update);
        return;
      } catch (error) {
        // Another instance created it meanwhile, with other settings: look again and update it.
        if (existing === undefined && attempt === 0 && error instanceof JetStreamApiError) continue;
        throw new NatsConnectionError(
          `nats transport: cannot set up the durable consumer '${durable}' of stream '${stream}' for subscription '${subscription}': ${describe(error)}. ` +
            `If its event types changed and the server is older than 2.10, delete the consumer (nats consumer rm ${stream} ${durable}) and start again.`,
          { cause: error },
        );
      }
    }
  }

  async #storeDeadLetter(delivery: NatsDelivery, message: WireMessage, durable: string): Promise<void> {
    const js = this.#js;
    if (js === undefined || this.#state === 'closed') throw new TransportClosedError('nats transport: cannot dead-letter after close().');
    const headers = natsHeaders();
    writeHeaders(message, headers);
    // One dead letter per message and consumer, even if the original is redelivered after a lost +TERM.
    const id = `${this.options.stream}.${durable}.${delivery.streamSequence}`;
    await js.publish(`${this.options.deadLetterSubjectPrefix}.${delivery.destination}`, message.body, {
      msgID: id,
      headers,
      expect: { streamName: this.options.deadLetterStream },
    });
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    const logger = this.options.logger;
    for await (const status of nc.status()) {
      switch (status.type) {
        case 'disconnect':
          this.#reconnecting = true;
          logger.warn('nats transport: connection lost, reconnecting', { server: this.options.endpoint });
          break;
        case 'reconnect':
          this.#reconnecting = false;
          logger.warn('nats transport: reconnected', { server: this.options.endpoint });
          {
            const resent = this.#publisher?.resendUnanswered() ?? 0;
            if (resent > 0) logger.info(`nats transport: sent ${resent} unacknowledged publish(es) again after the reconnection`, { server: this.options.endpoint });
          }
          for (const subscription of this.#subscriptions) subscription.renew();
          break;
        default:
          break;
      }
    }
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

/** Consumer descriptions start with this, then the subscription record as JSON. */
const DESCRIPTION_PREFIX = 'cloudbus subscription ';
/** NATS refuses longer consumer descriptions. */
const MAX_DESCRIPTION_CHARS = 4096;

/** The consumer description: the prefix and the subscription record (without the types when it would be too long). */
function consumerDescription(spec: SubscriptionSpec): string {
  const record = subscriptionRecord(spec);
  const full = DESCRIPTION_PREFIX + encodeSubscriptionRecord(record);
  if (full.length <= MAX_DESCRIPTION_CHARS) return full;
  return (DESCRIPTION_PREFIX + encodeSubscriptionRecord({ ...record, types: [], handler: undefined, retry: undefined })).slice(0, MAX_DESCRIPTION_CHARS);
}

/** The record in a consumer description; for one written before records (`cloudbus subscription <name>`), a record with the name only. */
function recordOf(description: string | undefined): SubscriptionRecord | undefined {
  if (description === undefined || !description.startsWith(DESCRIPTION_PREFIX)) return undefined;
  const rest = description.slice(DESCRIPTION_PREFIX.length);
  if (rest.startsWith('{')) return decodeSubscriptionRecord(rest);
  if (rest === '' || rest.length > 1024) return undefined;
  return { name: rest, service: undefined, handler: undefined, types: [], concurrency: undefined, retry: undefined, updatedAt: new Date(0).toISOString() };
}

function filtersOf(config: Partial<ConsumerConfig>): string[] {
  if (config.filter_subject !== undefined && config.filter_subject !== '') return [config.filter_subject];
  return [...(config.filter_subjects ?? [])];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
