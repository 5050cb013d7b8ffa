import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { Logger } from '../logger.js';
import { ConfigurationError, UnknownTransportError } from '../errors.js';
import type { BaseTransportOptions } from './transport-options.js';
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

/**
 * The options a broker transport's factory creates it with: the transport options the bus was
 * given, with the bus's URL (from its options or `CLOUDBUS_URL`) over theirs, and the bus's logger
 * where they name none. `T` is the transport's options type, which its constructor validates.
 *
 * ```ts
 * registerTransport('kafka', (bus) => new KafkaTransport(transportOptionsOf<KafkaTransportOptions>(bus)));
 * ```
 */
export function transportOptionsOf<T extends BaseTransportOptions>({ url, options, logger }: TransportFactoryOptions): T {
  const given = options as T;
  return { ...given, url: url ?? given.url, logger: given.logger ?? logger };
}

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

/** This package's directory (`…/core/`), whose own frames are not the application's. */
const CORE_DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), '..', '..') + sep;

/** A file path in one line of a stack trace (`at f (/app/src/main.ts:3:7)`, `file:///…`). */
const FRAME_FILE = /(?:\(|at )(file:\/\/[^\s)]+?|\/[^\s)]+?|[A-Za-z]:\\[^\s)]+?):\d+:\d+\)?$/;

/**
 * Where to resolve `@cloudbus/transport-<name>` from, in order: core itself, then the
 * application's own modules — those on the call stack that is creating the bus, then the entry
 * script — and last the working directory. Strict package managers such as pnpm let a package see
 * only its own dependencies, so the transport is found where the application depends on it, from
 * wherever the process was started.
 */
function resolutionBases(): string[] {
  const bases = [import.meta.url];
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  for (const line of stack.split('\n')) {
    const match = FRAME_FILE.exec(line.trim());
    if (match === null) continue;
    const file = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
    if (!isAbsolute(file) || file.startsWith(CORE_DIRECTORY) || file.includes(`${sep}node_modules${sep}`)) continue;
    const url = pathToFileURL(file).href;
    if (!bases.includes(url)) bases.push(url);
  }
  const entry = process.argv[1];
  if (entry !== undefined && isAbsolute(entry)) bases.push(pathToFileURL(entry).href);
  bases.push(pathToFileURL(join(process.cwd(), 'package.json')).href);
  return bases;
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

/** The file `@cloudbus/transport-<name>` resolves to from the first of `bases` that has it. */
function resolveTransportPackage(name: string, bases: readonly string[]): string | undefined {
  const specifier = transportPackage(name);
  for (const from of bases) {
    try {
      return createRequire(from).resolve(specifier);
    } catch (error) {
      if (!isModuleNotFound(error, specifier)) throw error;
    }
  }
  return undefined;
}

/** TypeScript sources, which a test runner's source condition resolves to: only `import()` (through the runner) loads them. */
const SOURCE_FILE = /\.[cm]?tsx?$/;

/**
 * How to get the factory of the transport `name`: at once (`factory`), or, for a package only
 * loadable asynchronously (TypeScript sources under a test runner), by `load()` at start.
 */
export type TransportLookup = { readonly factory: TransportFactory } | { readonly load: () => Promise<TransportFactory> };

/**
 * The factory of the transport `name`, loading `@cloudbus/transport-<name>` first (synchronously)
 * when nothing is registered under that name yet. The package is resolved from the application's
 * own modules (see {@link resolutionBases}). Throws {@link UnknownTransportError}, with the
 * closest known name, when there is none: the bus calls it at construction.
 */
export function transportFactory(name: string): TransportLookup {
  const registered = registry.get(name);
  if (registered !== undefined) return { factory: registered };
  if (!TRANSPORT_NAME.test(name)) throw unknownTransport(name);
  const resolved = resolveTransportPackage(name, resolutionBases());
  if (resolved === undefined) throw unknownTransport(name);
  const loaded = (): TransportFactory => registry.get(name) ?? throwError(unknownTransport(name));
  const failed = (error: unknown): never => {
    throw new ConfigurationError(`The transport package ${transportPackage(name)} failed to load: ${(error as Error).message}`, { cause: error });
  };
  if (SOURCE_FILE.test(resolved)) {
    return { load: () => import(pathToFileURL(resolved).href).then(loaded, failed) };
  }
  try {
    createRequire(import.meta.url)(resolved);
  } catch (error) {
    failed(error);
  }
  return { factory: loaded() };
}

function throwError(error: Error): never {
  throw error;
}

/**
 * Creates the transport registered as `name`, importing `@cloudbus/transport-<name>` first when
 * nothing is registered under that name yet.
 */
export async function createTransport(name: string, options: TransportFactoryOptions): Promise<Transport> {
  let factory = registry.get(name);
  if (factory === undefined && TRANSPORT_NAME.test(name)) {
    const resolved = resolveTransportPackage(name, resolutionBases());
    if (resolved !== undefined) await import(pathToFileURL(resolved).href);
    factory = registry.get(name);
  }
  if (factory === undefined) throw unknownTransport(name);
  return factory(options);
}
