import rascal from 'rascal';

import { uniqueName, type Contender } from '../contender.js';
import { orderPlaced, type OrderPayload } from '../order-placed.js';
import { WindowedRun } from '../windowed-run.js';
import { deleteAll } from './rabbitmq.js';

const ROUTING_KEY = 'com.mariopizzeria.order.placed';

/**
 * Rascal (a RabbitMQ framework on amqplib) configured as its README recommends: a publication with
 * confirms and persistent messages (its defaults), a quorum queue, a subscription with prefetch =
 * window and `ackOrNack()` once the message was handled. Rascal serialises objects to JSON itself.
 */
export function rascalContender(url: string): Contender {
  return {
    name: 'Rascal',
    async run(total, window) {
      const exchange = uniqueName('bench-rascal');
      const queue = `${exchange}.q`;
      const config = rascal.withDefaultConfig({
        vhosts: {
          '/': {
            connection: { url },
            exchanges: { [exchange]: { type: 'topic', options: { durable: true } } },
            queues: { [queue]: { options: { durable: true, arguments: { 'x-queue-type': 'quorum' } } } },
            bindings: { orders: { source: exchange, destination: queue, destinationType: 'queue', bindingKey: ROUTING_KEY } },
            publications: { orders: { exchange, routingKey: ROUTING_KEY, confirm: true, options: { persistent: true } } },
            subscriptions: { orders: { queue, prefetch: window } },
          },
        },
      });
      const broker = await rascal.BrokerAsPromised.create(config);
      broker.on('error', () => {});
      try {
        const run = new WindowedRun(total, window);
        const session = await broker.subscribe('orders');
        session.on('error', run.fail);
        session.on('message', (_message: unknown, content: OrderPayload, ackOrNack: () => void) => {
          ackOrNack();
          run.handled(content.sentAt);
        });
        const published = (publication: { on(event: string, listener: (error: unknown) => void): unknown }) => {
          publication.on('error', run.fail);
          publication.on('return', run.fail);
        };
        return await run.run((from, count) => {
          for (let i = from; i < from + count; i++) broker.publish('orders', orderPlaced(i)).then(published, run.fail);
        });
      } finally {
        await broker.shutdown().catch(() => {});
        await deleteAll(url, [queue], [exchange]);
      }
    },
  };
}
