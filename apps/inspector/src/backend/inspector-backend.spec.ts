import type { CloudEvent } from '@cloudbus/core';
import { afterEach, describe, expect, it } from 'vitest';

import type { TickMessage } from '../shared/channel-contract.js';
import type { ConnectionProfile } from '../shared/connection-profile.js';
import { InspectorBackend } from './inspector-backend.js';
import type { BrokerTap, TapListener } from './taps/broker-tap.js';
import { tapped, tappedTelemetry } from './test-messages.js';

/** A tap without a broker: records what is published, lets the test feed messages and failures. */
class FakeTap implements BrokerTap {
  listener: TapListener | undefined;
  readonly published: { event: CloudEvent; destination: string | undefined }[] = [];
  constructor(private readonly refuse: boolean) {}
  async open(listener: TapListener): Promise<void> {
    if (this.refuse) throw new Error('connection refused');
    this.listener = listener;
  }
  async publish(event: CloudEvent, destination?: string): Promise<void> {
    this.published.push({ event, destination });
  }
  async close(): Promise<void> {}
}

const profile: ConnectionProfile = { id: 'p', name: 'p', broker: 'rabbitmq', url: 'amqp://h' };
const request = (backend: InspectorBackend, name: string, params: object) => backend.handle({ kind: 'request', requestId: 1, name, params } as never);

describe('the inspector backend', () => {
  let backend: InspectorBackend | undefined;
  afterEach(async () => backend?.close());

  it('pushes new events on its tick, batched, with the drop count', async () => {
    const taps: FakeTap[] = [];
    backend = new InspectorBackend({ profiles: [profile], capacity: 2, tickMs: 20, createTap: () => (taps.push(new FakeTap(false)), taps.at(-1)!) });
    const ticks: TickMessage[] = [];
    backend.onTick((tick) => ticks.push(tick));
    backend.start();
    await backend.open('p');
    for (let i = 0; i < 3; i++) taps[0]!.listener!.message(tapped({ id: `e-${i}`, type: 't' }));
    await expect.poll(() => ticks.find((t) => t.events.length > 0)).toBeDefined();
    const tick = ticks.find((t) => t.events.length > 0)!;
    expect(tick.events.map((e) => e.id)).toEqual(['e-0', 'e-1', 'e-2']);
    expect(tick.dropped).toBe(1);
  });

  it('publishes a test event as a valid CloudEvent, and refuses data that is not JSON', async () => {
    const tap = new FakeTap(false);
    backend = new InspectorBackend({ profiles: [profile], createTap: () => tap });
    await backend.open('p');
    const { id } = (await request(backend, 'event.publish', { profileId: 'p', type: 'com.example.t', source: '/me', data: '{"a":1}', extensions: { correlationid: 'c-1' } })) as { id: string };
    expect(tap.published[0]!.event).toMatchObject({ id, specversion: '1.0', type: 'com.example.t', source: '/me', correlationid: 'c-1', data: { a: 1 }, datacontenttype: 'application/json' });
    await expect(request(backend, 'event.publish', { profileId: 'p', type: 't', source: '/me', data: '{nope', extensions: {} })).rejects.toThrow(/not valid JSON/);
  });

  it.each(['data', 'datacontenttype', 'dataschema', 'replayfor', 'inspectorreplay', 'id', 'specversion', 'type'])('refuses a test event whose extensions set %s, and publishes nothing', async (name) => {
    const tap = new FakeTap(false);
    backend = new InspectorBackend({ profiles: [profile], createTap: () => tap });
    await backend.open('p');
    await expect(request(backend, 'event.publish', { profileId: 'p', type: 'com.example.t', source: '/me', data: '', extensions: { [name]: 'x' } })).rejects.toThrow(`'${name}'`);
    expect(tap.published).toEqual([]);
  });

  it('replays a dead letter without its failure record, to its original destination, caused by it', async () => {
    const tap = new FakeTap(false);
    backend = new InspectorBackend({ profiles: [profile], createTap: () => tap });
    await backend.open('p');
    const dl = tap.listener!.message;
    dl(tapped({ id: 'orig', type: 'com.example.sms', correlationid: 'c', deadletterreason: 'retries-exhausted', deadletterhandler: 's.Sms' }, { deadLetter: true, destination: 'com.example.sms' }));
    const seq = backend.capture.snapshot().events[0]!.seq;
    const result = (await request(backend, 'deadletters.replay', { seqs: [seq, 999] })) as { replayed: { id: string }[]; failed: { seq: number; error: string }[] };
    expect(result.failed).toEqual([{ seq: 999, error: 'No dead letter #999 in the capture.' }]);
    const { event, destination } = tap.published[0]!;
    expect(destination).toBe('com.example.sms');
    expect(event).toMatchObject({ id: result.replayed[0]!.id, causationid: 'orig', correlationid: 'c', inspectorreplay: 'true' });
    expect(Object.keys(event).filter((name) => name.startsWith('deadletter'))).toEqual([]);
    expect(backend.capture.deadLetterGroups()[0]!.entries[0]!.replays).toEqual([result.replayed[0]!.id]);
  });

  it('keeps several profiles open at once, each event tagged with its profile', async () => {
    const taps = new Map<string, FakeTap>();
    const second: ConnectionProfile = { id: 'q', name: 'q', broker: 'nats', url: 'nats://h:4222' };
    backend = new InspectorBackend({ profiles: [profile, second], createTap: (p) => (taps.set(p.id, new FakeTap(false)), taps.get(p.id)!) });
    await backend.open('p');
    await backend.open('q');
    taps.get('p')!.listener!.message(tapped({ id: 'from-rabbit', type: 't' }));
    taps.get('q')!.listener!.message(tapped({ id: 'from-nats', type: 't' }));
    expect(backend.capture.snapshot().events.map((e) => [e.id, e.profileId])).toEqual([
      ['from-rabbit', 'p'],
      ['from-nats', 'q'],
    ]);
    expect(backend.profileStatuses().map((s) => s.state)).toEqual(['open', 'open']);
  });

  it('shows a refused connection as failed with its reason, and keeps trying until the profile is closed', async () => {
    let attempts = 0;
    backend = new InspectorBackend({ profiles: [profile], reconnectMinDelayMs: 10, reconnectMaxDelayMs: 20, createTap: () => (attempts++, new FakeTap(attempts < 3)) });
    expect(await backend.open('p')).toMatchObject({ state: 'failed', error: 'connection refused' });
    await expect.poll(() => backend!.profileStatuses()[0]!.state).toBe('open');
    expect(attempts).toBe(3);
    await backend.closeProfile('p');
    expect(backend.profileStatuses()[0]!.state).toBe('closed');
  });
});

describe('the inspector backend keeps passwords out of what it shows and logs', () => {
  let backend: InspectorBackend | undefined;
  afterEach(async () => backend?.close());

  it('redacts the password from a failed connection\'s reason (shown in the UI, printed by web mode) and from logged errors', async () => {
    const secret = 'tap-pa55word';
    const failing: BrokerTap = {
      open: async () => {
        throw new Error(`connect to amqp://guest:${secret}@127.0.0.1:5672 refused; password ${secret} rejected`);
      },
      publish: async () => undefined,
      close: async () => undefined,
    };
    backend = new InspectorBackend({ profiles: [profile], passwords: () => secret, reconnectMinDelayMs: 60_000, reconnectMaxDelayMs: 60_000, createTap: () => failing });
    const status = await backend.open('p');
    expect(status.state).toBe('failed');
    expect(status.error).toBe('connect to amqp://guest:***@127.0.0.1:5672 refused; password *** rejected');
    expect(JSON.stringify(await request(backend, 'profiles.list', {}))).not.toContain(secret);

    const logged: unknown[] = [];
    const quiet = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const tap = new FakeTap(false);
      const second = new InspectorBackend({ profiles: [profile], tickMs: 10, createTap: () => tap });
      second.onTick(() => {
        throw new Error(`lost amqp://u:${secret}@h`);
      });
      second.start();
      await second.open('p');
      await expect.poll(() => logged.length).toBeGreaterThan(0);
      await second.close();
    } finally {
      console.error = quiet;
    }
    expect(JSON.stringify(logged)).not.toContain(secret);
    expect(JSON.stringify(logged)).toContain('amqp://u:***@h');
  });
});

describe('the inspector backend facing hostile telemetry', () => {
  let backend: InspectorBackend | undefined;
  afterEach(async () => backend?.close());

  it('keeps ticking when a telemetry batch has a numeric handler and an absurd time, and shows the valid records', async () => {
    const tap = new FakeTap(false);
    backend = new InspectorBackend({ profiles: [profile], tickMs: 10, createTap: () => tap });
    const ticks: TickMessage[] = [];
    backend.onTick((tick) => ticks.push(tick));
    backend.start();
    await backend.open('p');
    const records = [
      { kind: 'handler-failed', time: 1e300, service: 'shop', handler: 5, correlationId: 'c' },
      { kind: 'dead-lettered', time: 1_000, service: 'shop', handler: 7 },
      { kind: 'handler-succeeded', time: 1_000, service: 'shop', handler: 'shop.Kitchen', eventId: 'e', correlationId: 'c' },
      { kind: 'dead-lettered', time: 2_000, service: 'shop', handler: 'shop.Sms' },
    ];
    tap.listener!.message(tappedTelemetry('t-1', records as never));
    // Rates are computed at most once a second, in the tick timer: wait for one with handlers.
    await expect.poll(() => ticks.at(-1)?.rates.handlers.map((h) => h.handler), { timeout: 5_000 }).toEqual(['shop.Sms', 'shop.Kitchen']);
    expect(backend.capture.flow('c').lanes.map((lane) => lane.handler)).toEqual(['shop.Kitchen']);
    expect(backend.errors).toBe(0);
  });

  it('reports an error thrown in its tick timer and keeps ticking', async () => {
    const tap = new FakeTap(false);
    backend = new InspectorBackend({ profiles: [profile], tickMs: 10, createTap: () => tap });
    let calls = 0;
    backend.onTick(() => {
      calls++;
      throw new Error('listener broke');
    });
    const quiet = console.error;
    console.error = () => undefined;
    try {
      backend.start();
      await backend.open('p');
      tap.listener!.message(tapped({ id: 'a', type: 't' }));
      await expect.poll(() => calls).toBeGreaterThanOrEqual(1);
      tap.listener!.message(tapped({ id: 'b', type: 't' }));
      await expect.poll(() => calls).toBeGreaterThanOrEqual(2);
      expect(backend.errors).toBeGreaterThanOrEqual(2);
    } finally {
      console.error = quiet;
    }
  });
});
