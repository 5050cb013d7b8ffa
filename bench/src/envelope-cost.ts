import { decodeCloudEvent, encodeCloudEvent, type CloudEvent } from '@cloudbus/core';

import type { OrderPlaced } from './order-placed.js';

/** Per-event cost of the envelope, µs, next to plain JSON. */
export interface EnvelopeCosts {
  readonly jsonStringify: number;
  readonly jsonParse: number;
  readonly encodeBinary: number;
  readonly decodeBinary: number;
  /** Binary decode of data whose JSON holds a `\u` escape: the walk for forbidden keys (`__proto__`, `constructor`, `prototype`) runs. */
  readonly decodeBinaryKeyWalk: number;
  readonly encodeStructured: number;
  readonly decodeStructured: number;
  readonly payloadBytes: number;
}

function microsPerOp(count: number, op: (i: number) => void): number {
  const started = performance.now();
  for (let i = 0; i < count; i++) op(i);
  return ((performance.now() - started) * 1000) / count;
}

/** Encodes and decodes one CloudEvent per event, in both content modes, and the same data with JSON alone. */
export function envelopeCosts(events: readonly OrderPlaced[]): EnvelopeCosts {
  const cloudEvent: CloudEvent = {
    specversion: '1.0',
    id: '6f1c2d3e-1111-4222-8333-944445555666',
    source: '/bench',
    type: 'com.mariopizzeria.order.placed',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    subject: 'order-1',
    correlationid: '6f1c2d3e-1111-4222-8333-944445555666',
    dataversion: 1,
    data: events[0],
  };
  const binary = encodeCloudEvent(cloudEvent, 'binary');
  const structured = encodeCloudEvent(cloudEvent, 'structured');
  const json = JSON.stringify(events[0]);
  const n = events.length;
  // The same data plus one escaped character: text that could hide an escaped forbidden key, so every key is checked after parsing.
  const escaped = { ...binary, body: Buffer.from(`${json.slice(0, -1)},"note":"caf\\u00e9"}`) };
  return {
    jsonStringify: microsPerOp(n, (i) => JSON.stringify(events[i])),
    jsonParse: microsPerOp(n, () => JSON.parse(json)),
    encodeBinary: microsPerOp(n, (i) => encodeCloudEvent({ ...cloudEvent, data: events[i] }, 'binary')),
    decodeBinary: microsPerOp(n, () => decodeCloudEvent(binary)),
    decodeBinaryKeyWalk: microsPerOp(n, () => decodeCloudEvent(escaped)),
    encodeStructured: microsPerOp(n, (i) => encodeCloudEvent({ ...cloudEvent, data: events[i] }, 'structured')),
    decodeStructured: microsPerOp(n, () => decodeCloudEvent(structured)),
    payloadBytes: Buffer.byteLength(json),
  };
}
