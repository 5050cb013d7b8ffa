import { BookkeepingReader, type Delivery, type WireMessage } from '@cloudbus/core/transport';
import type { IPublishPacket } from 'mqtt';

import { fromMqttMessage, type MqttProtocolVersion } from './mqtt-binding.js';
import type { MqttTopics } from './mqtt-topics.js';

/** Who settles a delivery: its subscription. */
export interface DeliverySettler {
  ack(delivery: MqttDelivery): Promise<void>;
  nack(delivery: MqttDelivery, delayMs: number): Promise<void>;
  deadLetter(delivery: MqttDelivery, message: WireMessage): Promise<void>;
}

/** One message handed to core, settled once by ack, nack or deadLetter. */
export class MqttDelivery implements Delivery {
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
    /** The connection it came in on (see `MqttSession.epoch`): a PUBACK is only valid there. */
    readonly epoch: number,
    readonly notBefore: number,
    private readonly owner: DeliverySettler,
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
 * A received PUBLISH as a delivery: the wire message (see `fromMqttMessage`) and, for a message on
 * a redelivery topic, the attempt, first attempt time, due time and original topic its levels carry
 * (read hostile: malformed levels are noted and the message counts as a first delivery).
 */
export function deliveryOf(
  packet: IPublishPacket,
  packetId: number,
  epoch: number,
  topics: MqttTopics,
  protocolVersion: MqttProtocolVersion,
  owner: DeliverySettler,
): MqttDelivery {
  const topic = packet.topic;
  const read = new BookkeepingReader();
  const redelivery = topics.parseRedeliver(topic, read);
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
  const message = fromMqttMessage(packet.payload as Buffer, packet.properties, protocolVersion);
  return new MqttDelivery(message, attempt, firstAttemptAt, destination, packetId, epoch, notBefore, owner, read.notes.length === 0 ? undefined : read.notes);
}
