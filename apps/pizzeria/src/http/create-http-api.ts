import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';

import { IllegalTransitionError } from '../domain/illegal-transition-error.js';
import { MENU } from '../domain/menu.js';
import { Order } from '../domain/order.js';
import { ORDER_STATUSES, type OrderStatus } from '../domain/order-status.js';
import { UnknownMenuItemError } from '../domain/unknown-menu-item-error.js';
import type { NotificationLog } from '../notifications/notification-log.js';
import type { AnalyticsStore } from '../persistence/analytics-store.js';
import type { InventoryStore } from '../persistence/inventory-store.js';
import { OrderConflictError } from '../persistence/order-conflict-error.js';
import type { OrderRepository } from '../persistence/order-repository.js';
import type { TimelineRecorder } from '../timeline/timeline-recorder.js';
import { placeOrderSchema, type PlaceOrderBody } from './place-order-schema.js';

/** What the HTTP API reads and changes. */
export interface HttpApiDependencies {
  readonly orders: OrderRepository;
  readonly inventory: InventoryStore;
  readonly analytics: AnalyticsStore;
  readonly notifications: NotificationLog;
  readonly timeline: TimelineRecorder;
  readonly health: () => Promise<Record<string, unknown>>;
}

/** `/items/0/quantity` -> `items[0].quantity`. */
function fieldName(instancePath: string, missingProperty: unknown): string {
  const parts = instancePath.split('/').filter((part) => part !== '');
  if (typeof missingProperty === 'string') parts.push(missingProperty);
  return parts.reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name === '' ? part : `${name}.${part}`), '');
}

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } } as const;
const optionalText = (name: string) =>
  ({ type: ['object', 'null'], additionalProperties: false, properties: { [name]: { type: 'string', minLength: 1, maxLength: 200 } } }) as const;

/**
 * The pizzeria's HTTP API (Fastify): place an order, follow it with its event timeline, move it
 * through its states, and read the menu, stock, analytics, notifications and health.
 */
export function createHttpApi(deps: HttpApiDependencies): FastifyInstance {
  const app = Fastify({ logger: false });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.validation !== undefined && error.validation.length > 0) {
      const first = error.validation[0]!;
      const field = fieldName(first.instancePath, (first.params as Record<string, unknown>)['missingProperty']);
      const where = error.validationContext ?? 'body';
      return reply.code(400).send({ error: 'ValidationError', field, message: `${where}${field === '' ? '' : ` field '${field}'`} ${first.message ?? 'is invalid'}` });
    }
    if (error instanceof UnknownMenuItemError) {
      return reply.code(400).send({ error: error.name, field: `items[${error.index}].menuItemId`, message: error.message });
    }
    if (error instanceof IllegalTransitionError || error instanceof OrderConflictError) {
      return reply.code(409).send({ error: error.name, message: error.message });
    }
    if (typeof error.statusCode === 'number' && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.name, message: error.message });
    }
    app.log.error(error);
    return reply.code(500).send({ error: 'InternalError', message: error.message });
  });

  app.get('/health', async () => deps.health());

  app.get('/menu', async () => ({ items: MENU.map(({ id, name, price }) => ({ id, name, price })) }));

  app.post<{ Body: PlaceOrderBody }>('/orders', { schema: { body: placeOrderSchema } }, async (request, reply) => {
    const order = Order.place(request.body);
    await deps.orders.save(order);
    return reply.code(201).header('location', `/orders/${order.id}`).send(order.snapshot());
  });

  app.get<{ Querystring: { status?: OrderStatus; limit?: number } }>(
    '/orders',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { status: { type: 'string', enum: ORDER_STATUSES }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        },
      },
    },
    async (request) => ({ orders: await deps.orders.recent(request.query.limit ?? 50, request.query.status) }),
  );

  app.get<{ Params: { id: string } }>('/orders/:id', { schema: { params: idParams } }, async (request, reply) => {
    const order = await deps.orders.get(request.params.id);
    if (order === undefined) return reply.code(404).send({ error: 'NotFound', message: `No order ${request.params.id}.` });
    return { ...order.snapshot(), timeline: deps.timeline.timeline(order.id) };
  });

  /** Loads the order, applies the change and saves; reloads and retries when someone saved it meanwhile. */
  const transition = async (id: string, change: (order: Order) => void): Promise<Order | undefined> => {
    for (let attempt = 1; ; attempt++) {
      const order = await deps.orders.get(id);
      if (order === undefined) return undefined;
      change(order);
      try {
        await deps.orders.save(order);
        return order;
      } catch (error) {
        if (!(error instanceof OrderConflictError) || attempt >= 3) throw error;
      }
    }
  };

  const transitionRoute = <B extends Record<string, string | undefined>>(
    path: string,
    bodyField: string | undefined,
    change: (order: Order, body: B) => void,
  ): void => {
    app.post<{ Params: { id: string }; Body: B | null }>(
      `/orders/:id/${path}`,
      { schema: { params: idParams, ...(bodyField === undefined ? {} : { body: optionalText(bodyField) }) } },
      async (request, reply) => {
        const order = await transition(request.params.id, (o) => change(o, (request.body ?? {}) as B));
        if (order === undefined) return reply.code(404).send({ error: 'NotFound', message: `No order ${request.params.id}.` });
        return order.snapshot();
      },
    );
  };
  transitionRoute<{ paymentReference?: string }>('pay', 'paymentReference', (order, body) =>
    order.pay(body.paymentReference ?? `pay-${order.id.slice(0, 8)}`),
  );
  transitionRoute<{ courier?: string }>('out-for-delivery', 'courier', (order, body) => order.sendOutForDelivery(body.courier ?? 'Luigi'));
  transitionRoute<Record<string, never>>('delivered', undefined, (order) => order.markDelivered());
  transitionRoute<{ reason?: string }>('cancel', 'reason', (order, body) => order.cancel(body.reason ?? 'cancelled by the customer'));

  app.get('/stock', async () => ({ ingredients: await deps.inventory.levels(), alerts: await deps.inventory.alerts() }));

  app.get('/analytics', async () => ({ ...(await deps.analytics.report()), deadLetters: deps.timeline.deadLetters() }));

  app.get<{ Querystring: { orderId?: string; limit?: number } }>(
    '/notifications',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { orderId: { type: 'string', minLength: 1 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
      },
    },
    async (request) => ({ notifications: await deps.notifications.list({ orderId: request.query.orderId, limit: request.query.limit }) }),
  );

  return app;
}
