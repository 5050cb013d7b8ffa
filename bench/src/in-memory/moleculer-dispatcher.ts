import moleculer from 'moleculer';

import type { Dispatcher } from './dispatch-run.js';

/** Moleculer local events: a ServiceBroker without transporter, one service listening to the event. */
export function moleculerDispatcher(): Dispatcher {
  let broker: moleculer.ServiceBroker | undefined;
  return {
    name: 'Moleculer local events',
    async start(handled) {
      broker = new moleculer.ServiceBroker({ logger: false, transporter: null, metrics: false, tracing: false });
      broker.createService({ name: 'orders', events: { 'order.placed': { handler: () => handled() } } });
      await broker.start();
    },
    async dispatch(events) {
      const emitted: Promise<void>[] = [];
      for (const event of events) emitted.push(broker!.emit('order.placed', event));
      await Promise.all(emitted);
    },
    async stop() {
      await broker?.stop();
    },
  };
}
