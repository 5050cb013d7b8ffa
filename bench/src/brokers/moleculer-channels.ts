import channels from '@moleculer/channels';
import moleculer from 'moleculer';

import { uniqueName, type Contender } from '../contender.js';
import { orderPlaced, type OrderPayload } from '../order-placed.js';
import { WindowedRun } from '../windowed-run.js';
import { deleteStreams } from './nats.js';

/**
 * Moleculer with @moleculer/channels on NATS JetStream, as its README sets it up: the channel's
 * stream is created by the adapter (file storage), `sendToChannel` waits for JetStream's publish
 * acknowledgement, a durable consumer group with `maxInFlight` = window acks each message once the
 * handler resolved. No Moleculer transporter: channels need none.
 */
export function moleculerChannels(url: string): Contender {
  return {
    name: 'Moleculer channels (NATS JetStream)',
    async run(total, window) {
      const channel = `${uniqueName('bench_mol').replace(/-/g, '_')}.order.placed`;
      const stream = channel.split('.').join('_');
      const run = new WindowedRun(total, window);
      const broker = new moleculer.ServiceBroker({
        logger: false,
        metrics: false,
        tracing: false,
        // The adapter's declared option types require every default; the README passes only these.
        middlewares: [
          channels.Middleware({
            adapter: { type: 'NATS', options: { nats: { url, connectionOptions: {} } } },
          } as unknown as Parameters<typeof channels.Middleware>[0]) as unknown as moleculer.Middleware,
        ],
      });
      broker.createService({
        name: 'orders',
        channels: {
          [channel]: {
            group: 'counter',
            maxInFlight: window,
            handler(payload: OrderPayload) {
              run.handled(payload.sentAt);
            },
          },
        },
      } as moleculer.ServiceSchema);
      try {
        await broker.start();
        const send = (broker as unknown as { sendToChannel(name: string, payload: unknown): Promise<void> }).sendToChannel.bind(broker);
        return await run.run((from, count) => {
          for (let i = from; i < from + count; i++) send(channel, orderPlaced(i)).catch(run.fail);
        });
      } finally {
        await broker.stop().catch(() => {});
        await deleteStreams(url, [stream]);
      }
    },
  };
}
