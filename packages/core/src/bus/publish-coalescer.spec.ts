import 'reflect-metadata';

import { afterEach, describe, expect, it } from 'vitest';

import { EventBus, EventHandler, MemoryBroker, MemoryTransport, MessageTooLargeError, PublishError, TransportClosedError, silentLogger } from '../index.js';
import { OrderPlaced } from '../spec-support/example-events.js';
import type { OutgoingMessage } from '../transport/index.js';

/**
 * The memory transport, recording each batch it is handed; ids listed in `refuse` are not
 * accepted (the batch rejects with a PublishError naming them, as broker transports do), and
 * `failWith` makes every batch fail with that error.
 */
class RecordingTransport extends MemoryTransport {
  readonly batches: string[][] = [];
  readonly refuse = new Set<string>();
  /** Ids the transport finds too large itself, before sending anything (as NATS does with its headers counted). */
  readonly tooLarge = new Set<string>();
  failWith: Error | undefined;

  override publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.batches.push(messages.map((message) => message.id));
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    const oversize = messages.find((message) => this.tooLarge.has(message.id));
    if (oversize !== undefined) return Promise.reject(new MessageTooLargeError(oversize.id, 2_000_000, 1_000_000));
    const refused = messages.filter((message) => this.refuse.has(message.id));
    const accepted = messages.filter((message) => !this.refuse.has(message.id));
    const stored = super.publish(accepted);
    if (refused.length === 0) return stored;
    return stored.then(() => {
      throw new PublishError(`memory: ${refused.length} refused`, refused.map((message) => message.id), { cause: new Error('refused by the test') });
    });
  }
}

const received: string[] = [];

@EventHandler(OrderPlaced, { name: 'Recorder' })
class Recorder {
  handle(event: OrderPlaced): void {
    received.push(event.orderId);
  }
}

let bus: EventBus | undefined;

afterEach(async () => {
  await bus?.stop();
  bus = undefined;
  received.length = 0;
});

async function startBus(): Promise<RecordingTransport> {
  const transport = new RecordingTransport({ broker: new MemoryBroker() });
  bus = new EventBus({ service: 'coalesce', transport, handlers: [Recorder], logger: silentLogger });
  await bus.start();
  return transport;
}

/** Lets the memory broker deliver everything published so far. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('publishing one event per call', () => {
  it('sends the calls made in one turn to the transport as one batch, in call order', async () => {
    const transport = await startBus();
    const calls = ['a', 'b', 'c', 'd'].map((id) => bus!.publish(new OrderPlaced(id), { id }));
    await Promise.all(calls);
    expect(transport.batches).toEqual([['a', 'b', 'c', 'd']]);
    await settle();
    expect(received).toEqual(['a', 'b', 'c', 'd']);
  });

  it('still merges the calls when publish middleware awaits before passing them on', async () => {
    const transport = new RecordingTransport({ broker: new MemoryBroker() });
    const seen: number[] = [];
    bus = new EventBus({
      service: 'coalesce',
      transport,
      handlers: [Recorder],
      logger: silentLogger,
      middleware: [
        {
          name: 'counts-and-awaits',
          async publish(context, next) {
            seen.push(context.events.length);
            await Promise.resolve();
            await next();
          },
        },
      ],
    });
    await bus.start();
    await Promise.all(['a', 'b', 'c'].map((id) => bus!.publish(new OrderPlaced(id), { id })));
    expect(seen).toEqual([1, 1, 1]);
    expect(transport.batches).toEqual([['a', 'b', 'c']]);
  });

  it('keeps calls of different turns in different batches', async () => {
    const transport = await startBus();
    await bus!.publish(new OrderPlaced('first'), { id: 'first' });
    const second = bus!.publish(new OrderPlaced('second'), { id: 'second' });
    await new Promise<void>((resolve) => setImmediate(resolve));
    const third = bus!.publish([new OrderPlaced('third'), new OrderPlaced('fourth')]);
    await Promise.all([second, third]);
    expect(transport.batches.map((batch) => batch.length)).toEqual([1, 1, 2]);
  });

  it('hands an idle publish to the transport within a microtask: no timer, no later turn', async () => {
    const transport = await startBus();
    const published = bus!.publish(new OrderPlaced('alone'), { id: 'alone' });
    expect(transport.batches).toEqual([]);
    await Promise.resolve();
    expect(transport.batches).toEqual([['alone']]);
    await published;
  });

  it('fails only the call whose event the broker did not accept; the others of the batch resolve', async () => {
    const transport = await startBus();
    transport.refuse.add('b');
    const outcomes = await Promise.allSettled(['a', 'b', 'c'].map((id) => bus!.publish(new OrderPlaced(id), { id })));
    expect(transport.batches).toEqual([['a', 'b', 'c']]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (outcomes[1] as PromiseRejectedResult).reason as PublishError;
    expect(error).toBeInstanceOf(PublishError);
    expect(error.unconfirmed).toEqual(['b']);
    expect(error.message).toMatch(/1 of 1 event\(s\) of this publish were not accepted/);
    expect((error.cause as Error).message).toBe('refused by the test');
    await settle();
    expect(received.sort()).toEqual(['a', 'c']);
  });

  it('lists only its own refused ids to a call that published several events', async () => {
    const transport = await startBus();
    const prepared = bus!.prepare([new OrderPlaced('x1'), new OrderPlaced('x2'), new OrderPlaced('x3')]);
    transport.refuse.add(prepared[1]!.id).add('other');
    const [arrayOutcome, otherOutcome, lastOutcome] = await Promise.allSettled([
      bus!.publishPrepared(prepared),
      bus!.publish(new OrderPlaced('other'), { id: 'other' }),
      bus!.publish(new OrderPlaced('last'), { id: 'last' }),
    ]);
    expect(transport.batches).toEqual([[...prepared.map((cloudEvent) => cloudEvent.id), 'other', 'last']]);
    const arrayError = (arrayOutcome as PromiseRejectedResult).reason as PublishError;
    expect(arrayError.unconfirmed).toEqual([prepared[1]!.id]);
    expect(arrayError.message).toMatch(/1 of 3 event\(s\) of this publish/);
    expect(((otherOutcome as PromiseRejectedResult).reason as PublishError).unconfirmed).toEqual(['other']);
    expect(lastOutcome.status).toBe('fulfilled');
  });

  it('fails only its own call when the transport refuses one event of the batch before sending any', async () => {
    const transport = await startBus();
    transport.tooLarge.add('big');
    const outcomes = await Promise.allSettled(['a', 'big', 'c'].map((id) => bus!.publish(new OrderPlaced(id), { id })));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(MessageTooLargeError);
    // The merged batch, then each call alone.
    expect(transport.batches).toEqual([['a', 'big', 'c'], ['a'], ['big'], ['c']]);
    await settle();
    expect(received.sort()).toEqual(['a', 'c']);
  });

  it('fails every call of the batch when the transport fails the batch as a whole', async () => {
    const transport = await startBus();
    transport.failWith = new TransportClosedError('closed under the test');
    const outcomes = await Promise.allSettled(['a', 'b'].map((id) => bus!.publish(new OrderPlaced(id), { id })));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBe(transport.failWith);
    }
  });

  it('settles every call, and throws nothing, when a transport throws or returns no promise', async () => {
    const transport = await startBus();
    const original = transport.publish.bind(transport);
    transport.publish = () => {
      throw new Error('thrown by the transport');
    };
    const thrown = await Promise.allSettled(['a', 'b'].map((id) => bus!.publish(new OrderPlaced(id), { id })));
    expect(thrown.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(((thrown[0] as PromiseRejectedResult).reason as Error).message).toBe('thrown by the transport');
    transport.publish = (messages) => {
      void original(messages);
      return undefined as unknown as Promise<void>;
    };
    await expect(Promise.all(['c', 'd'].map((id) => bus!.publish(new OrderPlaced(id), { id })))).resolves.toEqual([undefined, undefined]);
  });

  it('does not merge calls while the transport is not connected, so each is held or refused on its own', async () => {
    const transport = await startBus();
    Object.defineProperty(transport, 'connectionState', { configurable: true, get: () => 'reconnecting' });
    const calls = ['a', 'b'].map((id) => bus!.publish(new OrderPlaced(id), { id }));
    expect(transport.batches).toEqual([['a'], ['b']]);
    await Promise.all(calls);
    Object.defineProperty(transport, 'connectionState', { configurable: true, get: () => 'connected' });
    await Promise.all(['c', 'd'].map((id) => bus!.publish(new OrderPlaced(id), { id })));
    expect(transport.batches).toEqual([['a'], ['b'], ['c', 'd']]);
  });

  it('passes a one-call batch error through unchanged', async () => {
    const transport = await startBus();
    transport.refuse.add('solo');
    const error = await bus!.publish(new OrderPlaced('solo'), { id: 'solo' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).message).toBe('memory: 1 refused');
  });
});
