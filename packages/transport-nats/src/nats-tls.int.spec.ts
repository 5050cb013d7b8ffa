import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

import { brokerUrl } from '@cloudbus/test/brokers';
import { afterEach, describe, expect, it } from 'vitest';

import { NatsConnectionError } from './nats-connection-error.js';
import { NatsTransport } from './nats-transport.js';

/**
 * A listener posing as a NATS server that offers no TLS: it greets with INFO (no tls_required,
 * no tls_available) and records every byte the client sends.
 */
async function plainNatsImpostor(): Promise<{ server: Server; port: number; received: () => string }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.write(`INFO {"server_id":"impostor","server_name":"impostor","version":"2.10.0","proto":1,"host":"127.0.0.1","port":4222,"headers":true,"max_payload":1048576}\r\n`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.on('close', () => {
    for (const socket of sockets) socket.destroy();
  });
  return { server, port: (server.address() as AddressInfo).port, received: () => Buffer.concat(chunks).toString('latin1') };
}

const url = brokerUrl('nats');

describe('a tls:// URL requires TLS', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.close();
      server.emit('close');
    }
  });

  it('refuses a server that offers no TLS and never sends CONNECT with the password in clear', async () => {
    const impostor = await plainNatsImpostor();
    servers.push(impostor.server);
    const transport = new NatsTransport({ url: `tls://alice:s3cret-pass@127.0.0.1:${impostor.port}`, connectTimeoutMs: 2_000, maxReconnectAttempts: 0 });
    const error = await transport.connect().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    await transport.close().catch(() => undefined);
    expect(error).toBeInstanceOf(NatsConnectionError);
    expect((error as Error).message).toMatch(/tls/i);
    expect((error as Error).message).not.toContain('s3cret-pass');
    expect(impostor.received()).not.toContain('CONNECT');
    expect(impostor.received()).not.toContain('s3cret-pass');
  });

  it.skipIf(!url)('refuses the local server, which has no TLS', async () => {
    const local = new URL(url!);
    const transport = new NatsTransport({ url: `tls://${local.host}`, connectTimeoutMs: 2_000, maxReconnectAttempts: 0 });
    await expect(transport.connect()).rejects.toThrow(NatsConnectionError);
    await transport.close().catch(() => undefined);
  });
});
