import type { FastifyInstance } from 'fastify';

import type { OrderSnapshot } from '../domain/order.js';
import type { OrderStatus } from '../domain/order-status.js';

/** A reply of the pizzeria's HTTP API. */
export interface ApiReply<T = unknown> {
  readonly status: number;
  readonly body: T;
}

/** A valid POST /orders body, with overrides. */
export function orderRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    customerId: 'customer-42',
    phone: '+39 081 555 0100',
    email: 'anna@example.com',
    items: [
      { menuItemId: 'margherita', quantity: 2 },
      { menuItemId: 'tiramisu', quantity: 1 },
    ],
    deliveryAddress: 'Via Toledo 42, Napoli',
    ...overrides,
  };
}

/** Drives a pizzeria through its HTTP API (Fastify inject, or a real port with `baseUrl`), as a user would. */
export class PizzeriaDriver {
  constructor(private readonly target: FastifyInstance | string) {}

  async request<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiReply<T>> {
    if (typeof this.target === 'string') {
      const response = await fetch(new URL(path, this.target), {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      return { status: response.status, body: (await response.json()) as T };
    }
    const response = await this.target.inject({ method, url: path, ...(body === undefined ? {} : { payload: body as Record<string, unknown> }) });
    return { status: response.statusCode, body: response.json<T>() };
  }

  async get<T = unknown>(path: string): Promise<T> {
    const reply = await this.request<T>('GET', path);
    if (reply.status !== 200) throw new Error(`GET ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  async post<T = OrderSnapshot>(path: string, body?: unknown): Promise<T> {
    const reply = await this.request<T>('POST', path, body ?? {});
    if (reply.status !== 200 && reply.status !== 201) throw new Error(`POST ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  placeOrder(overrides: Record<string, unknown> = {}): Promise<OrderSnapshot> {
    return this.post('/orders', orderRequest(overrides));
  }

  order(id: string): Promise<OrderSnapshot & { readonly timeline: readonly { kind: string; eventType?: string; handler?: string }[] }> {
    return this.get(`/orders/${id}`);
  }

  /** Polls until `probe` returns something other than undefined. */
  async eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits until the order has the status. */
  waitForStatus(id: string, status: OrderStatus, timeoutMs?: number): Promise<OrderSnapshot> {
    return this.eventually(
      async () => {
        const order = await this.order(id);
        return order.status === status ? order : undefined;
      },
      `order ${id} to be ${status}`,
      timeoutMs,
    );
  }

  /** Places an order and takes it all the way to delivered. */
  async deliverOrder(overrides: Record<string, unknown> = {}, timeoutMs?: number): Promise<OrderSnapshot> {
    const placed = await this.placeOrder(overrides);
    await this.post(`/orders/${placed.id}/pay`);
    await this.waitForStatus(placed.id, 'ready', timeoutMs);
    await this.post(`/orders/${placed.id}/out-for-delivery`, { courier: 'Luigi' });
    return this.post(`/orders/${placed.id}/delivered`);
  }
}
