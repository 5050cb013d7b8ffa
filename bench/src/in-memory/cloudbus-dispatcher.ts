import { EventBus, EventHandler, MemoryBroker, MemoryTransport, silentLogger } from '@cloudbus/core';

import { OrderPlaced } from '../order-placed.js';
import type { Dispatcher } from './dispatch-run.js';

/** Where the handler reports to; the bus instantiates the handler itself, once per event. */
let onHandled: () => void = () => {};

/** The handler, declared once as an application does (and as the Nest dispatcher declares its own). */
@EventHandler(OrderPlaced, { concurrency: 256, name: 'Counter' })
class Counter {
  handle(): void {
    onHandled();
  }
}

/**
 * cloudbus on its in-memory transport, as configured by default: every event built into a
 * CloudEvent and checked against the size limit, routed through the in-memory broker to a
 * handler instantiated per event, with the handler's ack. Handlers take the CloudEvent the bus
 * built (no JSON round trip: the transport's default, not `isolate`), as the peers hand over
 * their event objects.
 */
export function cloudbusDispatcher(): Dispatcher {
  let bus: EventBus | undefined;
  return {
    name: 'cloudbus, memory transport',
    async start(handled) {
      onHandled = handled;
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
