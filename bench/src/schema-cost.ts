/**
 * What a Standard Schema on an event costs per event, for the candidate libraries, next to the
 * envelope's own cost measured in the same run: `pnpm --filter @cloudbus/bench bench:schema`
 * (after `pnpm build`). The pizzeria's events use the cheapest (docs/PERFORMANCE.md).
 */
import { encodeCloudEvent, isStandardSchema, type CloudEvent, type StandardSchemaV1 } from '@cloudbus/core';
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';

import { orderPlaced, type OrderPayload } from './order-placed.js';

const schemas: Record<string, StandardSchemaV1> = {
  zod: z.object({
    orderId: z.string().min(1),
    customerId: z.string().min(1),
    items: z.array(z.object({ pizza: z.string(), size: z.string(), quantity: z.number().int().positive() })).min(1),
    total: z.string().regex(/^\d+\.\d{2}$/),
    deliveryAddress: z.string(),
    sentAt: z.number(),
  }),
  valibot: v.object({
    orderId: v.pipe(v.string(), v.minLength(1)),
    customerId: v.pipe(v.string(), v.minLength(1)),
    items: v.pipe(v.array(v.object({ pizza: v.string(), size: v.string(), quantity: v.pipe(v.number(), v.integer(), v.minValue(1)) })), v.minLength(1)),
    total: v.pipe(v.string(), v.regex(/^\d+\.\d{2}$/)),
    deliveryAddress: v.string(),
    sentAt: v.number(),
  }),
  arktype: type({
    orderId: 'string > 0',
    customerId: 'string > 0',
    items: type({ pizza: 'string', size: 'string', quantity: 'number.integer > 0' }).array().atLeastLength(1),
    total: /^\d+\.\d{2}$/,
    deliveryAddress: 'string',
    sentAt: 'number',
  }),
};

function microsPerOp(count: number, op: (i: number) => void): number {
  const started = performance.now();
  for (let i = 0; i < count; i++) op(i);
  return ((performance.now() - started) * 1000) / count;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const count = Number(process.argv.find((a) => a.startsWith('--count='))?.slice(8) ?? 50_000);
const rounds = 7;
const events: OrderPayload[] = Array.from({ length: count }, (_, i) => orderPlaced(i));
const base: CloudEvent = { specversion: '1.0', id: 'x', source: '/bench', type: 'com.mariopizzeria.order.placed', datacontenttype: 'application/json', data: events[0] };

const results: Record<string, number[]> = { 'envelope encode (binary)': [] };
for (const name of Object.keys(schemas)) {
  if (!isStandardSchema(schemas[name])) throw new Error(`${name} does not implement Standard Schema v1`);
  results[name] = [];
}
for (let round = 0; round < rounds; round++) {
  results['envelope encode (binary)']!.push(microsPerOp(count, (i) => encodeCloudEvent({ ...base, data: events[i] }, 'binary')));
  for (const [name, schema] of Object.entries(schemas)) {
    const validate = schema['~standard'].validate;
    results[name]!.push(
      microsPerOp(count, (i) => {
        const result = validate(events[i]);
        if (result instanceof Promise || result.issues !== undefined) throw new Error(`${name} rejected a valid order`);
      }),
    );
  }
}
const envelope = median(results['envelope encode (binary)']!);
console.log(`schema validation cost per event, median of ${rounds} rounds of ${count} events (µs; ratio to encoding the envelope)`);
for (const [name, values] of Object.entries(results)) {
  const cost = median(values);
  console.log(`${name.padEnd(26)} ${cost.toFixed(3).padStart(8)} µs  ${(cost / envelope).toFixed(2)}x`);
}
const [best] = Object.keys(schemas).sort((a, b) => median(results[a]!) - median(results[b]!));
console.log(`cheapest: ${best}`);
