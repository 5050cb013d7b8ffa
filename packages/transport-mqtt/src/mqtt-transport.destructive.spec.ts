import 'reflect-metadata';

import { fileURLToPath } from 'node:url';

import { EventBus, EventHandler, EventType, eventBrand, eventTypeOf, PublishError, silentLogger, type HandlerClass } from '@cloudbus/core';
import { transportScenarios } from '@cloudbus/core/testing/contract';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import mqtt from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { MqttTopics } from './mqtt-topics.js';
import { MqttTransport } from './mqtt-transport.js';
import { canControlMosquitto, ensureMosquitto, restartMosquitto, stopMosquitto } from './testing/mosquitto-control.js';

const url = brokerUrl('mqtt');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Only against the local Mosquitto this machine runs (started from /etc/mosquitto/mosquitto.conf). */
const local = url !== undefined && /127\.0\.0\.1:1883|localhost:1883/.test(url) && canControlMosquitto();

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

class LineCooked {
  declare readonly [eventBrand]: string;
  constructor(readonly line: number) {}
}

describe.skipIf(!local)('mqtt transport when things break', () => {
  const prefix = uniqueName('cbdestr');
  const run = prefix.replace(/-/g, '');
  const buses: EventBus[] = [];
  let sequence = 0;

  const transport = (instanceId: string) =>
    new MqttTransport({ url: url!, topicPrefix: prefix, sessionExpirySeconds: 600, instanceId, reconnectMaxDelayMs: 2_000 });

  /** Starts a bus on its own transport; afterEach stops it. */
  async function startBus(service: string, busTransport: MqttTransport, handlers: HandlerClass[] = []): Promise<EventBus> {
    const bus = new EventBus({ service, logger: silentLogger, transport: busTransport, handlers });
    buses.push(bus);
    await bus.start();
    return bus;
  }

  function defineEvent(): typeof LineCooked {
    class Cooked extends LineCooked {}
    EventType(`dev.cloudbus.${run}.t${++sequence}.line.cooked`)(Cooked);
    return Cooked;
  }

  afterEach(async () => {
    await ensureMosquitto();
    for (const bus of buses.splice(0)) if (bus.state === 'started') await bus.stop({ drainTimeoutMs: 500 }).catch(() => undefined);
  });

  afterAll(async () => {
    await ensureMosquitto();
  });

  it('loses nothing confirmed when the broker restarts mid-stream: neither what was queued or in flight, nor what was published before the consumers subscribed again', async () => {
    const Cooked = defineEvent();
    const type = eventTypeOf(Cooked)!.type;
    const seen = new Set<number>();
    let handled = 0;
    class Pass {
      async handle(event: LineCooked): Promise<void> {
        await sleep(3);
        seen.add(event.line);
        handled++;
      }
    }
    EventHandler(Cooked, { name: 'Pass', concurrency: 4 })(Pass);
    // A small Receive Maximum, so that most of the backlog waits in the broker's queue for the session;
    // a slow reconnect, so that the consumer comes back seconds after the publisher: Mosquitto 2.0.11
    // forgets shared subscriptions across a restart, and until the consumer subscribes again the
    // broker answers the publisher's events with PUBACK "No matching subscribers" and drops them.
    await startBus(
      `${run}-pass`,
      new MqttTransport({
        url: url!,
        topicPrefix: prefix,
        sessionExpirySeconds: 600,
        instanceId: 'restart',
        receiveMaximum: 200,
        reconnectMinDelayMs: 5_000,
        reconnectMaxDelayMs: 5_000,
      }),
      [Pass],
    );
    const publisher = await startBus(`${run}-till`, new MqttTransport({ url: url!, topicPrefix: prefix, instanceId: 'restart-pub', reconnectMinDelayMs: 100, reconnectMaxDelayMs: 500 }));

    // At most 700 left at the restart plus 300 after: within what Mosquitto keeps for a session
    // (Receive Maximum 200 in flight + max_queued_messages 1,000; beyond that it drops, see the README).
    const before = 800;
    for (let start = 0; start < before; start += 100) {
      await publisher.publish(Array.from({ length: 100 }, (_, i) => new Cooked(start + i)));
    }
    await waitUntil(() => handled >= 100, 30_000, 'the stream to flow');
    expect(seen.size).toBeLessThan(before);
    await restartMosquitto(1_000);
    const handledAtRestart = handled;

    // Published as soon as the broker is back: the publisher reconnects within 0.5 s, the consumer after 5 s.
    const after = 300;
    const published = Promise.all(
      Array.from({ length: after / 100 }, (_, batch) => publisher.publish(Array.from({ length: 100 }, (_, i) => new Cooked(before + batch * 100 + i)))),
    );
    await sleep(1_000);
    // The window is real: the shared subscription is still missing, so the broker stores nothing for this topic.
    expect(await probeReasonCode(new MqttTopics(prefix).forType(type), type)).toBe(16);

    await published;
    await waitUntil(() => seen.size === before + after, 90_000, `${before + after} distinct lines`).catch((error: unknown) => {
      const missing = Array.from({ length: before + after }, (_, i) => i).filter((i) => !seen.has(i));
      throw new Error(`${String(error)}; handled ${handled}, at restart ${handledAtRestart}, missing ${missing.length}: ${missing.slice(0, 20).join(',')} ... ${missing.slice(-5).join(',')}`);
    });
    expect(seen.size).toBe(before + after);
  });

  /**
   * Publishes one valid event (line -1) of `type` from a plain MQTT 5 client and returns the PUBACK
   * reason code: 16 when the broker has no subscriber for the topic.
   */
  async function probeReasonCode(topic: string, type: string): Promise<number | undefined> {
    const client = await mqtt.connectAsync(url!, { protocolVersion: 5, clean: true, reconnectPeriod: 0, clientId: `${run}-probe` });
    try {
      let reasonCode: number | undefined;
      client.on('packetreceive', (packet) => {
        if (packet.cmd === 'puback') reasonCode = packet.reasonCode ?? 0;
      });
      const headers = { specversion: '1.0', id: `${run}-probe`, type, source: '/probe' };
      await client.publishAsync(topic, JSON.stringify({ line: -1 }), { qos: 1, properties: { userProperties: headers, contentType: 'application/json' } });
      return reasonCode;
    } finally {
      await client.endAsync();
    }
  }

  it('holds a publish made while the broker is down and sends it once the broker is back', async () => {
    const Cooked = defineEvent();
    const topic = new MqttTopics(prefix).forType(eventTypeOf(Cooked)!.type);
    // A plain persistent subscriber (Mosquitto restores those across a restart; see the README for shared ones).
    const watcherOptions = { clientId: `${run}-watcher`, protocolVersion: 5 as const, clean: false, reconnectPeriod: 500, properties: { sessionExpiryInterval: 300 } };
    const watcher = await mqtt.connectAsync(url!, watcherOptions);
    const received: string[] = [];
    watcher.on('message', (_topic, payload) => received.push(payload.toString()));
    await watcher.subscribeAsync(topic, { qos: 1 });
    const publisher = await startBus(`${run}-till3`, transport('queue-pub'));
    try {
      await stopMosquitto();
      let settled = false;
      const pending = publisher.publish(new Cooked(42)).finally(() => (settled = true));
      await sleep(1_000);
      expect(settled).toBe(false);
      await ensureMosquitto();
      await pending;
      await waitUntil(() => received.length > 0, 30_000, 'the queued publish');
      // Structured mode, the MQTT transport's default: the whole CloudEvent is the payload.
      expect(JSON.parse(received[0]!)).toMatchObject({ specversion: '1.0', data: { line: 42 } });
    } finally {
      await ensureMosquitto();
      await watcher.endAsync(true);
    }
  });

  it('rejects a publish with the ids not confirmed when the broker stays away longer than publishTimeoutMs', async () => {
    const Cooked = defineEvent();
    const publisher = await startBus(`${run}-till4`, new MqttTransport({ url: url!, topicPrefix: prefix, instanceId: 'timeout-pub', publishTimeoutMs: 1_500, reconnectMaxDelayMs: 1_000 }));
    try {
      await stopMosquitto();
      const error = (await publisher.publish([new Cooked(1), new Cooked(2)]).catch((e: unknown) => e)) as PublishError;
      expect(error).toBeInstanceOf(PublishError);
      expect(new Set(error.unconfirmed).size).toBe(2);
      expect(error.unconfirmed.every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
      expect(error.message).toMatch(/no PUBACK within 1500 ms/);
    } finally {
      await ensureMosquitto();
    }
  });
});

describe.skipIf(!local)('mqtt transport scenarios', () => {
  const prefix = uniqueName('cbscen');
  const topics = new MqttTopics(prefix);
  // One instance id throughout: on MQTT a killed instance's deliveries wait in its session, and
  // are redelivered when that instance comes back (the successor), as a restarted process does.
  const options = { topicPrefix: prefix, sessionExpirySeconds: 600, reconnectMaxDelayMs: 2_000, instanceId: 'scenario' };

  transportScenarios('mqtt', () => ({
    createTransport: () => new MqttTransport({ url: url!, ...options }),
    destinationOf: (type) => topics.forType(type),
    injectRaw: () => Promise.reject(new Error('not used by the scenarios')),
    restartBroker: restartMosquitto,
    // Within what Mosquitto keeps for a session that is away (max_queued_messages 1,000; see the README).
    restartVolume: 800,
    consumerProcess: { module: fileURLToPath(new URL('../dist/index.js', import.meta.url)), transport: 'mqtt', url: url!, options },
    cleanup: ensureMosquitto,
  }));
});
