import type { Channel, Message } from 'amqplib';
import { describe, expect, it } from 'vitest';

import { ConsumerChannel } from './consumer-channel.js';

/** What the consumer channel sent, in order: `ack 5+` is an ack with `multiple`, `nack 3 requeue` a requeueing nack. */
function recordingChannel(): { channel: Channel; sent: string[] } {
  const sent: string[] = [];
  const channel = {
    ack: (message: Message, multiple = false) => sent.push(`ack ${message.fields.deliveryTag}${multiple ? '+' : ''}`),
    nack: (message: Message, _multiple = false, requeue = true) => sent.push(`nack ${message.fields.deliveryTag}${requeue ? ' requeue' : ''}`),
  } as unknown as Channel;
  return { channel, sent };
}

const message = (deliveryTag: number) => ({ fields: { deliveryTag } }) as unknown as Message;

/** A consumer channel that handed out deliveries 1 to `count`. */
function consumerWith(channel: Channel, count: number): ConsumerChannel {
  const consumer = new ConsumerChannel(channel);
  for (let tag = 1; tag <= count; tag++) consumer.delivered(message(tag));
  return consumer;
}
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('consumer channel acks', () => {
  it('acks the deliveries settled in one turn with one multiple ack, at the end of the turn', async () => {
    const { channel, sent } = recordingChannel();
    const consumer = consumerWith(channel, 4);
    for (const tag of [2, 1, 3, 4]) consumer.ack(message(tag));
    expect(sent).toEqual([]);
    await nextTurn();
    expect(sent).toEqual(['ack 4+']);
  });

  it('never covers a delivery still being handled: deliveries after it are acked one by one, in the same turn', async () => {
    const { channel, sent } = recordingChannel();
    const consumer = consumerWith(channel, 6);
    // 3 and 6 are still being handled.
    for (const tag of [1, 2, 4, 5]) consumer.ack(message(tag));
    await nextTurn();
    expect(sent).toEqual(['ack 4', 'ack 5', 'ack 2+']);
    consumer.ack(message(3));
    consumer.ack(message(6));
    await nextTurn();
    // 4 and 5 are acked already: one multiple ack settles 3 and 6.
    expect(sent.slice(3)).toEqual(['ack 6+']);
  });

  it('sends nacks at once, and ends a later multiple ack on a delivery it acks, not on a nacked one', async () => {
    const { channel, sent } = recordingChannel();
    const consumer = consumerWith(channel, 5);
    consumer.ack(message(1));
    consumer.nack(message(2), true);
    consumer.ack(message(3));
    consumer.nack(message(4), false);
    expect(sent).toEqual(['nack 2 requeue', 'nack 4']);
    await nextTurn();
    expect(sent.slice(2)).toEqual(['ack 3+']);
    consumer.ack(message(5));
    await nextTurn();
    expect(sent.slice(3)).toEqual(['ack 5+']);
  });

  it('sends what was asked for on flush, and nothing once the channel closed', async () => {
    const { channel, sent } = recordingChannel();
    const consumer = consumerWith(channel, 3);
    consumer.ack(message(1));
    consumer.flush();
    expect(sent).toEqual(['ack 1+']);
    consumer.ack(message(2));
    consumer.markClosed();
    await nextTurn();
    expect(sent).toEqual(['ack 1+']);
    expect(consumer.open).toBe(false);
    expect(() => consumer.ack(message(3))).toThrow(/channel this message came on is closed/);
  });

  it('acks one by one behind a delivery that stays unsettled, and in runs again once it is settled', async () => {
    const { channel, sent } = recordingChannel();
    const consumer = consumerWith(channel, 1);
    for (let tag = 2; tag <= 1_000; tag++) {
      consumer.delivered(message(tag));
      consumer.ack(message(tag));
    }
    await nextTurn();
    expect(sent).toHaveLength(999);
    expect(sent.every((line) => !line.endsWith('+'))).toBe(true);
    consumer.ack(message(1));
    await nextTurn();
    expect(sent.at(-1)).toBe('ack 1+');
  });
});
