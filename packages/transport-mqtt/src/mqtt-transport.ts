import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';

import {
  byName,
  decodeSubscriptionRecord,
  encodeSubscriptionRecord,
  MessageTooLargeError,
  PublishError,
  subscriptionInfo,
  subscriptionRecord,
  type SubscriptionAdmin,
  type SubscriptionInfo,
  type SubscriptionRecord,
  STRUCTURED_CONTENT_TYPE,
  TransportClosedError,
  wireSize,
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
import type { IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';

import { endConnection, openConnection } from './mqtt-connection.js';
import { MqttSubscription, parkingClientId, type PublishKind } from './mqtt-subscription.js';
import { MqttTopics, safeName } from './mqtt-topics.js';
import { resolveMqttOptions, type MqttTransportOptions, type ResolvedMqttOptions } from './mqtt-transport-options.js';
import { PendingPublish, type PublishContext } from './pending-publish.js';
import { BatchDeadlines, PublishBatch, SinglePublish, type PublishOutcome } from './publish-batch.js';
import { PublishWindow } from './publish-window.js';
import { fromStructured, toStructured } from './structured-envelope.js';
import { SubscriberTopics } from './subscriber-topics.js';

const QOS1: IClientPublishOptions = { qos: 1 };
const QOS1_RETAINED: IClientPublishOptions = { qos: 1, retain: true };
/** How long {@link MqttTransport.readDeadLetters} waits for the broker to send the retained dead letters. */
const READ_TIMEOUT_MS = 10_000;

/**
 * CloudEvents over MQTT (mqtt.js), for in-store devices: MQTT 5 by default, MQTT 3.1.1 by option.
 * Structured content mode by default (the whole event as one JSON payload); binary mode (attributes
 * as user properties) on MQTT 5 when the bus asks for it. QoS 1 throughout.
 *
 * - Publishing: one connection per transport (clean session); `publish` resolves once every
 *   message of the batch has its PUBACK; at most `publishWindow` await theirs at once.
 * - Subscribing: one connection per handler subscription, with a persistent session and a client id
 *   stable per subscription and process instance, a shared subscription per event type (so the
 *   instances of a service compete), and a PUBACK only once the handler is done.
 * - Redelivery (`nack(delay)`) and dead letters are done by this transport: a redelivery is
 *   republished to the subscription's own topic (attempt, first attempt time and due time in its
 *   levels) before the original is acknowledged; a dead letter is a retained message on its own topic.
 * - Nothing confirmed is lost for want of a subscriber (MQTT 5): an event topic seen with subscribers
 *   (or subscribed by this transport) that gets a PUBACK "No matching subscribers" (e.g. right after a
 *   broker restart, before the consumers subscribed again) is published again until a subscriber
 *   takes it or `publishTimeoutMs` passes.
 *
 * See the package README for topics, sessions and what MQTT cannot guarantee.
 */
export class MqttTransport implements Transport, DeadLetterReader, DeadLetterRemover, ConnectionStateReporter, SubscriptionAdmin {
  readonly name = 'mqtt';
  readonly capabilities: TransportCapabilities;
  /** The options in force (URL without credentials). */
  readonly options: ResolvedMqttOptions;
  /** The topic layout. */
  readonly topics: MqttTopics;
  #state: 'new' | 'connecting' | 'connected' | 'closed' = 'new';
  #client: MqttClient | undefined;
  readonly #window: PublishWindow;
  readonly #subscriptions = new Set<MqttSubscription>();
  #connecting: Promise<void> | undefined;
  readonly #subscribers: SubscriberTopics;
  #publishContext: PublishContext | undefined;
  readonly #deadlines = new BatchDeadlines();
  readonly #plainOptions = new Map<string, IClientPublishOptions>();
  readonly #retainedOptions = new Map<string, IClientPublishOptions>();
  /** Options of a retained publish (a dead letter, or its deletion). */
  readonly #retained: IClientPublishOptions;
  /** The publishing connection is usable: from connect until the end of close (subscriptions hand messages back through it while closing). */
  #publisherOpen = false;

  /** Where the publishing connection is; `reconnecting` while mqtt.js replaces a lost one. */
  get connectionState(): ConnectionState {
    if (this.#state === 'closed') return 'closed';
    if (this.#state !== 'connected') return 'connecting';
    return this.#client?.connected === true ? 'connected' : 'reconnecting';
  }

  constructor(options: MqttTransportOptions = {}) {
    this.options = resolveMqttOptions(options);
    // Dead letters (retained) expire after deadLetterExpirySeconds, where MQTT 5 can say so.
    const expiry = this.options.protocolVersion === 5 && this.options.deadLetterExpirySeconds > 0 ? this.options.deadLetterExpirySeconds : undefined;
    this.#retained = expiry === undefined ? QOS1_RETAINED : { ...QOS1_RETAINED, properties: { messageExpiryInterval: expiry } };
    this.topics = new MqttTopics(this.options.topicPrefix);
    this.#window = new PublishWindow(this.options.publishWindow);
    this.#subscribers = new SubscriberTopics(this.options.protocolVersion === 5);
    this.capabilities = {
      maxMessageBytes: this.options.maxMessageBytes,
      binaryMode: this.options.protocolVersion === 5,
      // mqtt.js encodes and parses user properties slowly (30-45 µs per message for the CloudEvent
      // attributes): one JSON payload keeps most of raw mqtt.js's throughput. Binary stays available.
      preferredContentMode: 'structured',
      // The retry sits in a redelivery topic on the broker, with its due time: it outlives this process.
      nativeDelayedRedelivery: true,
      publishDeduplication: false,
      ordered: true,
      durable: this.options.durable,
    };
  }

  /** Read through a method, so TypeScript does not narrow the state across awaits. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** Opens the publishing connection. Rejects with `MqttConnectError` (no credentials in it) when the broker cannot be reached. */
  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new TransportClosedError('mqtt transport: closed, create a new one.'));
    this.#connecting ??= this.#open().catch((error: unknown) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  async #open(): Promise<void> {
    this.#state = 'connecting';
    let client: MqttClient;
    try {
      client = await openConnection(this.options, {
        clientId: `${safeName(this.options.topicPrefix)}--${this.options.service}--pub--${randomUUID().slice(0, 8)}`,
        clean: true,
      });
    } catch (error) {
      if (!this.#isClosed()) this.#state = 'new';
      throw error;
    }
    if (this.#isClosed()) {
      await endConnection(client);
      throw new TransportClosedError('mqtt transport: closed while connecting.');
    }
    this.#subscribers.watch(client);
    this.#publishContext = {
      client,
      window: this.#window,
      subscribers: this.#subscribers,
      publishTimeoutMs: this.options.publishTimeoutMs,
      isClosed: () => !this.#publisherOpen,
    };
    this.#client = client;
    this.#publisherOpen = true;
    this.#state = 'connected';
  }

  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new TransportClosedError('mqtt transport: cannot publish after close().'));
    if (this.#client === undefined) return Promise.reject(new TransportClosedError('mqtt transport: call connect() before publish().'));
    const limit = this.options.maxMessageBytes;
    for (const outgoing of messages) {
      const size = wireSize(outgoing.message);
      if (size > limit) return Promise.reject(new MessageTooLargeError(outgoing.id, size, limit));
    }
    const count = messages.length;
    if (count === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const batch = new PublishBatch(messages, this.options.publishTimeoutMs, resolve, reject, this.#batchFinished);
      this.#deadlines.add(batch);
      for (let i = 0; i < count; i++) {
        const outgoing = messages[i]!;
        this.#dispatch(this.topics.forType(outgoing.type), outgoing.message, 'event', batch, i);
      }
    });
  }

  readonly #batchFinished = (): void => this.#deadlines.finished();

  /**
   * Publishes one wire message at QoS 1 within the publish window; resolves once the broker stored it:
   * on its PUBACK, unless that says "No matching subscribers" for a topic that must have one (see
   * {@link PublishKind}), in which case it is published again after a short backoff.
   */
  readonly #send = (topic: string, message: WireMessage, kind: PublishKind): Promise<void> =>
    new Promise<void>((resolve, reject) => this.#dispatch(topic, message, kind, new SinglePublish(resolve, reject), 0));

  /** Sends message `index` of `outcome` now if the window has room, else once it has. */
  #dispatch(topic: string, message: WireMessage, kind: PublishKind, outcome: PublishOutcome, index: number): void {
    if (this.#window.tryAcquire()) {
      this.#publishNow(topic, message, kind, outcome, index);
      return;
    }
    void this.#window.wait().then(() => {
      if (outcome.abandoned) {
        this.#window.release();
        outcome.failed(index, new PublishError('mqtt transport: not sent, its batch timed out.', []));
        return;
      }
      this.#publishNow(topic, message, kind, outcome, index);
    });
  }

  #publishNow(topic: string, message: WireMessage, kind: PublishKind, outcome: PublishOutcome, index: number): void {
    const context = this.#publishContext;
    if (context === undefined || !this.#publisherOpen) {
      this.#window.release();
      outcome.failed(index, new TransportClosedError('mqtt transport: closed.'));
      return;
    }
    const retain = kind === 'retained';
    let payload: Buffer;
    let options: IClientPublishOptions = retain ? this.#retained : QOS1;
    const body = message.body;
    if (this.options.protocolVersion === 4) {
      payload = toStructured(message);
    } else {
      payload = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      let headers = false;
      for (const _ in message.headers) {
        headers = true;
        break;
      }
      if (headers) {
        const properties: NonNullable<IPublishPacket['properties']> = { userProperties: message.headers as Record<string, string> };
        if (message.contentType !== undefined) properties.contentType = message.contentType;
        if (retain && this.options.deadLetterExpirySeconds > 0) properties.messageExpiryInterval = this.options.deadLetterExpirySeconds;
        options = { qos: 1, retain, properties };
      } else if (message.contentType !== undefined) {
        // Structured mode: the same few content types over and over, so their options are made once.
        options = this.#contentTypeOptions(message.contentType, retain);
      }
    }
    new PendingPublish(context, topic, payload, options, kind, outcome, index).send();
  }

  /** Publish options carrying only a Content Type (mqtt.js copies them and does not change `properties`). */
  #contentTypeOptions(contentType: string, retain: boolean): IClientPublishOptions {
    const cache = retain ? this.#retainedOptions : this.#plainOptions;
    let options = cache.get(contentType);
    if (options === undefined) {
      options = { qos: 1, retain, properties: { contentType, ...(retain ? this.#retained.properties : {}) } };
      if (cache.size < 64) cache.set(contentType, options);
    }
    return options;
  }

  async subscribe(spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    if (this.#state === 'closed') throw new TransportClosedError('mqtt transport: cannot subscribe after close().');
    if (this.#client === undefined) throw new TransportClosedError('mqtt transport: call connect() before subscribe().');
    const subscription = await MqttSubscription.open(spec, onDelivery, this.options, this.topics, this.#send);
    if (this.#isClosed()) {
      await subscription.close();
      throw new TransportClosedError('mqtt transport: closed while subscribing.');
    }
    this.#subscriptions.add(subscription);
    await this.#register(spec, subscription);
    // A bus publishes events its own handlers consume: those topics have a subscriber (this one) from now on.
    for (const type of spec.types) this.#subscribers.subscribed(this.topics.forType(type));
    this.options.logger.info(`mqtt transport: ${spec.name} subscribed`, {
      subscription: spec.name,
      topics: spec.types.map((type) => this.topics.forType(type)),
      instanceId: this.options.instanceId,
    });
    return {
      stop: () => subscription.stop(),
      close: async () => {
        this.#subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  /**
   * Closes every subscription (each hands what it holds back to its group, see
   * `MqttSubscription.close`; what it could not hand back stays in its session) and then the
   * publishing connection. New publishes are refused from the start. A second call rejects with
   * `TransportClosedError`.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') throw new TransportClosedError('mqtt transport: already closed.');
    this.#state = 'closed';
    const subscriptions = [...this.#subscriptions];
    this.#subscriptions.clear();
    try {
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
    } finally {
      this.#publisherOpen = false;
      if (this.#client !== undefined) await endConnection(this.#client);
    }
  }

  /**
   * Dead letters under this transport's topic prefix, oldest first: the retained messages of
   * `<prefix>-deadletter/#`. Reads at most what the broker sends a new subscriber at once
   * (Mosquitto: Receive Maximum plus `max_queued_messages`).
   */
  async readDeadLetters(): Promise<readonly StoredDeadLetter[]> {
    const found = await this.#readDeadLetterTree();
    return [...found.entries()]
      .sort(([a], [b]) => compareByTime(a, b))
      .map(([, message]) => this.#storedDeadLetter(message));
  }

  /** Deletes every stored dead letter under this prefix (clears their retained messages). Returns how many. */
  deleteDeadLetters(): Promise<number> {
    return this.removeDeadLetters(() => true);
  }

  /**
   * Removes the dead letters `select` picks: clears the retained message of each chosen one's
   * topic (every dead letter has a topic of its own). Every letter is selected first, then the
   * chosen ones are cleared: a failure midway leaves every letter not yet cleared stored.
   */
  async removeDeadLetters(select: (letter: StoredDeadLetter) => boolean): Promise<number> {
    const found = await this.#readDeadLetterTree();
    const chosen = [...found].filter(([, message]) => select(this.#storedDeadLetter(message))).map(([topic]) => topic);
    const empty: WireMessage = { headers: {}, body: new Uint8Array(0) };
    await Promise.all(chosen.map((topic) => this.#send(topic, empty, 'retained')));
    return chosen.length;
  }

  #storedDeadLetter(message: WireMessage): StoredDeadLetter {
    return { message, destination: message.headers['deadlettersource'] ?? '' };
  }

  async #readDeadLetterTree(): Promise<Map<string, WireMessage>> {
    const found = await this.#readRetained(this.topics.deadLetterFilter(), 'dead letters');
    const letters = new Map<string, WireMessage>();
    for (const [topic, { payload, packet }] of found) letters.set(topic, this.#readStored(payload, packet));
    return letters;
  }

  /**
   * The retained messages under `filter`: subscribes a short-lived clean session to it and to a
   * private marker topic, then publishes to the marker; the broker sends the retained messages
   * before it, so its arrival means all of them are in.
   */
  async #readRetained(filter: string, what: string): Promise<Map<string, { payload: Buffer; packet: IPublishPacket }>> {
    if (this.#state === 'closed') throw new TransportClosedError(`mqtt transport: cannot read ${what} after close().`);
    const marker = `${this.topics.deadLetterRoot}-sync/${randomUUID()}`;
    const found = new Map<string, { payload: Buffer; packet: IPublishPacket }>();
    const client = await openConnection(this.options, {
      clientId: `${safeName(this.options.topicPrefix)}--${this.options.service}--dlr--${randomUUID().slice(0, 8)}`,
      clean: true,
      receiveMaximum: 65_535,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`mqtt transport: the broker did not send the ${what} within ${READ_TIMEOUT_MS} ms.`)), READ_TIMEOUT_MS);
        client.on('message', (topic, payload, packet) => {
          if (topic === marker) {
            clearTimeout(timer);
            resolve();
            return;
          }
          if (payload.byteLength === 0) found.delete(topic);
          else found.set(topic, { payload, packet });
        });
        client
          .subscribeAsync({ [filter]: { qos: 1 }, [marker]: { qos: 1 } })
          .then(() => client.publishAsync(marker, Buffer.from('sync'), QOS1))
          .catch((error: unknown) => {
            clearTimeout(timer);
            reject(error as Error);
          });
      });
    } finally {
      await endConnection(client);
    }
    return found;
  }

  /** The registry records under `filter`, by record topic; payloads that are not records are skipped. */
  async #readRegistry(filter: string): Promise<Map<string, SubscriptionRecord>> {
    const records = new Map<string, SubscriptionRecord>();
    for (const [topic, { payload }] of await this.#readRetained(filter, 'subscription registry')) {
      const record = decodeSubscriptionRecord(payload);
      if (record !== undefined) records.set(topic, record);
    }
    return records;
  }

  /**
   * Records this session of `spec` in the registry, after leaving the shared subscriptions of types
   * any session of it was recorded with and `spec` no longer has (a persistent session keeps them:
   * each session of the subscription drops them when it next starts). Logged; a failure here is
   * logged, never fatal.
   */
  async #register(spec: SubscriptionSpec, subscription: MqttSubscription): Promise<void> {
    try {
      const records = await this.#readRegistry(this.topics.registryFilter(spec.name));
      const current = new Set(spec.types.map((type) => this.topics.forType(type)));
      const stale = new Set<string>();
      for (const record of records.values()) {
        if (record.name !== spec.name) continue;
        for (const type of record.types) {
          const topic = this.topics.forType(type);
          if (!current.has(topic)) stale.add(topic);
        }
      }
      if (stale.size > 0) {
        await subscription.unsubscribeStale([...stale]);
        this.options.logger.info(`mqtt transport: ${spec.name} no longer receives ${[...stale].join(', ')}: left those shared subscriptions`, {
          subscription: spec.name,
          clientId: subscription.clientId,
          removed: [...stale],
        });
      }
      const client = this.#client;
      if (client === undefined) return;
      const payload = Buffer.from(encodeSubscriptionRecord(subscriptionRecord(spec)));
      await client.publishAsync(this.topics.registryTopic(spec.name, subscription.clientId), payload, { qos: 1, retain: true });
    } catch (error) {
      this.options.logger.warn(`mqtt transport: could not update the subscription registry for ${spec.name}; shared subscriptions to types it no longer handles stay until a later start`, {
        subscription: spec.name,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /**
   * The subscriptions in the registry under this prefix: one entry per subscription, from its
   * newest session record. Bindings are its shared topic filters; MQTT tells neither pending
   * messages nor connected consumers.
   */
  async listSubscriptions(): Promise<readonly SubscriptionInfo[]> {
    const newest = new Map<string, SubscriptionRecord>();
    for (const record of (await this.#readRegistry(this.topics.registryFilter())).values()) {
      const known = newest.get(record.name);
      if (known === undefined || record.updatedAt >= known.updatedAt) newest.set(record.name, record);
    }
    const found: SubscriptionInfo[] = [];
    for (const record of newest.values()) {
      const group = safeName(record.name);
      found.push(
        subscriptionInfo(
          {
            name: record.name,
            bindings: [...record.types.map((type) => this.topics.forType(type)), this.topics.redeliverFilter(record.name)].map((topic) => `$share/${group}/${topic}`),
            destination: `$share/${group}`,
          },
          record,
        ),
      );
    }
    return byName(found);
  }

  /**
   * Removes a subscription: ends each recorded session of it and its group's parking session (a
   * clean connection with the session's client id discards what the broker kept for it), then
   * clears its registry records. Sessions of instances that never recorded themselves are left to
   * the broker's session expiry.
   */
  async removeSubscription(name: string): Promise<boolean> {
    const records = await this.#readRegistry(this.topics.registryFilter(name));
    const parking = parkingClientId(this.topics.prefix, name);
    const sessions = new Set<string>([parking]);
    // Only this subscription's own client ids (`<prefix>--<subscription>--...`): a record anyone
    // could have written must not make prune end another client's session.
    const own = parking.slice(0, parking.length - 'parking'.length);
    for (const topic of records.keys()) {
      const clientId = this.topics.registryClientId(topic);
      if (clientId !== undefined && clientId.startsWith(own) && clientId.length <= 256) sessions.add(clientId);
    }
    for (const clientId of sessions) {
      const client = await openConnection(this.options, { clientId, clean: true });
      await endConnection(client);
    }
    const client = this.#client;
    if (client === undefined) throw new TransportClosedError('mqtt transport: call connect() before removeSubscription().');
    for (const topic of records.keys()) await client.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true });
    if (records.size > 0) {
      this.options.logger.info(`mqtt transport: removed subscription ${name} (${sessions.size} session(s))`, { subscription: name, sessions: [...sessions] });
    }
    return records.size > 0;
  }

  #readStored(payload: Buffer, packet: IPublishPacket): WireMessage {
    if (this.options.protocolVersion === 4) {
      return fromStructured(payload) ?? { headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: payload };
    }
    const properties = packet.properties;
    const headers: Record<string, string> = {};
    const user = properties?.userProperties;
    if (user !== undefined) for (const name in user) headers[name] = String(user[name]);
    return { headers, contentType: properties?.contentType, body: payload };
  }
}

/** Dead-letter topics end with a 13-digit time: sort on that level, then on the whole topic. */
function compareByTime(a: string, b: string): number {
  const timeA = a.slice(a.lastIndexOf('/') + 1);
  const timeB = b.slice(b.lastIndexOf('/') + 1);
  return timeA < timeB ? -1 : timeA > timeB ? 1 : a < b ? -1 : a > b ? 1 : 0;
}
