import 'reflect-metadata';

import { ConfigurationError, EventBus, OutboxRelay, idempotency, type Logger, type Transport } from '@cloudbus/core';
import type { FastifyInstance } from 'fastify';
import { Container, type Newable } from 'inversify';

import { AnalyticsProjection } from '../handlers/analytics-projection.js';
import { CustomerCommunication } from '../handlers/customer-communication.js';
import { InventoryProjection } from '../handlers/inventory-projection.js';
import { KitchenReports } from '../handlers/kitchen-reports.js';
import { KitchenWorkflow } from '../handlers/kitchen-workflow.js';
import { createHttpApi } from '../http/create-http-api.js';
import { startKitchenDevices, type KitchenDevices } from '../kitchen/kitchen-devices.js';
import { EMAIL_SENDER } from '../notifications/email-sender.js';
import { FlakySmsSender } from '../notifications/flaky-sms-sender.js';
import { NotificationLog } from '../notifications/notification-log.js';
import { RecordingEmailSender } from '../notifications/recording-email-sender.js';
import { RecordingSmsSender } from '../notifications/recording-sms-sender.js';
import { SMS_SENDER } from '../notifications/sms-sender.js';
import { AnalyticsStore } from '../persistence/analytics-store.js';
import type { Database } from '../persistence/database.js';
import { InventoryStore } from '../persistence/inventory-store.js';
import { openDatabase } from '../persistence/open-database.js';
import { OrderRepository } from '../persistence/order-repository.js';
import { SqlInbox } from '../persistence/sql-inbox.js';
import { SqlOutbox } from '../persistence/sql-outbox.js';
import { SqlSagaStore } from '../persistence/sql-saga-store.js';
import { SqlScheduleCancellations } from '../persistence/sql-schedule-cancellations.js';
import { LIFECYCLE_SETTINGS, OrderLifecycle, type LifecycleSettings } from '../lifecycle/order-lifecycle.js';
import { PaymentExpiry } from '../lifecycle/payment-expiry.js';
import { TimelineRecorder } from '../timeline/timeline-recorder.js';
import type { PizzeriaOptions } from './pizzeria-options.js';
import { KITCHEN_BUS, KITCHEN_OUTBOX } from './tokens.js';

/** A running pizzeria: its buses, database, outbox relay and HTTP API (not listening yet). */
export interface Pizzeria {
  /** The main bus: order events. */
  readonly bus: EventBus;
  /** The kitchen bus: tickets and device reports (MQTT on a broker). */
  readonly kitchenBus: EventBus;
  readonly db: Database;
  readonly outbox: SqlOutbox;
  readonly relay: OutboxRelay;
  readonly orders: OrderRepository;
  readonly timeline: TimelineRecorder;
  /** The Fastify app; call `http.listen({ port })` to serve it, or `http.inject()` in tests. */
  readonly http: FastifyInstance;
  /** The in-process kitchen devices, when they run here. */
  readonly devices: KitchenDevices | undefined;
  /** Stops everything: HTTP, relay, devices, buses, database. */
  stop(): Promise<void>;
}

function transportName(transport: string | Transport): string {
  return typeof transport === 'string' ? transport : transport.name;
}

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new ConfigurationError(`pizzeria: ${name} must be a number >= 0, got ${String(value)}.`);
  return value;
}

/**
 * Creates and starts Mario's Pizzeria: opens the database, starts the main bus (order events)
 * and the kitchen bus (MQTT when the main transport is a broker, so in-store devices can speak
 * it), the simulated kitchen devices unless external, and the outbox relay.
 */
export async function createPizzeria(options: PizzeriaOptions = {}): Promise<Pizzeria> {
  const service = options.service ?? 'pizzeria';
  const transport = options.transport ?? (process.env['CLOUDBUS_TRANSPORT'] || 'memory');
  const onMemory = transportName(transport) === 'memory';
  const url = options.url ?? (process.env['CLOUDBUS_URL'] || (onMemory && typeof transport === 'string' ? 'memory://pizzeria' : undefined));
  const kitchenTransport = options.kitchenTransport ?? (onMemory ? 'memory' : 'mqtt');
  const kitchenOnMemory = transportName(kitchenTransport) === 'memory';
  const kitchenUrl = options.kitchenUrl ?? (process.env['CLOUDBUS_KITCHEN_URL'] || (kitchenOnMemory ? (onMemory ? url : 'memory://pizzeria') : undefined));
  const bakeTimeMs = positive(options.bakeTimeMs, 'bakeTimeMs', 3_000);
  const drainTimeoutMs = positive(options.drainTimeoutMs, 'drainTimeoutMs', 10_000);
  const kitchenDevices = options.kitchenDevices ?? 'in-process';
  if (kitchenDevices !== 'in-process' && kitchenDevices !== 'external') {
    throw new ConfigurationError(`pizzeria: kitchenDevices must be 'in-process' or 'external', got '${String(kitchenDevices)}'.`);
  }
  if (typeof kitchenTransport !== 'string' && kitchenDevices === 'in-process') {
    throw new ConfigurationError(
      `pizzeria: a kitchen transport instance cannot be shared with the in-process devices; set kitchenDevices: 'external' and start them with startKitchenDevices().`,
    );
  }
  const lifecycle: LifecycleSettings = {
    paymentTimeoutMs: positive(options.paymentTimeoutMs, 'paymentTimeoutMs', 15 * 60_000),
    deliveryPromiseMs: positive(options.deliveryPromiseMs, 'deliveryPromiseMs', 45 * 60_000),
  };
  const logger: Logger | undefined = options.logger;
  const smsFailureRate = options.smsFailureRate ?? 0;
  if (!(smsFailureRate >= 0 && smsFailureRate <= 1)) throw new ConfigurationError(`pizzeria: smsFailureRate must be between 0 and 1, got ${String(smsFailureRate)}.`);

  const db = await openDatabase(options.database ?? 'pizzeria.db', options.postgresSchema === undefined ? {} : { postgresSchema: options.postgresSchema });
  const started: { stop(): Promise<void> }[] = [{ stop: () => db.close() }];
  const stopAll = async (): Promise<void> => {
    for (const part of started.reverse()) await part.stop().catch((error: unknown) => logger?.warn('pizzeria: stopping failed', { error: String(error) }));
  };
  try {
    const container = new Container();
    const resolve = (handlerClass: unknown) => container.get(handlerClass as new () => object);
    const inbox = new SqlInbox(db);
    const sagaStore = new SqlSagaStore(db);
    await sagaStore.migrate();
    const scheduleCancellations = new SqlScheduleCancellations(db);
    await scheduleCancellations.migrate();
    const telemetry = options.publishTelemetry === undefined ? {} : { publishTelemetry: options.publishTelemetry };
    const common = { drainTimeoutMs, ...telemetry, ...(logger === undefined ? {} : { logger }) };
    const bus = new EventBus(
      {
        service,
        transport,
        ...(url === undefined ? {} : { url }),
        transportOptions: options.transportOptions ?? {},
        handlers: [KitchenWorkflow, CustomerCommunication, InventoryProjection, AnalyticsProjection, OrderLifecycle, PaymentExpiry],
        middleware: [idempotency({ inbox })],
        sagaStore,
        scheduleCancellations,
        ...common,
      },
      resolve,
    );
    const kitchenBus = new EventBus(
      {
        service: `${service}-kitchen`,
        transport: kitchenTransport,
        ...(kitchenUrl === undefined ? {} : { url: kitchenUrl }),
        transportOptions: options.kitchenTransportOptions ?? {},
        handlers: [KitchenReports],
        middleware: [idempotency({ inbox })],
        ...common,
      },
      resolve,
    );
    const outbox = new SqlOutbox(db);
    const kitchenOutbox = new SqlOutbox(db, { bus: 'kitchen' });
    const orders = new OrderRepository(db, outbox, bus);
    const notifications = new NotificationLog(db);
    container.bind(OrderRepository).toConstantValue(orders);
    container.bind(InventoryStore).toConstantValue(new InventoryStore(db, outbox, bus));
    container.bind(AnalyticsStore).toConstantValue(new AnalyticsStore(db));
    container.bind(NotificationLog).toConstantValue(notifications);
    const sms = options.smsSender ?? new RecordingSmsSender(notifications);
    container.bind(SMS_SENDER).toConstantValue(smsFailureRate > 0 ? new FlakySmsSender(sms, smsFailureRate) : sms);
    container.bind(EMAIL_SENDER).toConstantValue(options.emailSender ?? new RecordingEmailSender(notifications));
    container.bind(KITCHEN_BUS).toConstantValue(kitchenBus);
    container.bind(KITCHEN_OUTBOX).toConstantValue(kitchenOutbox);
    container.bind(LIFECYCLE_SETTINGS).toConstantValue(lifecycle);
    const handlers: Newable<object>[] = [KitchenWorkflow, CustomerCommunication, InventoryProjection, AnalyticsProjection, KitchenReports, OrderLifecycle, PaymentExpiry];
    for (const handler of handlers) container.bind(handler).toSelf();

    const timeline = new TimelineRecorder();
    timeline.attach(bus);
    timeline.attach(kitchenBus);

    await bus.start();
    started.push({ stop: () => bus.stop() });
    await kitchenBus.start();
    started.push({ stop: () => kitchenBus.stop() });

    let devices: KitchenDevices | undefined;
    if (kitchenDevices === 'in-process') {
      devices = await startKitchenDevices({
        transport: kitchenTransport,
        url: kitchenUrl,
        transportOptions: options.kitchenTransportOptions ?? {},
        service: options.kitchenDevicesService ?? 'kitchen-devices',
        bakeTimeMs,
        ...telemetry,
        ...(logger === undefined ? {} : { logger }),
      });
      started.push(devices);
      timeline.attach(devices.bus);
    }

    const relayOptions = {
      pollIntervalMs: positive(options.outboxPollIntervalMs, 'outboxPollIntervalMs', 1_000),
      maxRetryDelayMs: positive(options.outboxMaxRetryDelayMs, 'outboxMaxRetryDelayMs', 10_000),
      ...(logger === undefined ? {} : { logger }),
    };
    const relay = new OutboxRelay(bus, outbox, relayOptions);
    const kitchenRelay = new OutboxRelay(kitchenBus, kitchenOutbox, relayOptions);
    for (const [store, relayOf] of [
      [outbox, relay],
      [kitchenOutbox, kitchenRelay],
    ] as const) {
      store.onCommitted(() => relayOf.notify());
      relayOf.start();
      started.push({ stop: () => relayOf.stop() });
    }

    const http = createHttpApi({
      orders,
      inventory: container.get(InventoryStore),
      analytics: container.get(AnalyticsStore),
      notifications,
      timeline,
      kitchen: { ovens: devices?.ovens ?? null, bakeTimeMs: devices === undefined ? null : bakeTimeMs },
      ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
      ...(options.inspectorUrl === undefined ? {} : { inspectorUrl: options.inspectorUrl }),
      ...(logger === undefined ? {} : { logger }),
      health: async () => ({
        status: bus.state === 'started' && kitchenBus.state === 'started' ? 'ok' : 'stopping',
        service,
        transport: bus.transport.name,
        kitchenTransport: kitchenBus.transport.name,
        kitchenDevices,
        database: db.location,
        outboxPending: await outbox.size(),
        kitchenOutboxPending: await kitchenOutbox.size(),
      }),
    });
    started.push({ stop: () => http.close() });

    let stopping: Promise<void> | undefined;
    return {
      bus,
      kitchenBus,
      db,
      outbox,
      relay,
      orders,
      timeline,
      http,
      devices,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
