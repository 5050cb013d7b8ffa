import { silentLogger, type ContentMode } from '@cloudbus/core';
import { MqttTransport, parkingClientId } from '@cloudbus/transport-mqtt';
import mqtt from 'mqtt';

import { uniqueName, type Contender } from '../contender.js';
import { cloudbusContender, type PublishStyle } from './cloudbus-contender.js';
import { cloudEventAttributes, orderBytes, type OrderPayload } from '../order-placed.js';
import { WindowedRun } from '../windowed-run.js';

/** Ends persistent sessions: connects each client id with a clean session that expires at once. */
export async function deleteSessions(url: string, clientIds: readonly string[]): Promise<void> {
  for (const clientId of clientIds) {
    const client = await mqtt.connectAsync(url, { clientId, clean: true, protocolVersion: 5, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
    client.on('error', () => {});
    await client.endAsync();
  }
}

/**
 * mqtt.js as its documentation shows it, at QoS 1 both ways: a publisher on a clean session, a
 * subscriber on a persistent session (clean: false, 5 min expiry) in a shared subscription group
 * (as cloudbus subscribes), PUBACK sent only once the message was handled (`handleMessage`).
 * With `attributes`, each message also carries the CloudEvent attributes as MQTT 5 user
 * properties and a Content Type, as cloudbus sends them in binary mode.
 */
export function rawMqtt(url: string, attributes = false): Contender {
  return {
    name: attributes ? 'mqtt.js + CloudEvents user properties' : 'mqtt.js (raw)',
    async run(total, window) {
      const name = uniqueName('bench-raw');
      const topic = `${name}/com/mariopizzeria/order/placed`;
      const subscriberId = `${name}-sub`;
      const run = new WindowedRun(total, window);
      const subscriber = await mqtt.connectAsync(url, {
        clientId: subscriberId,
        clean: false,
        protocolVersion: 5,
        properties: { sessionExpiryInterval: 300, receiveMaximum: Math.max(window, 100) },
        reconnectPeriod: 0,
      });
      const publisher = await mqtt.connectAsync(url, { clientId: `${name}-pub`, clean: true, protocolVersion: 5, reconnectPeriod: 0 });
      subscriber.on('error', run.fail);
      publisher.on('error', run.fail);
      try {
        subscriber.handleMessage = (packet, callback) => {
          const order = JSON.parse(packet.payload.toString()) as OrderPayload;
          callback();
          run.handled(order.sentAt);
        };
        await subscriber.subscribeAsync(`$share/${name}/${topic}`, { qos: 1 });
        const acked = (error?: Error) => {
          if (error !== undefined && error !== null) run.fail(error);
        };
        return await run.run((from, count) => {
          for (let i = from; i < from + count; i++) {
            const options = attributes ? { qos: 1 as const, properties: { contentType: 'application/json', userProperties: cloudEventAttributes(i) } } : { qos: 1 as const };
            publisher.publish(topic, orderBytes(i), options, acked);
          }
        });
      } finally {
        await publisher.endAsync().catch(() => {});
        await subscriber.endAsync().catch(() => {});
        await deleteSessions(url, [subscriberId]);
      }
    },
  };
}

/**
 * cloudbus on @cloudbus/transport-mqtt with its defaults (MQTT 5, QoS 1, persistent session, shared
 * subscription, PUBACK after the handler, structured content mode: the transport's preferred mode).
 */
export function cloudbusMqtt(url: string, contentMode?: ContentMode, style: PublishStyle = 'batch'): Contender {
  return cloudbusContender('mqtt', contentMode, () => {
    const prefix = uniqueName('bench-cb');
    return {
      transport: new MqttTransport({ url, topicPrefix: prefix, service: 'bench', instanceId: 'bench', logger: silentLogger }),
      // The subscription's session (<prefix>--<subscription>--<instanceId>--<slot>) and its group's
      // parking session, which the consumer subscribes when it stops as the group's last member.
      cleanup: () => deleteSessions(url, [`${prefix}--bench.Counter--bench--0`, parkingClientId(prefix, 'bench.Counter')]),
    };
  }, style);
}
