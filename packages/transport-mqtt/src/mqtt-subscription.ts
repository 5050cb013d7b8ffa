import { randomUUID } from 'node:crypto';

import { SETTLED, type Delivery, type Subscription, type SubscriptionSpec, type WireMessage } from '@cloudbus/core/transport';
import type { IPublishPacket } from 'mqtt';

import { DeliveryFlow } from './delivery-flow.js';
import { ACK_LATER } from './manual-ack.js';
import { deliveryOf, type DeliverySettler, type MqttDelivery } from './mqtt-delivery.js';
import type { WirePublisher } from './mqtt-publisher.js';
import { MqttSession } from './mqtt-session.js';
import type { MqttTopics } from './mqtt-topics.js';
import type { ResolvedMqttOptions } from './mqtt-transport-options.js';
import { ShareGroupHandoff } from './share-group-handoff.js';

/**
 * One handler subscription: its own persistent session ({@link MqttSession}), at most
 * `spec.concurrency` deliveries with core at once ({@link DeliveryFlow}), and manual
 * acknowledgement: the PUBACK goes out only once core settled the delivery, so a crash mid-handle
 * means the broker sends the message again. A redelivery (`nack`) is republished to the
 * subscription's own redelivery topic, a dead letter is stored as a retained message, each before
 * the original is acknowledged. On stop and close it leaves its shared group and hands back what it
 * holds ({@link ShareGroupHandoff}).
 */
export class MqttSubscription implements Subscription, DeliverySettler {
  #state: 'running' | 'stopped' | 'closed' = 'running';
  readonly #session: MqttSession;
  readonly #flow: DeliveryFlow;
  readonly #handoff: ShareGroupHandoff;
  readonly #probeTopic: string;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly spec: SubscriptionSpec,
    onDelivery: (delivery: Delivery) => void,
    private readonly options: ResolvedMqttOptions,
    private readonly topics: MqttTopics,
    private readonly publish: WirePublisher,
  ) {
    this.#probeTopic = topics.groupProbeTopic(spec.name);
    this.#session = new MqttSession(spec, options, topics, { onPacket: this.#onPacket, onLost: () => this.#flow.forget() });
    this.#flow = new DeliveryFlow(spec.concurrency, onDelivery, this.#session);
    this.#handoff = new ShareGroupHandoff(spec, options, topics, this.#session, this.#flow, publish, this);
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
    await subscription.#session.connect();
    if (options.protocolVersion === 5) subscription.#handoff.takeOverParked();
    return subscription;
  }

  /** This subscription's MQTT client id (stable per subscription, instance and slot). */
  get clientId(): string {
    return this.#session.clientId;
  }

  /** The client id of the group's parking session, which stores the group's messages while no consumer is left. */
  get parkingClientId(): string {
    return this.#handoff.parkingClientId;
  }

  /** See `MqttSession.unsubscribeStale`. */
  unsubscribeStale(topics: readonly string[]): Promise<void> {
    return this.#session.unsubscribeStale(topics);
  }

  /** mqtt.js calls this for each PUBLISH, one at a time; it must call back at once or the connection stalls. */
  readonly #onPacket = (packet: IPublishPacket, callback: (error?: Error) => void): void => {
    if (packet.qos === 0 || packet.messageId === undefined || packet.topic === this.#probeTopic) {
      callback(); // a probe of a member leaving the group: acknowledged, never handled
      return;
    }
    callback(ACK_LATER);
    this.#flow.receive(deliveryOf(packet, packet.messageId, this.#session.epoch, this.topics, this.options.protocolVersion, this));
  };

  /** @internal Delivery.ack: PUBACK now. */
  ack(delivery: MqttDelivery): Promise<void> {
    if (!this.#flow.settle(delivery)) return SETTLED;
    return this.#session.puback(delivery.packetId, delivery.epoch);
  }

  /** @internal Delivery.nack: republish to this subscription's redelivery topic (due later, one attempt more), then PUBACK the original. */
  nack(delivery: MqttDelivery, delayMs: number): Promise<void> {
    if (!this.#flow.settle(delivery)) return SETTLED;
    const topic = this.topics.redeliverTopic(this.spec.name, {
      attempt: delivery.attempt + 1,
      firstAttemptAt: delivery.firstAttemptAt,
      notBefore: Date.now() + Math.max(0, Math.ceil(delayMs)),
      destination: delivery.destination,
    });
    return this.publish(topic, delivery.message, 'redelivery').then(() => this.#session.puback(delivery.packetId, delivery.epoch));
  }

  /** @internal Delivery.deadLetter: store as a retained message on its own topic, then PUBACK the original. */
  deadLetter(delivery: MqttDelivery, message: WireMessage): Promise<void> {
    if (!this.#flow.settle(delivery)) return SETTLED;
    const topic = this.topics.deadLetterTopic(this.spec.name, Date.now(), randomUUID());
    return this.publish(topic, message, 'retained').then(() => this.#session.puback(delivery.packetId, delivery.epoch));
  }

  /**
   * Stops handing out deliveries and, on MQTT 5, leaves the shared group, so that the broker stops
   * routing this subscription's messages to this consumer's session (Mosquitto keeps sending a
   * member its share while it is offline); see {@link ShareGroupHandoff}. What this consumer holds
   * is handed back at {@link close}. If leaving fails (connection lost), it stays a member, as on
   * MQTT 3.1.1.
   */
  stop(): Promise<void> {
    if (this.#state === 'running') {
      this.#state = 'stopped';
      this.#flow.stop();
      void this.#handoff.leave();
    }
    const leaving = this.#handoff.leaving;
    return leaving === undefined ? SETTLED : leaving.then(() => undefined);
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
    const left = (await this.#handoff.leaving) ?? false;
    try {
      // Bounded, so close() settles even when the broker stopped answering: what was not handed back stays in the session.
      await this.#handoff.handOver(left, this.options.publishTimeoutMs);
    } catch {
      // Left with the broker: the messages not acknowledged yet are sent again to this session's next consumer.
    } finally {
      this.#state = 'closed';
      this.#session.retire();
      this.#flow.forget();
      try {
        await this.#handoff.endParking();
      } finally {
        await this.#session.end();
      }
    }
  }
}
