import type { WireMessage } from '@cloudbus/core/transport';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { TcpProxy } from '@cloudbus/test/tcp-proxy';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';

import { writeHeaders } from '../nats-binding.js';
import { NatsTransport } from '../nats-transport.js';
import type { NatsTransportOptions } from '../nats-transport-options.js';
import { subjectForType } from '../subject-naming.js';

/** The local NATS server for integration tests (`NATS_URL`, else the local default); undefined when there is none. */
export const natsUrl = brokerUrl('nats');

/** NATS' default port, for URLs that name none. */
const NATS_PORT = 4222;

/** Transport options on names of their own: events in `<name>_EVENTS` under subject prefix `<name>`, dead letters in `<name>_DLQ`. */
export type OwnNatsOptions = NatsTransportOptions & { readonly url: string; readonly stream: string; readonly deadLetterStream: string; readonly subjectPrefix: string };

/**
 * One NATS test set-up, shared by the package's integration specs (and the contract suite's
 * harness): streams and subjects of a unique name, transports that connect through a TCP proxy
 * the fixture controls ({@link cutNetwork} / {@link restoreNetwork}), an admin connection straight
 * to the server (never through the transport under test), and {@link cleanup} deleting every
 * stream it named and closing every transport it made. Call {@link start} first (`beforeAll`),
 * {@link cleanup} last (`afterAll`).
 */
export class NatsFixture {
  /** The unique name: stream `<name>_EVENTS`, dead-letter stream `<name>_DLQ`, subject prefix `<name>`. */
  readonly name: string;
  readonly #service: string;
  readonly #transports: NatsTransport[] = [];
  readonly #streams: string[] = [];
  #proxy: TcpProxy | undefined;
  #proxiedUrl: string | undefined;
  #nc: NatsConnection | undefined;
  #jsm: JetStreamManager | undefined;

  /**
   * @param prefix start of the unique name (letters and digits)
   * @param service the service name transports are made with
   */
  constructor(prefix: string, service: string) {
    this.name = safeName(uniqueName(prefix));
    this.#service = service;
    this.#streams.push(`${this.name}_EVENTS`, `${this.name}_DLQ`);
  }

  /** Starts the proxy and opens the admin connection. */
  async start(): Promise<void> {
    const { proxy, url } = await TcpProxy.inFrontOf(this.#directUrl(), NATS_PORT);
    this.#proxy = proxy;
    this.#proxiedUrl = url;
    this.#nc = await connect({ servers: this.#directUrl() });
    this.#jsm = await jetstreamManager(this.#nc);
  }

  /** The fixture's options: its names, and the URL through the proxy. */
  get options(): OwnNatsOptions {
    return { url: this.#url(), stream: `${this.name}_EVENTS`, deadLetterStream: `${this.name}_DLQ`, subjectPrefix: this.name };
  }

  /** Options on names of their own (deleted at cleanup too), for a test that needs streams no other test touches. */
  own(prefix: string, extra: NatsTransportOptions = {}): OwnNatsOptions {
    const name = safeName(uniqueName(prefix));
    this.#streams.push(`${name}_EVENTS`, `${name}_DLQ`);
    return { ...extra, url: this.#url(), stream: `${name}_EVENTS`, deadLetterStream: `${name}_DLQ`, subjectPrefix: name };
  }

  /** A transport on the fixture's options (`extra` over them), not connected; closed at cleanup. */
  createTransport(extra: NatsTransportOptions = {}): NatsTransport {
    const transport = new NatsTransport({ ...this.options, ...extra }, this.#service);
    this.#transports.push(transport);
    return transport;
  }

  /** {@link createTransport}, connected. */
  async open(extra: NatsTransportOptions = {}): Promise<NatsTransport> {
    const transport = this.createTransport(extra);
    await transport.connect();
    return transport;
  }

  /** The admin connection, straight to the server. */
  get nc(): NatsConnection {
    if (this.#nc === undefined) throw new TypeError('NatsFixture: call start() first.');
    return this.#nc;
  }

  /** JetStream management on the admin connection. */
  get jsm(): JetStreamManager {
    if (this.#jsm === undefined) throw new TypeError('NatsFixture: call start() first.');
    return this.#jsm;
  }

  /** The subject events of `type` are published to on the fixture's options: what a dead letter's record names as its destination. */
  destinationOf(type: string): string {
    return subjectForType(this.name, type);
  }

  /** Publishes a wire message as a foreign producer would (binary mode headers, no `Nats-Msg-Id`), on the admin connection. */
  async injectRaw(type: string, message: WireMessage): Promise<void> {
    const headers = natsHeaders();
    writeHeaders(message, headers);
    await this.jsm.jetstream().publish(this.destinationOf(type), message.body, { headers });
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
    if (this.#proxy === undefined) throw new TypeError('NatsFixture: call start() first.');
    return this.#proxy;
  }

  /** Closes every transport made, deletes every stream named, closes the admin connection and the proxy. */
  async cleanup(): Promise<void> {
    for (const transport of this.#transports.splice(0)) await transport.close().catch(() => {});
    const jsm = this.#jsm;
    if (jsm !== undefined) for (const stream of this.#streams) await jsm.streams.delete(stream).catch(() => false);
    await this.#nc?.close().catch(() => {});
    await this.#proxy?.cut();
  }

  #directUrl(): string {
    if (natsUrl === undefined) throw new TypeError('NatsFixture: no NATS server (set NATS_URL).');
    return natsUrl;
  }

  /** The URL through the proxy: every transport the fixture makes goes through it, so {@link cutNetwork} reaches them all. */
  #url(): string {
    if (this.#proxiedUrl === undefined) throw new TypeError('NatsFixture: call start() first (its transports connect through the proxy it starts).');
    return this.#proxiedUrl;
  }
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}
