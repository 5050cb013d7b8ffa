import { connect, type ChannelModel, type GetMessage, type Options } from 'amqplib';

import type { DeclaredTopology } from '../rabbitmq-topology.js';

/**
 * Test support, talking to the broker directly (never through the transport under test): raw
 * publishes as a foreign producer would make, queue depths, and deleting what a test run declared.
 */
export class BrokerAdmin {
  readonly #url: string;
  #model: Promise<ChannelModel> | undefined;

  constructor(url: string) {
    this.#url = url;
  }

  #connection(): Promise<ChannelModel> {
    this.#model ??= connect(this.#url).then((model) => {
      model.on('error', () => {});
      model.once('close', () => (this.#model = undefined));
      return model;
    });
    return this.#model;
  }

  /** Publishes one raw message with publisher confirms. */
  async publish(exchange: string, routingKey: string, content: Buffer, properties: Options.Publish): Promise<void> {
    const channel = await (await this.#connection()).createConfirmChannel();
    channel.on('error', () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        channel.publish(exchange, routingKey, content, properties, (error: unknown) => (error == null ? resolve() : reject(error as Error)));
      });
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Declares a durable queue bound to `exchange` with `bindingKey`, for tapping what the transport publishes. */
  async tap(queue: string, exchange: string, bindingKey: string): Promise<void> {
    const channel = await (await this.#connection()).createChannel();
    channel.on('error', () => {});
    try {
      await channel.assertQueue(queue, { durable: true });
      await channel.bindQueue(queue, exchange, bindingKey);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Takes (and acks) the next message of a queue, waiting up to `timeoutMs` for one. */
  async take(queue: string, timeoutMs = 10_000): Promise<GetMessage> {
    const channel = await (await this.#connection()).createChannel();
    channel.on('error', () => {});
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const message = await channel.get(queue, { noAck: true });
        if (message !== false) return message;
        if (Date.now() > deadline) throw new Error(`No message in ${queue} within ${timeoutMs} ms.`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /**
   * Whether `queue` exists with these arguments (`x-queue-type` and the like): a declaration with
   * them succeeds only then; the broker refuses one with other arguments (406).
   */
  async hasArguments(queue: string, args: Record<string, unknown>): Promise<boolean> {
    const channel = await (await this.#connection()).createChannel();
    channel.on('error', () => {});
    try {
      await channel.assertQueue(queue, { durable: true, arguments: args });
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 406) return false;
      throw error;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Messages ready in a queue (0 when it does not exist). */
  async depth(queue: string): Promise<number> {
    const channel = await (await this.#connection()).createChannel();
    channel.on('error', () => {});
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch {
      return 0;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Consumers on a queue (0 when it does not exist). */
  async consumers(queue: string): Promise<number> {
    const channel = await (await this.#connection()).createChannel();
    channel.on('error', () => {});
    try {
      return (await channel.checkQueue(queue)).consumerCount;
    } catch {
      return 0;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Whether a queue exists. */
  async exists(queue: string): Promise<boolean> {
    const channel = await (await this.#connection()).createChannel();
    channel.on('error', () => {});
    try {
      await channel.checkQueue(queue);
      return true;
    } catch {
      return false;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Deletes queues and exchanges (missing ones are fine). */
  async delete(topology: DeclaredTopology): Promise<void> {
    const model = await this.#connection();
    for (const queue of topology.queues) {
      const channel = await model.createChannel();
      channel.on('error', () => {});
      await channel.deleteQueue(queue).catch(() => {});
      await channel.close().catch(() => {});
    }
    for (const exchange of topology.exchanges) {
      const channel = await model.createChannel();
      channel.on('error', () => {});
      await channel.deleteExchange(exchange).catch(() => {});
      await channel.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    const model = this.#model;
    this.#model = undefined;
    if (model !== undefined) await (await model).close().catch(() => {});
  }
}

/** Merges the declared topologies of several transports. */
export function mergeTopologies(topologies: readonly DeclaredTopology[]): DeclaredTopology {
  const exchanges = new Set<string>();
  const queues = new Set<string>();
  for (const topology of topologies) {
    for (const exchange of topology.exchanges) exchanges.add(exchange);
    for (const queue of topology.queues) queues.add(queue);
  }
  return { exchanges: [...exchanges], queues: [...queues] };
}
