import { Buffer } from 'node:buffer';

import {
  decodeSubscriptionRecord,
  describeSubscriptions,
  encodeSubscriptionRecord,
  subscriptionRecord,
  NotConnectedError,
  type SubscriptionInfo,
  type SubscriptionRecord,
  type SubscriptionSpec,
} from '@cloudbus/core/transport';
import type { MqttClient } from 'mqtt';

import { endConnection, openConnection } from './mqtt-connection.js';
import type { MqttSubscription } from './mqtt-subscription.js';
import { parkingClientId, type MqttTopics } from './mqtt-topics.js';
import type { ResolvedMqttOptions } from './mqtt-transport-options.js';
import type { RetainedMessages } from './retained-messages.js';

/**
 * What MQTT has of a topology: topics need no declaring, but a persistent session keeps the shared
 * subscriptions it was given, and nothing on the broker lists subscriptions. So each session of a
 * subscription records itself in a registry (one retained record per session,
 * `<prefix>-registry/<subscription>/<client id>`), which reconciles a session that no longer handles
 * some types ({@link register}), lists the subscriptions ({@link list}) and removes one ({@link remove}).
 */
export class MqttTopology {
  constructor(
    private readonly options: ResolvedMqttOptions,
    private readonly topics: MqttTopics,
    private readonly retained: RetainedMessages,
    /** The publishing connection, once connected. */
    private readonly publisher: () => MqttClient | undefined,
  ) {}

  /** The registry records under `filter`, by record topic; payloads that are not records are skipped. */
  async #read(filter: string): Promise<Map<string, SubscriptionRecord>> {
    const records = new Map<string, SubscriptionRecord>();
    for (const [topic, { payload }] of await this.retained.read(filter, 'subscription registry')) {
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
  async register(spec: SubscriptionSpec, subscription: MqttSubscription): Promise<void> {
    try {
      const records = await this.#read(this.topics.registryFilter(spec.name));
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
      const client = this.publisher();
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
  async list(): Promise<readonly SubscriptionInfo[]> {
    const records = await this.#read(this.topics.registryFilter());
    return describeSubscriptions(records.values(), (record) => ({
      bindings: [...record.types.map((type) => this.topics.forType(type)), this.topics.redeliverFilter(record.name)].map((topic) =>
        this.topics.sharedFilter(record.name, topic),
      ),
      destination: this.topics.shareGroup(record.name),
    }));
  }

  /**
   * Removes a subscription: ends each recorded session of it and its group's parking session (a
   * clean connection with the session's client id discards what the broker kept for it), then
   * clears its registry records. Sessions of instances that never recorded themselves are left to
   * the broker's session expiry.
   */
  async remove(name: string): Promise<boolean> {
    const records = await this.#read(this.topics.registryFilter(name));
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
    const client = this.publisher();
    if (client === undefined) throw new NotConnectedError('mqtt transport: call connect() before removeSubscription().');
    for (const topic of records.keys()) await client.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true });
    if (records.size > 0) {
      this.options.logger.info(`mqtt transport: removed subscription ${name} (${sessions.size} session(s))`, { subscription: name, sessions: [...sessions] });
    }
    return records.size > 0;
  }
}
