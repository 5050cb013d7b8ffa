import { EventBus, PublishError, silentLogger } from '@cloudbus/core';
import { type OutgoingMessage } from '@cloudbus/core/transport';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { RabbitMqConnectionError } from './rabbitmq-errors.js';
import { type RabbitMqTransport } from './rabbitmq-transport.js';
import type { RabbitMqTransportOptions } from './rabbitmq-transport-options.js';
import { routingKeyOf } from './routing-key.js';
import { RabbitMqFixture, rabbitMqUrl, until } from './testing/rabbitmq-fixture.js';
import type { ClientFrame } from './testing/tcp-proxy.js';

const url = rabbitMqUrl;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** AMQP methods (class id, method id) a test makes the broker leave unanswered. */
const method =
  (classId: number, methodId: number) =>
  (frame: ClientFrame): boolean =>
    frame.classId === classId && frame.methodId === methodId;
const exchangeDeclare = method(40, 10);
const queueDeclare = method(50, 10);
const basicConsume = method(60, 20);
const basicPublish = method(60, 40);

/**
 * A broker that accepts the connection but never answers one step (as a RabbitMQ channel stuck on a
 * quorum queue just after a restart): a TCP proxy swallows the client's frames of that step, and
 * every later frame of the same channel, while the connection itself (heartbeats) stays up.
 */
describe.skipIf(!url)('rabbitmq transport against a broker that stops answering', () => {
  const defaults = { reconnectMinDelayMs: 50, reconnectMaxDelayMs: 200, closeTimeoutMs: 500 } satisfies RabbitMqTransportOptions;
  const fixture = new RabbitMqFixture('cbu', defaults);
  const { run, admin, extraQueues } = fixture;
  const base = { ...fixture.base, ...defaults };
  let sequence = 0;
  const transport = (options: RabbitMqTransportOptions): RabbitMqTransport => fixture.transport(options);
  const proxiedUrl = () => fixture.proxiedUrl();

  const defineKitchen = () => fixture.defineKitchen('unanswered', ++sequence);

  /** Settles with what `promise` settled with, or with a text saying it is still pending after `ms`. */
  function within<T>(promise: Promise<T>, ms: number): Promise<T | Error | string> {
    return Promise.race([
      promise.then(
        (value) => value,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      ),
      sleep(ms).then(() => `still pending after ${ms} ms`),
    ]);
  }

  afterEach(() => fixture.afterEach({ drainTimeoutMs: 200, closeTransports: true }));
  afterAll(() => fixture.cleanup());

  it('fails connect() within setupTimeoutMs when the broker never answers a declaration, naming the step, and connects once it answers', async () => {
    const { proxy, url: proxied } = await proxiedUrl();
    const setupTimeoutMs = 1_000;
    const connecting = transport({ url: proxied, setupTimeoutMs });
    proxy.holdClientFrames = exchangeDeclare;
    const began = Date.now();
    const error = await within(connecting.connect(), 15_000);
    expect(error).toBeInstanceOf(RabbitMqConnectionError);
    expect((error as Error).message).toMatch(/did not answer the declaration of the exchanges, the dead-letter queue and the subscription registry within 1000 ms \(setupTimeoutMs\)/);
    // Liveness with a margin for a loaded machine: the bound, then closeTimeoutMs for the connection at most.
    expect(Date.now() - began).toBeLessThan(setupTimeoutMs + base.closeTimeoutMs + 3_000);
    expect(proxy.held).toBeGreaterThan(0);

    proxy.holdClientFrames = undefined;
    await connecting.connect();
  });

  it('drops a reconnection whose consume the broker never answers, after setupTimeoutMs, says how to check the quorum queue, and consumes again on a new connection once the broker answers', async () => {
    const { proxy, url: proxied } = await proxiedUrl();
    const { OrderPlaced, Kitchen, seen, service, queue } = defineKitchen();
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string, fields?: Record<string, unknown>) => void warnings.push(`${message} ${JSON.stringify(fields)}`) };
    const bus = new EventBus({ service, handlers: [Kitchen], logger: silentLogger, transport: transport({ url: proxied, setupTimeoutMs: 1_000, logger }) });
    fixture.track(bus);
    await bus.start();
    await bus.publish(new OrderPlaced('before'));
    await until(() => seen.includes('before'), 'the first event');

    // The broker restarts (the connection drops) and, once back, leaves basic.consume unanswered.
    proxy.holdClientFrames = basicConsume;
    await proxy.cut();
    await proxy.restore();
    await until(() => proxy.held > 0, 'the consume of the reconnection to be held');
    const stuck = proxy.accepted;
    // Without a bound the set-up waits for that answer for ever, and no other connection is opened.
    await until(() => proxy.accepted > stuck, 'the stuck connection to be replaced', 10_000);
    expect(await admin.consumers(queue)).toBe(0);
    // A quorum queue without a leader looks the same from here: the warning says how to tell.
    expect(warnings.join('\n')).toContain(`of the consumer of queue '${queue}' within 1000 ms`);
    expect(warnings.join('\n')).toContain(`rabbitmq-queues quorum_status '${queue}'`);

    proxy.holdClientFrames = undefined;
    await until(async () => (await admin.consumers(queue)) === 1, 'the consumer on a new connection', 15_000);
    await bus.publish(new OrderPlaced('after'));
    await until(() => seen.includes('after'), 'the event published once the broker answers');
  });

  it('replaces the connection when a consumer reopened on it (its queue deleted) gets no answer to its declaration, and consumes again', async () => {
    const { proxy, url: proxied } = await proxiedUrl();
    const { OrderPlaced, Kitchen, seen, service, queue } = defineKitchen();
    const bus = new EventBus({ service, handlers: [Kitchen], logger: silentLogger, transport: transport({ url: proxied, setupTimeoutMs: 1_000 }) });
    fixture.track(bus);
    await bus.start();
    await bus.publish(new OrderPlaced('before'));
    await until(() => seen.includes('before'), 'the first event');

    // The broker cancels the consumer (queue deleted); the channel reopened on the same, live
    // connection sends queue.declare, which the broker never answers.
    proxy.holdClientFrames = queueDeclare;
    const accepted = proxy.accepted;
    await admin.delete({ exchanges: [], queues: [queue] });
    await until(() => proxy.held > 0, 'the declaration of the reopened consumer to be held');
    await until(() => proxy.accepted > accepted, 'the stuck connection to be replaced', 10_000);

    proxy.holdClientFrames = undefined;
    await until(async () => (await admin.consumers(queue)) === 1, 'the consumer on a new connection', 15_000);
    await bus.publish(new OrderPlaced('after'));
    await until(() => seen.includes('after'), 'the event published once the broker answers');
  });

  it('rejects a publish the broker never confirms within confirmTimeoutMs, naming exactly the unconfirmed ids, then publishes on a new connection', async () => {
    const { proxy, url: proxied } = await proxiedUrl();
    const type = `dev.cloudbus.unanswered.${run}.e${++sequence}.order.placed`;
    const tap = `${run}.tap-${sequence}`;
    extraQueues.push(tap);
    const confirmTimeoutMs = 1_000;
    const publisher = transport({ url: proxied, confirmTimeoutMs });
    await publisher.connect();
    await admin.tap(tap, base.exchange, routingKeyOf(type));
    const message = (id: string): OutgoingMessage => ({ id, type, message: { headers: { id, type, source: '/test', specversion: '1.0' }, contentType: 'text/plain', body: new TextEncoder().encode(id) } });

    // The broker takes the first three publishes of the batch, then serves that channel no more.
    let publishes = 0;
    proxy.holdClientFrames = (frame) => basicPublish(frame) && ++publishes > 3;
    const ids = Array.from({ length: 10 }, (_, i) => `m-${i + 1}`);
    const began = Date.now();
    const outcome = await within(publisher.publish(ids.map(message)), 15_000);
    expect(outcome).toBeInstanceOf(PublishError);
    expect(Date.now() - began).toBeLessThan(confirmTimeoutMs + 3_000);
    // Confirmed ones are never reported unconfirmed, and every unconfirmed one is.
    expect((outcome as PublishError).unconfirmed).toEqual(ids.slice(3));
    expect((outcome as PublishError).message).toMatch(/did not confirm 7 of 10 message\(s\) \(no confirm from the broker within 1000 ms \(publishTimeoutMs\)\)/);
    expect(await admin.depth(tap)).toBe(3);

    // The stuck connection is dropped: once the broker answers again, publishing carries on.
    proxy.holdClientFrames = undefined;
    await until(() => proxy.accepted > 1, 'a new connection', 10_000);
    expect(await within(publisher.publish([message('m-11')]), 10_000)).toBeUndefined();
    expect(await admin.depth(tap)).toBe(4);
  });
});
