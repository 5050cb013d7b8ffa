import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { Logger } from '../bus/logger.js';
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

/**
 * Registers a transport by name. Transport packages call this when imported, so that
 * `cloudbus({ transport: 'nats' })` finds them.
 */
export function registerTransport(name: string, factory: TransportFactory): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
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

/**
 * Creates the transport registered as `name`, importing `@cloudbus/transport-<name>` first when
 * nothing is registered under that name yet.
 */
export async function createTransport(name: string, options: TransportFactoryOptions): Promise<Transport> {
  let factory = registry.get(name);
  if (factory === undefined && /^[a-z][a-z0-9-]*$/.test(name) && (await importTransportPackage(name))) {
    factory = registry.get(name);
  }
  if (factory === undefined) throw new UnknownTransportError(name, registeredTransports());
  return factory(options);
}
