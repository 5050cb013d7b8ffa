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
 * cloudbus on one broker: one `Counter` handler (subscription `bench.Counter`) with concurrency =
 * the window, events published in the window's batches, the bus stopped and the broker cleaned up
 * after each run. The same for every broker, so the figures differ only by transport. Without a
 * `contentMode` the bus uses the transport's preferred one (binary on RabbitMQ and NATS,
 * structured on MQTT), as an application that sets none does.
 */
export function cloudbusContender(broker: string, contentMode: ContentMode | undefined, setup: () => CloudbusSetup): Contender {
  return {
    name: contentMode === undefined ? `cloudbus ${broker}` : `cloudbus ${broker}, ${contentMode} mode`,
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
