import { EventEmitter } from 'node:events';

import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';

import { NO_MATCHING_SUBSCRIBERS, SubscriberTopics } from './subscriber-topics.js';

/** A stand-in for the client's packet events: only 'packetreceive' is used. */
function fakeClient(): EventEmitter & MqttClient {
  return new EventEmitter() as EventEmitter & MqttClient;
}

const puback = (messageId: number, reasonCode: number) => ({ cmd: 'puback', messageId, reasonCode });

describe('subscriber topics', () => {
  it('accepts a PUBACK without subscribers on a topic that never had any, like an unroutable message', () => {
    const client = fakeClient();
    const subscribers = new SubscriberTopics(true);
    subscribers.watch(client);
    client.emit('packetreceive', puback(1, NO_MATCHING_SUBSCRIBERS));
    expect(subscribers.stored('cb/order/placed', 'event', 1)).toBe(true);
  });

  it('counts a PUBACK without subscribers as dropped once the topic was seen with subscribers', () => {
    const client = fakeClient();
    const subscribers = new SubscriberTopics(true);
    subscribers.watch(client);
    client.emit('packetreceive', puback(1, 0));
    expect(subscribers.stored('cb/order/placed', 'event', 1)).toBe(true);
    client.emit('packetreceive', puback(2, NO_MATCHING_SUBSCRIBERS));
    expect(subscribers.stored('cb/order/placed', 'event', 2)).toBe(false);
    // The next PUBACK with that packet id is read afresh.
    client.emit('packetreceive', puback(2, 0));
    expect(subscribers.stored('cb/order/placed', 'event', 2)).toBe(true);
    // Other topics are unaffected.
    client.emit('packetreceive', puback(3, NO_MATCHING_SUBSCRIBERS));
    expect(subscribers.stored('cb/order/cancelled', 'event', 3)).toBe(true);
  });

  it('counts a PUBACK without subscribers as dropped on a topic this transport subscribes to', () => {
    const client = fakeClient();
    const subscribers = new SubscriberTopics(true);
    subscribers.watch(client);
    subscribers.subscribed('cb/order/placed');
    client.emit('packetreceive', puback(7, NO_MATCHING_SUBSCRIBERS));
    expect(subscribers.stored('cb/order/placed', 'event', 7)).toBe(false);
  });

  it('always counts a redelivery without subscribers as dropped, and a retained message as stored', () => {
    const client = fakeClient();
    const subscribers = new SubscriberTopics(true);
    subscribers.watch(client);
    client.emit('packetreceive', puback(1, NO_MATCHING_SUBSCRIBERS));
    expect(subscribers.stored('cb-redeliver/s/2/1/1/cb/a', 'redelivery', 1)).toBe(false);
    client.emit('packetreceive', puback(2, NO_MATCHING_SUBSCRIBERS));
    expect(subscribers.stored('cb-deadletter/s/0000000000001-x', 'retained', 2)).toBe(true);
  });

  it('remembers at most `capacity` topics seen with subscribers, and never redelivery or dead-letter topics', () => {
    const client = fakeClient();
    const subscribers = new SubscriberTopics(true, 2);
    subscribers.watch(client);
    subscribers.stored('cb-redeliver/s/2/1/1/cb/a', 'redelivery', 1);
    subscribers.stored('cb/a', 'event', 2);
    subscribers.stored('cb/b', 'event', 3);
    subscribers.stored('cb/c', 'event', 4);
    for (const [id, topic, stored] of [[5, 'cb/a', false], [6, 'cb/b', false], [7, 'cb/c', true]] as const) {
      client.emit('packetreceive', puback(id, NO_MATCHING_SUBSCRIBERS));
      expect(subscribers.stored(topic, 'event', id)).toBe(stored);
    }
  });

  it('learns nothing on MQTT 3.1.1, which has no reason codes', () => {
    const client = fakeClient();
    const subscribers = new SubscriberTopics(false);
    subscribers.watch(client);
    subscribers.subscribed('cb/a');
    expect(client.listenerCount('packetreceive')).toBe(0);
    expect(subscribers.stored('cb/a', 'event', 1)).toBe(true);
  });
});
