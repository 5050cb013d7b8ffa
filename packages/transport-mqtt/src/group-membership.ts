import { Buffer } from 'node:buffer';

import type { IPublishPacket, MqttClient, Packet } from 'mqtt';

import type { PacketSender } from './manual-ack.js';
import { MqttConnectError } from './mqtt-errors.js';
import { NO_MATCHING_SUBSCRIBERS } from './subscriber-topics.js';

const EMPTY = Buffer.alloc(0);
const ROUND_TRIP_TIMEOUT_MS = 5_000;

/**
 * Publishes an empty message to `probeTopic` on `client` (MQTT 5) and reads its PUBACK: true when
 * some session of the group took it (reason 0), false on "No matching subscribers" (reason 16).
 * A member that is offline but keeps its session counts as taking it.
 */
export function groupHasMember(client: MqttClient, probeTopic: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const reasons = new Map<number, number>();
    const onPacket = (packet: Packet): void => {
      if (packet.cmd === 'puback' && packet.messageId !== undefined) reasons.set(packet.messageId, packet.reasonCode ?? 0);
    };
    client.on('packetreceive', onPacket);
    client.publish(probeTopic, EMPTY, { qos: 1 }, (error, packet) => {
      client.removeListener('packetreceive', onPacket);
      if (error !== undefined && error !== null) reject(error);
      else resolve(reasons.get((packet as IPublishPacket | undefined)?.messageId ?? -1) !== NO_MATCHING_SUBSCRIBERS);
    });
  });
}

/**
 * A PINGREQ / PINGRESP round trip. Mosquitto handles a connection's packets in order and sends a
 * session's queued messages as soon as a PUBACK frees an in-flight slot: whatever the session
 * still held when our last PUBACK arrived has been sent before the PINGRESP. Resolves false when
 * no PINGRESP came within 5 s or the connection closed.
 */
export function roundTrip(client: MqttClient): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      client.removeListener('packetreceive', onPacket);
      client.removeListener('close', onClose);
      resolve(ok);
    };
    const onPacket = (packet: Packet): void => {
      if (packet.cmd === 'pingresp') done(true);
    };
    const onClose = (): void => done(false);
    const timer = setTimeout(() => done(false), ROUND_TRIP_TIMEOUT_MS);
    client.on('packetreceive', onPacket);
    client.on('close', onClose);
    (client as unknown as PacketSender)._sendPacket({ cmd: 'pingreq' });
  });
}

/** Rejects when `promise` has not settled within `ms` (the work goes on, unawaited). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new MqttConnectError(`mqtt transport: the broker did not answer: ${what} took longer than ${ms} ms.`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}
