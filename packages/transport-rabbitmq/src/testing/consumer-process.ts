/**
 * A consumer in a process of its own, for the destructive tests: subscribes as `<service>.Oven`
 * and never finishes handling, announcing each delivery on stdout, so that the test can kill it
 * mid-handle. Configured by the JSON in `CLOUDBUS_TEST_CONSUMER`: { type, service, options }.
 */
import { EventBus, EventHandler, EventType, eventBrand, silentLogger, type EventContext } from '@cloudbus/core';

import { RabbitMqTransport } from '../rabbitmq-transport.js';
import type { RabbitMqTransportOptions } from '../rabbitmq-transport-options.js';

interface ConsumerConfig {
  readonly type: string;
  readonly service: string;
  readonly options: RabbitMqTransportOptions;
}

const config = JSON.parse(process.env['CLOUDBUS_TEST_CONSUMER'] ?? '{}') as ConsumerConfig;

class OrderPlaced {

  declare readonly [eventBrand]: string;
  constructor(readonly orderId: string) {}
}
EventType(config.type)(OrderPlaced);

class Oven {
  handle(event: OrderPlaced, context: EventContext): Promise<void> {
    process.stdout.write(`handling ${event.orderId} ${context.attempt}\n`);
    return new Promise<void>(() => {});
  }
}
EventHandler(OrderPlaced, { name: 'Oven', concurrency: 1 })(Oven);

const bus = new EventBus({ service: config.service, handlers: [Oven], transport: new RabbitMqTransport({ ...config.options, logger: silentLogger }), logger: silentLogger });
await bus.start();
process.stdout.write('ready\n');
