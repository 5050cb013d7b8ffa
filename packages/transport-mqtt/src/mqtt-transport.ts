import { randomUUID } from 'node:crypto';

import {
  NotConnectedError,
  TransportClosedError,
  type BrokerTransport,
  type ConnectionState,
  type Delivery,
  type OutgoingMessage,
  type StoredDeadLetter,
  type Subscription,
  type SubscriptionInfo,
  type SubscriptionSpec,
  type TransportCapabilities,
} from '@cloudbus/core/transport';
import type { MqttClient } from 'mqtt';

import { endConnection, openConnection } from './mqtt-connection.js';
import { MqttDeadLetters } from './mqtt-dead-letters.js';
import { MqttPublisher } from './mqtt-publisher.js';
import { MqttSubscription } from './mqtt-subscription.js';
import { MqttTopics, safeName } from './mqtt-topics.js';
import { MqttTopology } from './mqtt-topology.js';
import { resolveMqttOptions, type MqttTransportOptions, type ResolvedMqttOptions } from './mqtt-transport-options.js';
import { RetainedMessages } from './retained-messages.js';

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
export class MqttTransport implements BrokerTransport {
  readonly name = 'mqtt';
  readonly capabilities: TransportCapabilities;
  /** The options in force (URL without credentials). */
  readonly options: ResolvedMqttOptions;
  /** The topic layout. */
  readonly topics: MqttTopics;
  #state: 'new' | 'connecting' | 'connected' | 'closed' = 'new';
  #client: MqttClient | undefined;
  readonly #subscriptions = new Set<MqttSubscription>();
  #connecting: Promise<void> | undefined;
  readonly #publisher: MqttPublisher;
  readonly #topology: MqttTopology;
  readonly #deadLetters: MqttDeadLetters;

  /** Where the publishing connection is; `reconnecting` while mqtt.js replaces a lost one. */
  get connectionState(): ConnectionState {
    if (this.#state === 'closed') return 'closed';
    if (this.#state !== 'connected') return 'connecting';
    return this.#client?.connected === true ? 'connected' : 'reconnecting';
  }

  constructor(options: MqttTransportOptions = {}) {
    this.options = resolveMqttOptions(options);
    this.topics = new MqttTopics(this.options.topicPrefix);
    this.#publisher = new MqttPublisher(this.options, this.topics);
    const retained = new RetainedMessages(this.options, this.topics, () => this.#state === 'closed');
    this.#topology = new MqttTopology(this.options, this.topics, retained, () => this.#client);
    this.#deadLetters = new MqttDeadLetters(this.options, this.topics, retained, this.#publisher.send);
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
    if (this.#state === 'closed') return Promise.reject(new NotConnectedError('mqtt transport: closed, create a new one.'));
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
        clientId: `${safeName(this.options.topicPrefix)}--${this.options.connectionName}--pub--${randomUUID().slice(0, 8)}`,
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
    this.#publisher.attach(client);
    this.#client = client;
    this.#state = 'connected';
  }

  /**
   * Publishes a batch: resolves once every message has its PUBACK; rejects with `PublishError`
   * listing the ids not confirmed (see `MqttPublisher`).
   */
  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new NotConnectedError('mqtt transport: cannot publish after close().'));
    if (this.#client === undefined) return Promise.reject(new NotConnectedError('mqtt transport: call connect() before publish().'));
    return this.#publisher.publish(messages);
  }

  async subscribe(spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    if (this.#state === 'closed') throw new NotConnectedError('mqtt transport: cannot subscribe after close().');
    if (this.#client === undefined) throw new NotConnectedError('mqtt transport: call connect() before subscribe().');
    const subscription = await MqttSubscription.open(spec, onDelivery, this.options, this.topics, this.#publisher.send);
    if (this.#isClosed()) {
      await subscription.close();
      throw new TransportClosedError('mqtt transport: closed while subscribing.');
    }
    this.#subscriptions.add(subscription);
    await this.#topology.register(spec, subscription);
    // A bus publishes events its own handlers consume: those topics have a subscriber (this one) from now on.
    for (const type of spec.types) this.#publisher.subscribed(this.topics.forType(type));
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
      this.#publisher.detach();
      if (this.#client !== undefined) await endConnection(this.#client);
    }
  }

  /**
   * Dead letters under this transport's topic prefix, oldest first: the retained messages of
   * `<prefix>-deadletter/#`. Reads at most what the broker sends a new subscriber at once
   * (Mosquitto: Receive Maximum plus `max_queued_messages`).
   */
  readDeadLetters(): Promise<readonly StoredDeadLetter[]> {
    return this.#deadLetters.read();
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
  removeDeadLetters(select: (letter: StoredDeadLetter) => boolean): Promise<number> {
    return this.#deadLetters.remove(select);
  }

  /** The subscriptions recorded under this prefix (see `MqttTopology.list`). */
  listSubscriptions(): Promise<readonly SubscriptionInfo[]> {
    return this.#topology.list();
  }

  /** Removes a subscription: its sessions and its registry records (see `MqttTopology.remove`). */
  removeSubscription(name: string): Promise<boolean> {
    return this.#topology.remove(name);
  }
}
