import 'reflect-metadata';

import { execFileSync, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import winston from 'winston';

import {
  BrokerConnectionError,
  ConfigurationError,
  EventBus,
  EventHandler,
  logging,
  MemoryBroker,
  MemoryTransport,
  retry,
} from '../index.js';
import { Ping } from '../spec-support/example-events.js';
import { recordingLogger } from '../testing/index.js';

@EventHandler(Ping, { retry: retry.fixed({ attempts: 2, delayMs: 10 }) })
class FailingPong {
  handle(): void {
    throw new Error('the oven is cold');
  }
}

/** A memory transport whose broker refuses the first `refusals` connections, as one still booting. */
class BootingTransport extends MemoryTransport {
  attempts = 0;
  constructor(private readonly refusals: number) {
    super({ broker: new MemoryBroker() });
  }
  override connect(): Promise<void> {
    this.attempts++;
    if (this.attempts <= this.refusals) return Promise.reject(new BrokerConnectionError(`memory transport: connection refused (${this.attempts})`));
    return super.connect();
  }
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never happened: ${what}`);
}

describe('bus logging', () => {
  it('says at info what it started on, without the password, and each subscription', async () => {
    const logger = recordingLogger();
    const bus = new EventBus({ service: 'kitchen', transport: 'memory', url: 'memory://user:s3cret@shop', handlers: [FailingPong], logger });
    await bus.start();
    await bus.stop();
    const started = logger.lines.find((line) => line.message === 'bus started on memory');
    expect(started).toMatchObject({ level: 'info', fields: { service: 'kitchen', transport: 'memory', url: 'memory://user:***@shop' } });
    expect(JSON.stringify(logger.lines)).not.toContain('s3cret');
    expect(logger.lines.find((line) => line.message === 'subscribed kitchen.FailingPong')).toMatchObject({
      level: 'info',
      fields: { types: ['com.example.ping'], concurrency: 16, retry: 'fixed(2, 10ms)' },
    });
  });

  it('logs a scheduled retry at debug and the dead letter at warn, with reason, handler and id', async () => {
    const logger = recordingLogger();
    const bus = new EventBus({ service: 'kitchen', transport: new MemoryTransport({ broker: new MemoryBroker() }), handlers: [FailingPong], logger });
    await bus.start();
    await bus.publish(new Ping(1), { id: 'ping-1' });
    await eventually(() => logger.lines.some((line) => line.message.startsWith('dead-lettered')), 'a dead letter');
    await bus.stop();
    expect(logger.lines.find((line) => line.message.startsWith('retry of'))).toMatchObject({
      level: 'debug',
      fields: { handler: 'kitchen.FailingPong', eventId: 'ping-1', nextAttempt: 2, delayMs: 10 },
    });
    expect(logger.lines.find((line) => line.message.startsWith('dead-lettered'))).toMatchObject({
      level: 'warn',
      fields: { handler: 'kitchen.FailingPong', eventId: 'ping-1', reason: 'retries-exhausted', attempts: 2, error: 'the oven is cold' },
    });
  });

  it('logging() tells a failure that will be retried from one that is dead-lettered', async () => {
    const logger = recordingLogger();
    const bus = new EventBus({
      service: 'kitchen',
      transport: new MemoryTransport({ broker: new MemoryBroker() }),
      handlers: [FailingPong],
      logger: recordingLogger(),
      middleware: [logging({ logger })],
    });
    await bus.start();
    await bus.publish(new Ping(1));
    await eventually(() => logger.lines.filter((line) => line.message.startsWith('handler failed')).length === 2, 'two failures');
    await bus.stop();
    const failures = logger.lines.filter((line) => line.message.startsWith('handler failed'));
    expect(failures.map((line) => [line.level, line.message, line.fields?.['attempt']])).toEqual([
      ['info', 'handler failed, retry scheduled', 1],
      ['warn', 'handler failed, dead-lettering', 2],
    ]);
    expect(failures[0]!.fields).toMatchObject({ retryInMs: 10 });
    expect(failures[1]!.fields).toMatchObject({ reason: 'retries-exhausted' });
  });

  it('takes a pino logger as it is: fields stay fields', async () => {
    const records: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) records.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const bus = new EventBus({ service: 'kitchen', transport: 'memory', handlers: [FailingPong], logger: pino({ level: 'debug' }, sink) });
    await bus.start();
    await bus.stop();
    expect(records.find((record) => record['msg'] === 'bus started on memory')).toMatchObject({ level: 30, service: 'kitchen', transport: 'memory' });
    expect(records.find((record) => record['msg'] === 'subscribed kitchen.FailingPong')).toMatchObject({ types: ['com.example.ping'] });
  });

  it('takes a winston logger as it is: fields stay fields', async () => {
    const records: Record<string, unknown>[] = [];
    const sink = new Writable({
      objectMode: true,
      write(record: Record<string, unknown>, _encoding, done) {
        records.push(record);
        done();
      },
    });
    const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream: sink })] });
    const bus = new EventBus({ service: 'kitchen', transport: 'memory', handlers: [FailingPong], logger });
    await bus.start();
    await bus.stop();
    expect(records.find((record) => record['message'] === 'bus started on memory')).toMatchObject({ level: 'info', service: 'kitchen', transport: 'memory' });
  });

  it('refuses a logger without the four methods, naming the option', () => {
    expect(() => new EventBus({ service: 'kitchen', logger: { info: () => {} } })).toThrow(ConfigurationError);
    expect(() => new EventBus({ service: 'kitchen', logger: { info: () => {} } })).toThrow(/'logger' must have debug, info, warn and error/);
  });
});

describe('bus life cycle', () => {
  it('keeps trying a broker that refuses at boot, logging each attempt, and starts once it answers', async () => {
    const logger = recordingLogger();
    const transport = new BootingTransport(3);
    const bus = new EventBus({ service: 'kitchen', transport, handlers: [FailingPong], logger, startTimeoutMs: 30_000 });
    await bus.start();
    expect(bus.state).toBe('started');
    expect(transport.attempts).toBe(4);
    const attempts = logger.lines.filter((line) => line.message.startsWith('cannot reach the memory broker'));
    expect(attempts.map((line) => [line.level, line.message.replace(/in \d+ ms/, 'in N ms')])).toEqual([
      ['warn', 'cannot reach the memory broker (attempt 1); trying again in N ms'],
      ['warn', 'cannot reach the memory broker (attempt 2); trying again in N ms'],
      ['warn', 'cannot reach the memory broker (attempt 3); trying again in N ms'],
    ]);
    expect(attempts[0]!.fields).toMatchObject({ error: 'memory transport: connection refused (1)' });
    await bus.stop();
  });

  it('gives up after startTimeoutMs with the connection error, and can be started again', async () => {
    const transport = new BootingTransport(2);
    const bus = new EventBus({ service: 'kitchen', transport, handlers: [FailingPong], logger: recordingLogger(), startTimeoutMs: 0 });
    await expect(bus.start()).rejects.toThrow('memory transport: connection refused (1)');
    expect(bus.state).toBe('created');
    await expect(bus.start()).rejects.toThrow('memory transport: connection refused (2)');
    await bus.start();
    expect(bus.health()).toMatchObject({ state: 'started', ready: true, transport: { name: 'memory', connection: 'connected' } });
    await bus.stop();
  });

  it('stop() during a start that waits for the broker gives the start up, and resolves', async () => {
    const transport = new BootingTransport(1_000);
    const bus = new EventBus({ service: 'kitchen', transport, handlers: [FailingPong], logger: recordingLogger(), startTimeoutMs: 60_000 });
    const starting = bus.start();
    await eventually(() => transport.attempts >= 2, 'a second attempt');
    await bus.stop();
    await expect(starting).rejects.toThrow(/stop\(\) was called while the bus was starting/);
    expect(bus.state).toBe('stopped');
  });

  it('stop() is idempotent: before start, twice, and concurrently', async () => {
    const never = new EventBus({ service: 'kitchen', transport: 'memory', logger: recordingLogger() });
    await expect(never.stop()).resolves.toBeUndefined();
    const bus = new EventBus({ service: 'kitchen', transport: 'memory', handlers: [FailingPong], logger: recordingLogger() });
    await bus.start();
    const [first, second] = [bus.stop(), bus.stop()];
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    await expect(bus.stop()).resolves.toBeUndefined();
    expect(bus.state).toBe('stopped');
  });

  it('health() reports the bus state and the connection of its transport', async () => {
    const bus = new EventBus({ service: 'kitchen', transport: 'memory', handlers: [FailingPong], logger: recordingLogger() });
    expect(bus.health()).toEqual({ service: 'kitchen', state: 'created', ready: false, transport: { name: 'memory', connection: 'unknown' } });
    await bus.start();
    expect(bus.health()).toEqual({ service: 'kitchen', state: 'started', ready: true, transport: { name: 'memory', connection: 'connected' } });
    await bus.stop();
    expect(bus.health()).toEqual({ service: 'kitchen', state: 'stopped', ready: false, transport: { name: 'memory', connection: 'closed' } });
  });

  it('stopOnSignals() drains a handler in flight on SIGTERM, then exits 0', async () => {
    // The child runs the built package: build it from the current sources first.
    execFileSync('npx', ['tsc', '-b', 'packages/core/tsconfig.build.json'], { cwd: fileURLToPath(new URL('../../../..', import.meta.url)), stdio: 'pipe' });
    const script = fileURLToPath(new URL('../../fixtures/stop-on-signals.mjs', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CLOUDBUS_LOG_LEVEL: 'info' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(() => output.includes('handler started'), `the handler to start; output so far: ${output}`);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(output).toContain('SIGTERM received: draining and stopping');
    expect(output).toContain('handler finished');
    expect(output).toContain('bus stopped');
    expect(output.indexOf('handler finished')).toBeLessThan(output.indexOf('bus stopped'));
    expect(code).toBe(0);
  });
});
