import { connect, createServer, type Server, type Socket } from 'node:net';

/** What the proxy does to the traffic right now. */
export type ProxyMode = 'pass' | 'blackhole';

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

/**
 * A TCP proxy on loopback between clients and a broker, controlled by the test: reset every
 * connection, add latency to every chunk in both directions, or blackhole (accept and keep
 * connections, forward nothing, answer nothing) until healed.
 */
export class FaultProxy {
  readonly #targetHost: string;
  readonly #targetPort: number;
  readonly #pairs = new Set<Pair>();
  readonly #server: Server;
  #latencyMs = 0;
  #mode: ProxyMode = 'pass';
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(targetHost: string, targetPort: number) {
    this.#targetHost = targetHost;
    this.#targetPort = targetPort;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Starts a proxy on a free loopback port in front of `targetHost:targetPort`. */
  static async start(targetHost: string, targetPort: number): Promise<FaultProxy> {
    const proxy = new FaultProxy(targetHost, targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString().replace(/\/$/, '');
  }

  /** Open connection pairs. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Resets (RST) every open connection; new ones are accepted as usual. */
  reset(): void {
    for (const pair of this.#pairs) {
      pair.client.resetAndDestroy();
      pair.upstream.resetAndDestroy();
    }
    this.#pairs.clear();
  }

  /** Delays every chunk, both ways, by `ms` (0 removes the delay). */
  latency(ms: number): void {
    this.#latencyMs = ms;
  }

  /** Stops forwarding anything, both ways, on open and new connections, until {@link heal}. */
  blackhole(): void {
    this.#mode = 'blackhole';
  }

  /** Passes traffic again, without latency; what was held during a blackhole is dropped with its connection. */
  heal(): void {
    this.#latencyMs = 0;
    if (this.#mode === 'blackhole') {
      this.#mode = 'pass';
      // Bytes swallowed by the blackhole are gone: the connections that lost them cannot be
      // resumed, as after a real partition. Reset them so clients notice now.
      this.reset();
    }
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted++;
    const upstream = connect({ host: this.#targetHost, port: this.#targetPort });
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    this.#forward(client, upstream);
    this.#forward(upstream, client);
  }

  /** Forwards chunks in order, each after the latency in force when it arrived; nothing while blackholed. */
  #forward(from: Socket, to: Socket): void {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (this.#mode === 'blackhole') return;
      const delay = this.#latencyMs;
      if (delay === 0) {
        chain = chain.then(() => void (to.destroyed ? undefined : to.write(chunk)));
        return;
      }
      const due = Date.now() + delay;
      chain = chain.then(
        () =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              if (!to.destroyed && this.#mode === 'pass') to.write(chunk);
              resolve();
            }, Math.max(0, due - Date.now()));
          }),
      );
    });
  }
}
