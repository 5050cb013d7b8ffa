import { Buffer } from 'node:buffer';

import { isJsonContentType, isStructuredContentType, type WireMessage } from './wire-codec.js';

/**
 * Structured mode for protocols without headers (MQTT 3.1.1) or where a transport chooses it.
 * Core already publishes structured events when a transport lacks `binaryMode`; this turns what
 * it still hands over in binary mode (dead letters, which carry their failure record as headers)
 * into one JSON object, and back.
 *
 * The JSON object holds every header as an attribute, `datacontenttype` when there is a content
 * type, and the body as `data` (JSON content that parses) or `data_base64` (anything else). Input
 * that was not a CloudEvent keeps its bytes exactly, in `data_base64`.
 */
export function toStructuredMessage(message: WireMessage): Buffer {
  const body = message.body;
  const headers = message.headers;
  let empty = true;
  for (const _ in headers) {
    empty = false;
    break;
  }
  if (empty && (message.contentType === undefined || isStructuredContentType(message.contentType))) {
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }
  const json: Record<string, unknown> = { ...headers };
  if (message.contentType !== undefined) json['datacontenttype'] = message.contentType;
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (bytes.byteLength > 0) {
    const data = isJsonContentType(message.contentType) ? parseOrUndefined(bytes) : undefined;
    if (data === undefined) json['data_base64'] = bytes.toString('base64');
    else json['data'] = data;
  }
  return Buffer.from(JSON.stringify(json), 'utf8');
}

/**
 * Reads what {@link toStructuredMessage} wrote back into binary form (attributes as headers, data as the
 * body), so a dead letter's failure record reads as headers again. Undefined when `body` is not
 * a JSON object.
 */
export function fromStructuredMessage(body: Uint8Array): WireMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const json = parsed as Record<string, unknown>;
  const headers: Record<string, string> = {};
  let contentType: string | undefined;
  let data: Uint8Array = new Uint8Array(0);
  for (const name in json) {
    const value = json[name];
    if (value === null || value === undefined) continue;
    if (name === 'datacontenttype') contentType = String(value);
    else if (name === 'data_base64' && typeof value === 'string') data = Buffer.from(value, 'base64');
    else if (name === 'data') data = Buffer.from(typeof value === 'string' && !isJsonContentType(json['datacontenttype'] as string | undefined) ? value : JSON.stringify(value), 'utf8');
    else headers[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { headers, contentType, body: data };
}

function parseOrUndefined(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
