import type { ConnectionOptions } from 'node:tls';

import { ConfigurationError } from '../errors.js';
import { asLogger, consoleLogger, type Logger } from '../logger.js';

/**
 * The TLS settings every broker transport takes, as Node's `tls.connect` reads them: `ca`, `cert`
 * and `key` (PEM, as strings or Buffers, one or several) and `rejectUnauthorized` (default true).
 * A transport's own TLS options extend these (RabbitMQ adds `servername` and `passphrase`, NATS
 * the `…File` paths).
 */
export type TlsOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>;

/** The keys of {@link TlsOptions}. */
export const TLS_OPTION_KEYS = ['ca', 'cert', 'key', 'rejectUnauthorized'] as const satisfies readonly (keyof TlsOptions)[];

/**
 * The options every broker transport takes, under the same names. Each transport's options
 * extend these; `tls` is extended with what its client library accepts besides.
 */
export interface BaseTransportOptions {
  /** The broker's URL; credentials in it are accepted and never logged. */
  readonly url?: string | undefined;
  /** TLS settings; a `…s://` URL turns TLS on. */
  readonly tls?: TlsOptions | undefined;
  /** User name; overrides the one in the URL. Never logged. */
  readonly username?: string | undefined;
  /** Password; overrides the one in the URL. Never logged, never in an error message. */
  readonly password?: string | undefined;
  /** How long one connection attempt may take, in ms. */
  readonly connectTimeoutMs?: number | undefined;
  /** First delay before reconnecting after the connection drops, in ms. */
  readonly reconnectMinDelayMs?: number | undefined;
  /** Longest delay between reconnection attempts, in ms. */
  readonly reconnectMaxDelayMs?: number | undefined;
  /** How long a publish waits for the broker to accept it before failing with `PublishError`, in ms. */
  readonly publishTimeoutMs?: number | undefined;
  /** A name the broker shows for this connection (the service name is a good one). */
  readonly connectionName?: string | undefined;
  /** Where the transport logs; the bus hands it its own logger. */
  readonly logger?: Logger | object | undefined;
}

/** The keys of {@link BaseTransportOptions}. */
export const BASE_OPTION_KEYS: readonly (keyof BaseTransportOptions)[] = [
  'url',
  'tls',
  'username',
  'password',
  'connectTimeoutMs',
  'reconnectMinDelayMs',
  'reconnectMaxDelayMs',
  'publishTimeoutMs',
  'connectionName',
  'logger',
];

/** Longest delay a Node timer keeps (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Options of {@link OptionsReader.text}. */
export interface TextOptions {
  /** Accept `''`. @default false */
  readonly allowEmpty?: boolean;
  /** Longest value in UTF-8 bytes, and why (the broker's limit). */
  readonly maxBytes?: number;
  readonly maxBytesReason?: string;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  return Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}

/** What a TLS option holds: certificates (PEM), a private key (PEM), or a plain value. */
type TlsValueKind = 'certificates' | 'key' | 'string' | 'boolean';

const CORE_TLS_KINDS: Readonly<Record<(typeof TLS_OPTION_KEYS)[number], TlsValueKind>> = { ca: 'certificates', cert: 'certificates', key: 'key', rejectUnauthorized: 'boolean' };

/** PEM as Node's TLS takes it: a string or Buffer, or an array of them (for a key, also of `{ pem, passphrase }`). */
function isPem(value: unknown, key: boolean): boolean {
  const text = (part: unknown): boolean => typeof part === 'string' || Buffer.isBuffer(part);
  const keyObject = (part: unknown): boolean =>
    key && typeof part === 'object' && part !== null && text((part as { pem?: unknown }).pem) && ['string', 'undefined'].includes(typeof (part as { passphrase?: unknown }).passphrase);
  return text(value) || (Array.isArray(value) && value.length > 0 && value.every((part) => text(part) || keyObject(part)));
}

/**
 * Reads and validates a transport's options: one set of validators for every transport, so each
 * refuses bad values and unknown keys with the same clear `ConfigurationError`
 * ("rabbitmq transport: publishTimeoutMs must be …"). Options are validated once, when the
 * transport is created.
 *
 * ```ts
 * const read = new OptionsReader('nats', options, [...BASE_OPTION_KEYS, 'stream'], { requestTimeoutMs: 'publishTimeoutMs' });
 * const publishTimeoutMs = read.duration('publishTimeoutMs', 10_000);
 * ```
 */
export class OptionsReader {
  readonly #transport: string;
  readonly #options: Readonly<Record<string, unknown>>;

  /**
   * @param transport the transport's name, at the start of every message
   * @param options what the user passed (anything: it is checked here)
   * @param keys every option the transport knows; any other key is refused
   * @param renamed old names still read, each mapped to its current name (the current name wins
   *   when both are given)
   */
  constructor(transport: string, options: unknown, keys: readonly string[], renamed: Readonly<Record<string, string>> = {}) {
    this.#transport = transport;
    const given: object = options === undefined || options === null ? {} : (options as object);
    if (typeof given !== 'object' || Array.isArray(given)) this.fail(`options must be an object, got ${describeValue(options)}.`);
    const known = new Set(keys);
    const values: Record<string, unknown> = {};
    for (const key of Object.keys(given)) {
      const value = (given as Record<string, unknown>)[key];
      const current = Object.hasOwn(renamed, key) ? renamed[key]! : undefined;
      if (current !== undefined) {
        if (values[current] === undefined) values[current] = value;
        continue;
      }
      if (!known.has(key)) this.fail(`${key} is not a known option; use ${[...known].join(', ')}.`);
      if (value !== undefined) values[key] = value;
    }
    this.#options = values;
  }

  /** Throws the transport's `ConfigurationError`. */
  fail(message: string): never {
    throw new ConfigurationError(`${this.#transport} transport: ${message}`);
  }

  /** The raw value of an option (after renamed keys are mapped), or undefined. */
  value(name: string): unknown {
    return this.#options[name];
  }

  /** An integer of at least `min` (and at most `max`), or `fallback` when absent. */
  integer(name: string, min: number, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.#options[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
      this.fail(`${name} must be an integer ${range}, got ${describeValue(value)}.`);
    }
    return value;
  }

  /** An integer or undefined when absent. */
  optionalInteger(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    return this.#options[name] === undefined ? undefined : this.integer(name, min, min, max);
  }

  /** A duration in ms a timer waits for: an integer from 1 to {@link MAX_TIMER_MS}. */
  duration(name: string, fallback: number): number {
    const ms = this.integer(name, 1, fallback);
    if (ms > MAX_TIMER_MS) this.fail(`${name} must be at most ${MAX_TIMER_MS} ms (about 24 days), got ${ms}.`);
    return ms;
  }

  /** A string (non-empty unless `allowEmpty`), or `fallback` when absent. */
  text(name: string, fallback: string, options: TextOptions = {}): string {
    const value = this.#options[name];
    if (value === undefined) return fallback;
    return this.#text(name, value, options);
  }

  /** A string, or undefined when absent. */
  optionalText(name: string, options: TextOptions = {}): string | undefined {
    const value = this.#options[name];
    return value === undefined ? undefined : this.#text(name, value, options);
  }

  #text(name: string, value: unknown, options: TextOptions): string {
    if (typeof value !== 'string' || (options.allowEmpty !== true && value === '')) {
      this.fail(`${name} must be a${options.allowEmpty === true ? '' : ' non-empty'} string, got ${describeValue(value)}.`);
    }
    if (options.maxBytes !== undefined && Buffer.byteLength(value) > options.maxBytes) {
      this.fail(`${name} must be at most ${options.maxBytes} bytes${options.maxBytesReason === undefined ? '' : ` (${options.maxBytesReason})`}.`);
    }
    return value;
  }

  /** `true` or `false`, or `fallback` when absent. */
  boolean(name: string, fallback: boolean): boolean {
    const value = this.#options[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(`${name} must be true or false, got ${describeValue(value)}.`);
    return value;
  }

  /** One of `values`, or `fallback` when absent. */
  oneOf<const T extends string | number>(name: string, values: readonly T[], fallback: T): T {
    const value = this.#options[name];
    if (value === undefined) return fallback;
    if (!values.includes(value as T)) this.fail(`${name} must be ${values.map((v) => describeValue(v)).join(' or ')}, got ${describeValue(value)}.`);
    return value as T;
  }

  /**
   * An object whose keys are all in `keys` (such as `tls`), or undefined when absent. Values are
   * the caller's to check further.
   */
  object<T extends object>(name: string, keys: readonly string[]): T | undefined {
    const value = this.#options[name];
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(`${name} must be an object with ${keys.join(', ')}.`);
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) this.fail(`${name}.${key} is not a known option; use ${keys.join(', ')}.`);
    }
    return value as T;
  }

  /**
   * The `tls` option, or undefined when absent: core's {@link TlsOptions}, checked (PEM values, a
   * boolean `rejectUnauthorized`), and the transport's own keys, each a string or a boolean as
   * `extra` says. Any other key is refused.
   */
  tls<T extends TlsOptions = TlsOptions>(extra: Readonly<Record<string, 'string' | 'boolean'>> = {}): T | undefined {
    const tls = this.object<Record<string, unknown>>('tls', [...TLS_OPTION_KEYS, ...Object.keys(extra)]);
    if (tls === undefined) return undefined;
    const kinds: Readonly<Record<string, TlsValueKind>> = { ...CORE_TLS_KINDS, ...extra };
    for (const [key, value] of Object.entries(tls)) {
      const kind = kinds[key];
      if (value === undefined || kind === undefined) continue;
      if (kind === 'string' || kind === 'boolean') {
        if (typeof value !== kind) this.fail(`tls.${key} must be a ${kind}, got ${describeValue(value)}.`);
      } else if (!isPem(value, kind === 'key')) {
        this.fail(`tls.${key} must be PEM: a string, a Buffer, or an array of them${kind === 'key' ? ' (or of { pem, passphrase })' : ''}, got ${describeValue(value)}.`);
      }
    }
    return tls as T;
  }

  /** The `logger` option adapted to cloudbus's {@link Logger}, or the console logger. */
  logger(): Logger {
    return (
      asLogger(this.#options['logger'], consoleLogger) ??
      this.fail('logger must have debug, info, warn and error methods (console, winston, pino and bunyan loggers work as they are).')
    );
  }

  /** Fails when `later` is below `earlier` (a minimum above its maximum). */
  ordered(earlier: string, earlierValue: number, later: string, laterValue: number): void {
    if (laterValue < earlierValue) this.fail(`${later} (${laterValue}) must be at least ${earlier} (${earlierValue}).`);
  }
}
