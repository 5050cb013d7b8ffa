import { connect } from 'node:net';

import type * as Testcontainers from 'testcontainers';

/**
 * Broker endpoints for integration tests. For each broker, in order:
 * 1. the URL in its environment variable (`RABBITMQ_URL`, `NATS_URL`, `MQTT_URL`);
 * 2. the local default port, when something answers there;
 * 3. a container started with testcontainers, when a Docker engine is available;
 * 4. otherwise none: the tests skip with a message naming the variable to set.
 *
 * `resolveBrokers()` runs once per test run (vitest global setup) and writes the URLs found into
 * the environment, so every test worker reads them with {@link brokerUrl}.
 */

export type BrokerKind = 'rabbitmq' | 'nats' | 'mqtt';

interface BrokerSpec {
  readonly variable: string;
  readonly localUrl: string;
  readonly port: number;
  readonly image: string;
  readonly command?: readonly string[];
  readonly scheme: string;
  readonly credentials?: string;
}

export const BROKERS: Readonly<Record<BrokerKind, BrokerSpec>> = {
  rabbitmq: {
    variable: 'RABBITMQ_URL',
    localUrl: 'amqp://guest:guest@127.0.0.1:5672',
    port: 5672,
    image: 'rabbitmq:4-alpine',
    scheme: 'amqp',
    credentials: 'guest:guest@',
  },
  nats: {
    variable: 'NATS_URL',
    localUrl: 'nats://127.0.0.1:4222',
    port: 4222,
    image: 'nats:2-alpine',
    command: ['-js'],
    scheme: 'nats',
  },
  mqtt: {
    variable: 'MQTT_URL',
    localUrl: 'mqtt://127.0.0.1:1883',
    port: 1883,
    image: 'eclipse-mosquitto:2',
    command: ['mosquitto', '-c', '/mosquitto-no-auth.conf'],
    scheme: 'mqtt',
  },
};

/** Where an endpoint came from. */
export type EndpointOrigin = 'environment' | 'local' | 'container';

export interface BrokerEndpoint {
  readonly kind: BrokerKind;
  readonly url: string;
  readonly origin: EndpointOrigin;
  /** Stops the container this endpoint started, if any. */
  stop(): Promise<void>;
}

/** True when a TCP connection to host:port opens within `timeoutMs`. */
/** Waits until `host:port` accepts connections (`open`) or refuses them, for a broker being stopped or started. */
export async function waitForPort(host: string, port: number, open: boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await isListening(host, port)) !== open) {
    if (Date.now() > deadline) throw new Error(`${host}:${port} did not ${open ? 'open' : 'close'} within ${timeoutMs} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function startContainer(kind: BrokerKind): Promise<BrokerEndpoint | undefined> {
  const spec = BROKERS[kind];
  let testcontainers: typeof Testcontainers;
  try {
    testcontainers = await import('testcontainers');
    await testcontainers.getContainerRuntimeClient();
  } catch {
    return undefined;
  }
  let container = new testcontainers.GenericContainer(spec.image).withExposedPorts(spec.port);
  if (spec.command !== undefined) container = container.withCommand([...spec.command]);
  container = container.withWaitStrategy(testcontainers.Wait.forListeningPorts());
  const started = await container.start();
  const url = `${spec.scheme}://${spec.credentials ?? ''}${started.getHost()}:${started.getMappedPort(spec.port)}`;
  return { kind, url, origin: 'container', stop: async () => void (await started.stop()) };
}

/** Finds an endpoint for one broker, in the documented order; undefined when there is none. */
export async function findBroker(kind: BrokerKind): Promise<BrokerEndpoint | undefined> {
  const spec = BROKERS[kind];
  const fromEnvironment = process.env[spec.variable];
  if (fromEnvironment !== undefined && fromEnvironment !== '') {
    return { kind, url: fromEnvironment, origin: 'environment', stop: async () => {} };
  }
  if (await isListening('127.0.0.1', spec.port)) {
    return { kind, url: spec.localUrl, origin: 'local', stop: async () => {} };
  }
  return startContainer(kind);
}

/** Resolves every broker and exports the URLs found to the environment. Returns the endpoints. */
export async function resolveBrokers(): Promise<BrokerEndpoint[]> {
  const found: BrokerEndpoint[] = [];
  for (const kind of Object.keys(BROKERS) as BrokerKind[]) {
    const endpoint = await findBroker(kind);
    if (endpoint === undefined) continue;
    process.env[BROKERS[kind].variable] = endpoint.url;
    found.push(endpoint);
  }
  return found;
}

/**
 * The URL of a broker for this test run, or undefined (after printing how to provide one) when
 * none was found. Use with `describe.skipIf(!url)`.
 */
export function brokerUrl(kind: BrokerKind): string | undefined {
  const spec = BROKERS[kind];
  const url = process.env[spec.variable];
  if (url === undefined || url === '') {
    console.warn(
      `[cloudbus tests] No ${kind} broker: set ${spec.variable} (e.g. ${spec.localUrl}), start one on port ${spec.port}, or make a Docker engine available. Skipping ${kind} tests.`,
    );
    return undefined;
  }
  return url;
}

/** A name unique to this test run, for exchanges, streams, queues and topic prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
