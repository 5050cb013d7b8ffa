import type { CloudEvent, DeadLetterEntry } from '@cloudbus/core';

/** A CloudEvent as JSON: binary data as `data_base64`, the rest as it is. */
export function eventJson(event: CloudEvent): Record<string, unknown> {
  const { data, ...attributes } = event as CloudEvent & { data?: unknown };
  if (data instanceof Uint8Array) return { ...attributes, data_base64: Buffer.from(data).toString('base64') };
  return data === undefined ? attributes : { ...attributes, data };
}

/** The data of an event, on one line. */
export function dataText(event: CloudEvent): string {
  const data = (event as { data?: unknown }).data;
  if (data === undefined) return '';
  if (data instanceof Uint8Array) return `<${data.byteLength} bytes>`;
  return typeof data === 'string' ? data : JSON.stringify(data);
}

/** A dead letter as JSON for `--json`: id, record fields, destination and the original event. */
export function deadLetterJson(entry: DeadLetterEntry, withStack: boolean): Record<string, unknown> {
  const record = entry.record;
  return {
    id: entry.id,
    time: entry.time?.toISOString() ?? null,
    handler: record?.handler ?? null,
    reason: record?.reason ?? null,
    attempts: record?.attempts ?? null,
    error: record === undefined ? null : withStack ? record.error : { type: record.error.type, message: record.error.message },
    firstAttemptTime: record?.firstAttemptTime || null,
    destination: entry.destination,
    event: entry.cloudEvent === undefined ? null : eventJson(withoutRecord(entry.cloudEvent)),
  };
}

/** The event without the failure-record extensions (they are shown as the record). */
export function withoutRecord(event: CloudEvent): CloudEvent {
  const copy: Record<string, unknown> = {};
  for (const name in event) if (!name.startsWith('deadletter')) copy[name] = (event as Record<string, unknown>)[name];
  return copy as unknown as CloudEvent;
}
