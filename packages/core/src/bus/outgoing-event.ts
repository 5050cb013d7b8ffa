import { randomUUID } from 'node:crypto';

import { Extensions, SPEC_VERSION, type CloudEvent } from '../envelope/cloud-event.js';
import { assertExtension, assertStringValue } from '../envelope/validation.js';
import { ConfigurationError, InvalidCloudEventError, UnregisteredEventError } from '../errors.js';
import { dataFromEvent, eventTypeOfInstance } from '../events/event-type.js';
import type { PublishOptions } from '../handlers/event-context.js';
import type { OutgoingCloudEvent } from '../middleware/middleware.js';

let lastMillis = 0;
let lastIso = '';

/** The current time as ISO 8601, formatted once per millisecond: batches share it. */
function nowIso(): string {
  const now = Date.now();
  if (now !== lastMillis) {
    lastMillis = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

/**
 * Builds the CloudEvent for an event object: attributes from its `@EventType`, the options and
 * the event being handled (`parent`), which passes on its correlation id, its id as causation id,
 * and its trace context.
 */
export function buildCloudEvent(
  event: object,
  source: string,
  options: PublishOptions | undefined,
  parent: CloudEvent | undefined,
): OutgoingCloudEvent {
  const metadata = eventTypeOfInstance(event);
  if (metadata === undefined) throw new UnregisteredEventError(event);
  const id = options?.id ?? randomUUID();
  if (options?.id !== undefined) requireString('id', options.id);
  const cloudEvent: OutgoingCloudEvent = {
    specversion: SPEC_VERSION,
    id,
    source,
    type: metadata.type,
    time: options?.time === undefined ? nowIso() : options.time.toISOString(),
  };
  const data = dataFromEvent(metadata, event);
  cloudEvent.datacontenttype =
    metadata.options.contentType ?? (data instanceof Uint8Array ? 'application/octet-stream' : 'application/json');
  const subject = options?.subject ?? metadata.options.subject?.(event);
  if (subject !== undefined) cloudEvent.subject = requireString('subject', subject);
  cloudEvent[Extensions.dataVersion] = metadata.version;
  cloudEvent.correlationid =
    options?.correlationId === undefined ? (parent?.correlationid ?? parent?.id ?? id) : requireString('correlationid', options.correlationId);
  if (parent !== undefined) {
    cloudEvent.causationid = parent.id;
    if (parent.traceparent !== undefined) cloudEvent.traceparent = parent.traceparent;
    if (parent.tracestate !== undefined) cloudEvent.tracestate = parent.tracestate;
  }
  const extensions = options?.extensions;
  if (extensions !== undefined) {
    for (const name in extensions) {
      const value = extensions[name];
      assertExtension(name, value);
      cloudEvent[name] = value;
    }
  }
  cloudEvent.data = data;
  return cloudEvent;
}

/**
 * Checks a string attribute set from application values. Everything else in the envelope is
 * built by the framework from values checked once (type at @EventType, source at start-up), so
 * publishing validates only what the application passes in.
 */
function requireString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidCloudEventError(`Attribute '${name}' must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}.`, name);
  }
  assertStringValue(name, value);
  return value;
}

/** Builds the CloudEvents of a batch; an explicit `id` is only allowed for a single event. */
export function buildBatch(
  events: object | readonly object[],
  source: string,
  options: PublishOptions | undefined,
  parent: CloudEvent | undefined,
): { event: object; cloudEvent: OutgoingCloudEvent }[] {
  if (!Array.isArray(events)) return [{ event: events, cloudEvent: buildCloudEvent(events, source, options, parent) }];
  if (options?.id !== undefined && events.length > 1) {
    throw new ConfigurationError(`publish: options.id names one event, but the batch holds ${events.length}. Publish them one by one.`);
  }
  return events.map((event: object) => ({ event, cloudEvent: buildCloudEvent(event, source, options, parent) }));
}
