import { randomUUID } from 'node:crypto';

import type { Logger } from '@cloudbus/core';
import { afterEach, describe, expect, it } from 'vitest';

import { createPizzeria, type Pizzeria } from '../app/pizzeria.js';
import type { PizzeriaOptions } from '../app/pizzeria-options.js';
import { createHttpApi, type HttpApiDependencies } from './create-http-api.js';

const running: Pizzeria[] = [];

afterEach(async () => {
  for (const pizzeria of running.splice(0)) await pizzeria.stop();
});

async function start(options: PizzeriaOptions = {}): Promise<Pizzeria> {
  const pizzeria = await createPizzeria({ transport: 'memory', url: `memory://http-${randomUUID()}`, database: ':memory:', kitchenDevices: 'external', ...options });
  running.push(pizzeria);
  return pizzeria;
}

const validOrder = { customerId: 'c-1', phone: '+39 081 555 0100', items: [{ menuItemId: 'margherita', quantity: 1 }], deliveryAddress: 'Via Toledo 42, Napoli' };

/** POST /orders with a raw JSON text, as a client could send it. */
async function placeRaw(pizzeria: Pizzeria, json: string) {
  const reply = await pizzeria.http.inject({ method: 'POST', url: '/orders', headers: { 'content-type': 'application/json' }, payload: json });
  return { status: reply.statusCode, body: reply.json<{ error: string; field?: string; message: string }>() };
}

async function placed(pizzeria: Pizzeria): Promise<string> {
  const reply = await placeRaw(pizzeria, JSON.stringify(validOrder));
  expect(reply.status).toBe(201);
  return (reply.body as unknown as { id: string }).id;
}

describe('the HTTP API refuses foreign hosts and cross-site state changes', () => {
  it('does not answer a Host it is not bound to (DNS rebinding), and answers its own names', async () => {
    const pizzeria = await start();
    await placed(pizzeria);
    const foreign = await pizzeria.http.inject({ url: '/orders', headers: { host: 'attacker.example' } });
    expect(foreign.statusCode).toBe(421);
    expect(foreign.body).not.toContain('+39 081 555 0100');
    expect(foreign.json()).toMatchObject({ error: 'HostNotAllowed' });
    for (const host of ['127.0.0.1:3000', 'localhost:3000', '[::1]:3000', 'LOCALHOST']) {
      expect((await pizzeria.http.inject({ url: '/orders', headers: { host } })).statusCode, host).toBe(200);
    }
    const named = await start({ allowedHosts: ['pizza.lan'] });
    expect((await named.http.inject({ url: '/menu', headers: { host: 'pizza.lan:3000' } })).statusCode).toBe(200);
    expect((await named.http.inject({ url: '/menu', headers: { host: 'localhost:3000' } })).statusCode).toBe(421);
  });

  it('refuses a state change from a foreign Origin, and takes one from its own', async () => {
    const pizzeria = await start();
    const id = await placed(pizzeria);
    const cancel = (headers: Record<string, string>) =>
      pizzeria.http.inject({ method: 'POST', url: `/orders/${id}/cancel`, headers: { host: '127.0.0.1:3000', 'content-type': 'application/json', ...headers }, payload: '{}' });
    for (const origin of ['http://evil.example', 'null', 'http://127.0.0.1:4000', 'https://127.0.0.1.evil.example']) {
      const reply = await cancel({ origin });
      expect({ origin, status: reply.statusCode }).toEqual({ origin, status: 403 });
    }
    expect((await pizzeria.orders.get(id))?.status).toBe('placed');
    expect((await cancel({ origin: 'http://127.0.0.1:3000' })).statusCode).toBe(200);
    expect((await pizzeria.orders.get(id))?.status).toBe('cancelled');
  });

  it('refuses a POST that is not application/json, with or without a body', async () => {
    const pizzeria = await start();
    const id = await placed(pizzeria);
    const noType = await pizzeria.http.inject({ method: 'POST', url: `/orders/${id}/cancel` });
    expect(noType.statusCode).toBe(415);
    const form = await pizzeria.http.inject({ method: 'POST', url: `/orders/${id}/cancel`, headers: { 'content-type': 'text/plain' }, payload: '{"reason":"x"}' });
    expect(form.statusCode).toBe(415);
    expect((await pizzeria.orders.get(id))?.status).toBe('placed');
    // JSON with nothing in it is fine: a state change that needs no details.
    const empty = await pizzeria.http.inject({ method: 'POST', url: `/orders/${id}/pay`, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(empty.statusCode).toBe(200);
  });
});

describe('the HTTP API validates strictly', () => {
  it('coerces nothing: a quantity must be a number', async () => {
    const pizzeria = await start();
    for (const quantity of ['"3"', 'true', '[2]', '2.5']) {
      const reply = await placeRaw(pizzeria, JSON.stringify(validOrder).replace('"quantity":1', `"quantity":${quantity}`));
      expect({ quantity, status: reply.status, field: reply.body.field }).toEqual({ quantity, status: 400, field: 'items[0].quantity' });
    }
    const phoneAsNumber = await placeRaw(pizzeria, JSON.stringify({ ...validOrder, phone: 390815550100 }));
    expect(phoneAsNumber).toMatchObject({ status: 400, body: { field: 'phone' } });
    expect(await pizzeria.orders.recent(10)).toEqual([]);
  });

  it('refuses unknown properties by name, __proto__ too', async () => {
    const pizzeria = await start();
    const extra = await placeRaw(pizzeria, JSON.stringify({ ...validOrder, discount: '100%' }));
    expect(extra).toMatchObject({ status: 400, body: { error: 'ValidationError', field: 'discount' } });
    expect(extra.body.message).toContain("'discount' is not allowed");
    const nested = await placeRaw(pizzeria, JSON.stringify({ ...validOrder, items: [{ menuItemId: 'margherita', quantity: 1, price: '0.01' }] }));
    expect(nested).toMatchObject({ status: 400, body: { field: 'items[0].price' } });
    const proto = await placeRaw(pizzeria, JSON.stringify(validOrder).replace('{', '{"__proto__":{"admin":true},'));
    expect(proto).toMatchObject({ status: 400, body: { error: 'ValidationError', field: '__proto__' } });
    const id = await placed(pizzeria);
    const payExtra = await pizzeria.http.inject({ method: 'POST', url: `/orders/${id}/pay`, headers: { 'content-type': 'application/json' }, payload: { amount: '0.01' } });
    expect(payExtra.statusCode).toBe(400);
    expect(payExtra.json()).toMatchObject({ field: 'amount' });
    const query = await pizzeria.http.inject({ url: '/orders?limit=5&sort=evil' });
    expect(query.statusCode).toBe(400);
    expect(query.json()).toMatchObject({ field: 'sort' });
    expect((await pizzeria.http.inject({ url: '/orders?limit=abc' })).statusCode).toBe(400);
    expect((await pizzeria.http.inject({ url: '/orders?limit=2' })).json<{ orders: unknown[] }>().orders).toHaveLength(1);
    expect((await pizzeria.http.inject({ url: '/orders?limit=99999' })).statusCode).toBe(400);
  });

  it('refuses NUL and other control characters, and lone surrogates, in text', async () => {
    const pizzeria = await start();
    for (const [address, what] of [
      ['Via Toledo 42\u0000, Napoli', 'NUL'],
      ['Via Toledo 42\n<script>, Napoli', 'newline'],
      ['Via Toledo 42 \ud800 Napoli', 'lone surrogate'],
    ] as const) {
      const reply = await placeRaw(pizzeria, JSON.stringify({ ...validOrder, deliveryAddress: address }));
      expect({ what, status: reply.status, field: reply.body.field }).toEqual({ what, status: 400, field: 'deliveryAddress' });
      expect(reply.body.message).toContain('control characters or lone surrogates');
    }
    const id = await placed(pizzeria);
    const reason = await pizzeria.http.inject({ method: 'POST', url: `/orders/${id}/cancel`, headers: { 'content-type': 'application/json' }, payload: '{"reason":"\\u0000"}' });
    expect(reason.statusCode).toBe(400);
    // Real names and addresses pass, accents and emoji included.
    expect((await placeRaw(pizzeria, JSON.stringify({ ...validOrder, deliveryAddress: 'Piazza San Domenico Maggiore 9, Napoli 🍕' }))).status).toBe(201);
    expect((await pizzeria.orders.recent(10)).map((order) => order.deliveryAddress)).not.toContain('Via Toledo 42\u0000, Napoli');
  });

  it('refuses a bad phone number with a 400 naming the field and saying what a phone number is', async () => {
    const pizzeria = await start();
    for (const phone of ['call me', '12', '+39 081 555 0100 ext. 4', '++39 081 555 0100']) {
      const reply = await placeRaw(pizzeria, JSON.stringify({ ...validOrder, phone }));
      expect({ phone, status: reply.status, field: reply.body.field }).toEqual({ phone, status: 400, field: 'phone' });
      expect(reply.body.message).toMatch(/^body field 'phone' must be a phone number/);
    }
  });

  it('says which JSON is broken without calling a valid document invalid', async () => {
    const pizzeria = await start();
    const broken = await placeRaw(pizzeria, '{"customerId": ');
    expect(broken).toMatchObject({ status: 400, body: { error: 'InvalidJsonBodyError' } });
  });
});

describe('the HTTP API on an unexpected error', () => {
  it('answers 500 with an id and no internals, and logs the error under that id', async () => {
    const logged: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (message, fields) => logged.push({ message, fields }) };
    const failing = async (): Promise<never> => {
      throw new Error('connect ECONNREFUSED 10.1.2.3:5432 (user mario, password hunter2)');
    };
    const deps = { health: failing, logger } as unknown as HttpApiDependencies; // /health touches nothing else
    const app = createHttpApi({ ...deps, orders: { onSaved: () => () => {} } as unknown as HttpApiDependencies['orders'] });
    try {
      const reply = await app.inject({ url: '/health' });
      expect(reply.statusCode).toBe(500);
      expect(reply.body).not.toContain('hunter2');
      expect(reply.body).not.toContain('10.1.2.3');
      const body = reply.json<{ error: string; id: string; message: string }>();
      expect(body.error).toBe('InternalError');
      expect(body.message).toContain(body.id);
      expect(logged).toHaveLength(1);
      expect(logged[0]!.fields).toMatchObject({ id: body.id, error: expect.stringContaining('hunter2') as unknown });
    } finally {
      await app.close();
    }
  });
});

describe('GET /events', () => {
  it('pushes every saved order to an open stream, and ends the stream when the pizzeria stops', async () => {
    const pizzeria = await createPizzeria({ transport: 'memory', url: `memory://sse-${randomUUID()}`, database: ':memory:', kitchenDevices: 'external' });
    let stopped = false;
    try {
      const address = await pizzeria.http.listen({ port: 0, host: '127.0.0.1' });
      const response = await fetch(`${address}/events`);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let received = '';
      const readUntil = async (text: string): Promise<void> => {
        while (!received.includes(text)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`the stream ended before '${text}'; got: ${received}`);
          received += value;
        }
      };
      await readUntil('retry:');
      const id = await placed(pizzeria);
      await readUntil(`"id":"${id}"`);
      expect(received).toContain('event: order\ndata: {');
      await pizzeria.http.inject({ method: 'POST', url: `/orders/${id}/pay`, headers: { 'content-type': 'application/json' }, payload: '{}' });
      await readUntil('"status":"paid"');
      // Stopping does not wait for the client to hang up: the stream ends.
      await pizzeria.stop();
      stopped = true;
      expect(await reader.read().then(async (chunk) => (chunk.done ? chunk : reader.read()))).toMatchObject({ done: true });
    } finally {
      if (!stopped) await pizzeria.stop();
    }
  });

  it('is refused to a foreign Host like every other route', async () => {
    const pizzeria = await start();
    expect((await pizzeria.http.inject({ url: '/events', headers: { host: 'attacker.example' } })).statusCode).toBe(421);
  });
});
