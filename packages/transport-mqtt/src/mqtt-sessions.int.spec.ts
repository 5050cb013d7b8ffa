import 'reflect-metadata';

import { EventBus, EventHandler, EventType, retry, silentLogger, type EventContext, type HandlerClass } from '@cloudbus/core';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { afterEach, describe, expect, it } from 'vitest';

import { MqttTransport } from './mqtt-transport.js';

const url = brokerUrl('mqtt');

class TicketPrinted {
  constructor(readonly ticket: string) {}
}

describe.skipIf(!url)('mqtt transport persistent sessions', () => {
  const prefix = uniqueName('cbsess');
  const run = prefix.replace(/-/g, '');
  const buses: EventBus[] = [];
  let sequence = 0;

  const transport = () => new MqttTransport({ url: url!, topicPrefix: prefix, sessionExpirySeconds: 300, instanceId: 'sessions' });

  function defineEvent(): typeof TicketPrinted {
    class Printed extends TicketPrinted {}
    EventType(`dev.cloudbus.${run}.t${++sequence}.ticket.printed`)(Printed);
    return Printed;
  }

  async function start(service: string, handlers: HandlerClass[]): Promise<EventBus> {
    const bus = new EventBus({ service, logger: silentLogger, transport: transport(), handlers });
    buses.push(bus);
    await bus.start();
    return bus;
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

  async function waitFor(predicate: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  afterEach(async () => {
    for (const bus of buses.splice(0)) if (bus.state === 'started') await bus.stop({ drainTimeoutMs: 500 });
  });

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
    await waitFor(() => after.length >= 50, '50 tickets');
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
    await waitFor(() => seen.length >= 300, '300 tickets');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => `t-${i}`));
  });

  it('keeps the share of a stopped instance for it (Mosquitto sends shared messages to offline members) and hands it over when it returns', async () => {
    const Printed = defineEvent();
    const service = `${run}-kitchen${sequence}`;
    const first: { ticket: string; attempt: number }[] = [];
    const second: { ticket: string; attempt: number }[] = [];
    await start(service, [recordingHandler(Printed, first)]);
    const other = await start(service, [recordingHandler(Printed, second)]);
    await other.stop();

    const publisher = await start(`${run}-till${sequence}`, []);
    await publisher.publish(Array.from({ length: 40 }, (_, i) => new Printed(`t-${i}`)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(40);

    const returned: { ticket: string; attempt: number }[] = [];
    await start(service, [recordingHandler(Printed, returned)]);
    await waitFor(() => first.length + returned.length >= 40, '40 tickets');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const all = [...first, ...returned].map((s) => s.ticket).sort();
    expect(all).toEqual(Array.from({ length: 40 }, (_, i) => `t-${i}`).sort());
    expect(second).toHaveLength(0);
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
    await waitFor(() => seen.length === 1, 'the first attempt');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.stop({ drainTimeoutMs: 500 });
    await start(service, [Flaky]);
    await waitFor(() => seen.length === 2, 'the second attempt');
    expect(seen[1]!.attempt).toBe(2);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(1_490);
  });
});
