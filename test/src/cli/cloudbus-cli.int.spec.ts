import 'reflect-metadata';

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EventBus, EventHandler, EventType, retry, silentLogger, type CloudEvent, type EventContext, eventBrand } from '@cloudbus/core';
import { MqttTopics } from '@cloudbus/transport-mqtt';
import { subjectForType } from '@cloudbus/transport-nats';
import { routingKeyOf } from '@cloudbus/transport-rabbitmq';
import { jetstream } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { connect as connectAmqp } from 'amqplib';
import mqtt from 'mqtt';

import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { eventually, removeTopology, transportOptions } from '../operability/service-rig.js';

/**
 * The `cloudbus` command, run as a subprocess (the built bin) against each real broker: publish,
 * dead-letters list / show / replay / delete, tail, and what its exit codes mean.
 */

const CLI = fileURLToPath(new URL('../../../packages/cli/dist/cli.js', import.meta.url));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Polls an asynchronous probe until it gives a value. */
async function poll<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Publishes bytes that are not a CloudEvent where events of `type` go, as a foreign producer would. */
async function publishGarbage(kind: 'rabbitmq' | 'nats' | 'mqtt', url: string, options: Record<string, unknown>, type: string): Promise<void> {
  const body = Buffer.from('{"not": "a CloudEvent"');
  if (kind === 'rabbitmq') {
    const model = await connectAmqp(url);
    const channel = await model.createConfirmChannel();
    channel.publish(String(options['exchange']), routingKeyOf(type), body, { persistent: true });
    await channel.waitForConfirms();
    await model.close();
  } else if (kind === 'nats') {
    const nc = await connectNats({ servers: new URL(url).host });
    await jetstream(nc).publish(subjectForType(String(options['subjectPrefix']), type), body);
    await nc.close();
  } else {
    const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    await client.publishAsync(new MqttTopics(String(options['topicPrefix'])).forType(type), body, { qos: 1 });
    await client.endAsync();
  }
}

describe('cloudbus command line', () => {
  it('without a command prints the commands and exits 2; an unknown command exits 2', async () => {
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toMatch(/dead-letters replay/);
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown command 'frobnicate'/);
    const group = await cli(['dead-letters']);
    expect(group.code).toBe(2);
    expect(group.stderr).toMatch(/needs one of: list, show, replay, delete/);
  });

  it('says which broker to name, and rejects bad input with exit code 2', async () => {
    const none = await cli(['dead-letters', 'list'], { CLOUDBUS_TRANSPORT: '' });
    expect(none).toMatchObject({ code: 2 });
    expect(none.stderr).toMatch(/--transport rabbitmq\|nats\|mqtt/);
    const json = await cli(['publish', 'com.example.x', '--transport', 'nats', '--data', '{nope']);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/--data is not valid JSON/);
    const reason = await cli(['dead-letters', 'list', '--transport', 'nats', '--reason', 'bored']);
    expect(reason.code).toBe(2);
    expect(reason.stderr).toMatch(/--reason must be one of retries-exhausted/);
    const nothing = await cli(['dead-letters', 'delete', '--transport', 'nats']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/needs dead-letter ids, filters .* or --all/);
  });

  it('exits 4 when the broker cannot be reached', async () => {
    const result = await cli(['dead-letters', 'list', '--transport', 'nats', '--url', 'nats://127.0.0.1:1', '--timeout', '0']);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/cannot reach the broker/);
  });
});

for (const kind of ['rabbitmq', 'nats', 'mqtt'] as const) {
  const url = brokerUrl(kind);
  describe.skipIf(url === undefined)(`cloudbus on ${kind}`, () => {
    const run = uniqueName(`cli-${kind}`);
    const options = transportOptions(kind, run);
    const env = { CLOUDBUS_TRANSPORT: kind, CLOUDBUS_URL: url!, CLOUDBUS_TRANSPORT_OPTIONS: JSON.stringify(options) };
    const service = `${run}-billing`;
    const placedType = `com.example.cli.${run}.order.placed`;
    const shippedType = `com.example.cli.${run}.order.shipped`;

    class OrderPlaced {

      declare readonly [eventBrand]: string;
      constructor(readonly orderId: string) {}
    }
    EventType(placedType)(OrderPlaced);
    class OrderShipped {
      declare readonly [eventBrand]: string;
      constructor(readonly orderId: string) {}
    }
    EventType(shippedType)(OrderShipped);

    const received: CloudEvent[] = [];
    let billingUp = false;
    class Billing {
      handle(_event: OrderPlaced, context: EventContext): void {
        received.push(context.cloudEvent);
        if (!billingUp) throw new Error('billing is down');
      }
    }
    EventHandler(OrderPlaced, { name: 'Billing', retry: retry.none() })(Billing);

    let bus: EventBus;
    let firstId: string;

    beforeAll(async () => {
      bus = new EventBus({ service, transport: kind, url: url!, transportOptions: options, handlers: [Billing], logger: silentLogger });
      await bus.start();
    });

    afterAll(async () => {
      await bus.deadLetters.delete({ service }).catch(() => undefined);
      await bus.stop();
      await removeTopology(kind, url!, run, bus);
    });

    it('publish sends one event with its data, and prints what it published', async () => {
      const result = await cli(['publish', placedType, '--data', '{"orderId":"o-1"}', '--subject', 'o-1', '--json'], env);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const published = (JSON.parse(result.stdout) as { published: { id: string; type: string } }).published;
      expect(published.type).toBe(placedType);
      firstId = published.id;
      const event = await eventually(() => received.find((one) => one.id === firstId), 'the published event');
      expect(event).toMatchObject({ type: placedType, subject: 'o-1', source: '/cloudbus-cli', data: { orderId: 'o-1' } });
    });

    it('dead-letters list shows the dead letter for a person and as JSON, filtered by service', async () => {
      const id = `${service}.Billing:${firstId}`;
      const listed = await poll(async () => {
        const result = await cli(['dead-letters', 'list', '--service', service, '--json'], env);
        const entries = JSON.parse(result.stdout) as { id: string }[];
        return entries.length > 0 ? { result, entries } : undefined;
      }, 'the dead letter listed');
      expect(listed.result.code).toBe(0);
      expect(listed.entries).toEqual([
        expect.objectContaining({
          id,
          handler: `${service}.Billing`,
          reason: 'retries-exhausted',
          attempts: 1,
          error: { type: 'Error', message: 'billing is down' },
          event: expect.objectContaining({ id: firstId, type: placedType, data: { orderId: 'o-1' } }),
        }),
      ]);
      // Flags instead of the environment, and the table a person reads.
      const human = await cli(['dead-letters', 'list', '--transport', kind, '--url', url!, ...Object.entries(options).flatMap(([key, value]) => ['-o', `${key}=${String(value)}`]), '--service', service]);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^ID\s+DEAD-LETTERED\s+REASON\s+TYPE\s+ERROR/);
      expect(human.stdout).toContain(id);
      expect(human.stdout).toMatch(/retries-exhausted .*Error: billing is down/);
      expect(human.stdout).toMatch(/1 dead letter\(s\)/);
      const other = await cli(['dead-letters', 'list', '--service', `${run}-nobody`], env);
      expect(other.stdout.trim()).toBe('No dead letters.');
    });

    it('dead-letters show prints the failure record and the event; an unknown id exits 3', async () => {
      const id = `${service}.Billing:${firstId}`;
      const shown = await cli(['dead-letters', 'show', id], env);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/handler\s+.*\.Billing/);
      expect(shown.stdout).toMatch(/reason\s+retries-exhausted after 1 attempt\(s\)/);
      expect(shown.stdout).toMatch(/error\s+Error: billing is down/);
      expect(shown.stdout).toMatch(/data\s+\{"orderId":"o-1"\}/);
      const json = JSON.parse((await cli(['dead-letters', 'show', id, '--json'], env)).stdout) as { error: { stack?: string } };
      expect(json.error.stack).toMatch(/at /);
      const missing = await cli(['dead-letters', 'show', `${service}.Billing:no-such-event`], env);
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(/No dead letter with id/);
    });

    it('dead-letters replay runs the handler that gave up again, with provenance, and removes the dead letter', async () => {
      billingUp = true;
      const id = `${service}.Billing:${firstId}`;
      const result = await cli(['dead-letters', 'replay', id, '--json'], env);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as { replayed: { id: string; eventId: string }[]; removed: number };
      expect(report.replayed).toEqual([{ id, eventId: expect.any(String) }]);
      expect(report.removed).toBe(1);
      const replay = await eventually(() => received.find((one) => one.id === report.replayed[0]!.eventId), 'the replay');
      expect(replay).toMatchObject({ causationid: firstId, replayfor: `${service}.Billing`, data: { orderId: 'o-1' } });
      expect(JSON.parse((await cli(['dead-letters', 'list', '--service', service, '--json'], env)).stdout)).toEqual([]);
      const again = await cli(['dead-letters', 'replay', id], env);
      expect(again.code).toBe(3);
    });

    it('dead-letters delete removes one dead letter by id and keeps the others', async () => {
      billingUp = false;
      const ids: string[] = [];
      for (const orderId of ['o-2', 'o-3']) {
        const [event] = bus.prepare(new OrderPlaced(orderId));
        await bus.publishPrepared([event!]);
        ids.push(`${service}.Billing:${event!.id}`);
      }
      await eventually(() => received.filter((one) => (one.data as { orderId?: string } | undefined)?.orderId === 'o-3').length > 0, 'o-3 handled');
      await poll(async () => ((await bus.deadLetters.list({ service })).length >= 2 ? true : undefined), 'two dead letters');
      const result = await cli(['dead-letters', 'delete', ids[0]!], env);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/deleted 1 dead letter/);
      expect((await bus.deadLetters.list({ service })).map((entry) => entry.id)).toEqual([ids[1]]);
      const again = await cli(['dead-letters', 'delete', ids[0]!], env);
      expect(again.code).toBe(3);
      expect(again.stderr).toMatch(/not found/);
      const byFilter = await cli(['dead-letters', 'delete', '--service', service, '--json'], env);
      expect(JSON.parse(byFilter.stdout)).toEqual({ deleted: 1, missing: [] });
    });

    it('tail prints the live events of the chosen type, as JSON lines and for a person, and shows bytes that are not a CloudEvent as such', async () => {
      const tail = (args: readonly string[]) => {
        const child = spawn(process.execPath, [CLI, 'tail', '--type', shippedType, '--count', '1', ...args], {
          env: { ...process.env, NO_COLOR: '1', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
        return { exited, ready: () => stderr.includes('tailing'), output: () => stdout, errors: () => stderr };
      };
      const json = tail(['--json']);
      const person = tail(['--correlation', 'c-42']);
      const everything = spawn(process.execPath, [CLI, 'tail', '--count', '2', '--json'], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let everythingOut = '';
      let everythingErr = '';
      everything.stdout.on('data', (chunk: Buffer) => (everythingOut += chunk.toString()));
      everything.stderr.on('data', (chunk: Buffer) => (everythingErr += chunk.toString()));
      const everythingExited = new Promise<number | null>((resolve) => everything.on('close', resolve));
      await eventually(() => json.ready() && person.ready() && everythingErr.includes('tailing'), 'the tails ready', 20_000);
      // Bytes that are not a CloudEvent are shown as such, and the tail goes on.
      await publishGarbage(kind, url!, options, shippedType);
      await bus.publish(new OrderPlaced('o-not-shown'));
      await bus.publish(new OrderShipped('o-other'), { correlationId: 'c-other' });
      await bus.publish(new OrderShipped('o-4'), { correlationId: 'c-42' });
      expect(await json.exited).toBe(0);
      const lines = json.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ kind: 'event', event: { type: shippedType, data: { orderId: 'o-other' }, correlationid: 'c-other' } });
      expect(await person.exited).toBe(0);
      expect(person.output()).toContain(shippedType);
      expect(person.output()).toContain('corr=c-42');
      expect(person.output()).toContain('{"orderId":"o-4"}');
      expect(person.output()).not.toContain('o-other');
      expect(await everythingExited).toBe(0);
      const all = everythingOut.trim().split('\n').map((line) => JSON.parse(line) as { kind: string; error?: string; event?: { type: string } });
      expect(all[0]).toMatchObject({ kind: 'event', error: expect.any(String) });
      expect(all[1]).toMatchObject({ kind: 'event', event: { type: placedType } });
    });

    it('describe shows the service\'s subscription as the broker has it, for a person and as JSON', async () => {
      const text = await cli(['describe', '--service', service], env);
      expect(text.stderr).toBe('');
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`${service}.Billing`);
      expect(text.stdout).toMatch(/handler Billing\.handle/);
      expect(text.stdout).toContain(placedType);
      expect(text.stdout).toMatch(/retry\s+none/);
      const json = await cli(['describe', '--service', service, '--json'], env);
      const listed = JSON.parse(json.stdout) as { name: string; types: string[]; bindings: string[]; concurrency: number }[];
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ name: `${service}.Billing`, types: [placedType] });
      expect(listed[0]!.bindings.length).toBeGreaterThan(0);
      expect(listed[0]!.concurrency).toBeGreaterThan(0);
      const other = await cli(['describe', '--service', `${run}-nobody`], env);
      expect(other.code).toBe(0);
      expect(other.stdout).toMatch(/No subscriptions of service/);
    });

    it.skipIf(kind !== 'mqtt')('describe shows a forged registry record without its control characters', async () => {
      const client = await mqtt.connectAsync(url!, { protocolVersion: 5, reconnectPeriod: 0 });
      const prefix = String(options['topicPrefix']);
      const forged = `${prefix}-registry/${service}.Forged/victim-client`;
      const record = { name: `${service}.Forged\u001b[2J\u001b]0;owned\u0007`, service, types: ['evil\u001b[31m'], updatedAt: new Date().toISOString() };
      await client.publishAsync(forged, Buffer.from(JSON.stringify(record)), { qos: 1, retain: true });
      try {
        const text = await cli(['describe', '--service', service], env);
        expect(text.code).toBe(0);
        expect(text.stdout).toContain(`${service}.Forged`);
        // eslint-disable-next-line no-control-regex
        expect(text.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
      } finally {
        await client.publishAsync(forged, Buffer.alloc(0), { qos: 1, retain: true });
        await client.endAsync();
      }
    });

    it('prune --dry-run lists a stopped service\'s subscriptions; prune removes them; pruning again exits 3', async () => {
      await bus.deadLetters.delete({ service });
      await bus.stop();
      const dry = await cli(['prune', '--service', service, '--dry-run'], env);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain(`would remove ${service}.Billing`);
      const pruned = await cli(['prune', '--service', service, '--json'], env);
      expect(pruned.code).toBe(0);
      expect(JSON.parse(pruned.stdout)).toEqual({ removed: [`${service}.Billing`], missing: [] });
      const after = await cli(['describe', '--service', service, '--json'], env);
      expect(JSON.parse(after.stdout)).toEqual([]);
      const again = await cli(['prune', '--service', service], env);
      expect(again.code).toBe(3);
      const bare = await cli(['prune'], env);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toMatch(/--service/);
    });
  });
}
