import {
  parseServerMessage,
  type RequestMessage,
  type RequestName,
  type RequestParams,
  type RequestResult,
  type TickMessage,
} from '../shared/channel-contract.js';
import type { InspectorApi } from '../shared/inspector-api.js';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in web mode. */
    readonly cloudbusInspector?: InspectorApi;
  }
}

/**
 * The renderer's end of the channel: Electron IPC through the preload when it is there, the web
 * mode's WebSocket otherwise. Every message received is validated before use.
 */
export class InspectorClient {
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #tickListeners = new Set<(tick: TickMessage) => void>();
  readonly #stateListeners = new Set<(connected: boolean) => void>();
  #socket: WebSocket | undefined;
  #ready: Promise<void>;
  readonly #api: InspectorApi | undefined;

  constructor() {
    this.#api = window.cloudbusInspector;
    if (this.#api !== undefined) {
      this.#api.onTick((raw) => this.#receive(raw));
      this.#ready = Promise.resolve();
    } else {
      this.#ready = this.#connect();
    }
  }

  #connect(): Promise<void> {
    return new Promise((resolve) => {
      const socket = new WebSocket(`ws://${location.host}/ws`);
      this.#socket = socket;
      socket.onopen = () => {
        for (const listener of this.#stateListeners) listener(true);
        resolve();
      };
      socket.onmessage = (event) => {
        try {
          this.#receive(JSON.parse(String(event.data)));
        } catch (error) {
          console.error('Dropped a message off the channel contract', error);
        }
      };
      socket.onclose = () => {
        for (const listener of this.#stateListeners) listener(false);
        for (const pending of this.#pending.values()) pending.reject(new Error('The connection to the inspector backend closed.'));
        this.#pending.clear();
        setTimeout(() => {
          this.#ready = this.#connect();
        }, 1_000);
      };
    });
  }

  #receive(raw: unknown): void {
    const message = parseServerMessage(raw);
    if (message.kind === 'tick') {
      for (const listener of this.#tickListeners) listener(message);
      return;
    }
    const pending = this.#pending.get(message.requestId);
    if (pending === undefined) return;
    this.#pending.delete(message.requestId);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(new Error(message.error));
  }

  /** Sends a request and resolves with its result. */
  async request<N extends RequestName>(name: N, params: RequestParams<N>): Promise<RequestResult<N>> {
    await this.#ready;
    const message: RequestMessage<N> = { kind: 'request', requestId: this.#nextId++, name, params };
    if (this.#api !== undefined) {
      const reply = parseServerMessage(await this.#api.request(message as RequestMessage));
      if (reply.kind !== 'reply') throw new Error('Expected a reply.');
      if (!reply.ok) throw new Error(reply.error);
      return reply.result as RequestResult<N>;
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(message.requestId, { resolve: resolve as (value: unknown) => void, reject });
      this.#socket!.send(JSON.stringify(message));
    });
  }

  onTick(listener: (tick: TickMessage) => void): () => void {
    this.#tickListeners.add(listener);
    return () => this.#tickListeners.delete(listener);
  }

  onConnection(listener: (connected: boolean) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }
}
