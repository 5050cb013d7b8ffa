import { brokerUrl } from '@cloudbus/test/brokers';
import { startPlainNatsServer, type PlainNatsServer } from '@cloudbus/test/plain-nats-server';
import { afterEach, describe, expect, it } from 'vitest';

import { NatsConnectionError } from './nats-errors.js';
import { NatsTransport } from './nats-transport.js';

const url = brokerUrl('nats');

describe('a tls:// URL requires TLS', () => {
  let plain: PlainNatsServer | undefined;
  afterEach(async () => plain?.close());

  it('refuses a server that offers no TLS and never sends CONNECT with the password in clear', async () => {
    plain = await startPlainNatsServer();
    const transport = new NatsTransport({ url: `tls://alice:s3cret-pass@127.0.0.1:${plain.port}`, connectTimeoutMs: 2_000, maxReconnectAttempts: 0 });
    const error = await transport.connect().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    await transport.close().catch(() => undefined);
    expect(error).toBeInstanceOf(NatsConnectionError);
    expect((error as Error).message).toMatch(/tls/i);
    expect((error as Error).message).not.toContain('s3cret-pass');
    expect(plain.received()).not.toContain('CONNECT');
    expect(plain.received()).not.toContain('s3cret-pass');
  });

  it.skipIf(!url)('refuses the local server, which has no TLS', async () => {
    const local = new URL(url!);
    const transport = new NatsTransport({ url: `tls://${local.host}`, connectTimeoutMs: 2_000, maxReconnectAttempts: 0 });
    await expect(transport.connect()).rejects.toThrow(NatsConnectionError);
    await transport.close().catch(() => undefined);
  });
});
