import 'reflect-metadata';

import { EventHandler, EventType, eventBrand, retry, type EventBus, type EventContext, type HandlerClass } from '@cloudbus/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { MqttFixture, mqttUrl } from './testing/mqtt-fixture.js';

class TicketPrinted {
  declare readonly [eventBrand]: string;
  constructor(readonly ticket: string) {}
}

describe.skipIf(!mqttUrl)('mqtt transport persistent sessions', () => {
  const fixture = new MqttFixture('cbsess', { sessionExpirySeconds: 300, instanceId: 'sessions' });
  const { run } = fixture;
  let sequence = 0;

  beforeAll(() => fixture.start());
  afterEach(() => fixture.reset());
  afterAll(() => fixture.cleanup());

  function defineEvent(): typeof TicketPrinted {
    class Printed extends TicketPrinted {}
    EventType(`dev.cloudbus.${run}.t${++sequence}.ticket.printed`)(Printed);
    return Printed;
  }

  function start(service: string, handlers: HandlerClass[], instanceId?: string): Promise<EventBus> {
    return fixture.startBus({ service, handlers }, instanceId === undefined ? {} : { instanceId });
  }

  function recordingHandler(eventClass: typeof TicketPrinted, seen: { ticket: string; attempt: number }[]) {
    class Display {
      handle(event: TicketPrinted, context: EventContext): void {
        seen.push({ ticket: event.ticket, attempt: context.attempt });
      }
    }
    EventHandler(eventClass, { name: 'Display' })(Display);
    return Display;
  }

  it('delivers what was published while the consumer was offline once it comes back', async () => {
    const Printed = defineEvent();
    const service = `${run}-kitchen${sequence}`;
    const before: { ticket: string; attempt: number }[] = [];
    const first = await start(service, [recordingHandler(Printed, before)]);
    await first.stop();

    const publisher = await start(`${run}-till${sequence}`, []);
    await publisher.publish(Array.from({ length: 50 }, (_, i) => new Printed(`t-${i}`)));

    const after: { ticket: string; attempt: number }[] = [];
    await start(service, [recordingHandler(Printed, after)]);
    await fixture.waitFor(() => after.length >= 50, '50 tickets');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(before).toHaveLength(0);
    expect(after.map((s) => s.ticket).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `t-${i}`).sort());
    expect(after.every((s) => s.attempt === 1)).toBe(true);
  });

  it('hands a backlog over in publish order with concurrency 1, whether the handler settles at once or later', async () => {
    const Printed = defineEvent();
    const seen: string[] = [];
    class Mixed {
      handle(event: TicketPrinted): Promise<void> | void {
        seen.push(event.ticket);
        // The first one takes a while, so the rest piles up in the process; the others finish synchronously.
        if (seen.length === 1) return new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
    EventHandler(Printed, { name: 'Mixed', concurrency: 1 })(Mixed);
    const bus = await start(`${run}-kitchen${sequence}`, [Mixed]);
    await bus.publish(Array.from({ length: 300 }, (_, i) => new Printed(`t-${i}`)));
    await fixture.waitFor(() => seen.length >= 300, '300 tickets');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => `t-${i}`));
  });

  it('hands nothing to a stopped instance: after a graceful stop, the instance still running gets every event', async () => {
    const Printed = defineEvent();
    const service = `${run}-kitchen${sequence}`;
    const first: { ticket: string; attempt: number }[] = [];
    const second: { ticket: string; attempt: number }[] = [];
    await start(service, [recordingHandler(Printed, first)], 'till-1');
    const other = await start(service, [recordingHandler(Printed, second)], 'till-2');
    await other.stop();

    const publisher = await start(`${run}-till${sequence}`, []);
    await publisher.publish(Array.from({ length: 40 }, (_, i) => new Printed(`t-${i}`)));
    await fixture.waitFor(() => first.length >= 40, '40 tickets on the running instance');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(first.map((s) => s.ticket).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `t-${i}`).sort());
    expect(second).toHaveLength(0);
  });

  function slowHandler(eventClass: typeof TicketPrinted, seen: string[], done: string[], delayMs: number, concurrency: number) {
    class Slow {
      async handle(event: TicketPrinted, context: EventContext): Promise<void> {
        seen.push(event.ticket);
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            clearTimeout(timer);
            reject(new Error('stopping'));
          };
          const timer = setTimeout(() => {
            context.signal.removeEventListener('abort', onAbort);
            resolve();
          }, delayMs);
          context.signal.addEventListener('abort', onAbort, { once: true });
        });
        done.push(event.ticket);
      }
    }
    EventHandler(eventClass, { name: 'Slow', concurrency })(Slow);
    return Slow;
  }

  it('a stopping instance hands its unfinished and waiting events to the instance still running', async () => {
    const Printed = defineEvent();
    const service = `${run}-kitchen${sequence}`;
    const fastSeen: string[] = [];
    const fastDone: string[] = [];
    const slowSeen: string[] = [];
    const slowDone: string[] = [];
    await start(service, [slowHandler(Printed, fastSeen, fastDone, 5, 4)], 'oven-1');
    const slow = await start(service, [slowHandler(Printed, slowSeen, slowDone, 2_000, 2)], 'oven-2');
    const publisher = await start(`${run}-till${sequence}`, []);
    await publisher.publish(Array.from({ length: 40 }, (_, i) => new Printed(`t-${i}`)));
    await fixture.waitFor(() => slowSeen.length >= 2 && fastDone.length >= 10, 'both instances at work');
    // The slow one holds 2 in its handlers and its share of the rest waiting: it stops before finishing any.
    await slow.stop({ drainTimeoutMs: 100 });
    await fixture.waitFor(() => new Set([...fastDone, ...slowDone]).size >= 40, 'every ticket done');
    expect(slowDone).toHaveLength(0);
    expect([...new Set(fastDone)].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `t-${i}`).sort());
  });

  it('the last instance to stop parks what it holds and what comes later for the next one, whatever its instance id', async () => {
    const Printed = defineEvent();
    const service = `${run}-kitchen${sequence}`;
    const firstSeen: string[] = [];
    const firstDone: string[] = [];
    const first = await start(service, [slowHandler(Printed, firstSeen, firstDone, 2_000, 2)], 'pod-a');
    const publisher = await start(`${run}-till${sequence}`, []);
    await publisher.publish(Array.from({ length: 20 }, (_, i) => new Printed(`t-${i}`)));
    await fixture.waitFor(() => firstSeen.length >= 2, 'the first instance at work');
    await first.stop({ drainTimeoutMs: 100 });
    // Published while no consumer runs at all.
    await publisher.publish(Array.from({ length: 20 }, (_, i) => new Printed(`t-${20 + i}`)));

    const nextSeen: string[] = [];
    const nextDone: string[] = [];
    await start(service, [slowHandler(Printed, nextSeen, nextDone, 5, 4)], 'pod-b');
    await fixture.waitFor(() => new Set(nextDone).size >= 40, 'every ticket done by the new instance');
    expect(firstDone).toHaveLength(0);
    expect([...new Set(nextDone)].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `t-${i}`).sort());
  });

  it('does not hand a redelivery to the handler before its delay, even across a restart of the consumer', async () => {
    const Printed = defineEvent();
    const service = `${run}-kitchen${sequence}`;
    const seen: { ticket: string; attempt: number; at: number }[] = [];
    class Flaky {
      handle(event: TicketPrinted, context: EventContext): void {
        seen.push({ ticket: event.ticket, attempt: context.attempt, at: Date.now() });
        if (context.attempt === 1) throw new Error('printer jammed');
      }
    }
    EventHandler(Printed, { name: 'Flaky', retry: retry.fixed({ attempts: 3, delayMs: 1_500 }) })(Flaky);
    const first = await start(service, [Flaky]);
    await first.publish(new Printed('t-late'));
    await fixture.waitFor(() => seen.length === 1, 'the first attempt');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.stop({ drainTimeoutMs: 500 });
    await start(service, [Flaky]);
    await fixture.waitFor(() => seen.length === 2, 'the second attempt');
    expect(seen[1]!.attempt).toBe(2);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(1_490);
  });
});
