import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { Logger } from '../logger.js';
import { ConfigurationError, UnknownTransportError } from '../errors.js';
import type { Transport } from './transport.js';

/** What a transport factory receives from the bus options. */
export interface TransportFactoryOptions {
  /** Broker URL (`amqp://`, `nats://`, `mqtt://`, `memory://name`), from the options or `CLOUDBUS_URL`. */
  readonly url?: string | undefined;
  /** The service name, for client names and durable consumer names. */
  readonly service: string;
  /** Transport-specific options, passed through from `cloudbus({ transportOptions })`. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The bus's logger, for the transport's own reports (reconnections, settle failures). */
  readonly logger?: Logger | undefined;
}

/** Creates a transport. Validates its options and throws `ConfigurationError` on bad ones; connects later. */
export type TransportFactory = (options: TransportFactoryOptions) => Transport;

// Shared through the global symbol registry, so two copies of core in one process see one registry.
const REGISTRY_KEY = Symbol.for('cloudbus.transports');
const registry: Map<string, TransportFactory> = ((globalThis as Record<symbol, unknown>)[REGISTRY_KEY] ??= new Map()) as Map<
  string,
  TransportFactory
>;

const TRANSPORT_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Registers a transport by name. Transport packages call this when imported, so that
 * `cloudbus({ transport: 'nats' })` finds them.
 */
export function registerTransport(name: string, factory: TransportFactory): void {
  if (!TRANSPORT_NAME.test(name)) {
    throw new ConfigurationError(`Transport names are lower-case words such as 'rabbitmq'; got '${name}'.`);
  }
  registry.set(name, factory);
}

/** Names of the transports registered so far. */
export function registeredTransports(): string[] {
  return [...registry.keys()].sort();
}

/** The conventional package of a transport: `@cloudbus/transport-<name>`. */
export function transportPackage(name: string): string {
  return `@cloudbus/transport-${name}`;
}

function isModuleNotFound(error: unknown, specifier: string): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    String((error as Error).message).includes(specifier)
  );
}

/**
 * Imports the transport package by its conventional name: first as core sees it, then as the
 * application (the working directory) sees it, since strict package managers such as pnpm only let
 * a package see its own dependencies.
 */
async function importTransportPackage(name: string): Promise<boolean> {
  const specifier = transportPackage(name);
  try {
    await import(specifier);
    return true;
  } catch (error) {
    if (!isModuleNotFound(error, specifier)) throw error;
  }
  try {
    const resolved = createRequire(join(process.cwd(), 'package.json')).resolve(specifier);
    await import(pathToFileURL(resolved).href);
    return true;
  } catch (error) {
    if (!isModuleNotFound(error, specifier)) throw error;
    return false;
  }
}

/** The transports cloudbus ships, suggested for a misspelt name even before they are installed. */
const KNOWN_TRANSPORTS = ['memory', 'mqtt', 'nats', 'rabbitmq'];

/** Edit distance between two strings (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The known transport name closest to `name` (case ignored), when it is close enough to be a
 * typo: `RabbitMQ` and `rabitmq` give `rabbitmq`.
 */
export function closestTransportName(name: string): string | undefined {
  const wanted = name.toLowerCase().replace(/^@cloudbus\/transport-/, '');
  let best: { name: string; distance: number } | undefined;
  for (const candidate of new Set([...KNOWN_TRANSPORTS, ...registry.keys()])) {
    const distance = editDistance(wanted, candidate);
    if (best === undefined || distance < best.distance) best = { name: candidate, distance };
  }
  return best !== undefined && best.distance <= Math.max(1, Math.floor(best.name.length / 3)) && best.name !== name ? best.name : undefined;
}

function unknownTransport(name: string): UnknownTransportError {
  return new UnknownTransportError(name, registeredTransports(), closestTransportName(name));
}

/** Loads `@cloudbus/transport-<name>` synchronously (it registers itself), as core sees it, then as the application does. */
function requireTransportPackage(name: string): boolean {
  const specifier = transportPackage(name);
  for (const from of [import.meta.url, pathToFileURL(join(process.cwd(), 'package.json')).href]) {
    try {
      createRequire(from)(specifier);
      return true;
    } catch (error) {
      if (!isModuleNotFound(error, specifier)) throw error;
    }
  }
  return false;
}

/**
 * The factory of the transport `name`, loading `@cloudbus/transport-<name>` first (synchronously)
 * when nothing is registered under that name yet. Throws {@link UnknownTransportError}, with the
 * closest known name, when there is none: the bus calls it at construction.
 */
export function transportFactory(name: string): TransportFactory {
  const factory = registry.get(name);
  if (factory !== undefined) return factory;
  if (!TRANSPORT_NAME.test(name)) throw unknownTransport(name);
  let loaded: boolean;
  try {
    loaded = requireTransportPackage(name);
  } catch (error) {
    throw new ConfigurationError(`The transport package ${transportPackage(name)} failed to load: ${(error as Error).message}`, { cause: error });
  }
  const registered = loaded ? registry.get(name) : undefined;
  if (registered === undefined) throw unknownTransport(name);
  return registered;
}

/**
 * Creates the transport registered as `name`, importing `@cloudbus/transport-<name>` first when
 * nothing is registered under that name yet.
 */
export async function createTransport(name: string, options: TransportFactoryOptions): Promise<Transport> {
  let factory = registry.get(name);
  if (factory === undefined && TRANSPORT_NAME.test(name) && (await importTransportPackage(name))) {
    factory = registry.get(name);
  }
  if (factory === undefined) throw unknownTransport(name);
  return factory(options);
}
