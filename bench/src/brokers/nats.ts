import { silentLogger, type ContentMode } from '@cloudbus/core';
import { NatsTransport } from '@cloudbus/transport-nats';
import { AckPolicy, DeliverPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

import { uniqueName, type Contender } from '../contender.js';
import { cloudbusContender, type PublishStyle } from './cloudbus-contender.js';
import { cloudEventAttributes, orderBytes, type OrderPayload } from '../order-placed.js';
import { WindowedRun } from '../windowed-run.js';

/** Deletes JetStream streams (and with them their consumers), ignoring those that do not exist. */
export async function deleteStreams(url: string, streams: readonly string[]): Promise<void> {
  const connection = await connect({ servers: url });
  try {
    const manager = await jetstreamManager(connection);
    for (const stream of streams) await manager.streams.delete(stream).catch(() => false);
  } finally {
    await connection.close();
  }
}

/** A NATS name from a unique run name: letters, digits, `-` and `_` only. */
function natsName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * The NATS JetStream client (@nats-io/jetstream) as its documentation shows it: a file-backed
 * stream, publishes with a message id and acknowledgement (pipelined, each ack awaited), a durable
 * pull consumer with explicit ack and `max_ack_pending` = window, consumed with `consume()` in callback mode.
 * With `attributes`, each message also carries the CloudEvent attributes as `ce-*` headers and a
 * Content-Type, as cloudbus sends them in binary mode.
 */
export function rawJetStream(url: string, attributes = false): Contender {
  return {
    name: attributes ? '@nats-io/jetstream + CloudEvents headers' : '@nats-io/jetstream (raw)',
    async run(total, window) {
      const name = natsName(uniqueName('bench_raw'));
      const subject = `${name}.com.mariopizzeria.order.placed`;
      const connection = await connect({ servers: url });
      try {
        const manager = await jetstreamManager(connection);
        await manager.streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File });
        await manager.consumers.add(name, {
          durable_name: 'counter',
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: subject,
          max_ack_pending: window,
        });
        const js = jetstream(connection);
        const consumer = await js.consumers.get(name, 'counter');
        const run = new WindowedRun(total, window);
        // Callback mode (documented next to the async iterator): no promise per message.
        const messages = await consumer.consume({
          max_messages: window,
          callback: (message) => {
            const order = message.json<OrderPayload>();
            message.ack();
            run.handled(order.sentAt);
          },
        });
        try {
          return await run.run((from, count) => {
            for (let i = from; i < from + count; i++) {
              const headers = attributes ? ceHeaders(cloudEventAttributes(i)) : undefined;
              js.publish(subject, orderBytes(i), { msgID: `m-${i}`, expect: { streamName: name }, ...(headers === undefined ? {} : { headers }) }).catch(run.fail);
            }
          });
        } finally {
          await messages.close().catch(() => {});
        }
      } finally {
        await connection.close().catch(() => {});
        await deleteStreams(url, [name]);
      }
    },
  };
}

function ceHeaders(attributes: Record<string, string>): MsgHdrs {
  const headers = natsHeaders();
  headers.set('Content-Type', 'application/json');
  for (const name in attributes) headers.set(`ce-${name}`, attributes[name]!);
  return headers;
}

/** cloudbus on @cloudbus/transport-nats with its defaults (file stream, acked de-duplicated publishes, durable pull consumer, explicit ack). */
export function cloudbusNats(url: string, contentMode?: ContentMode, style: PublishStyle = 'batch'): Contender {
  return cloudbusContender('nats', contentMode, () => {
    const name = natsName(uniqueName('bench_cb'));
    return {
      transport: new NatsTransport(
        { url, stream: name, subjectPrefix: name, deadLetterStream: `${name}_DLQ`, deadLetterSubjectPrefix: `${name}_dlq`, logger: silentLogger },
        'bench',
      ),
      cleanup: () => deleteStreams(url, [name, `${name}_DLQ`]),
    };
  }, style);
}
