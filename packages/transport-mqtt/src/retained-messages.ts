import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';

import { NotConnectedError } from '@cloudbus/core/transport';
import type { IPublishPacket } from 'mqtt';

import { endConnection, openConnection } from './mqtt-connection.js';
import { MqttConnectError } from './mqtt-errors.js';
import { safeName, type MqttTopics } from './mqtt-topics.js';
import type { ResolvedMqttOptions } from './mqtt-transport-options.js';

/** How long {@link RetainedMessages.read} waits for the broker to send the retained messages. */
const READ_TIMEOUT_MS = 10_000;

/** A retained message as the broker sent it. */
export interface RetainedMessage {
  readonly payload: Buffer;
  readonly packet: IPublishPacket;
}

/** Reads what the broker retains under a filter: the dead letters and the subscription registry live there. */
export class RetainedMessages {
  constructor(
    private readonly options: ResolvedMqttOptions,
    private readonly topics: MqttTopics,
    private readonly isClosed: () => boolean,
  ) {}

  /**
   * The retained messages under `filter`, by topic: subscribes a short-lived clean session to it and
   * to a private marker topic, then publishes to the marker; the broker sends the retained messages
   * before it, so its arrival means all of them are in. `what` names them in errors.
   */
  async read(filter: string, what: string): Promise<Map<string, RetainedMessage>> {
    if (this.isClosed()) throw new NotConnectedError(`mqtt transport: cannot read ${what} after close().`);
    const marker = `${this.topics.deadLetterRoot}-sync/${randomUUID()}`;
    const found = new Map<string, RetainedMessage>();
    const client = await openConnection(this.options, {
      clientId: `${safeName(this.options.topicPrefix)}--${this.options.connectionName}--dlr--${randomUUID().slice(0, 8)}`,
      clean: true,
      receiveMaximum: 65_535,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new MqttConnectError(`mqtt transport: the broker did not send the ${what} within ${READ_TIMEOUT_MS} ms.`)), READ_TIMEOUT_MS);
        client.on('message', (topic, payload, packet) => {
          if (topic === marker) {
            clearTimeout(timer);
            resolve();
            return;
          }
          if (payload.byteLength === 0) found.delete(topic);
          else found.set(topic, { payload, packet });
        });
        client
          .subscribeAsync({ [filter]: { qos: 1 }, [marker]: { qos: 1 } })
          .then(() => client.publishAsync(marker, Buffer.from('sync'), { qos: 1 }))
          .catch((error: unknown) => {
            clearTimeout(timer);
            reject(error as Error);
          });
      });
    } finally {
      await endConnection(client);
    }
    return found;
  }
}
