import { randomUUID } from 'node:crypto';

import { consoleLogger, type Logger } from '@cloudbus/core';
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
import { parseJsonBodies } from './json-body.js';
import { orderStream } from './order-stream.js';
import { placeOrderSchema, type PlaceOrderBody } from './place-order-schema.js';
import { DEFAULT_ALLOWED_HOSTS, guardRequests } from './request-guards.js';
import { COUNT_PATTERN, describeSchemaError, ID_PATTERN, text, type SchemaError } from './validation.js';
import { servePage } from './web-page.js';

/** What the HTTP API reads and changes. */
export interface HttpApiDependencies {
  readonly orders: OrderRepository;
  readonly inventory: InventoryStore;
  readonly analytics: AnalyticsStore;
  readonly notifications: NotificationLog;
  readonly timeline: TimelineRecorder;
  readonly health: () => Promise<Record<string, unknown>>;
  /** The kitchen as `GET /kitchen` reports it: ovens in this process and their bake time (null when the devices are external). */
  readonly kitchen?: { readonly ovens: number | null; readonly bakeTimeMs: number | null };
  /** Host names the API answers to (the Host header). @default 127.0.0.1, localhost, ::1 */
  readonly allowedHosts?: readonly string[];
  /** Where the inspector is, for the page's dead-letter link. @default http://127.0.0.1:5178/ */
  readonly inspectorUrl?: string;
  /** Where unexpected errors are logged, with the id the 500 answer carries. @default consoleLogger */
  readonly logger?: Logger;
}

const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 100, pattern: ID_PATTERN } },
} as const;
const optionalText = (name: string) => ({ type: ['object', 'null'], additionalProperties: false, properties: { [name]: text(1, 200) } }) as const;
const noBody = { type: ['object', 'null'], additionalProperties: false, properties: {} } as const;
const limit = { type: 'string', pattern: COUNT_PATTERN } as const;

/** The `limit` query value (a string of digits, checked by the schema) capped at `max`. */
const limitOf = (value: string | undefined, fallback: number, max: number): number => Math.min(max, value === undefined ? fallback : Number(value));

/**
 * The pizzeria's HTTP API (Fastify): place an order, follow it with its event timeline, move it
 * through its states, read the menu, stock, analytics, notifications and health, follow orders
 * live (`GET /events`), and the web page at `/`.
 *
 * Every input is checked strictly: nothing is coerced (a quantity "3" is refused), unknown
 * properties are refused by name, text may not hold control characters or lone surrogates. Only
 * the allowed host names are served, and state changes from a foreign Origin are refused.
 */
export function createHttpApi(deps: HttpApiDependencies): FastifyInstance {
  const logger = deps.logger ?? consoleLogger;
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    // Strict: no type coercion, unknown properties are errors (not silently removed).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  guardRequests(app, deps.allowedHosts ?? DEFAULT_ALLOWED_HOSTS);
  parseJsonBodies(app, 64 * 1024);

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.validation !== undefined && error.validation.length > 0) {
      const { field, message } = describeSchemaError(error.validation[0] as SchemaError, error.validationContext ?? 'body');
      return reply.code(400).send({ error: 'ValidationError', field, message });
    }
    if (error instanceof UnknownMenuItemError) {
      return reply.code(400).send({ error: error.name, field: `items[${error.index}].menuItemId`, message: error.message });
    }
    if (error instanceof IllegalTransitionError || error instanceof OrderConflictError) {
      return reply.code(409).send({ error: error.name, message: error.message });
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.name, message: error.message });
    }
    // The message may hold internals (paths, SQL, addresses): it goes to the log under an id, the client gets the id.
    const id = randomUUID();
    logger.error('pizzeria http: unexpected error', { id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), stack: error.stack });
    return reply.code(500).send({ error: 'InternalError', message: `Something went wrong on our side. Quote ${id} when you report it.`, id });
  });

  servePage(app);
  orderStream(app, deps.orders);

  app.get('/health', async () => deps.health());

  app.get('/menu', async () => ({ items: MENU.map(({ id, name, price }) => ({ id, name, price })) }));

  app.post<{ Body: PlaceOrderBody }>('/orders', { schema: { body: placeOrderSchema } }, async (request, reply) => {
    const order = Order.place(request.body);
    await deps.orders.save(order);
    return reply.code(201).header('location', `/orders/${order.id}`).send(order.snapshot());
  });

  app.get<{ Querystring: { status?: OrderStatus; limit?: string } }>(
    '/orders',
    { schema: { querystring: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: ORDER_STATUSES }, limit } } } },
    async (request) => ({ orders: await deps.orders.recent(limitOf(request.query.limit, 50, 500), request.query.status) }),
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
      { schema: { params: idParams, body: bodyField === undefined ? noBody : optionalText(bodyField) } },
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

  app.get('/kitchen', async () => {
    const [queue, cooking, ready, outForDelivery, delivered] = await Promise.all(
      (['paid', 'cooking', 'ready', 'out-for-delivery', 'delivered'] as const).map((status) => deps.orders.recent(status === 'delivered' ? 10 : 100, status)),
    );
    const oldestFirst = <T extends { placedAt: string }>(orders: T[]) => orders.reverse();
    return {
      ovens: deps.kitchen?.ovens ?? null,
      bakeTimeMs: deps.kitchen?.bakeTimeMs ?? null,
      queue: oldestFirst(queue!),
      cooking: oldestFirst(cooking!),
      ready: oldestFirst(ready!),
      outForDelivery: oldestFirst(outForDelivery!),
      delivered: delivered!,
    };
  });

  app.get('/stock', async () => ({ ingredients: await deps.inventory.levels(), alerts: await deps.inventory.alerts() }));

  app.get('/analytics', async () => ({
    ...(await deps.analytics.report()),
    deadLetters: deps.timeline.deadLetters(),
    inspectorUrl: deps.inspectorUrl ?? 'http://127.0.0.1:5178/',
  }));

  app.get<{ Querystring: { orderId?: string; limit?: string } }>(
    '/notifications',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { orderId: { type: 'string', minLength: 1, maxLength: 100, pattern: ID_PATTERN }, limit },
        },
      },
    },
    async (request) => ({ notifications: await deps.notifications.list({ orderId: request.query.orderId, limit: limitOf(request.query.limit, 100, 1000) }) }),
  );

  return app;
}
