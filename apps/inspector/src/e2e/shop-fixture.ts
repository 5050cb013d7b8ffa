import { EventBus, EventType, On, eventBrand, retry, silentLogger, type EventContext } from '@cloudbus/core';
import { RabbitMqTransport } from '@cloudbus/transport-rabbitmq';

/**
 * A small shop on a real broker for the inspector's end-to-end tests: one order runs
 * placed -> paid -> cooking started + ready (fan-out) -> delivered, an analytics handler fails
 * once then succeeds, and the SMS sender fails until told to recover, so its event is
 * dead-lettered and can be replayed.
 */

@EventType('com.example.shop.order.placed', { subject: (e: OrderPlaced) => e.orderId })
export class OrderPlaced {
  declare readonly [eventBrand]: 'com.example.shop.order.placed';
  constructor(readonly orderId: string, readonly total: string) {}
}
@EventType('com.example.shop.payment.processed', { subject: (e: PaymentProcessed) => e.orderId })
export class PaymentProcessed {
  declare readonly [eventBrand]: 'com.example.shop.payment.processed';
  constructor(readonly orderId: string) {}
}
@EventType('com.example.shop.cooking.started', { subject: (e: CookingStarted) => e.orderId })
export class CookingStarted {
  declare readonly [eventBrand]: 'com.example.shop.cooking.started';
  constructor(readonly orderId: string) {}
}
@EventType('com.example.shop.order.ready', { subject: (e: OrderReady) => e.orderId })
export class OrderReady {
  declare readonly [eventBrand]: 'com.example.shop.order.ready';
  constructor(readonly orderId: string) {}
}
@EventType('com.example.shop.order.delivered', { subject: (e: OrderDelivered) => e.orderId })
export class OrderDelivered {
  declare readonly [eventBrand]: 'com.example.shop.order.delivered';
  constructor(readonly orderId: string) {}
}
@EventType('com.example.shop.load')
export class LoadPing {
  declare readonly [eventBrand]: 'com.example.shop.load';
  constructor(readonly n: number) {}
}

/** Shared switches of the fixture's handlers. */
export const shopState = { smsHealthy: false, analyticsCalls: 0 };

export class Shop {
  @On(OrderPlaced) async pay(event: OrderPlaced, ctx: EventContext): Promise<void> {
    await ctx.publish(new PaymentProcessed(event.orderId));
  }
  @On(PaymentProcessed) async cook(event: PaymentProcessed, ctx: EventContext): Promise<void> {
    await ctx.publish([new CookingStarted(event.orderId), new OrderReady(event.orderId)]);
  }
  @On(OrderReady) async deliver(event: OrderReady, ctx: EventContext): Promise<void> {
    await ctx.publish(new OrderDelivered(event.orderId));
  }
  @On(OrderPlaced, { retry: retry.fixed({ attempts: 3, delayMs: 100 }) }) analytics(): void {
    if (++shopState.analyticsCalls === 1) throw new Error('analytics store busy');
  }
  @On(OrderReady, { retry: retry.fixed({ attempts: 2, delayMs: 100 }) }) sms(): void {
    if (!shopState.smsHealthy) throw new Error('SMS gateway unreachable');
  }
}

/** Broker names of one test run, all unique. */
export interface ShopNames {
  readonly exchange: string;
  readonly deadLetterExchange: string;
  readonly retryPrefix: string;
  readonly queuePrefix: string;
}

/** Starts the shop's bus on RabbitMQ with telemetry published; `stop` deletes everything it declared. */
export async function startRabbitMqShop(url: string, names: ShopNames): Promise<{ bus: EventBus; stop(): Promise<void> }> {
  const transport = new RabbitMqTransport({
    url,
    queueType: 'classic',
    exchange: names.exchange,
    deadLetterQueue: names.deadLetterExchange,
    retryPrefix: names.retryPrefix,
    queuePrefix: names.queuePrefix,
    logger: silentLogger,
  });
  const bus = new EventBus({ service: 'shop', transport, handlers: [Shop], publishTelemetry: { intervalMs: 50 }, logger: silentLogger });
  await bus.start();
  return {
    bus,
    stop: async () => {
      await bus.stop({ drainTimeoutMs: 5_000 });
      const topology = transport.declaredTopology();
      const { default: amqp } = await import('amqplib');
      const connection = await amqp.connect(url);
      const channel = await connection.createChannel();
      for (const queue of topology.queues) await channel.deleteQueue(queue);
      for (const exchange of topology.exchanges) await channel.deleteExchange(exchange);
      await connection.close();
    },
  };
}
