import 'reflect-metadata';

import { afterEach, describe, expect, it } from 'vitest';

import { decodeDeadLetter } from '../../dead-letter/dead-letter-message.js';
import { EventBus } from '../../bus/event-bus.js';
import { silentLogger } from '../../logger.js';
import type { CloudEvent } from '../../envelope/cloud-event.js';
import { encodeCloudEvent, wireSize } from '../../envelope/wire-codec.js';
import { MessageTooLargeError, PermanentError } from '../../errors.js';
import { EventType, eventBrand } from '../../events/event-type.js';
import { EventHandler } from '../../handlers/event-handler.js';
import type { EventContext } from '../../handlers/event-context.js';
import { createTestBus } from '../../testing/test-bus.js';
import { MemoryBroker } from './memory-broker.js';
import { MemoryTransport } from './memory-transport.js';

interface Line {
  readonly pizza: string;
}

@EventType('com.example.delivery.order.placed')
class OrderPlaced {
  declare readonly [eventBrand]: 'com.example.delivery.order.placed';
  constructor(
    readonly orderId: string,
    readonly lines: Line[],
    readonly placedAt: Date | string,
    readonly note = '',
  ) {}
}

@EventType('com.example.delivery.receipt.printed')
class ReceiptPrinted {
  declare readonly [eventBrand]: 'com.example.delivery.receipt.printed';
  constructor(readonly orderId: string) {}

  toJSON(): unknown {
    return { orderId: this.orderId, printedBy: 'toJSON' };
  }
}

@EventType('com.example.delivery.loop')
class Loop {
  declare readonly [eventBrand]: 'com.example.delivery.loop';
  self: Loop | undefined;
  constructor() {
    this.self = this;
  }
}

const received: { event: object; cloudEvent: CloudEvent }[] = [];

@EventHandler(OrderPlaced, { name: 'Orders' })
class Orders {
  handle(event: OrderPlaced, ctx: EventContext): void {
    received.push({ event, cloudEvent: ctx.cloudEvent });
  }
}

@EventHandler(ReceiptPrinted, { name: 'Receipts' })
class Receipts {
  handle(event: ReceiptPrinted): void {
    received.push({ event, cloudEvent: undefined as unknown as CloudEvent });
  }
}

@EventHandler(OrderPlaced, { name: 'Refuses' })
class Refuses {
  handle(): void {
    throw new PermanentError('no oven');
  }
}

const buses: EventBus[] = [];
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.stop();
  received.length = 0;
});

async function startBus(transport: MemoryTransport, handlers: (new () => object)[]): Promise<EventBus> {
  const bus = new EventBus({ service: 'delivery', transport, handlers, logger: silentLogger });
  await bus.start();
  buses.push(bus);
  return bus;
}

async function handled(count: number): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (received.length < count) {
    if (Date.now() > deadline) throw new Error(`${received.length} of ${count} events handled`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('memory transport: in-process delivery and isolate', () => {
  it('by default hands handlers a shallow copy of the published event: nested objects shared, a Date still a Date', async () => {
    const bus = await startBus(new MemoryTransport({ broker: new MemoryBroker() }), [Orders]);
    const placedAt = new Date('2026-11-27T12:00:00.000Z');
    const published = new OrderPlaced('o-1', [{ pizza: 'Margherita' }], placedAt);
    await bus.publish(published);
    await handled(1);
    const { event, cloudEvent } = received[0]!;
    expect(event).toBeInstanceOf(OrderPlaced);
    expect(event).not.toBe(published);
    expect((event as OrderPlaced).lines).toBe(published.lines);
    expect((event as OrderPlaced).placedAt).toBe(placedAt);
    expect(cloudEvent).toMatchObject({ type: 'com.example.delivery.order.placed', datacontenttype: 'application/json', dataversion: 1 });
  });

  it('with isolate, decodes a copy for every handler as from a broker: nothing shared, a Date arrives as its ISO string', async () => {
    const bus = await startBus(new MemoryTransport({ broker: new MemoryBroker(), isolate: true }), [Orders]);
    const published = new OrderPlaced('o-2', [{ pizza: 'Diavola' }], new Date('2026-11-27T12:00:00.000Z'));
    await bus.publish(published);
    await handled(1);
    const { event, cloudEvent } = received[0]!;
    expect(event).toBeInstanceOf(OrderPlaced);
    expect((event as OrderPlaced).lines).not.toBe(published.lines);
    expect((event as OrderPlaced).lines).toEqual([{ pizza: 'Diavola' }]);
    expect((event as OrderPlaced).placedAt).toBe('2026-11-27T12:00:00.000Z');
    // Binary mode carries extensions as header strings.
    expect(cloudEvent['dataversion']).toBe('1');
  });

  it('with isolate on the consuming bus, decodes its own copy even from a bus on the same broker that does not isolate', async () => {
    const broker = new MemoryBroker();
    await startBus(new MemoryTransport({ broker, isolate: true }), [Orders]);
    const publisher = await startBus(new MemoryTransport({ broker }), []);
    const published = new OrderPlaced('o-7', [{ pizza: 'Capricciosa' }], new Date('2026-11-27T12:00:00.000Z'));
    await publisher.publish(published);
    await handled(1);
    const event = received[0]!.event as OrderPlaced;
    expect(event.lines).not.toBe(published.lines);
    expect(event.lines).toEqual([{ pizza: 'Capricciosa' }]);
    expect(event.placedAt).toBe('2026-11-27T12:00:00.000Z');
  });

  it('createTestBus delivers like a broker, so a test sees data as it would arrive over the wire', async () => {
    const t = await createTestBus({ handlers: [Orders], logger: silentLogger });
    try {
      await t.publish(new OrderPlaced('o-3', [], new Date('2026-11-27T12:00:00.000Z')));
      await handled(1);
      expect((received[0]!.event as OrderPlaced).placedAt).toBe('2026-11-27T12:00:00.000Z');
    } finally {
      await t.stop();
    }
  });

  it("calls an event's own toJSON() by default too, as the wire would", async () => {
    const bus = await startBus(new MemoryTransport({ broker: new MemoryBroker() }), [Receipts]);
    await bus.publish(new ReceiptPrinted('o-4'));
    await handled(1);
    expect({ ...received[0]!.event }).toEqual({ orderId: 'o-4', printedBy: 'toJSON' });
  });

  for (const isolate of [false, true]) {
    it(`accepts an event just within maxMessageBytes and refuses one just over it with its exact size (isolate: ${String(isolate)})`, async () => {
      const bus = await startBus(new MemoryTransport({ broker: new MemoryBroker(), maxMessageBytes: 2048, isolate }), [Orders]);
      const sized = (note: string) => new OrderPlaced('o-5', [], '2026-11-27', note);
      // What an event with an empty note takes on the wire (ids and times have fixed lengths).
      const room = 2048 - wireSize(encodeCloudEvent(bus.prepare(sized(''))[0]!));
      await bus.publish(sized('x'.repeat(room)));
      await handled(1);
      expect((received[0]!.event as OrderPlaced).note).toHaveLength(room);
      const tooBig = bus.publish(sized('x'.repeat(room + 1)));
      await expect(tooBig).rejects.toBeInstanceOf(MessageTooLargeError);
      await expect(tooBig).rejects.toThrow(`${2049} bytes`);
    });
  }

  it('dead-letters an event delivered in process as an encoded message that decodes to the same event', async () => {
    const transport = new MemoryTransport({ broker: new MemoryBroker() });
    const bus = await startBus(transport, [Refuses]);
    await bus.publish(new OrderPlaced('o-6', [{ pizza: 'Marinara' }], '2026-11-27'));
    let stored = await transport.readDeadLetters();
    for (const deadline = Date.now() + 2_000; stored.length === 0 && Date.now() < deadline; stored = await transport.readDeadLetters()) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(stored).toHaveLength(1);
    const message = stored[0]!.message;
    expect(Object.getPrototypeOf(message)).toBe(Object.prototype);
    expect(JSON.parse(Buffer.from(message.body).toString('utf8'))).toEqual({ orderId: 'o-6', lines: [{ pizza: 'Marinara' }], placedAt: '2026-11-27', note: '' });
    const deadLetter = decodeDeadLetter(stored[0]!);
    expect(deadLetter.record).toMatchObject({ reason: 'non-retryable', handler: 'delivery.Refuses' });
    expect(deadLetter.cloudEvent).toMatchObject({ type: 'com.example.delivery.order.placed', data: { orderId: 'o-6' } });
  });

  it('rejects, without throwing, an event whose data cannot be encoded (a cycle), in both modes', async () => {
    for (const isolate of [false, true]) {
      const bus = await startBus(new MemoryTransport({ broker: new MemoryBroker(), isolate }), []);
      let result: Promise<void> | undefined;
      expect(() => (result = bus.publish(new Loop()))).not.toThrow();
      await expect(result).rejects.toThrow(/circular/i);
    }
  });
});
