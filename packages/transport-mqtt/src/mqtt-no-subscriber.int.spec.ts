import { randomUUID } from 'node:crypto';

import { PublishError } from '@cloudbus/core';
import { type OutgoingMessage } from '@cloudbus/core/transport';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { parkingClientId } from './mqtt-topics.js';
import type { MqttTransport } from './mqtt-transport.js';
import { MqttFixture, mqttUrl } from './testing/mqtt-fixture.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * MQTT 5 PUBACK reason 16 ("No matching subscribers") on a topic that had subscribers: what a
 * publisher sees after a Mosquitto restart, before the consumers subscribe again (Mosquitto 2.0
 * forgets shared subscriptions). Reproduced here without a restart: a consumer unsubscribes and
 * subscribes again. The restart itself is in mqtt-transport.destructive.spec.ts.
 */
describe.skipIf(!mqttUrl)('mqtt transport publishing to a topic whose subscribers are briefly gone', () => {
  const fixture = new MqttFixture('cbnosub', { instanceId: 'nosub', sessionExpirySeconds: 60 });
  const { prefix, run } = fixture;
  const clients: MqttClient[] = [];
  let sequence = 0;

  beforeAll(() => fixture.start());
  afterEach(async () => {
    await fixture.reset();
    for (const client of clients.splice(0)) await client.endAsync(true);
  });
  afterAll(() => fixture.cleanup());

  function publisher(publishTimeoutMs = 30_000): Promise<MqttTransport> {
    return fixture.open({ publishTimeoutMs });
  }

  /** A consumer as the transport subscribes: a shared subscription, here on a clean session (nothing left behind). */
  async function consumer(topic: string): Promise<{ received: string[]; filter: string; client: MqttClient }> {
    const client = await mqtt.connectAsync(fixture.url, { protocolVersion: 5, clean: true, reconnectPeriod: 0, clientId: `${run}-c${++sequence}` });
    clients.push(client);
    const received: string[] = [];
    client.on('message', (_topic, payload) => received.push(payload.toString()));
    const filter = `$share/${run}/${topic}`;
    await client.subscribeAsync(filter, { qos: 1 });
    return { received, filter, client };
  }

  function event(type: string, line: string): OutgoingMessage {
    return { id: randomUUID(), type, message: { headers: { specversion: '1.0', id: line, type, source: '/test' }, contentType: 'text/plain', body: Buffer.from(line) } };
  }

  const newType = () => `dev.cloudbus.${run}.t${++sequence}.line.cooked`;

  it('accepts at once a publish to a topic that never had a subscriber, like an unroutable message', async () => {
    const transport = await publisher(2_000);
    await expect(transport.publish([event(newType(), 'nobody')])).resolves.toBeUndefined();
  });

  it('does not confirm a publish the broker dropped for want of the subscriber the topic had, and sends it again once one is back', async () => {
    const type = newType();
    const transport = await publisher();
    const { received, filter, client } = await consumer(transport.topics.forType(type));
    await transport.publish([event(type, 'first')]);
    await fixture.waitFor(() => received.includes('first'));

    await client.unsubscribeAsync(filter);
    let confirmed = false;
    const pending = transport.publish([event(type, 'while away'), event(type, 'also while away')]).then(() => (confirmed = true));
    await sleep(1_500);
    expect(confirmed).toBe(false);

    await client.subscribeAsync(filter, { qos: 1 });
    await pending;
    await fixture.waitFor(() => received.includes('while away') && received.includes('also while away'));
    expect(received.filter((line) => line === 'while away')).toHaveLength(1);
  });

  it('waits for a subscriber on a topic its own subscription consumes, even one it never published to', async () => {
    const type = newType();
    const transport = await publisher();
    const name = `${run}.own`;
    const seen: string[] = [];
    const subscribe = () =>
      transport.subscribe({ name, types: [type], concurrency: 1 }, (delivery) => {
        seen.push(Buffer.from(delivery.message.body).toString());
        void delivery.ack();
      });
    await (await subscribe()).close();
    // Drop the subscription's session and the group's parking session (the last consumer to stop
    // parks the group there), and their shared subscriptions with them (as a Mosquitto restart drops the latter).
    await dropSession(`${prefix}--${name}--${transport.options.instanceId}--0`);
    await dropSession(parkingClientId(prefix, name));

    let confirmed = false;
    const pending = transport.publish([event(type, 'kept')]).then(() => (confirmed = true));
    await sleep(1_000);
    expect(confirmed).toBe(false);
    const subscription = await subscribe();
    await pending;
    await fixture.waitFor(() => seen.includes('kept'));
    await subscription.close();
    await dropSession(`${prefix}--${name}--${transport.options.instanceId}--0`);
    await dropSession(parkingClientId(prefix, name));
  });

  it('rejects with PublishError listing the ids when no subscriber comes back within publishTimeoutMs', async () => {
    const type = newType();
    const transport = await publisher(1_500);
    const { received, filter, client } = await consumer(transport.topics.forType(type));
    await transport.publish([event(type, 'first')]);
    await fixture.waitFor(() => received.includes('first'));
    await client.unsubscribeAsync(filter);

    const lost = event(type, 'lost');
    const error = (await transport.publish([lost]).catch((e: unknown) => e)) as PublishError;
    expect(error).toBeInstanceOf(PublishError);
    expect(error.unconfirmed).toEqual([lost.id]);
    expect(error.message).toMatch(/no PUBACK within 1500 ms with a subscriber/);
    await sleep(300);
    expect(received).toEqual(['first']);
  });

  /** Clean Start with a session's client id discards that session. */
  async function dropSession(clientId: string): Promise<void> {
    const client = await mqtt.connectAsync(fixture.url, { protocolVersion: 5, clean: true, reconnectPeriod: 0, clientId });
    await client.endAsync();
  }
});
