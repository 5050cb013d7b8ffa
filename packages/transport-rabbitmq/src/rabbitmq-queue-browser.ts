import { NotConnectedError } from '@cloudbus/core/transport';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';

import { closeChannel } from './closing-steps.js';
import type { RabbitMqConnection } from './rabbitmq-connection.js';

/** How long a browse waits for the broker to make the messages it handed back ready again. */
const RETURN_WAIT_MS = 10_000;

/** Runs `use` on a channel of its own, closed after; rejects with the channel's error when the broker closed it. */
export async function withChannel<T>(model: ChannelModel, use: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await model.createChannel();
  let lastError: unknown;
  channel.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    return await use(channel);
  } catch (error) {
    throw lastError ?? error;
  } finally {
    await closeChannel(channel);
  }
}

/** Whether `queue` exists (a passive declaration; its own channel, which a missing queue closes). */
export async function queueExists(model: ChannelModel, queue: string): Promise<boolean> {
  try {
    await withChannel(model, (channel) => channel.checkQueue(queue));
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 404 && /no queue/.test(String((error as Error).message))) return false;
    throw error;
  }
}

/**
 * Reads queues without consuming them (AMQP has no browse): every message is fetched unacked, those
 * the visitor picks are acked, and closing the channel returns the rest to their places. The dead
 * letters and the subscription registry are read this way. Browses run one after the other.
 */
export class QueueBrowser {
  readonly #connection: RabbitMqConnection;
  readonly #ready: (what: string) => void;
  /** The browse under way. */
  #browsing: Promise<void> = Promise.resolve();

  /**
   * @param connection the transport's connection
   * @param ready throws (`NotConnectedError`) when the transport is not connected, for `what`
   */
  constructor(connection: RabbitMqConnection, ready: (what: string) => void) {
    this.#connection = connection;
    this.#ready = ready;
  }

  /**
   * Fetches every message of `queue` unacked, one at a time, and acks those `visit` returns true
   * for; closing the channel then returns the rest, in their places. `visit` must not throw.
   */
  browse(queue: string, what: string, visit: (raw: GetMessage) => boolean): Promise<void> {
    const run = this.#browsing.then(async () => {
      this.#ready(what);
      await this.#connection.whenConnected();
      const model = this.#connection.current;
      if (model === undefined) throw new NotConnectedError('rabbitmq transport: closed.');
      const channel = await model.createChannel();
      channel.on('error', () => {});
      let fetched = 0;
      let removed = 0;
      let failure: { error: unknown } | undefined;
      try {
        const { messageCount } = await channel.checkQueue(queue);
        let acked = false;
        for (let i = 0; i < messageCount; i++) {
          const raw: GetMessage | false = await channel.get(queue, { noAck: false });
          if (raw === false) break;
          fetched++;
          if (visit(raw)) {
            channel.ack(raw);
            acked = true;
            removed++;
          }
        }
        // The broker answers in order: once this answer is in, it has every ack before it.
        if (acked) await channel.checkQueue(queue);
      } catch (error) {
        failure = { error };
      } finally {
        // Closing the channel returns every fetched message not acked to its place in the queue.
        await closeChannel(channel);
      }
      // Also when the browse failed midway: the next read must find what was not removed.
      await untilReturned(model, queue, fetched - removed);
      if (failure !== undefined) throw failure.error;
    });
    this.#browsing = run.catch(() => {});
    return run;
  }
}

/**
 * Waits (up to {@link RETURN_WAIT_MS}) until `queue` has `count` messages ready again: a quorum
 * queue puts returned messages back asynchronously, and a browse started before they are back
 * would miss them.
 */
async function untilReturned(model: ChannelModel, queue: string, count: number): Promise<void> {
  if (count === 0) return;
  const deadline = Date.now() + RETURN_WAIT_MS;
  for (;;) {
    const ready = await withChannel(model, (channel) => channel.checkQueue(queue)).then(
      ({ messageCount }) => messageCount,
      () => count,
    );
    if (ready >= count || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
