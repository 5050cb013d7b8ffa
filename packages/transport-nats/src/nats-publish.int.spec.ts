import { PublishError, type WireMessage } from '@cloudbus/core';
import { DiscardPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NatsConnectionError } from './nats-errors.js';
import { type NatsTransport } from './nats-transport.js';
import type { NatsTransportOptions } from './nats-transport-options.js';
import { NatsFixture, natsUrl } from './testing/nats-fixture.js';

const TYPE = 'dev.cloudbus.nats.publish';

function wire(id: string): WireMessage {
  return {
    headers: { specversion: '1.0', id, source: '/nats-publish-spec', type: TYPE },
    contentType: 'application/json',
    body: Buffer.from(JSON.stringify({ id })),
  };
}

const batch = (...ids: string[]) => ids.map((id) => ({ id, type: TYPE, message: wire(id) }));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
}

describe.skipIf(!natsUrl)('nats transport: publish confirmations and stream replicas', () => {
  const fixture = new NatsFixture('natspub', 'nats-publish-spec');
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  /** Options on names of their own: events in `<name>_EVENTS` under subject prefix `<name>`. */
  const own = (prefix: string, extra: NatsTransportOptions = {}) => fixture.own(prefix, extra);
  const open = (options: NatsTransportOptions): Promise<NatsTransport> => fixture.open(options);

  beforeAll(async () => {
    await fixture.start();
    nc = fixture.nc;
    jsm = fixture.jsm;
  });

  afterAll(() => fixture.cleanup());

  it('resolves a batch once JetStream stored every event of it', async () => {
    const options = own('natspubok');
    const transport = await open(options);
    await transport.publish(batch('ok-1', 'ok-2', 'ok-3'));
    const info = await jsm.streams.info(options.stream);
    expect(info.state.messages).toBe(3);
  });

  it('rejects a batch the stream partly refuses, naming only the refused ids and saying why', async () => {
    const options = own('natspubfull');
    // A stream that holds one message and refuses more (the transport keeps an existing stream's limits).
    await jsm.streams.add({ name: options.stream, subjects: [`${options.subjectPrefix}.>`], storage: StorageType.File, max_msgs: 1, discard: DiscardPolicy.New });
    const transport = await open(options);
    const error = await rejection(transport.publish(batch('full-1', 'full-2', 'full-3')));
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).unconfirmed).toEqual(['full-2', 'full-3']);
    expect((error as Error).message).toMatch(/did not confirm 2 of 3 events: .*maximum messages exceeded/);
  });

  it('fails at once, not after the timeout, when no stream captures the subject any more', async () => {
    const options = own('natspubgone', { requestTimeoutMs: 10_000 });
    const transport = await open(options);
    await jsm.streams.delete(options.stream);
    const started = Date.now();
    const error = await rejection(transport.publish(batch('gone-1', 'gone-2')));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).unconfirmed).toEqual(['gone-1', 'gone-2']);
    expect((error as Error).message).toMatch(new RegExp(`no responders.*stream '${options.stream}' was deleted`));
  });

  it('rejects after requestTimeoutMs, naming every id, when nothing confirms the publish', async () => {
    const options = own('natspubsilent', { requestTimeoutMs: 500 });
    const transport = await open(options);
    await jsm.streams.delete(options.stream);
    // A plain subscriber on the subjects: the publish has a responder, but nothing ever acknowledges it.
    const silent = nc.subscribe(`${options.subjectPrefix}.>`);
    await nc.flush();
    try {
      const started = Date.now();
      const error = await rejection(transport.publish(batch('silent-1', 'silent-2')));
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect(error).toBeInstanceOf(PublishError);
      expect((error as PublishError).unconfirmed).toEqual(['silent-1', 'silent-2']);
      expect((error as Error).message).toMatch(/no acknowledgement within 500 ms/);
    } finally {
      silent.unsubscribe();
    }
  });

  it('rejects a publish still waiting for its confirmation when the transport closes', async () => {
    const options = own('natspubclose', { requestTimeoutMs: 30_000 });
    const transport = await open(options);
    await jsm.streams.delete(options.stream);
    const silent = nc.subscribe(`${options.subjectPrefix}.>`);
    await nc.flush();
    try {
      const pending = rejection(transport.publish(batch('close-1')));
      await transport.close();
      const error = await pending;
      expect(error).toBeInstanceOf(PublishError);
      expect((error as PublishError).unconfirmed).toEqual(['close-1']);
      expect((error as Error).message).toMatch(/closed before JetStream confirmed/);
    } finally {
      silent.unsubscribe();
    }
  });

  it('creates its streams with one replica by default', async () => {
    const options = own('natsrep1');
    await open(options);
    expect((await jsm.streams.info(options.stream)).config.num_replicas).toBe(1);
    expect((await jsm.streams.info(options.deadLetterStream)).config.num_replicas).toBe(1);
  });

  it('creates its streams with the replicas asked for, or says why the server cannot place them', async () => {
    const options = own('natsrep3', { replicas: 3 });
    const transport = fixture.createTransport(options);
    const error = await rejection(transport.connect());
    if (nc.info?.cluster !== undefined && error === undefined) {
      // A cluster with three JetStream servers or more: the streams have three replicas.
      expect((await jsm.streams.info(options.stream)).config.num_replicas).toBe(3);
      return;
    }
    expect(error).toBeInstanceOf(NatsConnectionError);
    expect((error as Error).message).toMatch(new RegExp(`cannot create the stream '${options.stream}' with 3 replicas: .*Lower the replicas option or add servers`));
    await expect(jsm.streams.info(options.stream)).rejects.toThrow(/stream not found/);
  });
});
