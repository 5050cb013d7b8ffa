import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the broker, so a test can cut the connection (and refuse new ones), or
 * blackhole it (keep the sockets open, forward nothing), without touching the broker other tests
 * use, then let it through again.
 */
export class TcpProxy {
  readonly #targetHost: string;
  readonly #targetPort: number;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #blackholed = false;
  port = 0;
  /** Client connections accepted so far. */
  accepted = 0;
  /** Delay added to every chunk, each way, in ms (0: none); chunks keep their order. */
  latencyMs = 0;

  private constructor(targetHost: string, targetPort: number) {
    this.#targetHost = targetHost;
    this.#targetPort = targetPort;
  }

  /** Starts a proxy on a free loopback port. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await proxy.restore();
    return proxy;
  }

  /** Accepts connections again, on the same port. */
  async restore(): Promise<void> {
    const server = createServer((client) => {
      this.accepted++;
      const upstream = connect({ host: this.#targetHost, port: this.#targetPort });
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      this.#forward(client, upstream);
      this.#forward(upstream, client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Forwards nothing any more, both ways, on open and new connections, keeping them open, until {@link heal}. */
  blackhole(): void {
    this.#blackholed = true;
  }

  /** The network is back: resets (RST) the connections whose bytes the blackhole swallowed, and forwards again. */
  heal(): void {
    this.#blackholed = false;
    for (const socket of this.#sockets) socket.resetAndDestroy();
    this.#sockets.clear();
  }

  #forward(from: Socket, to: Socket): void {
    /** When the last delayed chunk of this direction goes out: later chunks never overtake it. */
    let lastDue = 0;
    from.on('data', (chunk: Buffer) => {
      if (this.#blackholed || to.destroyed) return;
      const now = Date.now();
      if (this.latencyMs > 0 || lastDue > now) {
        lastDue = Math.max(now + this.latencyMs, lastDue);
        setTimeout(() => {
          if (!this.#blackholed && !to.destroyed) to.write(chunk);
        }, lastDue - now);
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
  }

  /** Drops every open connection and refuses new ones until {@link restore}. */
  async cut(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
