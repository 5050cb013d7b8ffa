import type { FastifyInstance } from 'fastify';

import type { OrderSnapshot } from '../domain/order.js';
import type { OrderRepository } from '../persistence/order-repository.js';

/** Most streams open at once; more get 503, so a client cannot pile up connections. */
const MAX_STREAMS = 200;
const HEARTBEAT_MS = 15_000;

/**
 * `GET /events`: server-sent events, one `order` event (the order's snapshot as JSON) for every
 * order this instance saves, so the web page follows orders live without polling. A comment line
 * every 15 s keeps proxies from closing an idle stream. Streams end when the app closes.
 */
export function orderStream(app: FastifyInstance, orders: Pick<OrderRepository, 'onSaved'>): void {
  const streams = new Set<() => void>();

  app.get('/events', (request, reply) => {
    if (streams.size >= MAX_STREAMS) {
      return reply.code(503).send({ error: 'TooManyStreams', message: `At most ${MAX_STREAMS} event streams are served at once.` });
    }
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    response.write('retry: 2000\n\n');
    const send = (order: OrderSnapshot): void => {
      if (!response.writableEnded) response.write(`event: order\ndata: ${JSON.stringify(order)}\n\n`);
    };
    const unsubscribe = orders.onSaved(send);
    const heartbeat = setInterval(() => {
      if (!response.writableEnded) response.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    heartbeat.unref();
    const end = (): void => {
      if (!streams.delete(end)) return;
      clearInterval(heartbeat);
      unsubscribe();
      if (!response.writableEnded) response.end();
    };
    streams.add(end);
    request.raw.once('close', end);
    response.once('error', end);
    return reply;
  });

  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });
}
