import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';

import {
  decodeSubscriptionRecord,
  describeSubscriptions,
  encodeSubscriptionRecord,
  removedTypes,
  subscriptionRecord,
  TransportClosedError,
  type SubscriptionInfo,
  type SubscriptionRecord,
  type SubscriptionSpec,
} from '@cloudbus/core/transport';

import type { RabbitMqConnection } from './rabbitmq-connection.js';
import type { RabbitMqPublisher } from './rabbitmq-publisher.js';
import { queueExists, withChannel, type QueueBrowser } from './rabbitmq-queue-browser.js';
import type { RabbitMqTopology } from './rabbitmq-topology.js';
import type { ResolvedRabbitMqOptions } from './rabbitmq-transport-options.js';
import { routingKeyOf } from './routing-key.js';

/** What the registry works with: the transport's parts. */
export interface RegistryEnvironment {
  readonly options: ResolvedRabbitMqOptions;
  readonly topology: RabbitMqTopology;
  readonly publisher: RabbitMqPublisher;
  readonly connection: RabbitMqConnection;
  readonly browser: QueueBrowser;
  /** The `NotConnectedError` for `what` on a transport not connected. */
  notConnected(what: string): Error;
}

/**
 * The subscription registry: one message per subscription (its record, JSON) in the queue
 * `<exchange>/subscriptions`, rewritten on each `subscribe`, read (browsed) to reconcile bindings,
 * to describe and to remove subscriptions: AMQP cannot list queues or bindings.
 */
export class SubscriptionRegistry {
  readonly #env: RegistryEnvironment;

  constructor(env: RegistryEnvironment) {
    this.#env = env;
  }

  /**
   * Records `spec` in the subscription registry, then reconciles: the bindings of types the
   * previous record had and `spec` has not are removed, and logged. The new record is confirmed
   * before older ones are removed, so a crash midway leaves two, of which the newest counts. A
   * failure here is logged, never fatal: the subscription runs, and the next start tries again.
   */
  async register(spec: SubscriptionSpec, queue: string): Promise<void> {
    const { options, topology, publisher, connection, browser } = this.#env;
    try {
      const record = subscriptionRecord(spec);
      const id = `${spec.name}@${record.updatedAt}#${randomUUID()}`;
      await publisher.publish([
        {
          id,
          exchange: '',
          routingKey: topology.registryQueue,
          content: Buffer.from(encodeSubscriptionRecord(record)),
          properties: { messageId: id, persistent: true, contentType: 'application/json' },
        },
      ]);
      let previous: SubscriptionRecord | undefined;
      await browser.browse(topology.registryQueue, 'update the subscription registry', (raw) => {
        if (raw.properties.messageId === id) return false;
        const older = decodeSubscriptionRecord(raw.content);
        if (older?.name !== spec.name) return false;
        if (previous === undefined || older.updatedAt > previous.updatedAt) previous = older;
        return true;
      });
      const removed = removedTypes(previous, spec);
      if (removed.length === 0) return;
      const model = connection.current;
      if (model === undefined) throw new TransportClosedError('rabbitmq transport: connection lost while reconciling bindings.');
      await withChannel(model, (channel) => topology.unbindTypes(channel, queue, removed));
      options.logger.info(`rabbitmq transport: ${spec.name} no longer receives ${removed.join(', ')}: unbound queue ${queue} from ${options.exchange}`, {
        subscription: spec.name,
        queue,
        exchange: options.exchange,
        removed: removed.map(routingKeyOf),
      });
    } catch (error) {
      options.logger.warn(`rabbitmq transport: could not update the subscription registry for ${spec.name}; bindings of types it no longer handles stay until a later start`, {
        subscription: spec.name,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /**
   * The subscriptions in the registry, each with its queue's ready messages and consumers.
   * Bindings are the routing keys of the recorded types (AMQP cannot list bindings); a record
   * whose queue is gone is listed with no counts.
   */
  async list(): Promise<readonly SubscriptionInfo[]> {
    const records = await this.#records();
    const model = this.#env.connection.current;
    if (model === undefined) throw this.#env.notConnected('list subscriptions');
    return describeSubscriptions(records, async (record) => {
      const queue = this.#env.topology.queueOf(record.name);
      const counts = await withChannel(model, (channel) => channel.checkQueue(queue)).catch(() => undefined);
      return { bindings: record.types.map(routingKeyOf), destination: queue, pending: counts?.messageCount, consumers: counts?.consumerCount };
    });
  }

  /** Deletes the subscription's queue (with its bindings and messages) and its registry records. */
  async remove(name: string): Promise<boolean> {
    const { topology, connection, browser, options } = this.#env;
    let recorded = false;
    await browser.browse(topology.registryQueue, 'remove a subscription', (raw) => {
      const match = decodeSubscriptionRecord(raw.content)?.name === name;
      recorded ||= match;
      return match;
    });
    const model = connection.current;
    if (model === undefined) throw this.#env.notConnected('remove a subscription');
    const queue = topology.queueOf(name);
    const exists = await queueExists(model, queue);
    if (exists) await withChannel(model, (channel) => channel.deleteQueue(queue));
    if (exists || recorded) {
      options.logger.info(`rabbitmq transport: removed subscription ${name} (queue ${queue})`, { subscription: name, queue });
    }
    return exists || recorded;
  }

  /** Every record in the registry, in the queue's order, read without consuming them. */
  async #records(): Promise<SubscriptionRecord[]> {
    const records: SubscriptionRecord[] = [];
    await this.#env.browser.browse(this.#env.topology.registryQueue, 'read the subscription registry', (raw) => {
      const record = decodeSubscriptionRecord(raw.content);
      if (record !== undefined) records.push(record);
      return false;
    });
    return records;
  }
}
