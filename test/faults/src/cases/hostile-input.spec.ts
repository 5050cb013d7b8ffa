import { Buffer } from 'node:buffer';

import { MessageTooLargeError, STRUCTURED_CONTENT_TYPE, type WireMessage } from '@cloudbus/core';
import { afterEach, describe, expect, it } from 'vitest';

import { FaultRun } from '../infrastructure/fault-run.js';
import { faultTargets } from '../infrastructure/targets.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

/** Raw messages that are not valid CloudEvents 1.0, each labelled by what is wrong with it. */
function invalidInputs(type: string): { label: string; message: WireMessage }[] {
  const attributes = (id: string) => ({ specversion: '1.0', id, source: '/faults/raw', type });
  const structured = (event: Record<string, unknown>): WireMessage => ({ headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: json(event) });
  const binary = (headers: Record<string, string>, body: Uint8Array = json({ n: 0 })): WireMessage => ({ headers, contentType: 'application/json', body });
  const { id: _id, ...withoutId } = attributes('');
  const { source: _source, ...withoutSource } = attributes('raw-no-source');
  return [
    { label: 'bad JSON (structured)', message: { headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: Buffer.from('{"specversion": "1.0", "id": ', 'utf8') } },
    { label: 'bad JSON data (binary)', message: binary(attributes('raw-bad-json-data'), Buffer.from('{"n": 1,', 'utf8')) },
    { label: 'no id', message: structured({ ...withoutId, data: { n: 0 } }) },
    { label: 'empty id', message: binary(attributes('')) },
    { label: 'no source', message: binary(withoutSource) },
    { label: 'no specversion (binary)', message: binary({ id: 'raw-no-specversion', source: '/faults/raw', type }) },
    { label: 'specversion 0.3', message: structured({ ...attributes('raw-03'), specversion: '0.3', data: { n: 0 } }) },
    { label: 'specversion 2.0', message: binary({ ...attributes('raw-20'), specversion: '2.0' }) },
    { label: 'upper-case attribute name', message: structured({ ...attributes('raw-upper'), Region: 'eu', data: { n: 0 } }) },
    { label: 'attribute name with a dash', message: structured({ ...attributes('raw-dash'), 'trace-id': 'x', data: { n: 0 } }) },
    { label: 'bad time', message: binary({ ...attributes('raw-time'), time: 'yesterday at noon' }) },
    { label: 'data and data_base64', message: structured({ ...attributes('raw-both'), data: { n: 0 }, data_base64: 'eyJuIjowfQ==' }) },
    { label: 'bad base64', message: structured({ ...attributes('raw-base64'), datacontenttype: 'application/json', data_base64: 'not base64!' }) },
    { label: 'control characters in a header value', message: binary({ ...attributes('raw-control'), subject: 'order\u0007\u001b[2J' }) },
    { label: 'invalid UTF-8 data', message: binary(attributes('raw-utf8'), Uint8Array.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0xff, 0xfe, 0x7d])) },
    { label: 'invalid UTF-8 structured event', message: { headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: Uint8Array.from([0x7b, 0xc3, 0x28, 0x7d]) } },
  ];
}

/** Faults 6 (invalid input on the wire) and 7 (oversize and hostile data). */
describe.each(faultTargets(['memory', 'rabbitmq', 'nats', 'mqtt']))('hostile input on $target', ({ target, url, skip }) => {
  let run: FaultRun | undefined;
  afterEach(async () => {
    await run?.dispose();
    run = undefined;
  });

  it.skipIf(skip)('invalid CloudEvents injected raw are dead-lettered as invalid, never retried, the handler never called, and the consumer stays up', async () => {
    run = await FaultRun.create({ fault: '6. invalid input on the wire', target, url });
    await run.startConsumer('a');
    const inputs: string[] = [];
    const refusedByBroker: string[] = [];
    for (const { label, message } of invalidInputs(run.type)) {
      if (await run.injectRaw(message)) inputs.push(label);
      else refusedByBroker.push(label);
    }
    // Only MQTT refuses one of them itself (control characters are malformed UTF-8 strings in MQTT 5).
    expect(refusedByBroker).toEqual(target === 'mqtt' ? ['control characters in a header value'] : []);
    // The consumer is still up: a valid event afterwards is handled.
    await run.publish(5, { batchSize: 5 });
    await run.settle([run.recorder], { timeoutMs: 60_000, quietMs: 500 });
    let deadLetters = await run.readDeadLetters();
    for (let waited = 0; deadLetters.length < inputs.length && waited < 30_000; waited += 1_000) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      deadLetters = await run.readDeadLetters();
    }
    const result = await run.check();
    expect(result.violations).toEqual([]);
    expect(run.ledger.attemptCount(run.recorder)).toBe(5);
    expect(deadLetters.length, `dead letters for: ${inputs.join(', ')}`).toBe(inputs.length);
    expect(deadLetters.map((d) => `${d.reason}/${d.attempts}`)).toEqual(inputs.map(() => 'invalid/0'));
    for (const deadLetter of deadLetters) {
      expect(deadLetter.handler).toBe(run.recorder);
      expect(deadLetter.errorType).toBe('InvalidCloudEventError');
      expect(deadLetter.error).not.toBe('');
    }
  });

  it.skipIf(skip)('an event of exactly 64 KiB of data goes through', async () => {
    run = await FaultRun.create({ fault: '7a. 64 KiB event', target, url, maxMessageBytes: 100_000 });
    await run.startConsumer('a');
    const bare = JSON.stringify({ n: 1, pad: '' }).length;
    const published = await run.publish(3, { batchSize: 1, pad: 'x'.repeat(65_536 - bare) });
    expect(published.rejected).toBe(0);
    await run.settle([run.recorder], { timeoutMs: 60_000, quietMs: 500 });
    const result = await run.check();
    expect(result.violations).toEqual([]);
    expect(run.ledger.distinctEffects(run.recorder)).toBe(3);
  });

  it.skipIf(skip)('an event just over the limit fails on publish with a typed error, and is dead-lettered unparsed on receive', async () => {
    const limit = 100_000;
    run = await FaultRun.create({ fault: '7b. over the size limit', target, url, maxMessageBytes: limit });
    await run.startConsumer('a');
    const bus = await run.publisher();
    const [tooBig] = run.events(1, 'x'.repeat(limit));
    await expect(bus.publish(tooBig!)).rejects.toBeInstanceOf(MessageTooLargeError);
    // A foreign producer sends it anyway: the consumer dead-letters it without parsing it.
    await run.injectRaw({
      headers: { specversion: '1.0', id: 'raw-oversize', source: '/faults/raw', type: run.type },
      contentType: 'application/json',
      body: json({ n: 0, pad: 'y'.repeat(limit + 1) }),
    });
    await run.publish(2, { batchSize: 2 });
    await run.settle([run.recorder], { timeoutMs: 60_000, quietMs: 2_000 });
    const result = await run.check();
    expect(result.violations).toEqual([]);
    const deadLetters = run.ledger.deadLetters();
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({ id: 'raw-oversize', reason: 'invalid', attempts: 0 });
    expect(deadLetters[0]!.error).toMatch(/over the limit/);
  });

  it.skipIf(skip)('data nested 10,000 deep or with __proto__ keys is rejected without harm', async () => {
    run = await FaultRun.create({ fault: '7c. deep nesting and __proto__', target, url, maxMessageBytes: 1_000_000 });
    await run.startConsumer('a');
    const headers = (id: string) => ({ specversion: '1.0', id, source: '/faults/raw', type: run!.type });
    const deep = `{"n":0,"deep":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    await run.injectRaw({ headers: headers('raw-deep'), contentType: 'application/json', body: Buffer.from(deep, 'utf8') });
    await run.injectRaw({ headers: headers('raw-proto'), contentType: 'application/json', body: Buffer.from('{"n":0,"__proto__":{"polluted":true}}', 'utf8') });
    await run.injectRaw({
      headers: headers('raw-nested-proto'),
      contentType: 'application/json',
      body: Buffer.from('{"n":0,"nested":{"__proto__":{"polluted":true}}}', 'utf8'),
    });
    await run.publish(2, { batchSize: 2 });
    await run.settle([run.recorder], { timeoutMs: 60_000, quietMs: 2_000 });
    const result = await run.check();
    expect(result.violations).toEqual([]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const rejected = new Map(run.ledger.deadLetters().map((d) => [d.id, d]));
    // None of the hostile ones reached the handler.
    for (const id of ['raw-deep', 'raw-proto', 'raw-nested-proto']) {
      expect(run.ledger.attemptsOf(id, run.recorder), id).toEqual([]);
      expect(rejected.get(id)?.attempts, id).toBe(0);
    }
  });
});
