import type { Logger, TelemetryPublishingOptions, Transport } from '@cloudbus/core';

import type { EmailSender } from '../notifications/email-sender.js';
import type { SmsSender } from '../notifications/sms-sender.js';

/** Options of {@link createPizzeria}. Validated once, when the pizzeria is created. */
export interface PizzeriaOptions {
  /**
   * Service name: prefixes the subscriptions, so pizzeria instances with the same name share the
   * work (competing consumers).
   * @default 'pizzeria'
   */
  readonly service?: string;
  /**
   * The main transport, by name (`memory`, `rabbitmq`, `nats`, `mqtt`) or as an instance.
   * @default CLOUDBUS_TRANSPORT, else 'memory'
   */
  readonly transport?: string | Transport;
  /**
   * Broker URL of the main transport.
   * @default CLOUDBUS_URL, else the transport's default (for memory: memory://pizzeria)
   */
  readonly url?: string | undefined;
  /** Passed to the main transport (exchange, stream, topic prefix...). @default {} */
  readonly transportOptions?: Readonly<Record<string, unknown>>;
  /**
   * The transport kitchen events (tickets, cooking started, ready) travel on.
   * @default 'memory' when the main transport is memory, else 'mqtt'
   */
  readonly kitchenTransport?: string | Transport;
  /**
   * Broker URL of the kitchen transport.
   * @default CLOUDBUS_KITCHEN_URL; with the memory transport, the main bus's broker
   */
  readonly kitchenUrl?: string | undefined;
  /** Passed to the kitchen transport. @default {} */
  readonly kitchenTransportOptions?: Readonly<Record<string, unknown>>;
  /**
   * Whether simulated kitchen devices run in this process. With 'external', run `pnpm kitchen`
   * (one or more device processes); both can run together and share the tickets.
   * @default 'in-process'
   */
  readonly kitchenDevices?: 'in-process' | 'external';
  /**
   * Service name of the in-process devices (the same as `pnpm kitchen`'s, to share tickets).
   * @default 'kitchen-devices'
   */
  readonly kitchenDevicesService?: string;
  /**
   * How long an order bakes in the in-process devices, in ms.
   * @default 3_000
   */
  readonly bakeTimeMs?: number;
  /**
   * How long an order may stay unpaid before the `OrderLifecycle` saga has it cancelled for
   * non-payment, in ms (`--payment-timeout 3s`, `PIZZERIA_PAYMENT_TIMEOUT`).
   * @default 900_000 (15 minutes)
   */
  readonly paymentTimeoutMs?: number;
  /**
   * The delivery promise: an order not delivered this long after it was placed earns an apology
   * SMS and a voucher (`--delivery-promise 30m`, `PIZZERIA_DELIVERY_PROMISE`), in ms.
   * @default 2_700_000 (45 minutes)
   */
  readonly deliveryPromiseMs?: number;
  /**
   * The database: a SQLite file path, `:memory:`, or a `postgres://` URL.
   * @default 'pizzeria.db' (in the working directory)
   */
  readonly database?: string;
  /** PostgreSQL schema of the tables (only with a postgres:// database). @default 'public' */
  readonly postgresSchema?: string;
  /** Sends SMS. @default records what it would send (GET /notifications) */
  readonly smsSender?: SmsSender;
  /**
   * Share of SMS (0 to 1) that fail as if the gateway refused them, to watch retries and dead letters.
   * @default 0
   */
  readonly smsFailureRate?: number;
  /** Sends e-mail. @default records what it would send (GET /notifications) */
  readonly emailSender?: EmailSender;
  /**
   * How often the outbox relay looks for events nobody announced (another instance wrote them), in ms.
   * @default 1_000
   */
  readonly outboxPollIntervalMs?: number;
  /**
   * Longest wait between relay attempts while the broker is down, in ms.
   * @default 10_000
   */
  readonly outboxMaxRetryDelayMs?: number;
  /**
   * How long stop() waits for handlers in flight.
   * @default 10_000
   */
  readonly drainTimeoutMs?: number;
  /**
   * Publish the telemetry of the pizzeria's buses (main, kitchen, in-process devices) over their
   * transports as `dev.cloudbus.telemetry` events, so the inspector shows handler outcomes.
   * `true` or options enable it, `false` disables it.
   * @default on when CLOUDBUS_TELEMETRY=1 (or `pnpm start -- --telemetry`), else off
   */
  readonly publishTelemetry?: boolean | TelemetryPublishingOptions;
  /**
   * Host names the HTTP API answers to (the Host header, without port); any other gets 421, so a
   * page on a foreign name that resolves to this address (DNS rebinding) cannot read the orders.
   * Add the names the pizzeria is reached by when it listens on more than loopback.
   * @default ['127.0.0.1', 'localhost', '::1']
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Where the inspector runs, for the web page's dead-letter link.
   * @default 'http://127.0.0.1:5178/'
   */
  readonly inspectorUrl?: string;
  /** @default warnings and errors to the console */
  readonly logger?: Logger;
}
