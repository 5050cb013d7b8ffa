import 'reflect-metadata';

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { EventBus, EventHandler, EventType, eventBrand, eventTypeOf, PublishError, silentLogger, type EventContext, type HandlerClass } from '@cloudbus/core';
import { brokerUrl, isListening, uniqueName } from '@cloudbus/test/brokers';
import mqtt from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { MqttTopics } from './mqtt-topics.js';
import { MqttTransport } from './mqtt-transport.js';

const url = brokerUrl('mqtt');
const PID_FILE = '/run/mosquitto/mosquitto.pid';
const CONFIG = '/etc/mosquitto/mosquitto.conf';
const packageDir = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Only against the local Mosquitto this machine runs (started from /etc/mosquitto/mosquitto.conf). */
const local = url !== undefined && /127\.0\.0\.1:1883|localhost:1883/.test(url) && isReadable(PID_FILE);

function isReadable(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops Mosquitto gracefully (SIGTERM: it writes its persistence file), and starts it again after `downMs`. */
async function restartMosquitto(downMs: number): Promise<void> {
  const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  await waitUntil(() => !isRunning(pid), 30_000, 'mosquitto to exit');
  await sleep(downMs);
  await ensureMosquitto();
}

async function ensureMosquitto(): Promise<void> {
  if (await isListening('127.0.0.1', 1883)) return;
  execFileSync('mosquitto', ['-d', '-c', CONFIG]);
  await waitUntil(() => isListening('127.0.0.1', 1883), 30_000, 'mosquitto to listen');
}

class LineCooked {
  declare readonly [eventBrand]: string;
  constructor(readonly line: number) {}
}

describe.skipIf(!local)('mqtt transport when things break', () => {
  const prefix = uniqueName('cbdestr');
  const run = prefix.replace(/-/g, '');
  const buses: EventBus[] = [];
  const children: ChildProcess[] = [];
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
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
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
      const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
      process.kill(pid, 'SIGTERM');
      await waitUntil(() => !isRunning(pid), 30_000, 'mosquitto to exit');
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
      const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
      process.kill(pid, 'SIGTERM');
      await waitUntil(() => !isRunning(pid), 30_000, 'mosquitto to exit');
      const error = (await publisher.publish([new Cooked(1), new Cooked(2)]).catch((e: unknown) => e)) as PublishError;
      expect(error).toBeInstanceOf(PublishError);
      expect(new Set(error.unconfirmed).size).toBe(2);
      expect(error.unconfirmed.every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
      expect(error.message).toMatch(/no PUBACK within 1500 ms/);
    } finally {
      await ensureMosquitto();
    }
  });

  let built = false;

  /**
   * Runs a consumer of `type` in a child process, on the built package (built from the current
   * sources first). `handle` is the body of its handler, `(event, context) => ...` in plain JS.
   */
  async function childConsumer(type: string, service: string, handle: string, retry = ''): Promise<{ child: ChildProcess; output: () => string }> {
    if (!built) {
      execFileSync('npx', ['tsc', '-b', 'packages/transport-mqtt/tsconfig.build.json'], { cwd: join(packageDir, '..', '..'), stdio: 'pipe' });
      built = true;
    }
    const script = join(packageDir, `.destructive-child-${run}-${sequence}.mjs`);
    writeFileSync(
      script,
      `import 'reflect-metadata';
import { EventBus, EventHandler, EventType, retry, silentLogger } from '@cloudbus/core';
import { MqttTransport } from './dist/index.js';
class Cooked { constructor(line) { this.line = line; } }
EventType(${JSON.stringify(type)})(Cooked);
class Oven { handle(event, context) { process.stdout.write('handling ' + event.line + ' attempt ' + context.attempt + '\\n'); ${handle} } }
EventHandler(Cooked, { name: 'Oven'${retry === '' ? '' : `, retry: ${retry}`} })(Oven);
const transport = new MqttTransport({ url: ${JSON.stringify(url)}, topicPrefix: ${JSON.stringify(prefix)}, sessionExpirySeconds: 600, instanceId: 'killed' });
const bus = new EventBus({ service: ${JSON.stringify(service)}, logger: silentLogger, transport, handlers: [Oven] });
await bus.start();
process.stdout.write('ready\\n');
`,
    );
    try {
      const child = spawn(process.execPath, [script], { cwd: packageDir, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitUntil(() => output.includes('ready') || child.exitCode !== null, 30_000, 'the child consumer');
      if (!output.includes('ready')) throw new Error(`the child consumer exited with ${String(child.exitCode)}`);
      return { child, output: () => output };
    } finally {
      // Node has read the script by now.
      rmSync(script, { force: true });
    }
  }

  async function kill(child: ChildProcess): Promise<void> {
    child.kill('SIGKILL');
    await waitUntil(() => child.exitCode !== null || child.signalCode !== null, 10_000, 'the child to die');
  }

  /** The same consumer (same service, handler and instance id), in this process. */
  async function nextConsumer(Cooked: typeof LineCooked, service: string, seen: { line: number; attempt: number; at: number }[]): Promise<void> {
    class Oven {
      handle(event: LineCooked, context: EventContext): void {
        seen.push({ line: event.line, attempt: context.attempt, at: Date.now() });
      }
    }
    EventHandler(Cooked, { name: 'Oven' })(Oven);
    await startBus(service, transport('killed'), [Oven]);
  }

  async function publishOne(Cooked: typeof LineCooked, line: number): Promise<void> {
    const publisher = await startBus(`${run}-till-${sequence}`, transport('kill-pub'));
    await publisher.publish(new Cooked(line));
  }

  it('redelivers to the next consumer what a killed consumer was handling', async () => {
    const Cooked = defineEvent();
    const service = `${run}-oven${sequence}`;
    const { child, output } = await childConsumer(eventTypeOf(Cooked)!.type, service, 'return new Promise(() => {});');
    await publishOne(Cooked, 7);
    await waitUntil(() => output().includes('handling 7 attempt 1'), 30_000, 'the child to take the event');
    await kill(child);

    const seen: { line: number; attempt: number; at: number }[] = [];
    await nextConsumer(Cooked, service, seen);
    await waitUntil(() => seen.length >= 1, 30_000, 'the redelivery');
    await sleep(300);
    expect(seen.map(({ line, attempt }) => ({ line, attempt }))).toEqual([{ line: 7, attempt: 2 }]);
  });

  it('loses nothing when a consumer is killed while a retry waits for its delay, and keeps the delay', async () => {
    const Cooked = defineEvent();
    const service = `${run}-oven${sequence}`;
    const { child, output } = await childConsumer(
      eventTypeOf(Cooked)!.type,
      service,
      "if (context.attempt === 1) throw new Error('oven not hot yet');",
      'retry.fixed({ attempts: 3, delayMs: 3000 })',
    );
    await publishOne(Cooked, 9);
    await waitUntil(() => output().includes('handling 9 attempt 1'), 30_000, 'the first attempt');
    const firstAttemptAt = Date.now();
    await sleep(500); // the retry is now republished and held by the child, unacknowledged
    await kill(child);

    const seen: { line: number; attempt: number; at: number }[] = [];
    await nextConsumer(Cooked, service, seen);
    await waitUntil(() => seen.length >= 1, 30_000, 'the retry');
    await sleep(300);
    expect(seen.map(({ line, attempt }) => ({ line, attempt }))).toEqual([{ line: 9, attempt: 2 }]);
    expect(seen[0]!.at - firstAttemptAt).toBeGreaterThanOrEqual(2_900);
  });
});
