import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';

/** A listener posing as a NATS server that offers no TLS. */
export interface PlainNatsServer {
  readonly port: number;
  /** Every byte the clients sent so far, as text. */
  received(): string;
  close(): Promise<void>;
}

/**
 * Starts a listener on 127.0.0.1 that greets each client with a NATS `INFO` offering no TLS
 * (neither `tls_required` nor `tls_available`) and records what the client sends: a client told
 * to require TLS must hang up without sending `CONNECT` (which carries the credentials).
 */
export async function startPlainNatsServer(): Promise<PlainNatsServer> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.write(`INFO {"server_id":"plain","server_name":"plain","version":"2.10.0","proto":1,"host":"127.0.0.1","port":4222,"headers":true,"max_payload":1048576}\r\n`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    received: () => Buffer.concat(chunks).toString('latin1'),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
