import type { SubscriptionSpec } from '@cloudbus/core/transport';
import type { IConnackPacket, IPublishPacket, ISubscriptionMap, MqttClient } from 'mqtt';

import type { DeliveryFlow } from './delivery-flow.js';
import { groupHasMember, roundTrip, within } from './group-membership.js';
import { ACK_LATER, sendPuback } from './manual-ack.js';
import { endConnection, openConnection } from './mqtt-connection.js';
import { deliveryOf, type DeliverySettler, type MqttDelivery } from './mqtt-delivery.js';
import type { WirePublisher } from './mqtt-publisher.js';
import { sharedFilters, type MqttSession, type SharedFilters } from './mqtt-session.js';
import { parkingClientId, type MqttTopics } from './mqtt-topics.js';
import type { ResolvedMqttOptions } from './mqtt-transport-options.js';

/** Most hand-back rounds (each returns what arrived since the last one). */
const HAND_BACK_ROUNDS = 100;

/**
 * How a consumer joins and leaves its subscription's shared group (MQTT 5) without losing what the
 * group receives meanwhile:
 *
 * - leaving ({@link leave}): unsubscribe, then probe the group; if no other member takes the probe,
 *   subscribe the group's parking session (a persistent session with a client id of the group, not
 *   of the instance) in this consumer's place, so the group's messages are stored while no consumer
 *   runs;
 * - handing back ({@link handOver}, at close): every message this consumer holds and has not settled
 *   is republished to the group's redelivery topic, then acknowledged, so another member (or the
 *   parking session) has it;
 * - joining ({@link takeOverParked}): what the parking session holds is republished to the group and
 *   the parking session leaves the group.
 */
export class ShareGroupHandoff {
  /** Leaving the shared group: true once left, so what this consumer holds is handed back. */
  #leaving: Promise<boolean> | undefined;
  /** Handing back what the group's parking session holds, on this connection. */
  #unparking: Promise<void> | undefined;
  #parkingClient: MqttClient | undefined;
  readonly #probeTopic: string;

  constructor(
    private readonly spec: SubscriptionSpec,
    private readonly options: ResolvedMqttOptions,
    private readonly topics: MqttTopics,
    private readonly session: MqttSession,
    private readonly flow: DeliveryFlow,
    private readonly publish: WirePublisher,
    private readonly settler: DeliverySettler,
  ) {
    this.#probeTopic = topics.groupProbeTopic(spec.name);
  }

  /** The client id of the group's parking session, which stores the group's messages while no consumer is left. */
  get parkingClientId(): string {
    return parkingClientId(this.topics.prefix, this.spec.name);
  }

  /** A member now: takes over, in the background, what the group's last consumer parked when it stopped. */
  takeOverParked(): void {
    this.#unparking = this.#unpark().catch(() => {});
  }

  /** Leaves the group once (see the class); resolves true once left, false when this consumer stays a member. */
  leave(): Promise<boolean> {
    this.#leaving ??= this.#leaveGroup();
    return this.#leaving;
  }

  /** Whether {@link leave} was called, and how it went. */
  get leaving(): Promise<boolean> | undefined {
    return this.#leaving;
  }

  /**
   * At close: waits for the parked messages to be taken over, then, when this consumer left its
   * group, hands back what it holds. Each step is bounded by `limit` ms and rejects past it: what
   * was not handed back stays in the session.
   */
  async handOver(left: boolean, limit: number): Promise<void> {
    if (this.#unparking !== undefined) await within(this.#unparking, limit, 'taking over the parked messages');
    if (left) await within(this.#handBack(), limit, 'handing messages back to the group');
  }

  /** Ends the parking session's connection if it is still open. */
  async endParking(): Promise<void> {
    if (this.#parkingClient !== undefined) await endConnection(this.#parkingClient);
  }

  async #leaveGroup(): Promise<boolean> {
    const client = this.session.client;
    const request = this.session.request;
    if (this.options.protocolVersion !== 5 || request === undefined || !client.connected) return false;
    // Bounded: a broker that does not answer must not hold up stop(); the UNSUBSCRIBE still queued
    // in mqtt.js is dropped with the connection at close.
    const limit = this.options.connectTimeoutMs;
    try {
      await within(client.unsubscribeAsync(Object.keys(request)), limit, 'leaving the shared group');
    } catch {
      return false;
    }
    this.session.request = undefined;
    try {
      if (!(await within(groupHasMember(client, this.#probeTopic), limit, 'probing the shared group'))) {
        await within(this.#park(request), limit, 'parking the shared group');
      }
      return true;
    } catch {
      // Nobody is sure to take the group's messages: stay a member, as before.
      this.session.request = request;
      await client.subscribeAsync({ ...request, resubscribe: true } as ISubscriptionMap).catch(() => {});
      return false;
    }
  }

  /** Subscribes the group's parking session to the group's filters (it stays offline, storing what the group receives). */
  async #park(request: SharedFilters): Promise<void> {
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
      await parking.unsubscribeAsync(Object.keys(sharedFilters(this.topics, this.spec)));
      for (let round = 0; round < HAND_BACK_ROUNDS && parking.connected; round++) {
        const batch = parked.splice(0);
        await Promise.all(
          batch.map(async (packet) => {
            // Not DUP: the parking session's connections never hand anything to a handler.
            const delivery = deliveryOf({ ...packet, dup: false }, packet.messageId!, this.session.epoch, this.topics, this.options.protocolVersion, this.settler);
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

  async #handBack(): Promise<void> {
    const client = this.session.client;
    const epoch = this.session.epoch;
    for (let round = 0; round < HAND_BACK_ROUNDS && client.connected && epoch === this.session.epoch; round++) {
      const returning: Promise<void>[] = [];
      const { withCore, waiting, held } = this.flow.takeAll();
      for (const delivery of withCore) returning.push(this.#returnToGroup(delivery, delivery.attempt + 1));
      for (const delivery of waiting) returning.push(this.#returnToGroup(delivery, delivery.attempt));
      for (const delivery of held) returning.push(this.#returnToGroup(delivery, delivery.attempt));
      await Promise.all(returning);
      if (!(await roundTrip(client)) || (returning.length === 0 && this.flow.drained)) return;
    }
  }

  /** Republishes one delivery to the group's redelivery topic, then acknowledges it; left unacknowledged (with the broker) if that fails. */
  async #returnToGroup(delivery: MqttDelivery, attempt: number): Promise<void> {
    if (delivery.settled || delivery.epoch !== this.session.epoch) return;
    delivery.settled = true;
    try {
      await this.publish(this.#redeliveryOf(delivery, attempt), delivery.message, 'redelivery');
      await this.session.puback(delivery.packetId, delivery.epoch);
    } catch {
      // Its session keeps it: the broker sends it again to the next consumer of this session.
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
}
