import type { CloudEvent } from './cloud-event.js';
import { MAX_JSON_DEPTH, STRUCTURED_CONTENT_TYPE, encodeCloudEvent, isJsonContentType, wireSize, type ContentMode, type WireMessage } from './wire-codec.js';

/**
 * True when a handler given `cloudEvent` itself sees what it would see after the JSON round trip,
 * up to sharing nested objects: JSON data without a `toJSON()` of its own (which the round trip
 * would call), or no data. Text, bytes and other content types take the round trip.
 */
export function shareable(cloudEvent: CloudEvent): boolean {
  if (!isJsonContentType(cloudEvent.datacontenttype)) return false;
  const data = cloudEvent.data;
  if (data === null || typeof data !== 'object') {
    return data === undefined || typeof data === 'string' || typeof data === 'boolean' || (typeof data === 'number' && Number.isFinite(data));
  }
  return !(data instanceof Uint8Array) && typeof (data as { toJSON?: unknown }).toJSON !== 'function';
}

/**
 * A message for a transport that delivers in this process (`capabilities.inProcess`): it carries
 * the CloudEvent the bus built, which handlers of buses in this process take instead of decoding
 * (unless they isolate), and is encoded only when something reads its `headers` or `body` (a dead
 * letter, an isolated handler, a tap). Its size is bounded without encoding it; only an event
 * whose bound is over the limit is encoded to know its exact size.
 *
 * The CloudEvent travels on the message itself, not in a `WeakMap` side table: a table keyed by
 * every message in flight costs more in garbage collection than the decoding it saves.
 */
export class InProcessMessage implements WireMessage {
  readonly contentType: string | undefined;
  #encoded: WireMessage | undefined;
  #bound = -1;

  constructor(
    readonly cloudEvent: CloudEvent,
    readonly mode: ContentMode,
  ) {
    this.contentType = mode === 'binary' ? cloudEvent.datacontenttype : STRUCTURED_CONTENT_TYPE;
  }

  get headers(): Readonly<Record<string, string>> {
    return (this.#encoded ??= encodeCloudEvent(this.cloudEvent, this.mode)).headers;
  }

  get body(): Uint8Array {
    return (this.#encoded ??= encodeCloudEvent(this.cloudEvent, this.mode)).body;
  }

  /** The exact wire size when it is over `limit`, else undefined. */
  oversize(limit: number): number | undefined {
    if (this.#encoded === undefined) {
      if (this.#bound < 0) this.#bound = this.#sizeBound();
      if (this.#bound >= 0 && this.#bound <= limit) return undefined;
    }
    const size = wireSize(this);
    return size > limit ? size : undefined;
  }

  /** At least {@link wireSize} of the encoded message, or -1 where only encoding tells. */
  #sizeBound(): number {
    const event = this.cloudEvent;
    const contentType = this.contentType?.length ?? 0;
    if (this.mode === 'structured') {
      const json = jsonBytesAtMost(event, 0);
      return json < 0 ? -1 : contentType + json;
    }
    const data = event.data === undefined ? 0 : jsonBytesAtMost(event.data, 0);
    if (data < 0) return -1;
    // Headers as wireSize counts them (UTF-16 length of name and value).
    let headers = 0;
    for (const name in event) {
      if (name === 'data' || name === 'datacontenttype') continue;
      const value = event[name];
      // An integer or a boolean takes at most SCALAR_BYTES characters.
      if (typeof value === 'string') headers += name.length + value.length;
      else if (typeof value === 'number' || typeof value === 'boolean') headers += name.length + SCALAR_BYTES;
      else if (value !== undefined) headers += name.length + String(value).length;
    }
    return contentType + headers + data;
  }
}

/** Longest JSON text of a number (`-1.7976931348623157e+308` and the like), or of a boolean. */
const SCALAR_BYTES = 25;
const DATE_TO_JSON = Date.prototype.toJSON;

/**
 * An upper bound of the UTF-8 bytes of `JSON.stringify(value)`, or -1 where only encoding tells
 * (a `toJSON()` other than Date's, a BigInt, bytes, nesting deeper than {@link MAX_JSON_DEPTH},
 * which includes cycles). A UTF-16 code unit takes at most 6 bytes in JSON (`\u001f`).
 */
function jsonBytesAtMost(value: unknown, depth: number): number {
  if (typeof value === 'string') return 6 * value.length + 2;
  if (typeof value !== 'object') return typeof value === 'bigint' ? -1 : SCALAR_BYTES;
  if (value === null) return 4;
  if (depth >= MAX_JSON_DEPTH) return -1;
  let size = 2;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bytes = jsonBytesAtMost(value[i], depth + 1);
      if (bytes < 0) return -1;
      size += bytes + 1;
    }
    return size;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (toJSON !== undefined) return toJSON === DATE_TO_JSON ? 30 : -1;
  if (ArrayBuffer.isView(value)) return -1;
  const object = value as Record<string, unknown>;
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const bytes = jsonBytesAtMost(object[key], depth + 1);
    if (bytes < 0) return -1;
    size += 6 * key.length + 4 + bytes;
  }
  return size;
}

/** The exact wire size of a message when it is over `limit`, else undefined; cheap for an {@link InProcessMessage}. */
export function oversize(message: WireMessage, limit: number): number | undefined {
  if (message instanceof InProcessMessage) return message.oversize(limit);
  const size = wireSize(message);
  return size > limit ? size : undefined;
}

/** The CloudEvent a bus in this process put on the message, or undefined for a message that came over the wire. */
export function inProcessEventOf(message: WireMessage): CloudEvent | undefined {
  return message instanceof InProcessMessage ? message.cloudEvent : undefined;
}
