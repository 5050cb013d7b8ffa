import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';

import { ConfigurationError } from '@cloudbus/core';
import { WebSocketServer, type WebSocket } from 'ws';

import type { InspectorBackend } from '../backend/inspector-backend.js';
import { parseRequest, type ReplyMessage, type TickMessage } from '../shared/channel-contract.js';

/** Options of the web-mode server. */
export interface WebServerOptions {
  readonly backend: InspectorBackend;
  /** Directory of the built renderer (`dist/renderer`). */
  readonly staticDir: string;
  /**
   * Port on 127.0.0.1; 0 picks a free one.
   * @default 5178
   */
  readonly port?: number | undefined;
  /**
   * A client whose socket holds more than this many bytes unsent skips ticks (the UI counts the
   * gap and says so) instead of growing memory without bound.
   * @default 16_777_216
   */
  readonly maxBufferedBytes?: number | undefined;
}

const HOST = '127.0.0.1';
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

/** Content Security Policy of the UI: nothing but its own files and its own WebSocket. */
export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ws://${HOST}:${port} ws://localhost:${port}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Web mode: serves the built renderer on 127.0.0.1 only and speaks the channel contract over a
 * WebSocket at `/ws`. Requests whose Host is not this loopback address (DNS rebinding) and
 * WebSocket upgrades from another origin (other sites open in the browser) are refused; every
 * message is validated before the backend sees it.
 */
export class InspectorWebServer {
  readonly #options: WebServerOptions;
  readonly #root: string;
  readonly #maxBuffered: number;
  #server: Server | undefined;
  #sockets: WebSocketServer | undefined;
  #stopTicks: (() => void) | undefined;
  #port = 0;

  constructor(options: WebServerOptions) {
    const port = options.port ?? 5178;
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigurationError(`port must be 0 to 65535; got ${port}.`);
    this.#options = { ...options, port };
    this.#root = resolve(options.staticDir);
    this.#maxBuffered = options.maxBufferedBytes ?? 16_777_216;
  }

  /** The address the UI is served at, once started. */
  get url(): string {
    return `http://${HOST}:${this.#port}/`;
  }

  async start(): Promise<string> {
    const server = createServer((request, response) => void this.#serve(request, response));
    const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
    server.on('upgrade', (request, socket, head) => {
      if (new URL(request.url ?? '/', 'http://x').pathname !== '/ws' || !this.#trustedHost(request) || !this.#trustedOrigin(request)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      sockets.handleUpgrade(request, socket, head, (ws) => this.#accept(ws));
    });
    await new Promise<void>((done, failed) => {
      server.once('error', failed);
      server.listen(this.#options.port, HOST, () => done());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    this.#sockets = sockets;
    const encoded = new WeakMap<TickMessage, string>();
    this.#stopTicks = this.#options.backend.onTick((tick) => {
      let text = encoded.get(tick);
      if (text === undefined) encoded.set(tick, (text = JSON.stringify(tick)));
      for (const client of sockets.clients) {
        if (client.readyState === client.OPEN && client.bufferedAmount < this.#maxBuffered) client.send(text);
      }
    });
    return this.url;
  }

  async close(): Promise<void> {
    this.#stopTicks?.();
    for (const client of this.#sockets?.clients ?? []) client.terminate();
    this.#sockets?.close();
    await new Promise<void>((done) => (this.#server === undefined ? done() : this.#server.close(() => done())));
    this.#server = undefined;
  }

  #trustedHost(request: IncomingMessage): boolean {
    const host = request.headers.host;
    return host === `${HOST}:${this.#port}` || host === `localhost:${this.#port}`;
  }

  #trustedOrigin(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    return origin === `http://${HOST}:${this.#port}` || origin === `http://localhost:${this.#port}`;
  }

  #accept(ws: WebSocket): void {
    ws.on('message', (raw) => {
      let requestId = -1;
      void (async () => {
        let reply: ReplyMessage;
        try {
          const parsed: unknown = JSON.parse(String(raw));
          if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { requestId?: unknown }).requestId === 'number') {
            requestId = (parsed as { requestId: number }).requestId;
          }
          const request = parseRequest(parsed);
          const result = await this.#options.backend.handle(request);
          reply = { kind: 'reply', requestId, ok: true, result };
        } catch (error) {
          reply = { kind: 'reply', requestId, ok: false, error: error instanceof Error ? error.message : String(error) };
        }
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
      })();
    });
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const headers = {
      'Content-Security-Policy': contentSecurityPolicy(this.#port),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    };
    if (!this.#trustedHost(request)) {
      response.writeHead(421, headers).end('Misdirected request: the inspector answers on 127.0.0.1 only.');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    } catch {
      response.writeHead(400, headers).end();
      return;
    }
    const file = normalize(join(this.#root, path === '/' ? 'index.html' : path));
    if (file !== this.#root && !file.startsWith(this.#root + sep)) {
      response.writeHead(404, headers).end();
      return;
    }
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) {
      response.writeHead(404, headers).end('Not found. Was the renderer built (pnpm --filter inspector build)?');
      return;
    }
    response.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': info.size });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  }
}
