import { BrokerConnectionError, TransportClosedError } from '@cloudbus/core';
import { describe, expect, it } from 'vitest';

import { NatsConnectionError } from './nats-errors.js';
import { NatsTransport } from './nats-transport.js';

describe('nats transport without a server', () => {
  it('fails to connect with a NatsConnectionError that names the server but not the credentials', async () => {
    const transport = new NatsTransport({ url: 'nats://alice:hunter2@127.0.0.1:1', connectTimeoutMs: 2_000 });
    const error = await transport.connect().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(NatsConnectionError);
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect((error as Error).message).toContain('nats://127.0.0.1:1');
    expect((error as Error).message).toMatch(/nats-server runs there/);
    expect((error as Error).message).not.toContain('hunter2');
    expect((error as Error).message).not.toContain('alice');
  });

  it('refuses to publish or subscribe before connect, and after close', async () => {
    const transport = new NatsTransport();
    const message = { id: 'x', type: 't', message: { headers: {}, body: new Uint8Array() } };
    await expect(transport.publish([message])).rejects.toBeInstanceOf(TransportClosedError);
    await expect(transport.subscribe({ name: 's.h', types: ['t'], concurrency: 1 }, () => {})).rejects.toBeInstanceOf(TransportClosedError);
    await transport.close();
    await expect(transport.close()).rejects.toBeInstanceOf(TransportClosedError);
    await expect(transport.connect()).rejects.toBeInstanceOf(TransportClosedError);
    await expect(transport.publish([message])).rejects.toThrow(/after close/);
  });
});
