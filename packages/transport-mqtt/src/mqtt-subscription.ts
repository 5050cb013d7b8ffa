import { randomUUID } from 'node:crypto';

import { BookkeepingReader, STRUCTURED_CONTENT_TYPE, type Delivery, type Subscription, type SubscriptionSpec, type WireMessage } from '@cloudbus/core';
import type { IConnackPacket, IDisconnectPacket, IPublishPacket, ISubscriptionMap, MqttClient } from 'mqtt';

import { MqttConnectionLostError, MqttSubscribeError } from './errors.js';
import { ACK_LATER, groupHasMember, roundTrip, sendPuback, within } from './group-membership.js';
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

const SETTLED = Promise.resolve();
const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
/** MQTT 5 DISCONNECT reason: another connection took this client id over. */
const SESSION_TAKEN_OVER = 0x8e;
/** Most hand-back rounds (each returns what arrived since the last one). */
const HAND_BACK_ROUNDS = 100;

/** One message handed to core, settled once by ack, nack or deadLetter. */
class MqttDelivery implements Delivery {
  settled = false;
  /** Neighbours in the subscription's list of deliveries with core (a list, not a Set: no hashing per message). */
  previous: MqttDelivery | undefined = undefined;
  next: MqttDelivery | undefined = undefined;

  constructor(
    readonly message: WireMessage,
    readonly attempt: number,
    readonly firstAttemptAt: number,
    readonly destination: string,
    readonly packetId: number,
    readonly epoch: number,
    readonly notBefore: number,
    private readonly owner: MqttSubscription,
    /** Bookkeeping levels of a redelivery topic that were malformed and ignored (see `MqttTopics.parseRedeliver`). */
    readonly ignored: readonly string[] | undefined,
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
  /** Deliveries with core and not settled yet: the newest, linked to the older ones through `previous`. */
  #newest: MqttDelivery | undefined;
  /** Redeliveries waiting for their due time, by timer. */
  readonly #held = new Map<NodeJS.Timeout, MqttDelivery>();
  #state: 'running' | 'stopped' | 'closed' = 'running';
  /** The SUBSCRIBE of this subscription, sent again on every resumed session (undefined once it left its group). */
  #request: Record<string, { qos: 1 }> | undefined;
  readonly #probeTopic: string;
  /** Leaving the shared group (from {@link stop}); true once left, so what this consumer holds is handed back. */
  #leaving: Promise<boolean> | undefined;
  /** Handing back what the group's parking session holds (from {@link open}), on this connection. */
  #unparking: Promise<void> | undefined;
  #parkingClient: MqttClient | undefined;
  #closing: Promise<void> | undefined;

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
    this.#probeTopic = topics.groupProbeTopic(spec.name);
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
    // A member now: take over what the group's last consumer parked when it stopped (in the background).
    if (options.protocolVersion === 5) subscription.#unparking = subscription.#unpark().catch(() => {});
    return subscription;
  }

  /** This subscription's MQTT client id (stable per subscription, instance and slot). */
  get clientId(): string {
    return this.#clientId;
  }

  #clientIdFor(slot: number): string {
    return `${safeName(this.topics.prefix)}--${safeName(this.spec.name)}--${this.options.instanceId}--${slot}`;
  }

  /** The client id of the group's parking session, which stores the group's messages while no consumer is left. */
  get parkingClientId(): string {
    return parkingClientId(this.topics.prefix, this.spec.name);
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
    const request = this.#sharedFilters();
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

  /**
   * Leaves the shared subscriptions to `topics` that this session may still hold from an earlier
   * start with other types (a persistent session keeps them). Filters it does not hold are fine.
   */
  async unsubscribeStale(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    const group = safeName(this.spec.name);
    await this.#client.unsubscribeAsync(topics.map((topic) => `$share/${group}/${topic}`));
  }

  /** `$share/<subscription>/<filter>` for each type's topic and for the subscription's redeliveries. */
  #sharedFilters(): Record<string, { qos: 1 }> {
    const group = safeName(this.spec.name);
    const filters = [...new Set(this.spec.types.map((type) => this.topics.forType(type)))];
    filters.push(this.topics.redeliverFilter(this.spec.name));
    const request: Record<string, { qos: 1 }> = {};
    for (const filter of filters) request[`$share/${group}/${filter}`] = { qos: 1 };
    return request;
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
    if (packet.qos === 0 || packet.messageId === undefined || packet.topic === this.#probeTopic) {
      callback(); // a probe of a member leaving the group: acknowledged, never handled
      return;
    }
    callback(ACK_LATER);
    const delivery = this.#toDelivery(packet, packet.messageId);
    const wait = delivery.notBefore === 0 ? 0 : delivery.notBefore - Date.now();
    if (wait > 0) {
      const timer = setTimeout(() => {
        this.#held.delete(timer);
        this.#enqueue(delivery);
      }, wait);
      this.#held.set(timer, delivery);
      return;
    }
    this.#enqueue(delivery);
  };

  #toDelivery(packet: IPublishPacket, packetId: number): MqttDelivery {
    const topic = packet.topic;
    const read = new BookkeepingReader();
    const redelivery = this.topics.parseRedeliver(topic, read);
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
    return new MqttDelivery(message, attempt, firstAttemptAt, destination, packetId, this.#epoch, notBefore, this, read.notes.length === 0 ? undefined : read.notes);
  }

  #enqueue(delivery: MqttDelivery): void {
    if (delivery.epoch !== this.#epoch) return; // its connection is gone: the broker sends it again
    if (this.#head === this.#queue.length && this.#state === 'running' && this.#active < this.spec.concurrency && !this.#pumping) {
      this.#active++;
      this.#withCore(delivery);
      this.onDelivery(delivery);
      return;
    }
    this.#queue.push(delivery);
    this.#pump();
  }

  #settle(delivery: MqttDelivery): boolean {
    if (delivery.settled) return false;
    delivery.settled = true;
    this.#settledByCore(delivery);
    this.#active--;
    this.#pump();
    return true;
  }

  #withCore(delivery: MqttDelivery): void {
    const newest = this.#newest;
    delivery.previous = newest;
    if (newest !== undefined) newest.next = delivery;
    this.#newest = delivery;
  }

  #settledByCore(delivery: MqttDelivery): void {
    const { previous, next } = delivery;
    if (previous !== undefined) previous.next = next;
    if (next !== undefined) next.previous = previous;
    else if (this.#newest === delivery) this.#newest = previous;
    delivery.previous = delivery.next = undefined;
  }

  /** Empties the list of deliveries with core, returning them. */
  #takeWithCore(): MqttDelivery[] {
    const taken: MqttDelivery[] = [];
    for (let delivery = this.#newest; delivery !== undefined; delivery = delivery.previous) taken.push(delivery);
    for (const delivery of taken) delivery.previous = delivery.next = undefined;
    this.#newest = undefined;
    return taken;
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
        this.#withCore(next);
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
    sendPuback(client, delivery.packetId);
    return SETTLED;
  }

  /** Messages received but not with core yet belong to a lost connection: the broker sends them again on the resumed session. */
  #forgetUnhanded(): void {
    for (const timer of this.#held.keys()) clearTimeout(timer);
    this.#held.clear();
    this.#queue = [];
    this.#head = 0;
    this.#takeWithCore();
  }

  /**
   * Stops handing out deliveries and, on MQTT 5, leaves the shared group, so that the broker stops
   * routing this subscription's messages to this consumer's session (Mosquitto keeps sending a
   * member its share while it is offline). It unsubscribes, then publishes a probe to the group:
   * if another member takes it, this consumer is done; if none does, it subscribes the group's
   * parking session (a persistent session with a client id of the group, not of the instance) in
   * its place, so the group's messages keep being stored while no consumer runs, for whichever
   * instance starts next. What this consumer holds is handed back at {@link close}. If leaving
   * fails (connection lost), it stays a member, as on MQTT 3.1.1.
   */
  stop(): Promise<void> {
    if (this.#state === 'running') {
      this.#state = 'stopped';
      this.#leaving = this.#leaveGroup();
    }
    return this.#leaving === undefined ? SETTLED : this.#leaving.then(() => undefined);
  }

  async #leaveGroup(): Promise<boolean> {
    const client = this.#client;
    const request = this.#request;
    if (this.options.protocolVersion !== 5 || request === undefined || !client.connected) return false;
    // Bounded: a broker that does not answer must not hold up stop(); the UNSUBSCRIBE still queued
    // in mqtt.js is dropped with the connection at close.
    const limit = this.options.connectTimeoutMs;
    try {
      await within(client.unsubscribeAsync(Object.keys(request)), limit, 'leaving the shared group');
    } catch {
      return false;
    }
    this.#request = undefined;
    try {
      if (!(await within(groupHasMember(client, this.#probeTopic), limit, 'probing the shared group'))) {
        await within(this.#park(request), limit, 'parking the shared group');
      }
      return true;
    } catch {
      // Nobody is sure to take the group's messages: stay a member, as before.
      this.#request = request;
      await client.subscribeAsync({ ...request, resubscribe: true } as ISubscriptionMap).catch(() => {});
      return false;
    }
  }

  /** Subscribes the group's parking session to the group's filters (it stays offline, storing what the group receives). */
  async #park(request: Record<string, { qos: 1 }>): Promise<void> {
    const parking = await openConnection(this.options, {
      clientId: this.parkingClientId,
      clean: false,
      receiveMaximum: 1,
      // What it holds already stays unacknowledged, in the session.
      prepare: (client) => (client.handleMessage = (_packet, callback) => callback(ACK_LATER)),
    });
    try {
      await parking.subscribeAsync({ ...request });
    } finally {
      await endConnection(parking);
    }
  }

  /**
   * Hands what the group's parking session holds back to the group (this consumer is a member
   * by now): unsubscribes it from the group, then republishes each of its messages to the group's
   * redelivery topic (same attempt) before acknowledging it, until the session is empty.
   */
  async #unpark(): Promise<void> {
    const parked: IPublishPacket[] = [];
    let present = false;
    const parking = await openConnection(this.options, {
      clientId: this.parkingClientId,
      clean: false,
      receiveMaximum: 1_000,
      prepare: (client) => {
        client.once('connect', (connack: IConnackPacket) => (present = connack.sessionPresent));
        client.handleMessage = (packet, callback) => {
          callback(ACK_LATER);
          if (packet.qos !== 0 && packet.messageId !== undefined && packet.topic !== this.#probeTopic) parked.push(packet);
        };
      },
    });
    // Nothing was ever parked: leave no session behind. (Whoever parks connects with the same
    // client id, which would have ended this connection before this DISCONNECT.)
    if (!present) return endConnection(parking, true);
    this.#parkingClient = parking;
    try {
      await parking.unsubscribeAsync(Object.keys(this.#sharedFilters()));
      for (let round = 0; round < HAND_BACK_ROUNDS && parking.connected; round++) {
        const batch = parked.splice(0);
        await Promise.all(
          batch.map(async (packet) => {
            // Not DUP: the parking session's connections never hand anything to a handler.
            const delivery = this.#toDelivery({ ...packet, dup: false }, packet.messageId!);
            await this.publish(this.#redeliveryOf(delivery, delivery.attempt), delivery.message, 'redelivery');
            sendPuback(parking, packet.messageId!);
          }),
        );
        if (!(await roundTrip(parking)) || (batch.length === 0 && parked.length === 0)) break;
      }
    } finally {
      await endConnection(parking);
    }
  }

  #redeliveryOf(delivery: MqttDelivery, attempt: number): string {
    return this.topics.redeliverTopic(this.spec.name, {
      attempt,
      firstAttemptAt: delivery.firstAttemptAt,
      notBefore: delivery.notBefore,
      destination: delivery.destination,
    });
  }

  /**
   * Ends the subscription. A consumer that left its group ({@link stop}) first hands back what it
   * holds: each message not settled (with core, waiting here, or held for a delayed retry) and
   * whatever its session still had queued is republished to the group's redelivery topic (one
   * attempt more if a handler had it) and then acknowledged, so another member, or the parking
   * session, has it. Then it disconnects, keeping the persistent session: anything not handed back
   * (the connection was lost) stays with the broker, which sends it again to the next consumer
   * resuming this session.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.stop();
    const left = (await this.#leaving) ?? false;
    // Bounded, so close() settles even when the broker stopped answering: what was not handed back stays in the session.
    const limit = this.options.publishTimeoutMs;
    try {
      if (this.#unparking !== undefined) await within(this.#unparking, limit, 'taking over the parked messages');
      if (left) await within(this.#handBack(), limit, 'handing messages back to the group');
    } catch {
      // Left with the broker: the messages not acknowledged yet are sent again to this session's next consumer.
    } finally {
      this.#state = 'closed';
      this.#forgetUnhanded();
      try {
        if (this.#parkingClient !== undefined) await endConnection(this.#parkingClient);
        await endConnection(this.#client);
      } finally {
        releaseSlot(this.#slotKey, this.#slot);
      }
    }
  }

  async #handBack(): Promise<void> {
    const client = this.#client;
    const epoch = this.#epoch;
    for (let round = 0; round < HAND_BACK_ROUNDS && client.connected && epoch === this.#epoch; round++) {
      const returning: Promise<void>[] = [];
      for (const delivery of this.#takeWithCore()) returning.push(this.#returnToGroup(delivery, delivery.attempt + 1));
      for (let i = this.#head; i < this.#queue.length; i++) returning.push(this.#returnToGroup(this.#queue[i]!, this.#queue[i]!.attempt));
      this.#queue = [];
      this.#head = 0;
      for (const [timer, delivery] of this.#held) {
        clearTimeout(timer);
        returning.push(this.#returnToGroup(delivery, delivery.attempt));
      }
      this.#held.clear();
      await Promise.all(returning);
      if (!(await roundTrip(client)) || (returning.length === 0 && this.#head === this.#queue.length && this.#held.size === 0)) return;
    }
  }

  /** Republishes one delivery to the group's redelivery topic, then acknowledges it; left unacknowledged (with the broker) if that fails. */
  async #returnToGroup(delivery: MqttDelivery, attempt: number): Promise<void> {
    if (delivery.settled || delivery.epoch !== this.#epoch) return;
    delivery.settled = true;
    try {
      await this.publish(this.#redeliveryOf(delivery, attempt), delivery.message, 'redelivery');
      await this.#puback(delivery);
    } catch {
      // Its session keeps it: the broker sends it again to the next consumer of this session.
    }
  }
}

/** The client id of a subscription group's parking session: `<prefix>--<subscription>--parking`. */
export function parkingClientId(prefix: string, subscription: string): string {
  return `${safeName(prefix)}--${safeName(subscription)}--parking`;
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
