import { describe, expect, it } from 'vitest';

import { decodeSubscriptionRecord, describeSubscriptions, encodeSubscriptionRecord, removedTypes, subscriptionInfo, subscriptionRecord } from './subscription-record.js';

const spec = {
  name: 'shop.kitchen',
  types: ['com.example.cooked'],
  concurrency: 4,
  description: { service: 'shop', handler: 'Kitchen.handle', retry: 'none' },
};

describe('subscription records', () => {
  it('round-trip through their JSON text', () => {
    const record = subscriptionRecord(spec, new Date('2026-12-04T10:00:00Z'));
    expect(decodeSubscriptionRecord(encodeSubscriptionRecord(record))).toEqual(record);
    expect(decodeSubscriptionRecord(Buffer.from(encodeSubscriptionRecord(record)))).toEqual(record);
  });

  it('read hostile text from the broker as no record, never throwing', () => {
    const hostile: (string | Uint8Array)[] = [
      '',
      'not json',
      'null',
      '[]',
      '"shop.kitchen"',
      '{"name":"shop.kitchen"}',
      '{"name":"","types":[]}',
      '{"name":42,"types":[]}',
      '{"name":"a","types":[1,2]}',
      `{"name":"a","types":["${'x'.repeat(2_000)}"]}`,
      `{"name":"a","types":[],"pad":"${'x'.repeat(70_000)}"}`,
      new Uint8Array([0xff, 0xfe, 0x7b]),
      '{"__proto__":{"polluted":true},"name":"a","types":[]}',
    ];
    for (const text of hostile) {
      const record = decodeSubscriptionRecord(text);
      if (record !== undefined) expect(record.name).toBe('a');
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(decodeSubscriptionRecord('{"name":"a","types":[]}')).toBeDefined();
  });

  it('keep the fields that make sense and drop the wrong-kind ones', () => {
    const record = decodeSubscriptionRecord('{"name":"a","types":["t"],"concurrency":-3,"service":{"x":1},"retry":"none","updatedAt":"yesterday"}');
    expect(record).toEqual({ name: 'a', types: ['t'], concurrency: undefined, service: undefined, handler: undefined, retry: 'none', updatedAt: new Date(0).toISOString() });
  });

  it('tell which types a subscription dropped since its previous record', () => {
    const previous = subscriptionRecord({ ...spec, types: ['com.example.placed', 'com.example.cooked'] });
    expect(removedTypes(previous, spec)).toEqual(['com.example.placed']);
    expect(removedTypes(undefined, spec)).toEqual([]);
    expect(removedTypes(subscriptionRecord(spec), spec)).toEqual([]);
  });

  it('describe a subscription from the broker view and the record, or the view alone', () => {
    const record = subscriptionRecord(spec);
    expect(subscriptionInfo({ name: 'shop.kitchen', bindings: ['b'], destination: 'q', pending: 2 }, record)).toMatchObject({
      service: 'shop',
      handler: 'Kitchen.handle',
      types: ['com.example.cooked'],
      concurrency: 4,
      pending: 2,
    });
    expect(subscriptionInfo({ name: 'shop.kitchen', bindings: [], destination: 'q' }, undefined)).toMatchObject({ service: undefined, types: [] });
  });

  it('describe each subscription of a registry once, from its newest record, sorted by name', async () => {
    const at = (iso: string) => new Date(iso);
    const older = subscriptionRecord({ ...spec, types: ['com.example.placed'] }, at('2026-12-04T09:00:00Z'));
    const newer = subscriptionRecord(spec, at('2026-12-04T10:00:00Z'));
    const other = subscriptionRecord({ ...spec, name: 'shop.audit' }, at('2026-12-04T08:00:00Z'));
    const viewed: string[] = [];
    const found = await describeSubscriptions([older, other, newer], async (record) => {
      viewed.push(record.name);
      return { bindings: [...record.types], destination: `q.${record.name}` };
    });
    expect(viewed).toEqual(['shop.kitchen', 'shop.audit']);
    expect(found.map((info) => [info.name, info.types, info.bindings, info.destination])).toEqual([
      ['shop.audit', ['com.example.cooked'], ['com.example.cooked'], 'q.shop.audit'],
      ['shop.kitchen', ['com.example.cooked'], ['com.example.cooked'], 'q.shop.kitchen'],
    ]);
  });
});
