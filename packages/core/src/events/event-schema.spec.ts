import 'reflect-metadata';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { encodeCloudEvent } from '../envelope/wire-codec.js';
import { asyncApiDocument, EventHandler, EventSchemaError, EventType, eventBrand, MemoryBroker, MemoryTransport, retry } from '../index.js';
import { createTestBus } from '../testing/test-bus.js';
import { schemaIdOf } from './standard-schema.js';

const orderPlacedSchema = z
  .object({ orderId: z.string().min(1), total: z.string().regex(/^\d+\.\d{2}$/), lines: z.array(z.object({ item: z.string(), quantity: z.number().int().positive() })) })
  .meta({ id: 'https://schemas.example.com/order-placed/v1.json' });

@EventType('com.example.schema.order.placed', { schema: orderPlacedSchema })
class OrderPlaced {
  declare readonly [eventBrand]: 'com.example.schema.order.placed';
  constructor(
    readonly orderId: string,
    readonly total: string,
    readonly lines: { item: string; quantity: number }[],
  ) {}
}

/** A schema without an id. */
@EventType('com.example.schema.order.cancelled', { schema: z.object({ orderId: z.string() }) })
class OrderCancelled {
  declare readonly [eventBrand]: 'com.example.schema.order.cancelled';
  constructor(readonly orderId: string) {}
}

@EventHandler(OrderPlaced, { retry: retry.none() })
class Kitchen {
  handle(): void {}
}

describe('@EventType schema (any Standard Schema)', () => {
  it('rejects a publish whose data fails, naming the event type and the field, and sends nothing', async () => {
    const broker = new MemoryBroker();
    const t = await createTestBus({ transport: new MemoryTransport({ broker }) });
    try {
      const good = new OrderPlaced('o-1', '12.50', [{ item: 'margherita', quantity: 1 }]);
      const bad = new OrderPlaced('o-2', '12.5', [{ item: 'margherita', quantity: 0 }]);
      const error = (await t.publish([good, bad]).catch((e: unknown) => e)) as EventSchemaError;
      expect(error).toBeInstanceOf(EventSchemaError);
      expect(error.eventType).toBe('com.example.schema.order.placed');
      expect(error.message).toMatch(/Cannot publish OrderPlaced \('com\.example\.schema\.order\.placed'\)/);
      expect(error.message).toMatch(/total: /);
      expect(error.message).toMatch(/lines\.0\.quantity: /);
      expect(error.issues.map((issue) => issue.path?.join('.'))).toEqual(['total', 'lines.0.quantity']);
      expect(t.published).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it('sets dataschema when the schema has an id, and not otherwise', async () => {
    const t = await createTestBus();
    try {
      await t.publish([new OrderPlaced('o-1', '12.50', []), new OrderCancelled('o-1')]);
      expect(t.published.map((p) => p.cloudEvent.dataschema)).toEqual(['https://schemas.example.com/order-placed/v1.json', undefined]);
    } finally {
      await t.stop();
    }
  });

  it('dead-letters a received event whose data fails as invalid, with the issues in the record', async () => {
    const broker = new MemoryBroker();
    const t = await createTestBus({ transport: new MemoryTransport({ broker }), handlers: [Kitchen] });
    try {
      const message = encodeCloudEvent(
        {
          specversion: '1.0',
          id: 'foreign-1',
          source: '/elsewhere',
          type: 'com.example.schema.order.placed',
          datacontenttype: 'application/json',
          data: { orderId: 'o-3', total: 'lots', lines: [] },
        },
        'binary',
      );
      await broker.publish('com.example.schema.order.placed', message);
      const deadLetter = await t.waitForDeadLetter();
      expect(deadLetter.record).toMatchObject({ reason: 'invalid', handler: 'test.Kitchen', attempts: 0, error: { type: 'EventSchemaError' } });
      expect(deadLetter.record!.error.message).toMatch(/^Data of 'com\.example\.schema\.order\.placed' does not match its schema: total: /);
    } finally {
      await t.stop();
    }
  });

  it('refuses a schema that is not a Standard Schema at declaration', () => {
    expect(() => EventType('com.example.schema.bad', { schema: { parse: () => true } as never })).toThrow(/Standard Schema v1/);
  });
});

describe('asyncApiDocument', () => {
  it("describes a message's payload with the JSON Schema of its Standard Schema, and its headers with the CloudEvents attributes", () => {
    const document = asyncApiDocument({ service: 'shop', transport: 'nats', publishes: [OrderPlaced, OrderCancelled], handlers: [Kitchen] });
    type JsonSchema = { properties?: Record<string, unknown>; definitions?: Record<string, JsonSchema>; $ref?: string };
    const messages = (document['components'] as { messages: Record<string, { payload?: { schema: JsonSchema }; headers: { properties: Record<string, unknown> } }> }).messages;
    const placed = messages['com.example.schema.order.placed.v1']!;
    // zod writes a schema with an id as a definition the root refers to.
    const placedSchema = placed.payload!.schema;
    expect(placedSchema.$ref).toMatch(/^#\/definitions\//);
    expect(Object.keys(placedSchema.definitions!['https://schemas.example.com/order-placed/v1.json']!.properties!)).toEqual(['orderId', 'total', 'lines']);
    expect(Object.keys(messages['com.example.schema.order.cancelled.v1']!.payload!.schema.properties!)).toEqual(['orderId']);
    expect(placed.headers.properties['dataschema']).toEqual({ type: 'string', const: 'https://schemas.example.com/order-placed/v1.json' });
    expect(placed.headers.properties['type']).toEqual({ type: 'string', const: 'com.example.schema.order.placed' });
    expect(document['operations']).toMatchObject({
      'publish.com.example.schema.order.placed.v1': { action: 'send' },
      'shop.Kitchen': { action: 'receive', channel: { $ref: '#/channels/com.example.schema.order.placed' } },
    });
    expect((document['channels'] as Record<string, { address: string }>)['com.example.schema.order.placed']!.address).toBe('cloudbus.com.example.schema.order.placed');
  });
});

describe('dataschema', () => {
  it("is set only from an id that is an absolute URI, not from a library's own identifier", () => {
    const standard = { version: 1 as const, vendor: 'test', validate: (value: unknown) => ({ value }) };
    expect(schemaIdOf({ '~standard': standard, id: 'type123' } as never)).toBeUndefined();
    expect(schemaIdOf({ '~standard': standard, $id: 'urn:example:order' } as never)).toBe('urn:example:order');
  });
});
