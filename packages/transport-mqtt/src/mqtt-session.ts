import { DeliveryLostError, SETTLED, type SubscriptionSpec } from '@cloudbus/core/transport';
import type { IConnackPacket, IDisconnectPacket, IPublishPacket, ISubscriptionMap, MqttClient } from 'mqtt';

import { sendPuback } from './manual-ack.js';
import { releaseSlot, takeSlot } from './instance-slots.js';
import { endConnection, openConnection } from './mqtt-connection.js';
import { MqttSubscribeError } from './mqtt-errors.js';
import { safeName, type MqttTopics } from './mqtt-topics.js';
import type { ResolvedMqttOptions } from './mqtt-transport-options.js';

/** MQTT 5 DISCONNECT reason: another connection took this client id over. */
const SESSION_TAKEN_OVER = 0x8e;

/** A SUBSCRIBE request: shared filters at QoS 1. */
export type SharedFilters = Record<string, { qos: 1 }>;

/** What the session hands on to its subscription. */
export interface SessionListener {
  /** mqtt.js's handleMessage: each PUBLISH, one at a time; must call back at once or the connection stalls. */
  readonly onPacket: (packet: IPublishPacket, callback: (error?: Error) => void) => void;
  /** The connection closed: what arrived on it and is not settled will come again on the resumed session. */
  readonly onLost: () => void;
}

/**
 * The persistent session of one subscription, on its own connection: a client id stable per
 * subscription, process instance and slot (see `instance-slots.ts`), `clean: false`, and the
 * subscription's shared subscriptions (`$share/<subscription>/<event topic>` for each type and for
 * its redeliveries), subscribed again on every resumed session. Acknowledges manually: a PUBACK is
 * only valid on the connection its PUBLISH came in on ({@link epoch}).
 */
export class MqttSession {
  #client!: MqttClient;
  #clientId: string;
  #slot: number;
  readonly #slotKey: string;
  #epoch = 0;
  /** The SUBSCRIBE of this session, sent again on every resumed session (undefined once it left its group). */
  #request: SharedFilters | undefined;
  /** The subscription is closing: nothing is acknowledged any more, and the client id stays. */
  #retired = false;

  /** Takes this process's lowest free slot for the subscription; {@link connect} next. */
  constructor(
    private readonly spec: SubscriptionSpec,
    private readonly options: ResolvedMqttOptions,
    private readonly topics: MqttTopics,
    private readonly listener: SessionListener,
  ) {
    this.#slotKey = `${options.url}|${topics.prefix}|${spec.name}|${options.instanceId}`;
    this.#slot = takeSlot(this.#slotKey);
    this.#clientId = this.#clientIdFor(this.#slot);
  }

  /** The MQTT client. */
  get client(): MqttClient {
    return this.#client;
  }

  /** This session's MQTT client id (stable per subscription, instance and slot). */
  get clientId(): string {
    return this.#clientId;
  }

  /** Counts connections: 1 for the first, one more for each resumed one. */
  get epoch(): number {
    return this.#epoch;
  }

  /** The shared filters this session is subscribed to; undefined while it is out of its group. */
  get request(): SharedFilters | undefined {
    return this.#request;
  }

  set request(request: SharedFilters | undefined) {
    this.#request = request;
  }

  #clientIdFor(slot: number): string {
    return `${safeName(this.topics.prefix)}--${safeName(this.spec.name)}--${this.options.instanceId}--${slot}`;
  }

  /** Connects and subscribes the subscription's shared filters. Gives its slot back when that fails. */
  async connect(): Promise<void> {
    try {
      await this.#start();
    } catch (error) {
      releaseSlot(this.#slotKey, this.#slot);
      throw error;
    }
  }

  async #start(): Promise<void> {
    const receiveMaximum = Math.max(this.options.receiveMaximum, this.spec.concurrency);
    this.#client = await openConnection(this.options, {
      clientId: this.#clientId,
      clean: false,
      receiveMaximum: Math.min(65_535, receiveMaximum),
      prepare: (client) => {
        // A resumed session sends what it holds right after CONNACK: be ready for it.
        this.#client = client;
        client.handleMessage = this.listener.onPacket;
        client.on('connect', (connack: IConnackPacket) => {
          this.#epoch++;
          // Mosquitto 2.0 restores a session's queued messages after a restart, but not its shared
          // subscriptions: subscribe again on every resumed session (mqtt.js does it for new ones).
          if (this.#epoch > 1 && connack.sessionPresent && this.#request !== undefined) {
            // `resubscribe: true`, or mqtt.js skips filters it believes are in place (it deletes the flag: a fresh object each time).
            client.subscribe({ ...this.#request, resubscribe: true } as ISubscriptionMap, (error) => {
              if (error !== null && error !== undefined) client.emit('error', error);
            });
          }
        });
        client.on('close', () => this.listener.onLost());
        client.on('disconnect', (packet: IDisconnectPacket) => {
          if (packet.reasonCode === SESSION_TAKEN_OVER) this.#moveToNextSlot(client);
        });
      },
    });
    const request = sharedFilters(this.topics, this.spec);
    this.#request = request;
    try {
      const granted = await this.#client.subscribeAsync(request);
      const refused = granted.filter((grant) => grant.qos !== 1 && grant.qos !== 0 && grant.qos !== 2);
      if (refused.length > 0) {
        throw new MqttSubscribeError(
          `mqtt transport: the broker refused subscription ${this.spec.name} to ${refused.map((grant) => grant.topic).join(', ')}` +
            ` (SUBACK ${refused.map((grant) => grant.qos).join(', ')}). Check the broker's ACL for client '${this.#clientId}'.`,
        );
      }
    } catch (error) {
      await endConnection(this.#client);
      throw error;
    }
  }

  /** Another process with the same instance id took our client id: take the next slot instead of fighting over it. */
  #moveToNextSlot(client: MqttClient): void {
    if (this.#retired) return;
    releaseSlot(this.#slotKey, this.#slot);
    this.#slot = takeSlot(this.#slotKey, this.#slot + 1);
    this.#clientId = this.#clientIdFor(this.#slot);
    client.options.clientId = this.#clientId;
  }

  /**
   * Leaves the shared subscriptions to `topics` that this session may still hold from an earlier
   * start with other types (a persistent session keeps them). Filters it does not hold are fine.
   */
  async unsubscribeStale(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    await this.#client.unsubscribeAsync(topics.map((topic) => this.topics.sharedFilter(this.spec.name, topic)));
  }

  /** PUBACK of the message with `packetId` that came in on connection `epoch`; rejects when that connection is gone. */
  puback(packetId: number, epoch: number): Promise<void> {
    const client = this.#client;
    if (epoch !== this.#epoch || !client.connected || this.#retired) {
      return Promise.reject(
        new DeliveryLostError(
          `mqtt transport: the connection of subscription ${this.spec.name} that received this message is gone; the broker sends it again.`,
        ),
      );
    }
    sendPuback(client, packetId);
    return SETTLED;
  }

  /** The subscription is closing: from now on nothing is acknowledged, and the client id stays even if taken over. */
  retire(): void {
    this.#retired = true;
  }

  /** Disconnects, keeping the persistent session, and gives the slot back. */
  async end(): Promise<void> {
    try {
      await endConnection(this.#client);
    } finally {
      releaseSlot(this.#slotKey, this.#slot);
    }
  }
}

/** The SUBSCRIBE of a subscription: the shared filter of each of its types' topics and of its redeliveries. */
export function sharedFilters(topics: MqttTopics, spec: SubscriptionSpec): SharedFilters {
  const filters = [...new Set(spec.types.map((type) => topics.forType(type)))];
  filters.push(topics.redeliverFilter(spec.name));
  const request: SharedFilters = {};
  for (const filter of filters) request[topics.sharedFilter(spec.name, filter)] = { qos: 1 };
  return request;
}
