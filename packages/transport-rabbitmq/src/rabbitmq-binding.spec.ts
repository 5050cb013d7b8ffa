import type { MessageProperties } from 'amqplib';
import { describe, expect, it } from 'vitest';

import { publishProperties, toWireMessage } from './rabbitmq-binding.js';
import { retryBucketOf } from './retry-bucket.js';
import { routingKeyOf } from './routing-key.js';

function properties(headers: Record<string, unknown>, contentType?: string): MessageProperties {
  return { headers, contentType } as MessageProperties;
}

describe('CloudEvents AMQP binding', () => {
  it('writes attributes as cloudEvents_ headers, the content type and id as properties, persistently', () => {
    const published = publishProperties('id-1', { headers: { id: 'id-1', specversion: '1.0', type: 't' }, contentType: 'application/json', body: new Uint8Array() }, 1_700_000_000);
    expect(published).toEqual({
      persistent: true,
      headers: { cloudEvents_id: 'id-1', cloudEvents_specversion: '1.0', cloudEvents_type: 't' },
      contentType: 'application/json',
      messageId: 'id-1',
      timestamp: 1_700_000_000,
    });
  });

  it('leaves an id too long for message_id out of the property (it stays in the header)', () => {
    const id = 'x'.repeat(300);
    expect(publishProperties(id, { headers: { id }, body: new Uint8Array() }, 0).messageId).toBeUndefined();
  });

  it('reads attributes from cloudEvents_ and cloudEvents: headers and nothing else', () => {
    const message = toWireMessage(
      properties({
        cloudEvents_id: 'a',
        'cloudEvents:source': '/s',
        'x-death': [{ count: 1 }],
        'x-cloudbus-attempt': 3,
        'x-delivery-count': 2,
        foreign: 'header',
      }),
      Buffer.from('{}'),
    );
    expect(message.headers).toEqual({ id: 'a', source: '/s' });
  });

  it('turns Buffer, number, boolean and timestamp header values into strings', () => {
    const message = toWireMessage(
      properties({
        cloudEvents_id: Buffer.from('from-bytes'),
        cloudEvents_priority: 7,
        cloudEvents_rush: true,
        cloudEvents_time: { '!': 'timestamp', value: 1_767_323_045 },
      }),
      Buffer.alloc(0),
    );
    expect(message.headers).toEqual({ id: 'from-bytes', priority: '7', rush: 'true', time: '2026-01-02T03:04:05.000Z' });
  });

  it('takes datacontenttype from content_type, or from its header when the property is missing', () => {
    expect(toWireMessage(properties({ cloudEvents_id: 'a' }, 'text/plain'), Buffer.alloc(0)).contentType).toBe('text/plain');
    const fromHeader = toWireMessage(properties({ cloudEvents_datacontenttype: 'application/xml' }), Buffer.alloc(0));
    expect(fromHeader.contentType).toBe('application/xml');
    expect(fromHeader.headers).toEqual({});
  });
});

describe('routing keys', () => {
  it('are the CloudEvent type itself', () => {
    expect(routingKeyOf('com.mariopizzeria.order.placed')).toBe('com.mariopizzeria.order.placed');
  });

  it('percent-encode the characters that are wildcards in binding keys, so each type binds only itself', () => {
    expect(routingKeyOf('a.*.b#c%d')).toBe('a.%2A.b%23c%25d');
    expect(routingKeyOf('a.%2A')).not.toBe(routingKeyOf('a.*'));
  });

  it('refuse a type longer than 255 bytes', () => {
    expect(() => routingKeyOf('é'.repeat(200))).toThrow(/255 bytes/);
  });
});

describe('retry buckets', () => {
  it('never shorten a delay and lengthen it by at most 25 %', () => {
    for (const delay of [1, 2, 7, 10, 49, 50, 51, 299, 300, 1_234, 7_000, 12_345, 99_999, 3_600_000]) {
      const bucket = retryBucketOf(delay);
      expect(bucket).toBeGreaterThanOrEqual(delay);
      expect(bucket).toBeLessThanOrEqual(Math.ceil(delay * 1.25));
    }
    expect(retryBucketOf(300)).toBe(300);
    expect(retryBucketOf(1_234)).toBe(1_250);
  });

  it('stay few: about ten per decade', () => {
    const buckets = new Set<number>();
    for (let delay = 1_000; delay < 10_000; delay++) buckets.add(retryBucketOf(delay));
    expect(buckets.size).toBeLessThanOrEqual(11);
  });
});
