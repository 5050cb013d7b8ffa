import { EventHandler, EventType, eventBrand, silentLogger, type EventBus, type EventContext, type WireMessage } from '@cloudbus/core';
import type { ForgedBookkeeping } from '@cloudbus/core/testing/contract';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';

import { attributeHeaders, bodyBuffer, PrivateHeaders } from '../rabbitmq-binding.js';
import { RabbitMqTransport } from '../rabbitmq-transport.js';
import type { RabbitMqTransportOptions } from '../rabbitmq-transport-options.js';
import { routingKeyOf } from '../routing-key.js';
import { BrokerAdmin, mergeTopologies } from './broker-admin.js';
import { TcpProxy } from './tcp-proxy.js';

/** The local RabbitMQ for integration tests (`RABBITMQ_URL`, else the local default); undefined when there is none. */
export const rabbitMqUrl = brokerUrl('rabbitmq');

/** Names of their own for one fixture: `<run>.events`, `<run>.deadletter`, `<run>.retry`, queues `<run>.<subscription>`. */
export interface RabbitMqNames {
  readonly exchange: string;
  readonly deadLetterQueue: string;
  readonly retryPrefix: string;
  readonly queuePrefix: string;
}

/** How {@link RabbitMqFixture.afterEach} tears a test down. */
export interface TeardownOptions {
  /** Drain time given to each bus still started. @default 500 */
  readonly drainTimeoutMs?: number;
  /** Close every transport made so far too (a test that leaves one half-connected). @default false */
  readonly closeTransports?: boolean;
  /** A bus that fails to stop fails the test (instead of being ignored). @default false */
  readonly strict?: boolean;
}

/**
 * One RabbitMQ test set-up, shared by the package's integration specs (and the contract suite's
 * harness): exchanges and queues under a unique run name, an admin connection straight to the
 * broker (never through the transport under test), TCP proxies a test can cut, slow down or make
 * swallow AMQP frames, and the teardown that deletes everything the transports declared.
 * `createTransport` transports connect through the fixture's own proxy ({@link cutNetwork} /
 * {@link restoreNetwork}); {@link transport} ones straight to the broker unless given a `url`.
 */
export class RabbitMqFixture {
  /** The unique run name every exchange and queue starts with. */
  readonly run: string;
  /** The broker, straight. */
  readonly url: string;
  readonly admin: BrokerAdmin;
  /** The fixture's names and a silent logger: what every transport it makes starts from. */
  readonly base: RabbitMqNames & { readonly logger: typeof silentLogger };
  /** Queues a test declared itself (taps, forged queues): deleted at cleanup. */
  readonly extraQueues: string[] = [];
  readonly #defaults: RabbitMqTransportOptions;
  readonly #transports: RabbitMqTransport[] = [];
  readonly #buses: EventBus[] = [];
  readonly #proxies: TcpProxy[] = [];
  #network: { proxy: TcpProxy; url: string } | undefined;

  /**
   * @param prefix start of the run name
   * @param defaults options every transport of this fixture gets (before each call's own)
   */
  constructor(prefix: string, defaults: RabbitMqTransportOptions = {}) {
    this.run = uniqueName(prefix);
    // Made inside a `describe.skipIf(!rabbitMqUrl)` block, which vitest still collects: no broker means no test runs.
    this.url = rabbitMqUrl ?? 'amqp://localhost:5672';
    this.admin = new BrokerAdmin(this.url);
    this.base = {
      exchange: `${this.run}.events`,
      deadLetterQueue: `${this.run}.deadletter`,
      retryPrefix: `${this.run}.retry`,
      queuePrefix: `${this.run}.`,
      logger: silentLogger,
    };
    this.#defaults = defaults;
  }

  /** A transport on the fixture's names (`options` over them), straight to the broker unless `options.url` says otherwise; its topology is deleted at cleanup. */
  transport(options: RabbitMqTransportOptions = {}): RabbitMqTransport {
    const created = new RabbitMqTransport({ url: this.url, ...this.base, ...this.#defaults, ...options });
    this.#transports.push(created);
    return created;
  }

  /** A transport connecting through the fixture's own proxy, which {@link cutNetwork} cuts. */
  async createTransport(options: RabbitMqTransportOptions = {}): Promise<RabbitMqTransport> {
    this.#network ??= await TcpProxy.inFrontOf(this.url);
    return this.transport({ ...options, url: this.#network.url });
  }

  /** A new TCP proxy in front of the broker, for one test; cut at {@link afterEach}. */
  async proxiedUrl(): Promise<{ proxy: TcpProxy; url: string }> {
    const proxied = await TcpProxy.inFrontOf(this.url);
    this.#proxies.push(proxied.proxy);
    return proxied;
  }

  /** Stops `bus` at {@link afterEach} if the test leaves it started. */
  track<B extends EventBus>(bus: B): B {
    this.#buses.push(bus);
    return bus;
  }

  /**
   * A fresh event type `dev.cloudbus.<area>.<run>.e<number>.order.placed`, its class, and a
   * `Kitchen` handler recording the order ids it saw, for the service `<run>-s<number>` (whose
   * queue is `queue`). `number` must differ between calls (a counter of the spec's).
   */
  defineKitchen(area: string, number: number) {
    const type = `dev.cloudbus.${area}.${this.run}.e${number}.order.placed`;
    class OrderPlaced {
      declare readonly [eventBrand]: string;
      constructor(readonly orderId: string) {}
    }
    EventType(type)(OrderPlaced);
    const seen: string[] = [];
    class Kitchen {
      handle(event: OrderPlaced, _context: EventContext): void {
        seen.push(event.orderId);
      }
    }
    EventHandler(OrderPlaced, { name: 'Kitchen' })(Kitchen);
    const service = `${this.run}-s${number}`;
    return { type, OrderPlaced, Kitchen, seen, service, queue: this.queueOf(`${service}.Kitchen`) };
  }

  /** The queue of a subscription `<service>.<handler>` on the fixture's names. */
  queueOf(subscription: string): string {
    return `${this.base.queuePrefix}${subscription}`;
  }

  /** What a dead letter's record names as the destination of an event of `type`: its routing key. */
  destinationOf(type: string): string {
    return routingKeyOf(type);
  }

  /** Publishes a wire message as a foreign producer would (binary mode, no cloudbus headers), on the admin connection. */
  injectRaw(type: string, message: WireMessage): Promise<void> {
    return this.admin.publish(this.base.exchange, routingKeyOf(type), bodyBuffer(message.body), {
      persistent: true,
      headers: attributeHeaders(message),
      ...(message.contentType === undefined ? {} : { contentType: message.contentType }),
    });
  }

  /**
   * Publishes a wire message with the `x-cloudbus-*` headers of a retry republish forged (numbers
   * where they parse as one, as the transport writes them), as the contract suite's `injectForged`.
   */
  injectForged(type: string, _subscription: string, message: WireMessage, forged: ForgedBookkeeping): Promise<void> {
    const number = (value: string) => (value !== '' && Number.isFinite(Number(value)) ? Number(value) : value);
    return this.admin.publish(this.base.exchange, routingKeyOf(type), bodyBuffer(message.body), {
      persistent: true,
      headers: {
        ...attributeHeaders(message),
        [PrivateHeaders.attempt]: number(forged.attempt),
        [PrivateHeaders.firstAttempt]: number(forged.firstAttempt),
        [PrivateHeaders.destination]: forged.destination,
      },
      ...(message.contentType === undefined ? {} : { contentType: message.contentType }),
    });
  }

  /** Drops every connection through the fixture's proxy and refuses new ones, until {@link restoreNetwork}. */
  async cutNetwork(): Promise<void> {
    await this.#network?.proxy.cut();
  }

  /** Accepts connections through the fixture's proxy again, on the same port. */
  async restoreNetwork(): Promise<void> {
    await this.#network?.proxy.restore();
  }

  /**
   * Between tests: lets every proxy through again (no frames held, no latency, accepting), stops
   * the buses still started, closes the transports if asked, and cuts the test's proxies.
   */
  async afterEach(options: TeardownOptions = {}): Promise<void> {
    for (const proxy of this.#proxies) {
      proxy.holdClientFrames = undefined;
      proxy.latencyMs = 0;
      await proxy.restore().catch(() => {});
    }
    for (const bus of this.#buses.splice(0)) {
      if (bus.state !== 'started') continue;
      const stopping = bus.stop({ drainTimeoutMs: options.drainTimeoutMs ?? 500 });
      if (options.strict === true) await stopping;
      else await stopping.catch(() => {});
    }
    if (options.closeTransports === true) for (const created of this.#transports) await created.close().catch(() => {});
    for (const proxy of this.#proxies.splice(0)) await proxy.cut();
  }

  /** After all tests: closes what is left, deletes every exchange and queue the transports declared (and {@link extraQueues}), closes the admin connection. */
  async cleanup(): Promise<void> {
    await this.afterEach({ closeTransports: true });
    await this.#network?.proxy.cut();
    const declared = mergeTopologies(this.#transports.map((created) => created.declaredTopology()));
    await this.admin.delete({ exchanges: declared.exchanges, queues: [...declared.queues, ...this.extraQueues] });
    await this.admin.close();
  }
}

/** Polls `check` every 20 ms until it holds; throws after `timeoutMs` naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
