import { Buffer } from 'node:buffer';

import { decodeDeadLetter, EventBus, silentLogger, WaitTimeoutError, type CloudbusOptions, type DeadLetter } from '@cloudbus/core';
import type { WireMessage } from '@cloudbus/core/transport';
import type { ForgedBookkeeping } from '@cloudbus/core/testing/contract';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { TcpProxy } from '@cloudbus/test/tcp-proxy';
import mqtt from 'mqtt';

import { toMqttProperties, type MqttPublishProperties } from '../mqtt-binding.js';
import { escapeLevel, MqttTopics } from '../mqtt-topics.js';
import { MqttTransport } from '../mqtt-transport.js';
import type { MqttTransportOptions } from '../mqtt-transport-options.js';

/** The Mosquitto for integration tests (`MQTT_URL`, else the local default); undefined when there is none. */
export const mqttUrl = brokerUrl('mqtt');

/** MQTT's default port, for URLs that name none. */
const MQTT_PORT = 1883;
/** Longest wait of {@link MqttFixture.waitFor} and {@link MqttFixture.deadLetter}. */
const WAIT_MS = 15_000;

/** Options of a bus the fixture starts: the transport is the fixture's, the logger silent unless given. */
export type FixtureBusOptions = Omit<CloudbusOptions, 'transport'>;

/**
 * One MQTT test set-up, shared by the package's integration specs (and the contract suite's
 * harness): a topic prefix of a unique name, transports that connect through a TCP proxy the
 * fixture controls ({@link cutNetwork} / {@link restoreNetwork}), foreign clients straight to the
 * broker ({@link publishRaw}: never through the transport under test), {@link reset} after each
 * test (stops its buses, closes its transports) and {@link cleanup} after all (deletes the
 * prefix's dead letters). Call {@link start} first (`beforeAll`).
 */
export class MqttFixture {
  /** The unique topic prefix. */
  readonly prefix: string;
  /** The prefix without dashes, for event types and service names. */
  readonly run: string;
  /** The topic layout of {@link prefix}. */
  readonly topics: MqttTopics;
  readonly #defaults: MqttTransportOptions;
  readonly #transports: MqttTransport[] = [];
  readonly #buses: EventBus[] = [];
  #proxy: TcpProxy | undefined;
  #proxiedUrl: string | undefined;

  /**
   * @param name start of the unique topic prefix
   * @param defaults options of every transport made (under each call's own)
   */
  constructor(name: string, defaults: MqttTransportOptions = {}) {
    this.prefix = uniqueName(name);
    this.run = this.prefix.replace(/-/g, '');
    this.topics = new MqttTopics(this.prefix);
    this.#defaults = defaults;
  }

  /** Starts the proxy the transports connect through. */
  async start(): Promise<void> {
    const { proxy, url } = await TcpProxy.inFrontOf(this.url, MQTT_PORT);
    this.#proxy = proxy;
    this.#proxiedUrl = url;
  }

  /** The broker's own URL, for foreign clients (devices, sniffers) that must not go through the proxy. */
  get url(): string {
    if (mqttUrl === undefined) throw new TypeError('MqttFixture: no MQTT broker (set MQTT_URL).');
    return mqttUrl;
  }

  /** The fixture's transport options: its prefix, its defaults, and the URL through the proxy (so {@link cutNetwork} reaches every transport). */
  get options(): MqttTransportOptions {
    if (this.#proxiedUrl === undefined) throw new TypeError('MqttFixture: call start() first (its transports connect through the proxy it starts).');
    return { url: this.#proxiedUrl, topicPrefix: this.prefix, ...this.#defaults };
  }

  /** A transport on the fixture's options (`extra` over them), not connected; closed at {@link reset}. */
  createTransport(extra: MqttTransportOptions = {}): MqttTransport {
    const transport = new MqttTransport({ ...this.options, ...extra });
    this.#transports.push(transport);
    return transport;
  }

  /** {@link createTransport}, connected. */
  async open(extra: MqttTransportOptions = {}): Promise<MqttTransport> {
    const transport = this.createTransport(extra);
    await transport.connect();
    return transport;
  }

  /** A bus on a new transport (`transport` options over the fixture's), started; stopped at {@link reset}. */
  async startBus(options: FixtureBusOptions, transport: MqttTransportOptions = {}): Promise<EventBus> {
    const bus = new EventBus({ ...options, logger: options.logger ?? silentLogger, transport: this.createTransport(transport) });
    this.#buses.push(bus);
    await bus.start();
    return bus;
  }

  /** The topic events of `type` are published to: what a dead letter's record names as its destination. */
  destinationOf(type: string): string {
    return this.topics.forType(type);
  }

  /**
   * Publishes `payload` to `topic` as a foreign client would, straight to the broker; false when the
   * client library or the broker refuses it (Mosquitto closes the connection on a malformed packet).
   */
  async publishRaw(topic: string, payload: string | Uint8Array, properties?: MqttPublishProperties, protocolVersion: 4 | 5 = this.#protocolVersion()): Promise<boolean> {
    const client = await mqtt.connectAsync(this.url, { protocolVersion, reconnectPeriod: 0 });
    client.on('error', () => {});
    try {
      const closed = new Promise<boolean>((resolve) => client.once('close', () => resolve(false)));
      const body = typeof payload === 'string' ? payload : Buffer.from(payload);
      return await Promise.race([client.publishAsync(topic, body, { qos: 1, ...(properties === undefined ? {} : { properties }) }).then(() => true), closed]);
    } finally {
      await client.endAsync(true);
    }
  }

  /** Publishes a wire message as a foreign producer of events of `type` would, mapped to MQTT as it is (no properties on 3.1.1). */
  injectRaw(type: string, message: WireMessage): Promise<boolean> {
    const version = this.#protocolVersion();
    return this.publishRaw(this.destinationOf(type), message.body, version === 5 ? toMqttProperties(message) : undefined, version);
  }

  /** Publishes to a redelivery topic of `subscription` with forged levels, as anyone allowed to publish on the broker could. */
  injectForged(type: string, subscription: string, message: WireMessage, forged: ForgedBookkeeping): Promise<boolean> {
    const destination = forged.destination || this.destinationOf(type);
    const topic = `${this.topics.redeliverRoot}/${escapeLevel(subscription)}/${forged.attempt}/${forged.firstAttempt}/${forged.notBefore}/${destination}`;
    const version = this.#protocolVersion();
    return this.publishRaw(topic, message.body, version === 5 ? toMqttProperties(message) : undefined, version);
  }

  /** Waits until `predicate` holds, checking every 20 ms; throws after 15 s. */
  async waitFor(predicate: () => boolean, what = 'the condition'): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!predicate()) {
      if (Date.now() > deadline) throw new WaitTimeoutError(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The first dead letter `transport` reads that `match` picks, within 15 s; undefined when none came. */
  async deadLetter(transport: MqttTransport, match: (letter: DeadLetter) => boolean): Promise<DeadLetter | undefined> {
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      const found = (await transport.readDeadLetters()).map(decodeDeadLetter).find(match);
      if (found !== undefined) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return undefined;
  }

  /** Drops every connection through the proxy and refuses new ones, until {@link restoreNetwork}. */
  async cutNetwork(): Promise<void> {
    await this.#started().cut();
  }

  /** Accepts connections through the proxy again, on the same port. */
  async restoreNetwork(): Promise<void> {
    await this.#started().restore();
  }

  #started(): TcpProxy {
    if (this.#proxy === undefined) throw new TypeError('MqttFixture: call start() first.');
    return this.#proxy;
  }

  /** After each test: stops every bus it started that is still running, closes every transport it made. */
  async reset(): Promise<void> {
    for (const bus of this.#buses.splice(0)) if (bus.state === 'started') await bus.stop({ drainTimeoutMs: 500 });
    for (const transport of this.#transports.splice(0)) if (transport.connectionState !== 'closed') await transport.close().catch(() => {});
  }

  /** After all: {@link reset}, deletes the prefix's dead letters, and closes the proxy. */
  async cleanup(): Promise<void> {
    await this.reset();
    const cleaner = new MqttTransport({ topicPrefix: this.prefix, ...this.#defaults, url: this.url });
    try {
      await cleaner.connect();
      await cleaner.deleteDeadLetters();
    } finally {
      await cleaner.close().catch(() => {});
      await this.#proxy?.cut();
    }
  }

  #protocolVersion(): 4 | 5 {
    return this.#defaults.protocolVersion ?? 5;
  }
}
