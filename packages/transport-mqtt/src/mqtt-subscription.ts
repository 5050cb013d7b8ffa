import { randomUUID } from 'node:crypto';

import { STRUCTURED_CONTENT_TYPE, type Delivery, type Subscription, type SubscriptionSpec, type WireMessage } from '@cloudbus/core';
import type { IConnackPacket, IDisconnectPacket, IPublishPacket, ISubscriptionMap, MqttClient } from 'mqtt';

import { MqttConnectionLostError, MqttSubscribeError } from './errors.js';
import { releaseSlot, takeSlot } from './instance-slots.js';
import { endConnection, openConnection } from './mqtt-connection.js';
import { safeName, type MqttTopics } from './mqtt-topics.js';
import type { ResolvedMqttOptions } from './mqtt-transport-options.js';

/**
 * What a publish is, which decides how its PUBACK is read (MQTT 5 reason code 16, "No matching
 * subscribers"): `event`, an event to its type's topic (lost if that topic had subscribers before:
 * published again until one is back); `redelivery`, a retry to a subscription's own redelivery topic
 * (always has a subscriber, so 16 means lost: published again); `retained`, a dead letter or its
 * deletion (the broker keeps a retained message with or without subscribers).
 */
export type PublishKind = 'event' | 'redelivery' | 'retained';

/** How a subscription publishes (redeliveries, dead letters): resolves once the broker has stored the message. */
export type WirePublisher = (topic: string, message: WireMessage, kind: PublishKind) => Promise<void>;

/** The private part of mqtt.js this transport relies on: sending a packet (here, a PUBACK) itself. */
interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode?: number }): void;
}

/** Passed to mqtt.js's handleMessage callback: the message is processed, but no PUBACK is to be sent now. */
const ACK_LATER = new Error('cloudbus acknowledges this message once its handler has finished');
const SETTLED = Promise.resolve();
const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
/** MQTT 5 DISCONNECT reason: another connection took this client id over. */
const SESSION_TAKEN_OVER = 0x8e;

/** One message handed to core, settled once by ack, nack or deadLetter. */
class MqttDelivery implements Delivery {
  settled = false;

  constructor(
    readonly message: WireMessage,
    readonly attempt: number,
    readonly firstAttemptAt: number,
    readonly destination: string,
    readonly packetId: number,
    readonly epoch: number,
    readonly notBefore: number,
    private readonly owner: MqttSubscription,
  ) {}

  ack(): Promise<void> {
    return this.owner.ack(this);
  }

  nack(delayMs: number): Promise<void> {
    return this.owner.nack(this, delayMs);
  }

  deadLetter(message: WireMessage): Promise<void> {
    return this.owner.deadLetter(this, message);
  }
}

/**
 * One handler subscription: its own MQTT connection with a persistent session (stable client id,
 * `clean: false`), shared subscriptions `$share/<subscription>/<event topic>` for each type and
 * for its redeliveries, and manual acknowledgement: the PUBACK goes out only once core settled
 * the delivery, so a crash mid-handle means the broker sends the message again.
 *
 * At most `spec.concurrency` deliveries are with core at once; the broker may have sent up to
 * `receiveMaximum` more, which wait here (unacknowledged, so nothing is lost if this process dies).
 */
export class MqttSubscription implements Subscription {
  #client!: MqttClient;
  #clientId: string;
  #slot: number;
  readonly #slotKey: string;
  /** Counts connections: a PUBACK is only valid on the connection its PUBLISH came in on. */
  #epoch = 0;
  #active = 0;
  #queue: MqttDelivery[] = [];
  #head = 0;
  #pumping = false;
  readonly #held = new Set<NodeJS.Timeout>();
  #state: 'running' | 'stopped' | 'closed' = 'running';
  /** The SUBSCRIBE of this subscription, sent again on every resumed session. */
  #request: Record<string, { qos: 1 }> | undefined;

  private constructor(
    readonly spec: SubscriptionSpec,
    private readonly onDelivery: (delivery: Delivery) => void,
    private readonly options: ResolvedMqttOptions,
    private readonly topics: MqttTopics,
    private readonly publish: WirePublisher,
  ) {
    this.#slotKey = `${options.url}|${topics.prefix}|${spec.name}|${options.instanceId}`;
    this.#slot = takeSlot(this.#slotKey);
    this.#clientId = this.#clientIdFor(this.#slot);
  }

  /** Connects, subscribes every type and the redeliveries, and starts handing deliveries to `onDelivery`. */
  static async open(
    spec: SubscriptionSpec,
    onDelivery: (delivery: Delivery) => void,
    options: ResolvedMqttOptions,
    topics: MqttTopics,
    publish: WirePublisher,
  ): Promise<MqttSubscription> {
    const subscription = new MqttSubscription(spec, onDelivery, options, topics, publish);
    try {
      await subscription.#start();
    } catch (error) {
      releaseSlot(subscription.#slotKey, subscription.#slot);
      throw error;
    }
    return subscription;
  }

  /** This subscription's MQTT client id (stable per subscription, instance and slot). */
  get clientId(): string {
    return this.#clientId;
  }

  #clientIdFor(slot: number): string {
    return `${safeName(this.topics.prefix)}--${safeName(this.spec.name)}--${this.options.instanceId}--${slot}`;
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
        client.handleMessage = this.#onPacket;
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
        client.on('close', () => this.#forgetUnhanded());
        client.on('disconnect', (packet: IDisconnectPacket) => {
          if (packet.reasonCode === SESSION_TAKEN_OVER) this.#moveToNextSlot(client);
        });
      },
    });
    const group = safeName(this.spec.name);
    const filters = [...new Set(this.spec.types.map((type) => this.topics.forType(type)))];
    filters.push(this.topics.redeliverFilter(this.spec.name));
    const request: Record<string, { qos: 1 }> = {};
    for (const filter of filters) request[`$share/${group}/${filter}`] = { qos: 1 };
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
    if (this.#state === 'closed') return;
    releaseSlot(this.#slotKey, this.#slot);
    this.#slot = takeSlot(this.#slotKey, this.#slot + 1);
    this.#clientId = this.#clientIdFor(this.#slot);
    client.options.clientId = this.#clientId;
  }

  /** mqtt.js calls this for each PUBLISH, one at a time; it must call back at once or the connection stalls. */
  readonly #onPacket = (packet: IPublishPacket, callback: (error?: Error) => void): void => {
    if (packet.qos === 0 || packet.messageId === undefined) {
      callback();
      return;
    }
    callback(ACK_LATER);
    const delivery = this.#toDelivery(packet, packet.messageId);
    const wait = delivery.notBefore - Date.now();
    if (wait > 0) {
      const timer = setTimeout(() => {
        this.#held.delete(timer);
        this.#enqueue(delivery);
      }, wait);
      this.#held.add(timer);
      return;
    }
    this.#enqueue(delivery);
  };

  #toDelivery(packet: IPublishPacket, packetId: number): MqttDelivery {
    const topic = packet.topic;
    const redelivery = this.topics.parseRedeliver(topic);
    let attempt = 1;
    let firstAttemptAt: number;
    let destination = topic;
    let notBefore = 0;
    if (redelivery === undefined) {
      firstAttemptAt = Date.now();
    } else {
      attempt = redelivery.attempt;
      firstAttemptAt = redelivery.firstAttemptAt;
      destination = redelivery.destination;
      notBefore = redelivery.notBefore;
    }
    // DUP: the broker sent it before, on a connection that ended before our PUBACK. Count it as a
    // new attempt (the handler may or may not have run), unless it is a redelivery not due yet,
    // which no handler can have seen.
    if (packet.dup && notBefore <= Date.now()) attempt++;
    const body = packet.payload as Buffer;
    let message: WireMessage;
    if (this.options.protocolVersion === 4) {
      message = { headers: EMPTY_HEADERS, contentType: STRUCTURED_CONTENT_TYPE, body };
    } else {
      const properties = packet.properties;
      const headers = properties?.userProperties === undefined ? EMPTY_HEADERS : flatten(properties.userProperties);
      let contentType = properties?.contentType;
      // Nothing but a payload (an MQTT 3.1.1 publisher): structured mode, as the binding says.
      if (contentType === undefined && headers === EMPTY_HEADERS) contentType = STRUCTURED_CONTENT_TYPE;
      message = { headers, contentType, body };
    }
    return new MqttDelivery(message, attempt, firstAttemptAt, destination, packetId, this.#epoch, notBefore, this);
  }

  #enqueue(delivery: MqttDelivery): void {
    if (delivery.epoch !== this.#epoch) return; // its connection is gone: the broker sends it again
    if (this.#head === this.#queue.length && this.#state === 'running' && this.#active < this.spec.concurrency && !this.#pumping) {
      this.#active++;
      this.onDelivery(delivery);
      return;
    }
    this.#queue.push(delivery);
    this.#pump();
  }

  #settle(delivery: MqttDelivery): boolean {
    if (delivery.settled) return false;
    delivery.settled = true;
    this.#active--;
    this.#pump();
    return true;
  }

  /**
   * Hands waiting deliveries to core, oldest first, while there is room. Not re-entrant: a handler
   * that settles synchronously (inside onDelivery) only frees room, and this loop goes on.
   */
  #pump(): void {
    if (this.#pumping || this.#state !== 'running') return;
    this.#pumping = true;
    try {
      while (this.#active < this.spec.concurrency && this.#head < this.#queue.length) {
        const next = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined as unknown as MqttDelivery;
        if (next.epoch !== this.#epoch) continue;
        this.#active++;
        this.onDelivery(next);
      }
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** @internal Delivery.ack: PUBACK now. */
  ack(delivery: MqttDelivery): Promise<void> {
    if (!this.#settle(delivery)) return SETTLED;
    return this.#puback(delivery);
  }

  /** @internal Delivery.nack: republish to this subscription's redelivery topic (due later, one attempt more), then PUBACK the original. */
  nack(delivery: MqttDelivery, delayMs: number): Promise<void> {
    if (!this.#settle(delivery)) return SETTLED;
    const topic = this.topics.redeliverTopic(this.spec.name, {
      attempt: delivery.attempt + 1,
      firstAttemptAt: delivery.firstAttemptAt,
      notBefore: Date.now() + Math.max(0, Math.ceil(delayMs)),
      destination: delivery.destination,
    });
    return this.publish(topic, delivery.message, 'redelivery').then(() => this.#puback(delivery));
  }

  /** @internal Delivery.deadLetter: store as a retained message on its own topic, then PUBACK the original. */
  deadLetter(delivery: MqttDelivery, message: WireMessage): Promise<void> {
    if (!this.#settle(delivery)) return SETTLED;
    const topic = this.topics.deadLetterTopic(this.spec.name, Date.now(), randomUUID());
    return this.publish(topic, message, 'retained').then(() => this.#puback(delivery));
  }

  #puback(delivery: MqttDelivery): Promise<void> {
    const client = this.#client;
    if (delivery.epoch !== this.#epoch || !client.connected || this.#state === 'closed') {
      return Promise.reject(
        new MqttConnectionLostError(
          `mqtt transport: the connection of subscription ${this.spec.name} that received this message is gone; the broker sends it again.`,
        ),
      );
    }
    (client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId: delivery.packetId, reasonCode: 0 });
    return SETTLED;
  }

  /** Messages received but not with core yet belong to a lost connection: the broker sends them again on the resumed session. */
  #forgetUnhanded(): void {
    for (const timer of this.#held) clearTimeout(timer);
    this.#held.clear();
    this.#queue = [];
    this.#head = 0;
  }

  /** Stops handing out deliveries. What arrives from now on stays unacknowledged, and goes back to the broker at close. */
  stop(): Promise<void> {
    if (this.#state === 'running') this.#state = 'stopped';
    return SETTLED;
  }

  /**
   * Disconnects, keeping the persistent session: everything not acknowledged yet (with core, waiting
   * here, or held for a delayed redelivery) stays with the broker, which sends it again to the next
   * consumer resuming this session; messages published meanwhile are queued in the session.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#forgetUnhanded();
    try {
      await endConnection(this.#client);
    } finally {
      releaseSlot(this.#slotKey, this.#slot);
    }
  }
}

/** User properties as headers: a repeated property keeps its first value. */
function flatten(properties: Record<string, string | string[]>): Readonly<Record<string, string>> {
  for (const name in properties) {
    if (typeof properties[name] !== 'string') {
      const headers: Record<string, string> = {};
      for (const key in properties) {
        const value = properties[key]!;
        headers[key] = typeof value === 'string' ? value : (value[0] ?? '');
      }
      return headers;
    }
  }
  return properties as Record<string, string>;
}
