import { createHash } from 'node:crypto';

import type { CloudEvent } from '../envelope/cloud-event.js';
import { ConfigurationError, DeadLettersUnsupportedError } from '../errors.js';
import { canReadDeadLetters, canRemoveDeadLetters, type StoredDeadLetter, type Transport } from '../transport/transport.js';
import { decodeDeadLetter, prepareReplay, type DeadLetter } from './dead-letter-message.js';
import type { DeadLetterReason } from './dead-letter-record.js';

/** The reasons a dead letter can carry, for validating filters. */
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [
  'retries-exhausted',
  'non-retryable',
  'invalid',
  'unknown-type',
  'undecodable',
  'unsupported-version',
];

/** Which dead letters to list, replay or delete. Every field set must match; an empty filter matches all. */
export interface DeadLetterFilter {
  /** The service whose handler gave up: the part of the handler name before the first dot. */
  readonly service?: string | undefined;
  /** The handler that gave up, as `<service>.<handler>` or just `<handler>`. */
  readonly handler?: string | undefined;
  /** The CloudEvent type of the original event. */
  readonly type?: string | undefined;
  readonly reason?: DeadLetterReason | undefined;
  /** Dead-lettered at or after this time. */
  readonly from?: Date | undefined;
  /** Dead-lettered before this time. */
  readonly to?: Date | undefined;
}

/** Dead letters by id (see {@link DeadLetterEntry.id}), or by filter. */
export type DeadLetterSelection = string | readonly string[] | DeadLetterFilter;

/** A stored dead letter, decoded, with its id. */
export interface DeadLetterEntry extends DeadLetter {
  /**
   * Stable id of the dead letter: `<handler>:<event id>`, the subscription that gave up and the
   * original CloudEvent's id (unique together, since a handler dead-letters an event once). A
   * stored message that is not a CloudEvent gets `raw-` and a hash of its bytes as event id; one
   * without a failure record gets `unknown` as handler.
   */
  readonly id: string;
  /** When it was dead-lettered (the record's `time`); undefined when the record has none. */
  readonly time: Date | undefined;
}

/** What {@link DeadLetters.replay} did. */
export interface ReplayReport {
  /** Each dead letter replayed: its id and the id of the event published to replay it. */
  readonly replayed: readonly { readonly id: string; readonly eventId: string }[];
  /** Dead letters that could not be replayed (not a CloudEvent, or the publish failed); they stay stored. */
  readonly failed: readonly { readonly id: string; readonly error: string }[];
  /** Ids asked for that match no stored dead letter. */
  readonly missing: readonly string[];
  /** How many replayed dead letters were removed from the store (0 with `keep`). */
  readonly removed: number;
}

/** Options of {@link DeadLetters.replay}. */
export interface ReplayOptions {
  /**
   * Keep the replayed dead letters stored. By default each is removed once its replay is
   * published (a replay published but not removed, after a failure, is harmless: the idempotent
   * inbox keys replays by the original event's id).
   * @default false
   */
  readonly keep?: boolean;
}

/** What {@link DeadLetters.delete} did. */
export interface DeleteReport {
  /** How many dead letters were removed. */
  readonly deleted: number;
  /** Ids asked for that match no stored dead letter. */
  readonly missing: readonly string[];
}

/**
 * Dead-letter management, the same on every broker: list with filters, show one, replay, delete.
 * Reached through `bus.deadLetters` once the bus is started.
 *
 * Dead letters are shared by every service on a broker (one RabbitMQ queue, one NATS stream, one
 * MQTT topic tree per prefix): filter by `service` to see one service's.
 */
export class DeadLetters {
  readonly #transport: () => Transport;
  readonly #publish: (events: readonly CloudEvent[]) => Promise<void>;

  /**
   * @param transport the connected transport (called on each use)
   * @param publish publishes replays (the bus's `publishPrepared`)
   */
  constructor(transport: () => Transport, publish: (events: readonly CloudEvent[]) => Promise<void>) {
    this.#transport = transport;
    this.#publish = publish;
  }

  /** Stored dead letters matching `filter`, oldest first. */
  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterEntry[]> {
    const matches = matcher(filter);
    return (await this.#read()).filter(matches);
  }

  /** One dead letter by id; undefined when none is stored with that id. */
  async get(id: string): Promise<DeadLetterEntry | undefined> {
    return (await this.#read()).find((entry) => entry.id === id);
  }

  /**
   * Replays dead letters: publishes each with `prepareReplay` (a new event id, `causationid` the
   * original event, `replayfor` the handler that gave up, so that only that handler runs it
   * again), then removes it from the store unless `keep` is set.
   */
  async replay(selection: DeadLetterSelection, options: ReplayOptions = {}): Promise<ReplayReport> {
    const { entries, missing } = await this.#select(selection);
    const replayed: { id: string; eventId: string }[] = [];
    const failed: { id: string; error: string }[] = [];
    const done = new Set<string>();
    for (const entry of entries) {
      if (done.has(entry.id)) continue;
      done.add(entry.id);
      try {
        const replay = prepareReplay(entry);
        await this.#publish([replay]);
        replayed.push({ id: entry.id, eventId: replay.id });
      } catch (error) {
        failed.push({ id: entry.id, error: error instanceof Error ? error.message : String(error) });
      }
    }
    let removed = 0;
    if (options.keep !== true && replayed.length > 0) {
      const ids = new Set(replayed.map((one) => one.id));
      removed = await this.#remove((entry) => ids.has(entry.id));
    }
    return { replayed, failed, missing, removed };
  }

  /** Removes dead letters from the store for good. Every other dead letter stays stored. */
  async delete(selection: DeadLetterSelection): Promise<DeleteReport> {
    if (typeof selection === 'string' || isIdList(selection)) {
      const ids = new Set(typeof selection === 'string' ? [selection] : selection);
      const found = new Set<string>();
      const deleted = await this.#remove((entry) => {
        if (!ids.has(entry.id)) return false;
        found.add(entry.id);
        return true;
      });
      return { deleted, missing: [...ids].filter((id) => !found.has(id)) };
    }
    return { deleted: await this.#remove(matcher(selection)), missing: [] };
  }

  async #select(selection: DeadLetterSelection): Promise<{ entries: DeadLetterEntry[]; missing: string[] }> {
    if (typeof selection === 'string' || isIdList(selection)) {
      const ids = typeof selection === 'string' ? [selection] : selection;
      const all = await this.#read();
      const wanted = new Set(ids);
      const entries = all.filter((entry) => wanted.has(entry.id));
      const found = new Set(entries.map((entry) => entry.id));
      return { entries, missing: ids.filter((id) => !found.has(id)) };
    }
    return { entries: await this.list(selection), missing: [] };
  }

  async #read(): Promise<DeadLetterEntry[]> {
    const transport = this.#transport();
    if (!canReadDeadLetters(transport)) {
      throw new DeadLettersUnsupportedError(`The ${transport.name} transport cannot read its dead letters (it has no readDeadLetters()).`);
    }
    return (await transport.readDeadLetters()).map(toEntry);
  }

  #remove(select: (entry: DeadLetterEntry) => boolean): Promise<number> {
    const transport = this.#transport();
    if (!canRemoveDeadLetters(transport)) {
      return Promise.reject(
        new DeadLettersUnsupportedError(`The ${transport.name} transport cannot remove single dead letters (it has no removeDeadLetters()).`),
      );
    }
    return transport.removeDeadLetters((stored) => select(toEntry(stored)));
  }
}

function isIdList(selection: DeadLetterSelection): selection is readonly string[] {
  return Array.isArray(selection);
}

/** A stored dead letter decoded, with its id and time. */
export function toEntry(stored: StoredDeadLetter): DeadLetterEntry {
  const decoded = decodeDeadLetter(stored);
  const time = decoded.record === undefined || decoded.record.time === '' ? undefined : new Date(decoded.record.time);
  return {
    ...decoded,
    id: deadLetterId(decoded),
    time: time === undefined || Number.isNaN(time.getTime()) ? undefined : time,
  };
}

/** The id of a dead letter, `<handler>:<event id>` (see {@link DeadLetterEntry.id}). */
export function deadLetterId(deadLetter: Pick<DeadLetter, 'record' | 'cloudEvent' | 'message'>): string {
  const handler = deadLetter.record?.handler || 'unknown';
  if (deadLetter.cloudEvent !== undefined) return `${handler}:${deadLetter.cloudEvent.id}`;
  const hash = createHash('sha256');
  const { headers, body } = deadLetter.message;
  for (const name of Object.keys(headers).sort()) {
    if (!name.startsWith('deadletter')) hash.update(`${name}=${headers[name] ?? ''}\n`);
  }
  hash.update(body);
  return `${handler}:raw-${hash.digest('hex').slice(0, 16)}`;
}

/** Validates a filter once and returns its predicate. */
function matcher(filter: DeadLetterFilter): (entry: DeadLetterEntry) => boolean {
  const { service, handler, type, reason, from, to } = filter;
  if (reason !== undefined && !DEAD_LETTER_REASONS.includes(reason)) {
    throw new ConfigurationError(`Unknown dead-letter reason '${String(reason)}'; use one of ${DEAD_LETTER_REASONS.join(', ')}.`);
  }
  for (const [name, date] of [['from', from], ['to', to]] as const) {
    if (date !== undefined && (!(date instanceof Date) || Number.isNaN(date.getTime()))) {
      throw new ConfigurationError(`The dead-letter filter '${name}' is not a valid date.`);
    }
  }
  return (entry) => {
    const record = entry.record;
    const handlerName = record?.handler ?? '';
    if (service !== undefined && !handlerName.startsWith(`${service}.`)) return false;
    if (handler !== undefined && handlerName !== handler && !handlerName.endsWith(`.${handler}`)) return false;
    if (type !== undefined && entry.cloudEvent?.type !== type) return false;
    if (reason !== undefined && record?.reason !== reason) return false;
    if (from !== undefined && (entry.time === undefined || entry.time < from)) return false;
    if (to !== undefined && (entry.time === undefined || entry.time >= to)) return false;
    return true;
  };
}
