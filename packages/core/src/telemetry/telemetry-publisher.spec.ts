import { describe, expect, it } from 'vitest';

import { EventBus, EventHandler, MemoryBroker, MemoryTransport, TELEMETRY_EVENT_TYPE, decodeCloudEvent, retry, silentLogger, type TelemetryBatch } from '../index.js';
import { OrderPlaced } from '../spec-support/example-events.js';

@EventHandler(OrderPlaced, { retry: retry.fixed({ attempts: 2, delayMs: 10 }) })
class Flaky {
  static calls = 0;
  handle(): void {
    if (++Flaky.calls === 1) throw new Error('first time fails');
  }
}

describe('telemetry publishing', () => {
  it('puts handler outcomes on the broker as dev.cloudbus.telemetry batches, for inspectors', async () => {
    const broker = new MemoryBroker();
    // An inspector's tap: a plain subscription on the broker, outside any bus.
    const tap = new MemoryTransport({ broker });
    await tap.connect();
    const batches: TelemetryBatch[] = [];
    await tap.subscribe({ name: 'inspector-tap', types: [TELEMETRY_EVENT_TYPE], concurrency: 100 }, (delivery) => {
      batches.push(decodeCloudEvent(delivery.message).data as TelemetryBatch);
      void delivery.ack();
    });

    const bus = new EventBus({
      service: 'shop',
      transport: new MemoryTransport({ broker }),
      handlers: [Flaky],
      publishTelemetry: { intervalMs: 20 },
      logger: silentLogger,
    });
    await bus.start();
    await bus.publish(new OrderPlaced('o-1'));
    const deadline = Date.now() + 2_000;
    const kinds = () => batches.flatMap((batch) => batch.records.map((record) => record.kind));
    while (!kinds().includes('handler-succeeded') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await bus.stop();
    await tap.close();

    expect(batches.every((batch) => batch.service === 'shop')).toBe(true);
    expect(kinds()).toEqual([
      'published',
      'handler-started',
      'handler-failed',
      'retry-scheduled',
      'handler-started',
      'handler-succeeded',
    ]);
    // Telemetry does not report its own publishing.
    expect(batches.flatMap((b) => b.records).filter((r) => r.eventType === TELEMETRY_EVENT_TYPE)).toHaveLength(0);
  });

  it('does not hold up bus.stop() when the broker never answers the last batch', async () => {
    const transport = new MemoryTransport();
    const publish = transport.publish.bind(transport);
    // Telemetry batches are never confirmed (MQTT with no inspector subscribed does this); events are.
    transport.publish = (messages) => (messages.some((m) => m.type === TELEMETRY_EVENT_TYPE) ? new Promise<void>(() => {}) : publish(messages));
    const bus = new EventBus({
      service: 'shop',
      transport,
      handlers: [Flaky],
      publishTelemetry: { intervalMs: 10, stopTimeoutMs: 100 },
      logger: silentLogger,
    });
    await bus.start();
    await bus.publish(new OrderPlaced('o-2'));
    // A batch goes out (and hangs), and more records wait behind it for stop() to send.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await bus.publish(new OrderPlaced('o-3'));

    const stopped = bus.stop().then(() => 'stopped');
    const hung = new Promise((resolve) => setTimeout(() => resolve('still stopping after 5 s'), 5_000));
    expect(await Promise.race([stopped, hung])).toBe('stopped');
  });
});
