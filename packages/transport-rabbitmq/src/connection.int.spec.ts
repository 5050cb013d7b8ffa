import { BrokerConnectionError,
  ConfigurationError,
  EventBus,
  EventHandler,
  EventType,
  eventBrand,
  PublishError,
  silentLogger,
  TransportClosedError,
  type EventContext,
} from '@cloudbus/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { RabbitMqConnectionError } from './rabbitmq-errors.js';
import { type RabbitMqTransport } from './rabbitmq-transport.js';
import type { RabbitMqTransportOptions } from './rabbitmq-transport-options.js';
import { routingKeyOf } from './routing-key.js';
import { RabbitMqFixture, rabbitMqUrl, until } from './testing/rabbitmq-fixture.js';

const url = rabbitMqUrl;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!url)('rabbitmq connection', () => {
  const fixture = new RabbitMqFixture('cbn');
  const { run, admin, base, extraQueues } = fixture;
  let sequence = 0;
  const transport = (options: RabbitMqTransportOptions = {}): RabbitMqTransport => fixture.transport(options);
  const proxiedUrl = () => fixture.proxiedUrl();

  const defineEvent = () => fixture.defineKitchen('conn', ++sequence);

  afterEach(() => fixture.afterEach());
  afterAll(() => fixture.cleanup());

  it('fails connect() on a wrong password with a clear error that quotes no credentials', async () => {
    const wrong = new URL(url!);
    wrong.username = 'cloudbus-user-x';
    wrong.password = 'Wr0ng-Pa55word';
    const error = await transport({ url: wrong.href })
      .connect()
      .then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
    expect(error).toBeInstanceOf(RabbitMqConnectionError);
    expect(error).toBeInstanceOf(BrokerConnectionError);
    const text = `${String(error)} ${String((error as Error).cause)} ${JSON.stringify(error)}`;
    expect((error as Error).message).toMatch(/login refused: check the user name and password/);
    expect(text).not.toContain('Wr0ng-Pa55word');
    expect(text).not.toContain('cloudbus-user-x');
  });

  it('fails connect() with a clear error when nothing listens there', async () => {
    const { proxy, url: proxied } = await proxiedUrl();
    await proxy.cut();
    await expect(transport({ url: proxied, connectTimeoutMs: 2_000 }).connect()).rejects.toThrow(/connection refused: is RabbitMQ running/);
  });

  it('fails connect() with a TLS hint when amqps:// reaches a port that does not speak TLS', async () => {
    const target = new URL(url!);
    const tlsUrl = `amqps://127.0.0.1:${target.port || '5672'}`;
    await expect(transport({ url: tlsUrl, tls: { rejectUnauthorized: false }, connectTimeoutMs: 5_000 }).connect()).rejects.toThrow(
      /cannot connect to amqps:\/\/127\.0\.0\.1:\d+\/%2F: (TLS failed|the connection was closed during the handshake)/,
    );
  });

  it('holds publishes while the broker is unreachable, refuses them once the buffer is full, and sends the held ones after reconnecting', async () => {
    const { proxy, url: proxied } = await proxiedUrl();
    const { OrderPlaced, Kitchen, seen, service } = defineEvent();
    const bus = new EventBus({
      service,
      handlers: [Kitchen],
      logger: silentLogger,
      transport: transport({ url: proxied, publishBufferSize: 5, reconnectMinDelayMs: 50, reconnectMaxDelayMs: 200 }),
    });
    fixture.track(bus);
    await bus.start();
    await bus.publish(new OrderPlaced('before'));
    await until(() => seen.includes('before'), 'the first event');

    await proxy.cut();
    await sleep(300);
    const held = bus.publish([new OrderPlaced('held-1'), new OrderPlaced('held-2'), new OrderPlaced('held-3')]);
    const refused = await bus.publish([new OrderPlaced('over-1'), new OrderPlaced('over-2'), new OrderPlaced('over-3')]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(PublishError);
    expect((refused as PublishError).unconfirmed).toHaveLength(3);
    expect((refused as PublishError).message).toMatch(/were not published \(not connected, and the publish buffer is full/);

    await proxy.restore();
    await held;
    await until(() => ['held-1', 'held-2', 'held-3'].every((id) => seen.includes(id)), 'the held events, consumed after reconnecting');
    expect(seen.filter((id) => id.startsWith('over'))).toEqual([]);
  });

  it('rejects a batch in flight with PublishError listing the unconfirmed ids when the connection stays down past confirmTimeoutMs', async () => {
    const { proxy, url: proxied } = await proxiedUrl();
    const { OrderPlaced, service } = defineEvent();
    const bus = new EventBus({ service, handlers: [], logger: silentLogger, transport: transport({ url: proxied, reconnectMinDelayMs: 50, confirmTimeoutMs: 2_000 }) });
    fixture.track(bus);
    await bus.start();
    const batch = Array.from({ length: 500 }, (_, i) => new OrderPlaced(`o-${i}`));
    const publishing = bus.publish(batch).then(
      () => undefined,
      (error: unknown) => error,
    );
    await proxy.cut();
    const error = await publishing;
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).unconfirmed.length).toBeGreaterThan(0);
    expect((error as PublishError).unconfirmed.every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
  });

  it('refuses to subscribe over an existing queue of another type, saying how to fix it', async () => {
    const { OrderPlaced, Kitchen, service } = defineEvent();
    void OrderPlaced;
    const queue = `${base.queuePrefix}${service}.Kitchen`;
    extraQueues.push(queue);
    await admin.tap(queue, 'amq.topic', `${run}.unused`);
    const bus = new EventBus({ service, handlers: [Kitchen], logger: silentLogger, transport: transport({ queueType: 'quorum' }) });
    await expect(bus.start()).rejects.toThrow(ConfigurationError);
    await expect(
      new EventBus({ service, handlers: [Kitchen], logger: silentLogger, transport: transport({ queueType: 'quorum' }) }).start(),
    ).rejects.toThrow(/exists with other arguments.*set queueType to match/);
  });

  it('keeps dead letters in a quorum queue with no delivery limit (replicated in a cluster), and keeps the classic one an earlier version declared', async () => {
    await transport().connect();
    expect(
      await admin.hasArguments(base.deadLetterQueue, { 'x-queue-type': 'quorum', 'x-delivery-limit': 2_000_000_000, 'x-message-ttl': 2_592_000_000 }),
    ).toBe(true);

    const older = `${run}.older-deadletter`;
    extraQueues.push(older);
    await admin.tap(older, 'amq.topic', `${run}.unused`);
    const { type, Kitchen, service } = defineEvent();
    const dead = transport({ deadLetterQueue: older });
    const bus = new EventBus({ service, handlers: [Kitchen], logger: silentLogger, transport: dead });
    fixture.track(bus);
    await bus.start();
    expect(await admin.hasArguments(older, {})).toBe(true);
    // It still receives the dead letters: an event that is not a CloudEvent goes there, unparsed.
    await admin.publish(base.exchange, routingKeyOf(type), Buffer.from('not a CloudEvent'), { persistent: true });
    const deadline = Date.now() + 10_000;
    while ((await dead.readDeadLetters()).length === 0 && Date.now() < deadline) await sleep(50);
    expect(await dead.readDeadLetters()).toHaveLength(1);
  });

  it('stops within closeTimeoutMs on a blackholed connection, then never reconnects nor declares anything, and the unsettled event goes back to its queue', async () => {
    const { proxy, url: proxied } = await proxiedUrl();
    const type = `dev.cloudbus.conn.${run}.e${++sequence}.order.placed`;
    class OrderPlaced {
      declare readonly [eventBrand]: string;
      constructor(readonly orderId: string) {}
    }
    EventType(type)(OrderPlaced);
    const started: string[] = [];
    class SlowKitchen {
      handle(event: OrderPlaced, _context: EventContext): Promise<void> {
        started.push(event.orderId);
        // Never finishes: its delivery stays unsettled when the bus stops.
        return new Promise<void>(() => {});
      }
    }
    EventHandler(OrderPlaced, { name: 'SlowKitchen' })(SlowKitchen);
    const service = `${run}-s${sequence}`;
    const deadLetterQueue = `${run}.deadletter-blackholed`;
    const closeTimeoutMs = 1_000;
    const closing = transport({ url: proxied, deadLetterQueue, closeTimeoutMs, reconnectMinDelayMs: 50, reconnectMaxDelayMs: 100 });
    const bus = new EventBus({ service, handlers: [SlowKitchen], logger: silentLogger, transport: closing });
    fixture.track(bus);
    await bus.start();
    await bus.publish(new OrderPlaced('stuck'));
    await until(() => started.includes('stuck'), 'the handler to start');

    proxy.blackhole();
    const inFlight = bus.publish(new OrderPlaced('unconfirmed')).then(
      () => undefined,
      (error: unknown) => error,
    );
    const began = Date.now();
    const stopped = bus.stop({ drainTimeoutMs: 100 }).then(() => Date.now() - began);
    const elapsed = await Promise.race([stopped, sleep(30_000).then(() => 'still pending after 30 s')]);
    expect(typeof elapsed).toBe('number');
    // Liveness with a generous margin for a loaded machine; without the bound it never settles.
    expect(elapsed).toBeLessThan(closeTimeoutMs + 5_000);
    expect(await inFlight).toBeInstanceOf(PublishError);
    await expect(closing.close()).rejects.toBeInstanceOf(TransportClosedError);

    // The network comes back (the proxy resets what it swallowed): a closed transport stays closed.
    const accepted = proxy.accepted;
    await admin.delete({ exchanges: [], queues: [deadLetterQueue] });
    proxy.heal();
    await sleep(2_000);
    expect(proxy.accepted).toBe(accepted);
    expect(await admin.exists(deadLetterQueue)).toBe(false);

    // The broker noticed the connection is gone and put the unsettled delivery back.
    const returned = await admin.take(`${base.queuePrefix}${service}.SlowKitchen`, 20_000);
    expect(returned.fields.redelivered).toBe(true);
    expect(returned.content.toString()).toContain('stuck');
  });
});
