import { randomUUID } from 'node:crypto';

import {
  assertExtension,
  ConfigurationError,
  Extensions,
  InvalidCloudEventError,
  prepareReplay,
  redactCredentials,
  readDeadLetterRecord,
  SPEC_VERSION,
  validateCloudEvent,
  type CloudEvent,
} from '@cloudbus/core';

import type { PublishParams, ReplayResult, RequestMessage, RequestName, RequestParams, RequestResult, TickMessage } from '../shared/channel-contract.js';
import type { ConnectionProfile, ProfileStatus } from '../shared/connection-profile.js';
import type { RateSnapshot } from '../shared/rates.js';
import { REPLAY_EXTENSION } from './build-flow-graph.js';
import { CaptureStore } from './capture-store.js';
import { redactSecrets } from './redaction.js';
import type { BrokerTap } from './taps/broker-tap.js';
import { createTap } from './taps/create-tap.js';

/** Extensions a test event may not set: they mark a replay (core's `replayfor`, the inspector's own). */
const RESERVED_EXTENSIONS: readonly string[] = [Extensions.replayFor, REPLAY_EXTENSION];

/** Where passwords come from: the environment in web mode, `safeStorage` in the desktop app. */
export type PasswordSource = (profile: ConnectionProfile) => string | undefined;

/** Reads a profile's password from the environment variable its `passwordEnv` names. */
export const passwordFromEnvironment: PasswordSource = (profile) =>
  profile.passwordEnv === undefined ? undefined : process.env[profile.passwordEnv];

/** Options of the backend. */
export interface InspectorBackendOptions {
  readonly profiles: readonly ConnectionProfile[];
  /** @default passwords from the environment ({@link passwordFromEnvironment}) */
  readonly passwords?: PasswordSource | undefined;
  /**
   * Messages kept in the capture.
   * @default 50_000
   */
  readonly capacity?: number | undefined;
  /**
   * How often new events are pushed to the UI, in ms: updates are batched on this tick.
   * @default 100
   */
  readonly tickMs?: number | undefined;
  /**
   * First delay before reopening a tap whose connection was lost or refused, in ms; doubles up to
   * `reconnectMaxDelayMs`. A profile closed from the UI is not reopened.
   * @default 500
   */
  readonly reconnectMinDelayMs?: number | undefined;
  /** @default 10_000 */
  readonly reconnectMaxDelayMs?: number | undefined;
  /** Builds the tap of a profile. @default {@link createTap} */
  readonly createTap?: ((profile: ConnectionProfile, password: string | undefined) => BrokerTap) | undefined;
}

interface OpenProfile {
  status: ProfileStatus;
  tap: BrokerTap | undefined;
  /** True while the profile should be open (opened, not closed from the UI). */
  wanted: boolean;
  retryTimer: NodeJS.Timeout | undefined;
  failures: number;
}

type Handlers = { readonly [N in RequestName]: (params: RequestParams<N>) => Promise<RequestResult<N>> | RequestResult<N> };

/**
 * The inspector's backend: opens taps on connection profiles, keeps the capture, answers the
 * channel's requests and pushes a tick of new events on a fixed interval. It runs in Electron's
 * main process or in the web-mode server alike; both hand it validated requests.
 */
export class InspectorBackend {
  readonly capture: CaptureStore;
  readonly #profiles = new Map<string, OpenProfile>();
  readonly #passwords: PasswordSource;
  readonly #tickMs: number;
  readonly #createTap: (profile: ConnectionProfile, password: string | undefined) => BrokerTap;
  readonly #reconnectMinDelayMs: number;
  readonly #reconnectMaxDelayMs: number;
  readonly #listeners = new Set<(tick: TickMessage) => void>();
  #timer: NodeJS.Timeout | undefined;
  #rates: RateSnapshot = { windowSeconds: 0, types: [], handlers: [] };
  #ratesAt = 0;
  #profilesChanged = true;
  #closed = false;
  #errors = 0;

  constructor(options: InspectorBackendOptions) {
    const tickMs = options.tickMs ?? 100;
    if (!Number.isFinite(tickMs) || tickMs < 10) throw new ConfigurationError(`tickMs must be at least 10; got ${tickMs}.`);
    this.#tickMs = tickMs;
    this.capture = new CaptureStore({ capacity: options.capacity ?? 50_000 });
    this.#passwords = options.passwords ?? passwordFromEnvironment;
    this.#createTap = options.createTap ?? createTap;
    this.#reconnectMinDelayMs = options.reconnectMinDelayMs ?? 500;
    this.#reconnectMaxDelayMs = options.reconnectMaxDelayMs ?? 10_000;
    if (!(this.#reconnectMinDelayMs > 0 && this.#reconnectMaxDelayMs >= this.#reconnectMinDelayMs)) {
      throw new ConfigurationError('reconnectMinDelayMs must be positive and at most reconnectMaxDelayMs.');
    }
    for (const profile of options.profiles) {
      if (this.#profiles.has(profile.id)) throw new ConfigurationError(`Two connection profiles have the id '${profile.id}'.`);
      this.#profiles.set(profile.id, { status: { profile, state: 'closed' }, tap: undefined, wanted: false, retryTimer: undefined, failures: 0 });
    }
  }

  /** Starts pushing ticks. */
  start(): void {
    this.#timer ??= setInterval(() => {
      // Nothing read off the wire may end the inspector: a tick that fails is reported and skipped.
      try {
        this.#tick();
      } catch (error) {
        this.#reportError('tick', error);
      }
    }, this.#tickMs);
  }

  /** Receives every tick; returns the function that stops it. */
  onTick(listener: (tick: TickMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Answers one validated request. */
  async handle(request: RequestMessage): Promise<unknown> {
    const handler = this.#handlers[request.name] as (params: unknown) => unknown;
    return await handler(request.params);
  }

  /** Opens a profile's tap; while it stays wanted, a lost or refused connection is retried with backoff. */
  async open(profileId: string): Promise<ProfileStatus> {
    const entry = this.#entry(profileId);
    entry.wanted = true;
    if (entry.status.state === 'open' || entry.status.state === 'connecting') return entry.status;
    clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
    const profile = entry.status.profile;
    this.#setStatus(entry, { profile, state: 'connecting' });
    const secret = this.#passwords(profile);
    let tap: BrokerTap;
    try {
      tap = this.#createTap(profile, secret);
    } catch (error) {
      // Options the transport's parser refuses: retrying would not help.
      entry.wanted = false;
      this.#failed(entry, error as Error, secret);
      return entry.status;
    }
    entry.tap = tap;
    try {
      await tap.open({
        message: (tapped) => {
          try {
            this.capture.add(profileId, tapped);
          } catch (error) {
            this.#reportError('capture', error);
          }
        },
        failed: (error) => {
          if (entry.tap !== tap) return;
          entry.tap = undefined;
          void tap.close();
          this.#failed(entry, error, secret);
        },
      });
      if (entry.tap !== tap) {
        // Closed from the UI while connecting.
        await tap.close();
        return entry.status;
      }
      entry.failures = 0;
      this.#setStatus(entry, { profile, state: 'open' });
    } catch (error) {
      if (entry.tap === tap) entry.tap = undefined;
      await tap.close().catch(() => undefined);
      this.#failed(entry, error as Error, secret);
    }
    return entry.status;
  }

  #failed(entry: OpenProfile, error: unknown, secret: string | undefined): void {
    const profile = entry.status.profile;
    // The reason goes to the UI and the console: never with the password in it.
    const reason = redactSecrets(redactCredentials(error instanceof Error ? error.message : String(error)), [secret]);
    this.#setStatus(entry, { profile, state: 'failed', error: reason });
    if (!entry.wanted || this.#closed) return;
    const delay = Math.min(this.#reconnectMaxDelayMs, this.#reconnectMinDelayMs * 2 ** Math.min(entry.failures++, 20));
    clearTimeout(entry.retryTimer);
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = undefined;
      if (entry.wanted && entry.status.state === 'failed') this.open(profile.id).catch((error: unknown) => this.#reportError('reconnect', error));
    }, delay);
  }

  #reportError(where: string, error: unknown): void {
    this.#errors++;
    // Messages only, never the values that caused them (which may be large or hostile).
    console.error(`cloudbus inspector: ${where} failed and was skipped: ${redactCredentials(error instanceof Error ? error.message : String(error))}`);
  }

  /** Errors caught in timers and tap callbacks so far (each was reported and skipped). */
  get errors(): number {
    return this.#errors;
  }

  /** Closes a profile's tap. */
  async closeProfile(profileId: string): Promise<ProfileStatus> {
    const entry = this.#entry(profileId);
    entry.wanted = false;
    clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
    const tap = entry.tap;
    entry.tap = undefined;
    await tap?.close();
    this.#setStatus(entry, { profile: entry.status.profile, state: 'closed' });
    return entry.status;
  }

  /** Closes every tap and stops ticking. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const id of this.#profiles.keys()) await this.closeProfile(id);
    this.#listeners.clear();
  }

  profileStatuses(): ProfileStatus[] {
    return [...this.#profiles.values()].map((entry) => entry.status);
  }

  #entry(profileId: string): OpenProfile {
    const entry = this.#profiles.get(profileId);
    if (entry === undefined) throw new ConfigurationError(`No connection profile '${profileId}'.`);
    return entry;
  }

  #setStatus(entry: OpenProfile, status: ProfileStatus): void {
    entry.status = status;
    this.#profilesChanged = true;
  }

  #openTap(profileId: string): BrokerTap {
    const tap = this.#profiles.get(profileId)?.tap;
    if (tap === undefined) throw new ConfigurationError(`Connection profile '${profileId}' is not open; open it first.`);
    return tap;
  }

  #tick(): void {
    const now = Date.now();
    const { events, reset } = this.capture.takePending();
    const ratesDue = now - this.#ratesAt >= 1_000;
    if (events.length === 0 && !reset && !ratesDue && !this.#profilesChanged) return;
    if (ratesDue) {
      this.#rates = this.capture.rates();
      this.#ratesAt = now;
    }
    this.#profilesChanged = false;
    const tick: TickMessage = {
      kind: 'tick',
      events,
      dropped: this.capture.dropped,
      total: this.capture.total,
      telemetryDropped: this.capture.telemetryDropped,
      reset,
      rates: this.#rates,
      profiles: this.profileStatuses(),
    };
    for (const listener of this.#listeners) listener(tick);
  }

  async #publishTest(params: PublishParams): Promise<{ id: string }> {
    for (const [name, value] of Object.entries(params.extensions)) {
      // Core's extension check: no context attribute (id, type, datacontenttype, dataschema, ...) nor data.
      assertExtension(name, value);
      // Nor what marks a replay: a test event must not pass for one.
      if (RESERVED_EXTENSIONS.includes(name)) throw new InvalidCloudEventError(`'${name}' marks a dead-letter replay; replay from the Dead letters view instead.`, name);
    }
    let data: unknown;
    if (params.data.trim() !== '') {
      try {
        data = JSON.parse(params.data);
      } catch (error) {
        throw new ConfigurationError(`The data is not valid JSON: ${(error as Error).message}`, { cause: error });
      }
    }
    const event: CloudEvent = {
      ...params.extensions,
      specversion: SPEC_VERSION,
      id: randomUUID(),
      source: params.source,
      type: params.type,
      time: new Date().toISOString(),
      ...(params.subject === undefined ? {} : { subject: params.subject }),
      ...(data === undefined ? {} : { datacontenttype: 'application/json', data }),
    };
    validateCloudEvent(event);
    await this.#openTap(params.profileId).publish(event);
    return { id: event.id };
  }

  async #replay(seqs: readonly number[]): Promise<ReplayResult> {
    const replayed: { seq: number; id: string }[] = [];
    const failed: { seq: number; error: string }[] = [];
    for (const seq of seqs) {
      try {
        const captured = this.capture.get(seq);
        if (captured === undefined || captured.summary.kind !== 'dead-letter') throw new ConfigurationError(`No dead letter #${seq} in the capture.`);
        const original = captured.cloudEvent;
        if (original === undefined) throw new ConfigurationError(`Dead letter #${seq} is not a CloudEvent; it cannot be replayed.`);
        // Core's replay: new id, causation = the dead letter, and replayfor = the handler that gave
        // up, so the other handlers of the event type ack it without running again.
        const event = { ...prepareReplay({ cloudEvent: original, record: readDeadLetterRecord(original) }), [REPLAY_EXTENSION]: 'true' } as CloudEvent;
        await this.#openTap(captured.summary.profileId).publish(event, captured.originalDestination);
        this.capture.markReplayed(seq, event.id);
        replayed.push({ seq, id: event.id });
      } catch (error) {
        failed.push({ seq, error: redactCredentials(error instanceof Error ? error.message : String(error)) });
      }
    }
    return { replayed, failed };
  }

  readonly #handlers: Handlers = {
    'profiles.list': () => this.profileStatuses(),
    'profile.open': ({ profileId }) => this.open(profileId),
    'profile.close': ({ profileId }) => this.closeProfile(profileId),
    'capture.snapshot': () => this.capture.snapshot(),
    'capture.clear': () => {
      this.capture.clear();
      return null;
    },
    'capture.export': () => ({ events: this.capture.exportBatch() }),
    'capture.import': ({ events }) => this.capture.importBatch(events),
    'event.get': ({ seq }) => this.capture.detail(seq),
    'event.publish': (params) => this.#publishTest(params),
    'flow.get': ({ correlationId }) => this.capture.flow(correlationId),
    'deadletters.list': () => this.capture.deadLetterGroups(),
    'deadletters.replay': ({ seqs }) => this.#replay(seqs),
  };
}
