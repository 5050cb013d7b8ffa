import { EventBus, EventHandler, MemoryBroker, MemoryTransport, silentLogger } from '@cloudbus/core';

import { OrderPlaced } from '../order-placed.js';
import type { Dispatcher } from './dispatch-run.js';

/**
 * cloudbus on its in-memory transport: every event built into a CloudEvent, encoded, decoded,
 * validated and handed to a handler resolved per event, with the handler's ack.
 */
export function cloudbusDispatcher(): Dispatcher {
  let bus: EventBus | undefined;
  return {
    name: 'cloudbus, memory transport',
    async start(handled) {
      @EventHandler(OrderPlaced, { concurrency: 256, name: 'Counter' })
      class Counter {
        handle(): void {
          handled();
        }
      }
      bus = new EventBus({ service: 'bench', transport: new MemoryTransport({ broker: new MemoryBroker() }), handlers: [Counter], logger: silentLogger });
      await bus.start();
    },
    dispatch(events) {
      return bus!.publish(events);
    },
    async stop() {
      await bus?.stop();
    },
  };
}
