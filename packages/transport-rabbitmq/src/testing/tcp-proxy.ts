import { Buffer } from 'node:buffer';
import { createServer, connect, type Server, type Socket } from 'node:net';

/** An AMQP 0-9-1 frame a client sent, as {@link TcpProxy.holdClientFrames} sees it. */
export interface ClientFrame {
  /** 1 method, 2 content header, 3 content body, 8 heartbeat. */
  readonly type: number;
  readonly channel: number;
  /**
   * Class and method of a method frame (type 1), e.g. `exchange.declare` 40/10, `queue.declare`
   * 50/10, `basic.qos` 60/10, `basic.consume` 60/20, `basic.publish` 60/40, `confirm.select` 85/10,
   * `channel.open` 20/10; undefined for other frames.
   */
  readonly classId: number | undefined;
  readonly methodId: number | undefined;
}

/** `AMQP` 0 0 9 1: what a client sends first, before any frame. */
const PROTOCOL_HEADER_BYTES = 8;
/** Type (1), channel (2), payload size (4). */
const FRAME_HEADER_BYTES = 7;
/** The frame-end octet after the payload. */
const FRAME_END_BYTES = 1;

/**
 * Splits what a client sends into AMQP frames and drops those held: a frame the predicate returns
 * true for, and every later frame of the same channel (the channel is stuck, as on a broker whose
 * channel process never returns). Channel 0 (the connection itself, heartbeats) is never stuck by
 * an earlier frame, so the connection stays up.
 */
class ClientFrameFilter {
  readonly #stuck = new Set<number>();
  #headerLeft = PROTOCOL_HEADER_BYTES;
  #rest: Buffer = Buffer.alloc(0);

  constructor(
    readonly hold: () => ((frame: ClientFrame) => boolean) | undefined,
    readonly onHeld: () => void,
  ) {}

  /** The bytes of `chunk` to forward: complete frames not held (an incomplete last frame waits for the next chunk). */
  filter(chunk: Buffer): Buffer {
    let data = this.#rest.length === 0 ? chunk : Buffer.concat([this.#rest, chunk]);
    const out: Buffer[] = [];
    if (this.#headerLeft > 0) {
      const header = data.subarray(0, this.#headerLeft);
      out.push(header);
      this.#headerLeft -= header.length;
      data = data.subarray(header.length);
    }
    let offset = 0;
    while (data.length - offset >= FRAME_HEADER_BYTES) {
      const size = data.readUInt32BE(offset + 3);
      const end = offset + FRAME_HEADER_BYTES + size + FRAME_END_BYTES;
      if (end > data.length) break;
      const type = data.readUInt8(offset);
      const channel = data.readUInt16BE(offset + 1);
      const method = type === 1 && size >= 4;
      const frame: ClientFrame = {
        type,
        channel,
        classId: method ? data.readUInt16BE(offset + FRAME_HEADER_BYTES) : undefined,
        methodId: method ? data.readUInt16BE(offset + FRAME_HEADER_BYTES + 2) : undefined,
      };
      if (this.#stuck.has(channel) || this.hold()?.(frame) === true) {
        if (channel !== 0) this.#stuck.add(channel);
        this.onHeld();
      } else {
        out.push(data.subarray(offset, end));
      }
      offset = end;
    }
    this.#rest = Buffer.from(data.subarray(offset));
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}

/**
 * A TCP proxy in front of the broker, so a test can cut the connection (and refuse new ones),
 * blackhole it (keep the sockets open, forward nothing), or hold some of the client's AMQP frames
 * (a broker that never answers a declare, a consume or a publish), without touching the broker
 * other tests use, then let it through again.
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
  /**
   * While set, the client frames it returns true for are swallowed, on open and new connections, as
   * by a broker that accepts them and never answers: the handshake and heartbeats go through, and
   * the connection stays open. A channel with a frame held is stuck for good: every later frame the
   * client sends on it on that connection is swallowed too, also after this is unset (as a broker
   * channel process that never returns); connections opened once it is unset are served in full.
   */
  holdClientFrames: ((frame: ClientFrame) => boolean) | undefined;
  /** Client frames swallowed so far by {@link holdClientFrames}. */
  held = 0;

  private constructor(targetHost: string, targetPort: number) {
    this.#targetHost = targetHost;
    this.#targetPort = targetPort;
  }

  /** Starts a proxy in front of the broker at `url`; `url` of the result is the same URL through the proxy. */
  static async inFrontOf(url: string): Promise<{ proxy: TcpProxy; url: string }> {
    const target = new URL(url);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port || 5672));
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    return { proxy, url: proxied.href };
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
      const frames = new ClientFrameFilter(
        () => this.holdClientFrames,
        () => this.held++,
      );
      this.#forward(client, upstream, (chunk) => frames.filter(chunk));
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

  #forward(from: Socket, to: Socket, filter?: (chunk: Buffer) => Buffer): void {
    /** When the last delayed chunk of this direction goes out: later chunks never overtake it. */
    let lastDue = 0;
    from.on('data', (received: Buffer) => {
      // Filtered first, even when dropped: the frame parser stays in step with the stream.
      const chunk = filter === undefined ? received : filter(received);
      if (this.#blackholed || to.destroyed || chunk.length === 0) return;
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
