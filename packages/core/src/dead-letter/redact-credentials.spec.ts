import 'reflect-metadata';

import { afterEach, describe, expect, it } from 'vitest';

import { EventHandler, logging, PermanentError, type Logger, type TelemetryEvent } from '../index.js';
import { Ping } from '../spec-support/example-events.js';
import { createTestBus, type TestBus } from '../testing/index.js';
import { redactCredentials } from './redact-credentials.js';

const SECRET = 'db-s3cret';
const FAILURE = `cannot reach postgres://orders:${SECRET}@db.internal:5432/orders (and amqps://app:${SECRET}@rabbit:5671)`;

@EventHandler(Ping, { name: 'Store' })
class Store {
  handle(): void {
    throw new PermanentError(FAILURE);
  }
}

describe('URL passwords in errors', () => {
  const stopping: TestBus[] = [];
  afterEach(async () => {
    for (const bus of stopping.splice(0)) await bus.stop();
  });

  it('are replaced by *** and the rest of the URL kept', () => {
    expect(redactCredentials(FAILURE)).toBe('cannot reach postgres://orders:***@db.internal:5432/orders (and amqps://app:***@rabbit:5671)');
    expect(redactCredentials('nats://alice:p%40ss@h:4222, mqtt://bob:x@y')).toBe('nats://alice:***@h:4222, mqtt://bob:***@y');
    expect(redactCredentials('amqp://guest@h:5672 and no password')).toBe('amqp://guest@h:5672 and no password');
  });

  it('never reach the dead-letter record, the telemetry or the log of a failed handler', async () => {
    const logged: unknown[] = [];
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: (...args) => logged.push(args), error: (...args) => logged.push(args) };
    const bus = await createTestBus({ handlers: [Store], middleware: [logging({ logger })] });
    stopping.push(bus);
    await bus.publish(new Ping(1));
    const deadLetter = await bus.waitForDeadLetter();
    expect(deadLetter.record?.error.message).toContain('postgres://orders:***@db.internal:5432/orders');
    expect(JSON.stringify(deadLetter.cloudEvent)).not.toContain(SECRET);
    const failed = bus.telemetry.filter((event): event is Extract<TelemetryEvent, { kind: 'handler-failed' | 'dead-lettered' }> => event.kind === 'handler-failed' || event.kind === 'dead-lettered');
    expect(failed.length).toBeGreaterThan(0);
    expect(JSON.stringify(bus.telemetry)).not.toContain(SECRET);
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(logged)).not.toContain(SECRET);
  });
});
