import { parseArgs } from 'node:util';

import { ConfigurationError } from '@cloudbus/core';

import { DEFAULT_ALLOWED_HOSTS } from '../http/request-guards.js';
import type { PizzeriaOptions } from './pizzeria-options.js';

/** What `pnpm start` runs: the pizzeria's options and where to serve HTTP. */
export interface PizzeriaConfig {
  readonly options: PizzeriaOptions;
  readonly port: number;
  readonly host: string;
}

/** The command-line help of `pnpm start`. */
export const START_USAGE = `Mario's Pizzeria

  pnpm start [-- options]

  --transport <name>        memory (default), rabbitmq, nats or mqtt         env CLOUDBUS_TRANSPORT
  --url <url>               broker URL, e.g. amqp://guest:guest@localhost:5672 env CLOUDBUS_URL
  --port <n>                HTTP port (default 3000)                         env PORT
  --host <host>             HTTP host (default 127.0.0.1)                    env HOST
  --db <path|url>           SQLite file (default pizzeria.db), :memory:, or postgres://...   env PIZZERIA_DB
  --kitchen-transport <n>   transport of kitchen events (default: mqtt on a broker, memory otherwise)
  --kitchen-url <url>       its broker URL (default mqtt://localhost:1883)    env CLOUDBUS_KITCHEN_URL
  --kitchen <mode>          in-process (default: simulated devices here) or external (pnpm kitchen)
  --bake-time <ms>          how long a pizza bakes in the in-process devices (default 3000)
  --payment-timeout <time> cancel an order left unpaid this long, e.g. 3s, 15m (default 15m)  env PIZZERIA_PAYMENT_TIMEOUT
  --delivery-promise <time> promised delivery time; later earns an SMS and a voucher (default 45m)  env PIZZERIA_DELIVERY_PROMISE
  --sms-failure-rate <0-1>  share of SMS the gateway refuses (default 0), to watch retries and dead letters
  --service <name>          service name; instances with the same name share the work (default pizzeria)
  --allowed-hosts <names>   more host names the HTTP API answers to, comma-separated (always: 127.0.0.1,
                            localhost, ::1 and --host)                       env PIZZERIA_ALLOWED_HOSTS
  --inspector-url <url>     where the inspector runs, for the page's dead-letter link (default http://127.0.0.1:5178/)
  --telemetry               publish the buses' telemetry for the inspector   env CLOUDBUS_TELEMETRY=1
  --transport-options <json>          options of the main transport, e.g. '{"exchange":"shop.events"}'
  --kitchen-transport-options <json>  options of the kitchen transport, e.g. '{"topicPrefix":"store-12"}'
  --help`;

function number(value: string | undefined, flag: string, fallback: number, check: (n: number) => boolean): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || !check(parsed)) throw new ConfigurationError(`${flag}: '${value}' is not valid. Run with --help.`);
  return parsed;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a duration: `500ms`, `3s`, `30m`, `1h`, or a number of ms. */
export function duration(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (match === null) throw new ConfigurationError(`${flag}: '${value}' is not a duration; use e.g. 3s, 30m, 1h or 500ms.`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
}

/** Parses a flag holding a JSON object. */
export function jsonObject(value: string, flag: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new ConfigurationError(`${flag}: not JSON (${(error as Error).message}). Quote it: ${flag} '{"name":"value"}'.`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigurationError(`${flag}: must be a JSON object.`);
  return parsed as Record<string, unknown>;
}

/** Reads flags and environment into the pizzeria's configuration; throws ConfigurationError on bad values. */
export function parsePizzeriaConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): PizzeriaConfig | 'help' {
  const { values } = parseArgs({
    // `pnpm start -- --flag` may pass the `--` through.
    args: argv.filter((arg) => arg !== '--'),
    options: {
      transport: { type: 'string' },
      url: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      'kitchen-transport': { type: 'string' },
      'kitchen-url': { type: 'string' },
      kitchen: { type: 'string' },
      'bake-time': { type: 'string' },
      'sms-failure-rate': { type: 'string' },
      'payment-timeout': { type: 'string' },
      'delivery-promise': { type: 'string' },
      service: { type: 'string' },
      'transport-options': { type: 'string' },
      'kitchen-transport-options': { type: 'string' },
      telemetry: { type: 'boolean' },
      'allowed-hosts': { type: 'string' },
      'inspector-url': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) return 'help';
  const transport = values.transport ?? (env['CLOUDBUS_TRANSPORT'] || 'memory');
  if (!/^[a-z][a-z0-9-]*$/.test(transport)) throw new ConfigurationError(`--transport: '${transport}' is not a transport name (memory, rabbitmq, nats, mqtt).`);
  const kitchen = values.kitchen ?? 'in-process';
  if (kitchen !== 'in-process' && kitchen !== 'external') throw new ConfigurationError(`--kitchen: use in-process or external, not '${kitchen}'.`);
  const url = values.url ?? (env['CLOUDBUS_URL'] || undefined);
  const kitchenUrl = values['kitchen-url'] ?? (env['CLOUDBUS_KITCHEN_URL'] || undefined);
  const options: PizzeriaOptions = {
    transport,
    ...(url === undefined ? {} : { url }),
    ...(values['kitchen-transport'] === undefined ? {} : { kitchenTransport: values['kitchen-transport'] }),
    ...(kitchenUrl === undefined ? {} : { kitchenUrl }),
    kitchenDevices: kitchen,
    bakeTimeMs: number(values['bake-time'], '--bake-time', 3_000, (n) => n >= 0),
    database: values.db ?? (env['PIZZERIA_DB'] || 'pizzeria.db'),
    paymentTimeoutMs: duration(values['payment-timeout'] ?? env['PIZZERIA_PAYMENT_TIMEOUT'], '--payment-timeout', 15 * 60_000),
    deliveryPromiseMs: duration(values['delivery-promise'] ?? env['PIZZERIA_DELIVERY_PROMISE'], '--delivery-promise', 45 * 60_000),
    smsFailureRate: number(values['sms-failure-rate'], '--sms-failure-rate', 0, (n) => n >= 0 && n <= 1),
    ...(values.service === undefined ? {} : { service: values.service }),
    // Without the flag, the buses read CLOUDBUS_TELEMETRY themselves.
    ...(values.telemetry === true ? { publishTelemetry: true } : {}),
    ...(values['transport-options'] === undefined ? {} : { transportOptions: jsonObject(values['transport-options'], '--transport-options') }),
    ...(values['kitchen-transport-options'] === undefined
      ? {}
      : { kitchenTransportOptions: jsonObject(values['kitchen-transport-options'], '--kitchen-transport-options') }),
  };
  const host = values.host ?? (env['HOST'] || '127.0.0.1');
  const extraHosts = (values['allowed-hosts'] ?? env['PIZZERIA_ALLOWED_HOSTS'] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  // On a wildcard address (0.0.0.0), clients reach the pizzeria by names only --allowed-hosts
  // knows; the literal address is kept, as the printed address shows it.
  const bound = [host];
  return {
    options: {
      ...options,
      allowedHosts: [...new Set([...DEFAULT_ALLOWED_HOSTS, ...bound, ...extraHosts])],
      ...(values['inspector-url'] === undefined ? {} : { inspectorUrl: values['inspector-url'] }),
    },
    port: number(values.port ?? env['PORT'], '--port', 3000, (n) => Number.isInteger(n) && n >= 0 && n < 65536),
    host,
  };
}
