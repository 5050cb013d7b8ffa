import 'reflect-metadata';

import { BrokerConnectionError, EventBus, redactCredentials, type Logger } from '@cloudbus/core';
import { DEFAULT_URL as MQTT_DEFAULT_URL } from '@cloudbus/transport-mqtt/wire';
import { DEFAULT_URL as NATS_DEFAULT_URL } from '@cloudbus/transport-nats/wire';
import { DEFAULT_URL as RABBITMQ_DEFAULT_URL } from '@cloudbus/transport-rabbitmq/wire';

import { UsageError } from './cli-errors.js';
import type { Output } from './output.js';

/** The brokers the command works on. */
export const BROKERS = ['rabbitmq', 'nats', 'mqtt'] as const;
export type Broker = (typeof BROKERS)[number];

/** Where each broker is when no `--url` or `CLOUDBUS_URL` is given (the transports' defaults). */
const DEFAULT_URLS: Record<Broker, string> = {
  rabbitmq: RABBITMQ_DEFAULT_URL,
  nats: NATS_DEFAULT_URL,
  mqtt: MQTT_DEFAULT_URL,
};

/** The service name the command's own bus runs as: it subscribes nothing. */
export const CLI_SERVICE = 'cloudbus-cli';

/** How to reach the broker: from the flags, else the `CLOUDBUS_*` variables. */
export interface Connection {
  readonly broker: Broker;
  /** Broker URL, as given (with credentials); shown only through `redactCredentials`. */
  readonly url: string;
  /** Transport options (`--option key=value`, `CLOUDBUS_TRANSPORT_OPTIONS`): names, prefixes. */
  readonly transportOptions: Readonly<Record<string, unknown>>;
  /** How long to keep trying to reach the broker, in ms. */
  readonly timeoutMs: number;
}

/** The connection flags every command takes. */
export interface ConnectionFlags {
  readonly transport?: string | undefined;
  readonly url?: string | undefined;
  readonly option?: readonly string[] | undefined;
  readonly timeout?: string | undefined;
}

/** The `parseArgs` options of {@link ConnectionFlags}. */
export const CONNECTION_OPTIONS = {
  transport: { type: 'string' },
  url: { type: 'string' },
  option: { type: 'string', short: 'o', multiple: true },
  timeout: { type: 'string' },
} as const;

/** Resolves the connection from the flags and the environment; throws `UsageError` on bad input. */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const name = flags.transport ?? env['CLOUDBUS_TRANSPORT'];
  if (name === undefined || name === '') {
    throw new UsageError(`Say which broker: --transport ${BROKERS.join('|')} (or set CLOUDBUS_TRANSPORT).`);
  }
  if (!(BROKERS as readonly string[]).includes(name)) {
    throw new UsageError(`Unknown transport '${name}'; use one of ${BROKERS.join(', ')}.`);
  }
  const broker = name as Broker;
  const url = flags.url ?? (env['CLOUDBUS_URL'] || DEFAULT_URLS[broker]);
  if (!URL.canParse(url.split(',')[0]!.trim())) {
    throw new UsageError(`'${redactCredentials(url)}' is not a URL; expected e.g. ${DEFAULT_URLS[broker]}.`);
  }
  const transportOptions: Record<string, unknown> = {};
  const fromEnv = env['CLOUDBUS_TRANSPORT_OPTIONS'];
  if (fromEnv !== undefined && fromEnv !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fromEnv);
    } catch (error) {
      throw new UsageError(`CLOUDBUS_TRANSPORT_OPTIONS is not JSON: ${(error as Error).message}.`, { cause: error });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new UsageError('CLOUDBUS_TRANSPORT_OPTIONS must be a JSON object, e.g. {"exchange":"shop.events"}.');
    }
    Object.assign(transportOptions, parsed);
  }
  for (const pair of flags.option ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--option takes key=value, e.g. --option exchange=shop.events; got '${pair}'.`);
    const key = pair.slice(0, at);
    const raw = pair.slice(at + 1);
    transportOptions[key] = /^(true|false|-?\d+(\.\d+)?)$/.test(raw) ? (JSON.parse(raw) as unknown) : raw;
  }
  const timeoutMs = flags.timeout === undefined ? 10_000 : Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0) throw new UsageError(`--timeout takes milliseconds, e.g. --timeout 5000; got '${flags.timeout}'.`);
  return { broker, url, transportOptions, timeoutMs };
}

/** Writes the bus's and transport's warnings and errors to standard error; the rest is dropped. */
function stderrLogger(output: Output): Logger {
  const write = (message: string, fields?: Record<string, unknown>) =>
    output.err(output.paint('yellow', `cloudbus: ${message}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`));
  return { debug: () => {}, info: () => {}, warn: write, error: write };
}

/**
 * Starts a bus with no handlers on the broker, for publishing and dead-letter management. Throws
 * `BrokerConnectionError` when the broker cannot be reached within the timeout.
 */
export async function openBus(connection: Connection, output: Output): Promise<EventBus> {
  // Imported here, so that each transport registers itself with the copy of core this command uses.
  await import(`@cloudbus/transport-${connection.broker}`);
  const bus = new EventBus({
    service: CLI_SERVICE,
    transport: connection.broker,
    url: connection.url,
    transportOptions: connection.transportOptions,
    startTimeoutMs: connection.timeoutMs,
    logger: stderrLogger(output),
  });
  try {
    await bus.start();
  } catch (error) {
    await bus.stop().catch(() => undefined);
    throw error;
  }
  return bus;
}

/** Opens a bus on the connection the flags and environment name, runs `work`, stops the bus. */
export async function withBus<T>(flags: ConnectionFlags, context: { readonly env: NodeJS.ProcessEnv }, output: Output, work: (bus: EventBus) => Promise<T>): Promise<T> {
  const bus = await openBus(resolveConnection(flags, context.env), output);
  try {
    return await work(bus);
  } finally {
    await bus.stop();
  }
}

/** Whether `error` means the broker was out of reach. */
export function isUnreachable(error: unknown): boolean {
  return error instanceof BrokerConnectionError;
}
