import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

import { ConfigurationError, redactCredentials } from '@cloudbus/core';
import { WebSocketServer, type WebSocket } from 'ws';

import type { InspectorBackend } from '../backend/inspector-backend.js';
import { contentTypeOf, fileUnder } from '../backend/renderer-files.js';
import { parseRequest, type ReplyMessage, type TickMessage } from '../shared/channel-contract.js';
import { CONTENT_SECURITY_POLICY } from '../shared/content-security-policy.js';

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
  /**
   * The secret a client must show. Printed in the start-up URL (`?token=...`), swapped for an
   * HttpOnly, SameSite=Strict cookie on first load, and required on every request and on the
   * WebSocket. Give one only in tests.
   * @default 32 random bytes, new at every run
   */
  readonly token?: string | undefined;
}

const HOST = '127.0.0.1';


/** Why an HTTP request or a WebSocket upgrade was refused: the status and text of the answer. */
interface Refusal {
  readonly status: number;
  readonly text: string;
}

/**
 * Web mode: serves the built renderer on 127.0.0.1 only and speaks the channel contract over a
 * WebSocket at `/ws`. Requests whose Host is not this loopback address (DNS rebinding) and
 * WebSocket upgrades from another origin (other sites open in the browser) are refused. Every
 * request and the WebSocket need the run's token (a cookie, set from the printed URL), so no other
 * local process or user can drive the inspector; every message is validated before the backend
 * sees it.
 */
export class InspectorWebServer {
  readonly #options: WebServerOptions;
  readonly #root: string;
  readonly #maxBuffered: number;
  #server: Server | undefined;
  #sockets: WebSocketServer | undefined;
  #stopTicks: (() => void) | undefined;
  #port = 0;
  readonly #token: Buffer;

  constructor(options: WebServerOptions) {
    const port = options.port ?? 5178;
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigurationError(`port must be 0 to 65535; got ${port}.`);
    this.#options = { ...options, port };
    this.#root = resolve(options.staticDir);
    this.#maxBuffered = options.maxBufferedBytes ?? 16_777_216;
    const token = options.token ?? randomBytes(32).toString('base64url');
    if (!/^[A-Za-z0-9_-]{16,}$/.test(token)) throw new ConfigurationError('token must be at least 16 characters of A-Z a-z 0-9 _ -.');
    this.#token = Buffer.from(token);
  }

  /** The address to open, with the run's token, once started. Print it; never log it elsewhere. */
  get url(): string {
    return `http://${HOST}:${this.#port}/?token=${this.#token.toString()}`;
  }

  /** Name of the cookie holding the token; per port, as cookies are shared between the ports of a host. */
  get #cookieName(): string {
    return `cloudbus-inspector-${this.#port}`;
  }

  #isToken(given: string | undefined | null): boolean {
    if (given === undefined || given === null) return false;
    const buffer = Buffer.from(given);
    return buffer.length === this.#token.length && timingSafeEqual(buffer, this.#token);
  }

  #hasTokenCookie(request: IncomingMessage): boolean {
    for (const part of (request.headers.cookie ?? '').split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name === this.#cookieName && this.#isToken(value.join('='))) return true;
    }
    return false;
  }

  /** Why a request or upgrade is refused, or undefined when it may go on. */
  #refusal(request: IncomingMessage, upgrade: boolean): Refusal | undefined {
    if (!this.#trustedHost(request)) return { status: 421, text: 'Misdirected request: the inspector answers on 127.0.0.1 only.' };
    if (upgrade && !this.#trustedOrigin(request)) return { status: 403, text: 'Forbidden: another origin.' };
    if (!this.#hasTokenCookie(request)) return { status: 401, text: 'Open the address the inspector printed at start-up (it holds the token of this run).' };
    return undefined;
  }

  async start(): Promise<string> {
    const server = createServer((request, response) => void this.#serve(request, response));
    const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
    server.on('upgrade', (request, socket, head) => {
      socket.on('error', () => undefined);
      const refusal = new URL(request.url ?? '/', 'http://x').pathname === '/ws' ? this.#refusal(request, true) : { status: 404, text: 'Not Found' };
      if (refusal !== undefined) {
        socket.end(`HTTP/1.1 ${refusal.status} ${refusal.status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nConnection: close\r\n\r\n`);
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
          reply = { kind: 'reply', requestId, ok: false, error: redactCredentials(error instanceof Error ? error.message : String(error)) };
        }
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
      })();
    });
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const headers = {
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    let path: string;
    let query: URLSearchParams;
    try {
      const url = new URL(request.url ?? '/', 'http://x');
      path = decodeURIComponent(url.pathname);
      query = url.searchParams;
    } catch {
      response.writeHead(400, headers).end();
      return;
    }
    if (this.#trustedHost(request) && this.#isToken(query.get('token'))) {
      // The printed URL: swap the token for a cookie the page's scripts cannot read, and drop it from the address bar.
      response
        .writeHead(303, { ...headers, Location: '/', 'Set-Cookie': `${this.#cookieName}=${this.#token.toString()}; HttpOnly; SameSite=Strict; Path=/` })
        .end();
      return;
    }
    const refusal = this.#refusal(request, false);
    if (refusal !== undefined) {
      response.writeHead(refusal.status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(refusal.text);
      return;
    }
    const file = fileUnder(this.#root, path);
    if (file === undefined) {
      response.writeHead(404, headers).end();
      return;
    }
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) {
      response.writeHead(404, headers).end('Not found. Was the renderer built (pnpm --filter inspector build)?');
      return;
    }
    response.writeHead(200, { ...headers, 'Content-Type': contentTypeOf(file), 'Content-Length': info.size });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  }
}
