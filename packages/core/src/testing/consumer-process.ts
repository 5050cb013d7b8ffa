/**
 * A consumer in a process of its own, for `transportScenarios`: a bus of `service` whose handler
 * `Oven` of `type` announces each delivery on stdout (`handling <orderId> <attempt>`), then never
 * finishes (`hang`) or fails its first attempt (`fail-first`, retried after `retryDelayMs`), so
 * that the suite can SIGKILL it mid-handle. Configured by the JSON in `CLOUDBUS_TEST_CONSUMER`
 * ({@link ConsumerProcessConfig}); runs from core's built `dist/`.
 */
import process from 'node:process';
import { pathToFileURL } from 'node:url';

import { EventBus } from '../bus/event-bus.js';
import { EventType, eventBrand } from '../events/event-type.js';
import type { EventContext } from '../handlers/event-context.js';
import { EventHandler } from '../handlers/event-handler.js';
import { silentLogger } from '../logger.js';
import { retry } from '../policies/retry.js';

/** What the consumer process is told, as JSON in `CLOUDBUS_TEST_CONSUMER`. */
export interface ConsumerProcessConfig {
  /** The built transport package to import (it registers `transport`). */
  readonly module: string;
  readonly transport: string;
  readonly url?: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly service: string;
  readonly type: string;
  readonly behaviour: 'hang' | 'fail-first';
  readonly retryDelayMs?: number;
}

const config = JSON.parse(process.env['CLOUDBUS_TEST_CONSUMER'] ?? '{}') as ConsumerProcessConfig;
await import(pathToFileURL(config.module).href);

class OrderPlaced {
  declare readonly [eventBrand]: string;
  constructor(readonly orderId: string) {}
}
EventType(config.type)(OrderPlaced);

class Oven {
  handle(event: OrderPlaced, context: EventContext): Promise<void> {
    process.stdout.write(`handling ${event.orderId} ${context.attempt}\n`);
    if (config.behaviour === 'fail-first' && context.attempt === 1) return Promise.reject(new Error('oven not hot yet'));
    return new Promise<void>(() => {});
  }
}
EventHandler(OrderPlaced, { name: 'Oven', concurrency: 1, retry: retry.fixed({ attempts: 3, delayMs: config.retryDelayMs ?? 3_000 }) })(Oven);

const bus = new EventBus({
  service: config.service,
  handlers: [Oven],
  transport: config.transport,
  ...(config.url === undefined ? {} : { url: config.url }),
  transportOptions: config.options,
  logger: silentLogger,
});
await bus.start();
process.stdout.write('ready\n');
