import { CloudbusError } from '@cloudbus/core/transport';
import type { MqttClient } from 'mqtt';

// mqtt.js acknowledges a QoS 1 message as soon as its handleMessage callback is called without an
// error, and has no public API to acknowledge later. cloudbus acknowledges only once the handler is
// done, so it answers the callback with ACK_LATER and sends the PUBACK itself.

/** The private part of mqtt.js this transport relies on: sending a packet (PUBACK, PINGREQ) itself. */
export interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode?: number } | { cmd: 'pingreq' }): void;
}

/** Passed to mqtt.js's handleMessage callback: the message is processed, but no PUBACK is to be sent now. */
export const ACK_LATER = new CloudbusError('cloudbus acknowledges this message once its handler has finished');

/** Sends a PUBACK for `messageId` on `client` (mqtt.js has no public manual-acknowledge API). */
export function sendPuback(client: MqttClient, messageId: number): void {
  (client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 });
}
