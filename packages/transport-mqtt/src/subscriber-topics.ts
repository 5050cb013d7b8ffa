import type { MqttClient, Packet } from 'mqtt';

import type { PublishKind } from './mqtt-publisher.js';

/** MQTT 5 PUBACK reason code: accepted, but no subscription matched, so the broker stored the message for no one. */
export const NO_MATCHING_SUBSCRIBERS = 16;

/**
 * What the publishing side knows about subscribers, to tell a PUBACK that stored a message from one
 * that dropped it. MQTT 5 PUBACK reason 16 ("No matching subscribers") counts as success in MQTT
 * and mqtt.js, and is normal for a topic nobody subscribes to (like an unroutable message on a
 * RabbitMQ topic exchange). But on an event topic that had subscribers (seen with reason 0, or
 * subscribed by this transport) it means they are briefly gone: Mosquitto 2.0 forgets shared
 * subscriptions across a restart until each consumer subscribes again. Such a message was stored
 * for no one and must be published again.
 *
 * Remembers at most `capacity` topics seen with subscribers (topics subscribed by this transport
 * always count). MQTT 3.1.1 has no reason codes: nothing is learned, every PUBACK stores.
 */
export class SubscriberTopics {
  readonly #routed = new Set<string>();
  /** Packet ids whose PUBACK said "No matching subscribers", until their publish callback reads them. */
  readonly #unrouted = new Set<number>();

  constructor(
    /** false on MQTT 3.1.1 (no reason codes). */
    private readonly enabled: boolean,
    private readonly capacity = 10_000,
  ) {}

  /**
   * Notes the reason code of every PUBACK the client receives. Needed because mqtt.js treats codes
   * below 0x80 as success and passes the publish callback the PUBLISH it sent, not the PUBACK.
   */
  watch(client: MqttClient): void {
    if (!this.enabled) return;
    client.on('packetreceive', (packet: Packet) => {
      if (packet.cmd === 'puback' && packet.reasonCode === NO_MATCHING_SUBSCRIBERS && packet.messageId !== undefined) {
        this.#unrouted.add(packet.messageId);
      }
    });
  }

  /** Topics this transport subscribes to have a subscriber (itself), whatever the capacity. */
  subscribed(topic: string): void {
    if (this.enabled) this.#routed.add(topic);
  }

  /**
   * Reads the PUBACK of the message with packet id `messageId` published to `topic`: true when the
   * broker stored it (for subscribers, or as a retained message, or the topic never had any), false
   * when it dropped it for want of a subscriber the topic should have. One Set operation per PUBACK.
   */
  stored(topic: string, kind: PublishKind, messageId: number | undefined): boolean {
    if (this.#unrouted.size !== 0 && messageId !== undefined && this.#unrouted.delete(messageId)) {
      // A redelivery topic always has its subscription; a retained message is kept without subscribers.
      return kind === 'retained' || (kind === 'event' && !this.#routed.has(topic));
    }
    if (kind === 'event' && this.enabled && this.#routed.size < this.capacity) this.#routed.add(topic);
    return true;
  }
}
