/**
 * The cloudbus quickstart: one event, three handlers, one of them failing once and retried,
 * on the in-memory transport. Run with `pnpm start` from the repository root.
 *
 * Set CLOUDBUS_TRANSPORT and CLOUDBUS_URL to run the same code over a broker once its transport
 * package is installed, e.g. CLOUDBUS_TRANSPORT=rabbitmq CLOUDBUS_URL=amqp://localhost:5672.
 */
import 'reflect-metadata';

import { Container, inject, injectable } from 'inversify';

import { EventBus, EventHandler, EventType, On, cloudbus, eventBrand, retry, type EventContext, type TelemetryEvent } from '@cloudbus/core';

@EventType('com.mariopizzeria.order.placed', { version: 1, subject: (e: OrderPlaced) => e.orderId })
class OrderPlaced {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.placed';
  constructor(
    readonly orderId: string,
    readonly customerPhone: string,
    readonly total: string,
  ) {}
}

@EventType('com.mariopizzeria.order.cooking-started', { version: 1, subject: (e: CookingStarted) => e.orderId })
class CookingStarted {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.cooking-started';
  constructor(
    readonly orderId: string,
    readonly readyBy: string,
  ) {}
}

/** Stands in for an SMS gateway that fails the first time it is called. */
class SmsGateway {
  #calls = 0;
  send(phone: string, text: string): void {
    this.#calls++;
    if (this.#calls === 1) throw new Error('SMS gateway timed out');
    console.log(`  📱 SMS to ${phone}: ${text}`);
  }
}

@EventHandler(OrderPlaced, { retry: retry.exponential({ attempts: 5, initialDelayMs: 100, maxDelayMs: 5_000 }) })
class Kitchen {
  async handle(event: OrderPlaced, ctx: EventContext): Promise<void> {
    console.log(`  🍕 kitchen queues ${event.orderId}`);
    const readyBy = new Date(Date.now() + 15 * 60_000).toISOString();
    await ctx.publish(new CookingStarted(event.orderId, readyBy));
  }
}

@injectable()
class Notifications {
  constructor(@inject(SmsGateway) private readonly sms: SmsGateway) {}

  @On(OrderPlaced, { retry: retry.fixed({ attempts: 3, delayMs: 200 }) })
  confirm(event: OrderPlaced): void {
    this.sms.send(event.customerPhone, `Order ${event.orderId} confirmed, total $${event.total}`);
  }

  @On(CookingStarted)
  cooking(event: CookingStarted): void {
    console.log(`  🔥 ${event.orderId} is in the oven, ready by ${event.readyBy.slice(11, 16)} UTC`);
  }
}

function describe(event: TelemetryEvent): string | undefined {
  const id = event.eventId?.slice(0, 8) ?? '?';
  switch (event.kind) {
    case 'published':
      return `→ published ${event.eventType} ${id} (correlation ${event.correlationId?.slice(0, 8)})`;
    case 'handler-succeeded':
      return `✓ ${event.handler} handled ${id} on attempt ${event.attempt} in ${event.durationMs.toFixed(1)} ms`;
    case 'handler-failed':
      return `✗ ${event.handler} failed on ${id}: ${event.error.message}`;
    case 'retry-scheduled':
      return `↻ ${event.handler} retries ${id} in ${event.delayMs} ms (attempt ${event.nextAttempt})`;
    case 'dead-lettered':
      return `☠ ${event.handler} dead-lettered ${id}: ${event.reason}`;
    default:
      return undefined;
  }
}

const container = new Container();
container.bind(SmsGateway).toSelf().inSingletonScope();
container.load(cloudbus({ service: 'quickstart', handlers: [Kitchen, Notifications] }));
const bus = container.get(EventBus);

let remaining = 3; // Kitchen, Notifications.confirm (after one retry), Notifications.cooking
const finished = new Promise<void>((resolve) => {
  bus.telemetry.on((event) => {
    const line = describe(event);
    if (line !== undefined) console.log(line);
    if (event.kind === 'handler-succeeded' || event.kind === 'dead-lettered') {
      if (--remaining === 0) resolve();
    }
  });
});

await bus.start();
console.log(`cloudbus quickstart on the ${bus.transport.name} transport\n`);
await bus.publish(new OrderPlaced('order-123', '+1 555 0100', '31.98'));
await finished;
await bus.stop();
console.log('\nAll handlers done; bus stopped.');
