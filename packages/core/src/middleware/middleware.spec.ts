import { propagation, type Meter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { EventHandler, PermanentError, idempotency, inboxKey, logging, metrics, prepareReplay, retry, tracing, type EventContext, type Logger, type Middleware } from '../index.js';
import { PaymentProcessed, ReceiptSent } from '../spec-support/example-events.js';
import { createTestBus, type TestBus } from '../testing/index.js';

const charged: string[] = [];

@EventHandler(PaymentProcessed, { name: 'Receipts' })
class Receipts {
  async handle(event: PaymentProcessed, ctx: EventContext): Promise<void> {
    charged.push(event.orderId);
    await ctx.publish(new ReceiptSent(event.orderId));
  }
}

const buses: TestBus[] = [];
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.stop();
  charged.length = 0;
});

async function start(middleware: Middleware[]): Promise<TestBus> {
  const bus = await createTestBus({ handlers: [Receipts], middleware });
  buses.push(bus);
  return bus;
}

describe('idempotency', () => {
  it('runs a handler once for an event delivered twice, and twice without the middleware', async () => {
    const guarded = await start([idempotency()]);
    await guarded.publish(new PaymentProcessed('o-1'), { id: 'payment-1' });
    await guarded.publish(new PaymentProcessed('o-1'), { id: 'payment-1' });
    const skipped = await guarded.waitForTelemetry((e) => e.kind === 'handler-skipped');
    expect(skipped).toMatchObject({ kind: 'handler-skipped', handler: 'test.Receipts', reason: 'duplicate' });
    expect(charged).toEqual(['o-1']);
    expect(guarded.telemetry.filter((t) => t.kind === 'handler-started' && t.handler === 'test.Receipts')).toHaveLength(1);

    charged.length = 0;
    const unguarded = await start([]);
    await unguarded.publish(new PaymentProcessed('o-1'), { id: 'payment-1' });
    await unguarded.publish(new PaymentProcessed('o-1'), { id: 'payment-1' });
    await unguarded.waitFor(ReceiptSent);
    await unguarded.waitForTelemetry(() => charged.length === 2);
    expect(charged).toEqual(['o-1', 'o-1']);
  });

  it('runs the failed handler once for a dead letter replayed twice, and keys a replay of a replay by the first event', async () => {
    let gatewayUp = false;
    @EventHandler(PaymentProcessed, { name: 'Refunds', retry: retry.none() })
    class Refunds {
      handle(event: PaymentProcessed): void {
        if (!gatewayUp) throw new PermanentError('gateway down');
        charged.push(event.orderId);
      }
    }
    const bus = await createTestBus({ handlers: [Refunds], middleware: [idempotency()] });
    buses.push(bus);
    await bus.publish(new PaymentProcessed('o-7'), { id: 'payment-7' });
    const deadLetter = await bus.waitForDeadLetter((d) => d.record?.handler === 'test.Refunds');
    gatewayUp = true;
    const first = prepareReplay(deadLetter);
    const second = prepareReplay(deadLetter);
    expect(first.id).not.toBe(second.id);
    expect(inboxKey('test.Refunds', first)).toBe(inboxKey('test.Refunds', { source: first.source, id: 'payment-7' }));
    const again = prepareReplay({ cloudEvent: first, record: deadLetter.record });
    expect(again.causationid).toBe('payment-7');
    expect(inboxKey('test.Refunds', again)).toBe(inboxKey('test.Refunds', first));

    await bus.bus.publishPrepared([first]);
    await bus.bus.publishPrepared([second]);
    await bus.waitForTelemetry((e) => e.kind === 'handler-skipped' && e.reason === 'duplicate');
    expect(charged).toEqual(['o-7']);
  });
});

describe('middleware chain', () => {
  it('runs middleware outermost first around publish and consume, and may skip the handler', async () => {
    const trail: string[] = [];
    const outer: Middleware = {
      name: 'outer',
      async publish(context, next) {
        trail.push(`outer publish ${context.events.length}`);
        await next();
      },
      async consume(context, next) {
        trail.push(`outer consume ${context.handler}#${context.attempt}`);
        await next();
        trail.push('outer consume done');
      },
    };
    const skipper: Middleware = {
      name: 'skipper',
      async consume(context, next) {
        if ((context.event as PaymentProcessed).orderId === 'skip-me') return context.skip('filtered');
        await next();
      },
    };
    const t = await start([outer, skipper]);
    await t.publish(new PaymentProcessed('skip-me'));
    await t.publish(new PaymentProcessed('o-2'));
    await t.waitForTelemetry(() => t.telemetry.some((e) => e.kind === 'handler-succeeded') && t.telemetry.some((e) => e.kind === 'handler-skipped'));
    expect(charged).toEqual(['o-2']);
    expect(t.telemetry.find((e) => e.kind === 'handler-skipped')).toMatchObject({ reason: 'filtered' });
    // Two publishes by the test, one by the handler; the outer consume wraps both events, the
    // skipped one included.
    expect(trail.filter((line) => line === 'outer publish 1')).toHaveLength(3);
    expect(trail.filter((line) => line === 'outer consume test.Receipts#1')).toHaveLength(2);
    expect(trail.filter((line) => line === 'outer consume done')).toHaveLength(2);
    expect(trail.indexOf('outer consume test.Receipts#1')).toBeLessThan(trail.indexOf('outer consume done'));
  });

  it('logs handler failures with the event and the attempt', async () => {
    const lines: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    const logger: Logger = {
      debug: (message, fields) => lines.push({ message, fields }),
      info: (message, fields) => lines.push({ message, fields }),
      warn: (message, fields) => lines.push({ message, fields }),
      error: () => {},
    };
    @EventHandler(PaymentProcessed, { name: 'Broken' })
    class Broken {
      handle(): void {
        throw new Error('card declined');
      }
    }
    const t = await createTestBus({ handlers: [Broken], middleware: [logging({ logger })] });
    buses.push(t);
    await t.publish(new PaymentProcessed('o-3'));
    await t.waitForTelemetry((e) => e.kind === 'handler-failed');
    const failure = lines.find((line) => line.message.startsWith('handler failed'));
    expect(failure?.fields).toMatchObject({ handler: 'test.Broken', type: 'com.example.payment.processed', attempt: 1, error: { message: 'card declined' } });
    expect(lines.some((line) => line.message === 'published')).toBe(true);
  });
});

describe('metrics', () => {
  it('counts publishes and handler calls by outcome, and records durations', async () => {
    const recorded: { instrument: string; value: number; attributes: Record<string, unknown> | undefined }[] = [];
    const instrument = (name: string) => ({
      add: (value: number, attributes?: Record<string, unknown>) => recorded.push({ instrument: name, value, attributes }),
      record: (value: number, attributes?: Record<string, unknown>) => recorded.push({ instrument: name, value, attributes }),
    });
    const meter = { createCounter: instrument, createHistogram: instrument } as unknown as Meter;
    @EventHandler(PaymentProcessed, { name: 'Flaky', retry: retry.fixed({ attempts: 2, delayMs: 5 }) })
    class Flaky {
      static calls = 0;
      handle(): void {
        if (++Flaky.calls === 1) throw new Error('once');
      }
    }
    const t = await createTestBus({ handlers: [Flaky], middleware: [metrics({ meter })] });
    buses.push(t);
    await t.publish(new PaymentProcessed('o-5'));
    await t.waitForTelemetry((e) => e.kind === 'handler-succeeded');
    const calls = recorded.filter((r) => r.instrument === 'cloudbus.handler.calls').map((r) => r.attributes?.['outcome']);
    expect(calls).toEqual(['failure', 'success']);
    expect(recorded.filter((r) => r.instrument === 'cloudbus.events.published')).toEqual([
      { instrument: 'cloudbus.events.published', value: 1, attributes: { 'cloudevents.event_type': 'com.example.payment.processed' } },
    ]);
    expect(recorded.filter((r) => r.instrument === 'cloudbus.handler.duration')).toHaveLength(2);
  });
});

describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  beforeAll(() => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    propagation.disable();
  });

  it('sends the producer span as traceparent and parents the consumer span on it', async () => {
    const t = await start([tracing({ tracer: provider.getTracer('test') })]);
    await t.publish(new PaymentProcessed('o-4'));
    await t.waitFor(ReceiptSent);
    await t.waitForTelemetry((e) => e.kind === 'handler-succeeded');
    const spans = exporter.getFinishedSpans();
    const producer = spans.find((s) => s.name === 'publish com.example.payment.processed')!;
    const consumer = spans.find((s) => s.name === 'process com.example.payment.processed')!;
    expect(producer).toBeDefined();
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
    const published = t.published.find((p) => p.cloudEvent.type === 'com.example.payment.processed')!;
    expect(published.cloudEvent.traceparent).toBe(`00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`);
  });
});
