import { EventBus, EventHandler, silentLogger, type ContentMode, type Transport } from '@cloudbus/core';

import type { Contender } from '../contender.js';
import { OrderPlaced, orderPlaced } from '../order-placed.js';
import { WindowedRun } from '../windowed-run.js';

/** What a broker gives the cloudbus contender: a fresh transport with unique names, and their cleanup. */
export interface CloudbusSetup {
  readonly transport: Transport;
  /** Deletes what the run created on the broker. */
  cleanup(): Promise<void>;
}

/**
 * How the cloudbus contender publishes each top-up of the window: `batch`, one
 * `bus.publish(events)` call with an array; `per-call`, one `bus.publish(event)` call per event,
 * all of them in flight at once, as an application publishing one domain event per request does.
 */
export type PublishStyle = 'batch' | 'per-call';

/**
 * cloudbus on one broker: one `Counter` handler (subscription `bench.Counter`) with concurrency =
 * the window, events published in the window's top-ups (one array per top-up, or one call per
 * event: `style`), the bus stopped and the broker cleaned up after each run. The same for every
 * broker, so the figures differ only by transport. Without a `contentMode` the bus uses the
 * transport's preferred one (binary on RabbitMQ and NATS, structured on MQTT), as an application
 * that sets none does.
 */
export function cloudbusContender(
  broker: string,
  contentMode: ContentMode | undefined,
  setup: () => CloudbusSetup,
  style: PublishStyle = 'batch',
): Contender {
  const mode = contentMode === undefined ? '' : `, ${contentMode} mode`;
  return {
    name: `cloudbus ${broker}${mode}${style === 'per-call' ? ', publish per event' : ''}`,
    async run(total, window) {
      const run = new WindowedRun(total, window);
      @EventHandler(OrderPlaced, { concurrency: window, name: 'Counter' })
      class Counter {
        handle(event: OrderPlaced): void {
          run.handled(event.sentAt);
        }
      }
      const { transport, cleanup } = setup();
      const bus = new EventBus({ service: 'bench', transport, handlers: [Counter], logger: silentLogger, ...(contentMode === undefined ? {} : { contentMode }) });
      try {
        await bus.start();
        if (style === 'per-call') {
          return await run.run((from, count) => {
            for (let i = from; i < from + count; i++) bus.publish(orderPlaced(i)).catch(run.fail);
          });
        }
        return await run.run((from, count) => {
          const events: OrderPlaced[] = [];
          for (let i = from; i < from + count; i++) events.push(orderPlaced(i));
          bus.publish(events).catch(run.fail);
        });
      } finally {
        if (bus.state !== 'created') await bus.stop({ drainTimeoutMs: 1_000 }).catch(() => {});
        await cleanup();
      }
    },
  };
}
