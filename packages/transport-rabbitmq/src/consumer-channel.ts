import { DeliveryLostError } from '@cloudbus/core/transport';
import type { Channel, Message } from 'amqplib';

/** The error of settling a delivery whose channel closed: the broker has put it back in the queue. */
export function channelGoneError(): DeliveryLostError {
  return new DeliveryLostError('rabbitmq transport: the channel this message came on is closed; the broker delivers it again.');
}

/**
 * A consumer's channel and the settling of its deliveries. Acks are sent in runs: every ack asked
 * for in one event-loop turn goes out at the end of it (`setImmediate`), as one `basic.ack` with
 * `multiple` for those older than the oldest delivery still being handled, and one single
 * `basic.ack` for each of the others, so a slow handler never holds back the prefetch credit of
 * the rest. A multiple ack covers only deliveries already settled: at-least-once stays exact.
 * Nacks are sent at once. Acks not sent when the channel closes are lost, and the broker delivers
 * those messages again: {@link flush} before closing the channel.
 */
export class ConsumerChannel {
  readonly channel: Channel;
  #open = true;
  /**
   * Delivery tags handed out and not settled yet, in delivery order (tags grow with each delivery
   * on a channel, and a Set iterates in insertion order: the first one is the oldest).
   */
  readonly #unsettled = new Set<number>();
  /** Settled, ack not sent yet. */
  #ready: Message[] = [];
  #scheduled = false;
  readonly #flush = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(channel: Channel) {
    this.channel = channel;
  }

  /** False once the channel closed (or is being closed by the transport): its deliveries are back in the queue. */
  get open(): boolean {
    return this.#open;
  }

  /** The channel closed, or is being closed: acks not sent yet are dropped (the broker requeues those messages). */
  markClosed(): void {
    this.#open = false;
    this.#ready = [];
    this.#unsettled.clear();
  }

  /** Records a delivery handed out on this channel; every one must be, before it can be settled. */
  delivered(message: Message): void {
    this.#unsettled.add(message.fields.deliveryTag);
  }

  /** Acks a delivery at the end of this event-loop turn. Throws when the channel is closed. */
  ack(message: Message): void {
    if (!this.#open) throw channelGoneError();
    this.#unsettled.delete(message.fields.deliveryTag);
    this.#ready.push(message);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  /** Nacks a delivery now, requeued or not. Throws when the channel is closed. */
  nack(message: Message, requeue: boolean): void {
    if (!this.#open) throw channelGoneError();
    this.channel.nack(message, false, requeue);
    this.#unsettled.delete(message.fields.deliveryTag);
  }

  /** Sends the acks asked for so far. Never throws: on a channel closing meanwhile, the broker requeues those messages. */
  flush(): void {
    const ready = this.#ready;
    if (!this.#open || ready.length === 0) return;
    this.#ready = [];
    const oldest = this.#unsettled.size === 0 ? Infinity : this.#unsettled.values().next().value!;
    let top: Message | undefined;
    try {
      for (const message of ready) {
        const tag = message.fields.deliveryTag;
        if (tag > oldest) this.channel.ack(message, false);
        else if (top === undefined || tag > top.fields.deliveryTag) top = message;
      }
      // Every delivery up to `top` is settled: one ack for all those not acked or nacked yet.
      if (top !== undefined) this.channel.ack(top, true);
    } catch {
      // The channel is closing: its unacked deliveries go back to the queue.
    }
  }
}
