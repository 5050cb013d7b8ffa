import { describe, expect, it } from 'vitest';

import { escapeLevel, isValidPrefix, MqttTopics, parkingClientId, unescapeLevel } from './mqtt-topics.js';

describe('MQTT topics', () => {
  const topics = new MqttTopics('cloudbus');

  it('maps an event type to one topic level per dot-separated part', () => {
    expect(topics.forType('com.mariopizzeria.order.placed')).toBe('cloudbus/com/mariopizzeria/order/placed');
  });

  it('escapes wildcards, separators, percent signs and empty parts so a type never widens a subscription', () => {
    expect(topics.forType('a+b.c#d.e/f.g%h')).toBe('cloudbus/a%2Bb/c%23d/e%2Ff/g%25h');
    expect(topics.forType('a..b')).toBe('cloudbus/a/%/b');
    expect(topics.forType('.x.')).toBe('cloudbus/%/x/%');
    for (const topic of [topics.forType('+'), topics.forType('#'), topics.forType('a..b')]) {
      expect(topic.split('/').every((level) => level !== '' && !level.includes('+') && !level.includes('#'))).toBe(true);
    }
  });

  it('gives distinct types distinct topics', () => {
    const types = ['a.b', 'a/b', 'a%2Fb', 'a..b', 'a.%.b', 'a+b', 'a%2Bb', 'a.b.', 'a.b%'];
    expect(new Set(types.map((type) => topics.forType(type))).size).toBe(types.length);
  });

  it('reads a redelivery topic back, with the original topic intact', () => {
    const redelivery = { attempt: 3, firstAttemptAt: 1_700_000_000_000, notBefore: 1_700_000_005_000, destination: 'cloudbus/com/x/order/placed' };
    const topic = topics.redeliverTopic('kitchen.Oven/1', redelivery);
    expect(topic).toBe('cloudbus-redeliver/kitchen.Oven%2F1/3/1700000000000/1700000005000/cloudbus/com/x/order/placed');
    expect(topics.parseRedeliver(topic)).toEqual(redelivery);
  });

  it('does not mistake an event topic or a malformed redelivery for a redelivery', () => {
    expect(topics.parseRedeliver('cloudbus/com/x')).toBeUndefined();
    expect(topics.parseRedeliver('cloudbus-redeliverx/a/1/2/3/t')).toBeUndefined();
    expect(topics.parseRedeliver('cloudbus-redeliver/a/one/2/3/t')).toBeUndefined();
    expect(topics.parseRedeliver('cloudbus-redeliver/a/1/2/3')).toBeUndefined();
  });

  it('names dead letters per subscription, sortable by time', () => {
    const early = topics.deadLetterTopic('kitchen.Oven', 5, 'id-1');
    const late = topics.deadLetterTopic('kitchen.Oven', 1_700_000_000_000, 'id-2');
    expect(early).toBe('cloudbus-deadletter/kitchen.Oven/0000000000005-id-1');
    expect(early < late).toBe(true);
    expect(topics.deadLetterFilter()).toBe('cloudbus-deadletter/#');
  });

  it('accepts prefixes of safe levels only', () => {
    expect(isValidPrefix('cloudbus')).toBe(true);
    expect(isValidPrefix('stores/rome-1/cloudbus')).toBe(true);
    for (const bad of ['', '$SYS', 'a/+', 'a/#', 'a//b', '/a', 'a/']) expect(isValidPrefix(bad)).toBe(false);
    expect(escapeLevel('')).toBe('%');
  });
});

describe('registry topics', () => {
  it('name the session a record belongs to, and read back only what escaping produces', () => {
    const topics = new MqttTopics('shop');
    const topic = topics.registryTopic('shop.kitchen/#1', 'shop--kitchen--host--0');
    expect(topic).toBe('shop-registry/shop.kitchen%2F%231/shop--kitchen--host--0');
    expect(topics.registryClientId(topic)).toBe('shop--kitchen--host--0');
    expect(topics.registryClientId('shop-registry/a/b/c')).toBeUndefined();
    expect(topics.registryClientId('elsewhere/a/b')).toBeUndefined();
    for (const level of ['a%2Fb', '%', '%25%2B%23%00', 'plain']) expect(unescapeLevel(level)).toBeDefined();
    expect(unescapeLevel('a%2F%2B')).toBe('a/+');
    expect(unescapeLevel('%zz')).toBeUndefined();
    expect(unescapeLevel('bad%')).toBeUndefined();
  });
});

describe('shared groups and filters', () => {
  it('put a subscription in a group named safely, and tell event and dead-letter topics apart', () => {
    const topics = new MqttTopics('shop');
    expect(topics.shareGroup('shop.kitchen/#1')).toBe('$share/shop.kitchen_2f_231');
    expect(topics.sharedFilter('kitchen', topics.forType('a.b'))).toBe('$share/kitchen/shop/a/b');
    expect(topics.eventFilter()).toBe('shop/#');
    expect(topics.isDeadLetterTopic(topics.deadLetterTopic('kitchen', 1, 'x'))).toBe(true);
    expect(topics.isDeadLetterTopic(topics.forType('a.b'))).toBe(false);
    expect(topics.isDeadLetterTopic('shop-deadletters/x')).toBe(false);
    expect(parkingClientId('shop', 'shop.kitchen')).toBe('shop--shop.kitchen--parking');
  });
});
