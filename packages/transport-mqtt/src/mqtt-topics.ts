import { BookkeepingReader } from '@cloudbus/core/transport';

/**
 * How cloudbus names MQTT topics, in one place. With the default prefix `cloudbus`:
 *
 * - events: `cloudbus/<type, one level per dot-separated part>`, e.g.
 *   `com.mariopizzeria.order.placed` -> `cloudbus/com/mariopizzeria/order/placed`;
 * - redeliveries of one subscription (nack with a delay, attempt counting):
 *   `cloudbus-redeliver/<subscription>/<attempt>/<first attempt ms>/<not before ms>/<original topic>`;
 * - dead letters, one retained message each:
 *   `cloudbus-deadletter/<subscription>/<time ms, 13 digits>-<random id>`;
 * - the subscription registry, one retained record (JSON) per subscription and session:
 *   `cloudbus-registry/<subscription>/<client id>`.
 *
 * Each level is escaped so that it is never empty and never holds a wildcard or separator:
 * `%` -> `%25`, `/` -> `%2F`, `+` -> `%2B`, `#` -> `%23`, NUL -> `%00`, and an empty part becomes a
 * lone `%` (which escaping can never produce otherwise). The mapping is one-to-one.
 */
export class MqttTopics {
  /** Root of the redelivery topics, `<prefix>-redeliver`. */
  readonly redeliverRoot: string;
  /** Root of the dead-letter topics, `<prefix>-deadletter`. */
  readonly deadLetterRoot: string;
  /** Root of the subscription registry, `<prefix>-registry`. */
  readonly registryRoot: string;
  readonly #typeCache = new Map<string, string>();

  constructor(readonly prefix: string) {
    this.redeliverRoot = `${prefix}-redeliver`;
    this.deadLetterRoot = `${prefix}-deadletter`;
    this.registryRoot = `${prefix}-registry`;
  }

  /**
   * The shared-subscription group of a subscription, `$share/<subscription>`: the instances of a
   * service compete for what it receives.
   */
  shareGroup(subscription: string): string {
    return `$share/${safeName(subscription)}`;
  }

  /** `filter` shared in the group of `subscription`: `$share/<subscription>/<filter>`. */
  sharedFilter(subscription: string, filter: string): string {
    return `${this.shareGroup(subscription)}/${filter}`;
  }

  /** Filter of the registry records of one subscription, or of all of them. */
  registryFilter(subscription?: string): string {
    return subscription === undefined ? `${this.registryRoot}/#` : `${this.registryRoot}/${escapeLevel(subscription)}/+`;
  }

  /** The registry record topic of one session of a subscription. */
  registryTopic(subscription: string, clientId: string): string {
    return `${this.registryRoot}/${escapeLevel(subscription)}/${escapeLevel(clientId)}`;
  }

  /** The client id a registry record topic names (its last level, unescaped); undefined for another topic. */
  registryClientId(topic: string): string | undefined {
    if (!topic.startsWith(`${this.registryRoot}/`)) return undefined;
    const levels = topic.slice(this.registryRoot.length + 1).split('/');
    return levels.length === 2 ? unescapeLevel(levels[1]!) : undefined;
  }

  /** The topic events of `type` are published to. Cached: a service publishes few types. */
  forType(type: string): string {
    let topic = this.#typeCache.get(type);
    if (topic === undefined) {
      topic = `${this.prefix}/${type.split('.').map(escapeLevel).join('/')}`;
      if (this.#typeCache.size < 10_000) this.#typeCache.set(type, topic);
    }
    return topic;
  }

  /** Filter of every event under this prefix (not the redeliveries, dead letters or registry, which have roots of their own). */
  eventFilter(): string {
    return `${this.prefix}/#`;
  }

  /** Filter of every redelivery of one subscription. */
  redeliverFilter(subscription: string): string {
    return `${this.redeliverRoot}/${escapeLevel(subscription)}/#`;
  }

  /** Topic carrying one redelivery: attempt, first attempt time, earliest delivery time and original topic in its levels. */
  redeliverTopic(subscription: string, redelivery: Redelivery): string {
    return `${this.redeliverRoot}/${escapeLevel(subscription)}/${redelivery.attempt}/${redelivery.firstAttemptAt}/${redelivery.notBefore}/${redelivery.destination}`;
  }

  /**
   * The topic a consumer leaving a subscription's group publishes to, to learn from the PUBACK
   * whether another member is left to take the group's messages (see `MqttSubscription.stop`).
   * Inside the group's redelivery filter, but never a redelivery: members acknowledge it unread.
   */
  groupProbeTopic(subscription: string): string {
    return `${this.redeliverRoot}/${escapeLevel(subscription)}/probe`;
  }

  /**
   * Reads a redelivery topic back, its levels through core's `BookkeepingReader`; undefined when
   * `topic` is not one (an event topic), or when any of its levels is malformed or out of range:
   * that is noted on `read` and the message counts as a first delivery on the topic it came on.
   */
  parseRedeliver(topic: string, read: BookkeepingReader = new BookkeepingReader()): Redelivery | undefined {
    if (!topic.startsWith(this.redeliverRoot) || topic.charCodeAt(this.redeliverRoot.length) !== 47 /* / */) return undefined;
    let at = this.redeliverRoot.length + 1;
    at = topic.indexOf('/', at) + 1; // skip the subscription level
    const levels: string[] = [];
    for (let i = 0; at !== 0 && i < 3; i++) {
      const end = topic.indexOf('/', at);
      if (end === -1) break;
      levels.push(topic.slice(at, end));
      at = end + 1;
    }
    if (levels.length < 3 || at >= topic.length) {
      return read.ignore('redelivery topic', 'not <subscription>/<attempt>/<first attempt>/<not before>/<topic>', topic);
    }
    const attempt = read.attempt('redelivery attempt level', levels[0]);
    const firstAttemptAt = read.time('redelivery first-attempt level', levels[1]);
    const notBefore = levels[2] === '0' ? 0 : read.time('redelivery not-before level', levels[2]);
    const destination = read.name('redelivery topic level', topic.slice(at));
    if (attempt === undefined || firstAttemptAt === undefined || notBefore === undefined || destination === undefined) return undefined;
    return { attempt, firstAttemptAt, notBefore, destination };
  }

  /** Filter of every dead letter under this prefix. */
  deadLetterFilter(): string {
    return `${this.deadLetterRoot}/#`;
  }

  /** Whether `topic` is a dead letter's, under this prefix. */
  isDeadLetterTopic(topic: string): boolean {
    return topic.startsWith(`${this.deadLetterRoot}/`);
  }

  /** A new dead-letter topic of one subscription; its last level sorts by time. */
  deadLetterTopic(subscription: string, time: number, id: string): string {
    return `${this.deadLetterRoot}/${escapeLevel(subscription)}/${String(time).padStart(13, '0')}-${escapeLevel(id)}`;
  }
}

/** Where a redelivery stands, carried in its topic. */
export interface Redelivery {
  readonly attempt: number;
  readonly firstAttemptAt: number;
  readonly notBefore: number;
  /** The topic the event was first published to. */
  readonly destination: string;
}

// eslint-disable-next-line no-control-regex -- NUL is not allowed in a topic
const UNSAFE = /[%/+#\u0000]/g;
const ESCAPES: Readonly<Record<string, string>> = { '%': '%25', '/': '%2F', '+': '%2B', '#': '%23', '\u0000': '%00' };

/** Escapes one topic level: never empty, no wildcard, no separator. */
export function escapeLevel(part: string): string {
  if (part === '') return '%';
  return part.replace(UNSAFE, (char) => ESCAPES[char]!);
}

/** Reverses {@link escapeLevel}; undefined for a level escaping cannot produce. */
export function unescapeLevel(level: string): string | undefined {
  if (level === '%') return '';
  let out = '';
  for (let at = 0; at < level.length; at++) {
    const char = level[at]!;
    if (char !== '%') {
      out += char;
      continue;
    }
    const code = level.slice(at + 1, at + 3);
    const original = Object.keys(ESCAPES).find((key) => ESCAPES[key] === `%${code}`);
    if (original === undefined) return undefined;
    out += original;
    at += 2;
  }
  return out;
}

/** A name for a shared-subscription group or client id: letters, digits, `.`, `_` and `-`; other characters as `_xx` hex. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, (char) => `_${char.codePointAt(0)!.toString(16)}`);
}

/** A topic prefix is one or more levels of safe characters, not starting with `$`. */
export function isValidPrefix(prefix: string): boolean {
  // eslint-disable-next-line no-control-regex -- NUL is not allowed in a topic
  return /^[^$/+#\u0000][^+#\u0000]*$/.test(prefix) && !prefix.endsWith('/') && !prefix.includes('//');
}

/** The client id of a subscription group's parking session: `<prefix>--<subscription>--parking`. */
export function parkingClientId(prefix: string, subscription: string): string {
  return `${safeName(prefix)}--${safeName(subscription)}--parking`;
}
