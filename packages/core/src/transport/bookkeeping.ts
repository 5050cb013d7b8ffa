/**
 * The one guard for reading back what cloudbus itself writes on the wire for its own bookkeeping:
 * attempt numbers, first-attempt and not-before times, original destinations, subscription names
 * (RabbitMQ `x-cloudbus-*` headers, the levels of MQTT redelivery topics, ...). When they come
 * back they are input like any other and may have been forged or damaged: a value that is
 * malformed or out of range is ignored (the delivery counts as a first delivery, published where
 * it was received) and a note naming it is kept, which the dead-letter record carries as
 * `deadletterignored`. Nothing here throws.
 *
 * Every transport reads these values through one {@link BookkeepingReader} per delivery and hands
 * its {@link BookkeepingReader.notes} to core on the delivery ({@link Delivery.ignored}).
 */

/** Largest attempt number taken from the wire; beyond it the value is ignored. */
export const MAX_BOOKKEEPING_ATTEMPT = 1_000_000;
/**
 * Latest time taken from the wire, relative to now: far enough for any clock skew and any retry
 * delay, and below `setTimeout`'s limit of 2^31 - 1 ms, so a time never overflows a timer.
 */
export const MAX_BOOKKEEPING_FUTURE_MS = 2_000_000_000;
/** Longest destination or subscription name taken from the wire, in characters. */
export const MAX_BOOKKEEPING_NAME = 1_024;
/** Most notes kept per delivery (each names one ignored value). */
const MAX_NOTES = 8;

// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Describes a refused value in a note: type and a short, printable prefix. */
function describe(value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' ? String(value) : typeof value;
  const shown = JSON.stringify(text.length > 32 ? `${text.slice(0, 32)}…` : text);
  return shown.replace(/[^\x20-\x7e]/g, '?');
}

/** A number as written by cloudbus: a JavaScript number, or its decimal text (headers of other brokers). */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\d{1,16}$/.test(value)) return Number(value);
  return undefined;
}

/** Reads the bookkeeping values of one delivery, collecting a note for each value it ignores. */
export class BookkeepingReader {
  /** One entry per ignored value: `<field>: <why> (<value>)`. */
  readonly notes: string[] = [];

  constructor(readonly now: number = Date.now()) {}

  /** An attempt number, 1 to {@link MAX_BOOKKEEPING_ATTEMPT}; undefined (noted) otherwise, and when absent. */
  attempt(field: string, value: unknown): number | undefined {
    if (value === undefined) return undefined;
    const number = asNumber(value);
    if (number === undefined || !Number.isSafeInteger(number) || number < 1 || number > MAX_BOOKKEEPING_ATTEMPT) {
      return this.#ignore(field, `not an attempt number from 1 to ${MAX_BOOKKEEPING_ATTEMPT}`, value);
    }
    return number;
  }

  /**
   * A time in ms since the epoch, from 0 to {@link MAX_BOOKKEEPING_FUTURE_MS} after now; undefined
   * (noted) otherwise, and when absent.
   */
  time(field: string, value: unknown): number | undefined {
    if (value === undefined) return undefined;
    const number = asNumber(value);
    if (number === undefined || !Number.isSafeInteger(number) || number < 0 || number > this.now + MAX_BOOKKEEPING_FUTURE_MS) {
      return this.#ignore(field, 'not a time in ms since the epoch in range', value);
    }
    return number;
  }

  /**
   * A destination or subscription name: a non-empty string of at most {@link MAX_BOOKKEEPING_NAME}
   * characters, without control characters or unpaired surrogates; undefined (noted) otherwise,
   * and when absent.
   */
  name(field: string, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_BOOKKEEPING_NAME || CONTROL.test(value) || !value.isWellFormed()) {
      return this.#ignore(field, `not a name of 1 to ${MAX_BOOKKEEPING_NAME} printable characters`, value);
    }
    return value;
  }

  /** Notes a value the transport found malformed itself (a topic level that does not parse, for example). */
  ignore(field: string, why: string, value: unknown): undefined {
    return this.#ignore(field, why, value);
  }

  #ignore(field: string, why: string, value: unknown): undefined {
    if (this.notes.length < MAX_NOTES) this.notes.push(`${field}: ${why} (${describe(value)})`);
    return undefined;
  }
}

/** An ISO 8601 time for a record, never throwing: `now` stands in for a time out of `Date`'s range. */
export function safeIsoTime(ms: number, now: number = Date.now()): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? new Date(now).toISOString() : date.toISOString();
}
