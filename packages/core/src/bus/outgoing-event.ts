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
 * Makes the plain object (prototype `Object.prototype`, like a literal) that holds an outgoing
 * CloudEvent. A constructor and not an object literal: V8 pretenures the objects of a literal
 * (allocates them straight in the old generation) once most of them survive a young-generation
 * GC, as the CloudEvents of a batch in flight can, and every CloudEvent then ends as
 * old-generation garbage, holding young strings alive: about 5x the CPU per event in the
 * in-memory benchmark. Objects made with `new` have no allocation site to pretenure.
 */
const PlainCloudEvent = function (this: OutgoingCloudEvent, id: string, source: string, type: string, time: string): void {
  this.specversion = SPEC_VERSION;
  this.id = id;
  this.source = source;
  this.type = type;
  this.time = time;
} as unknown as new (id: string, source: string, type: string, time: string) => OutgoingCloudEvent;
(PlainCloudEvent as unknown as { prototype: object }).prototype = Object.prototype;

/** The `time` of events published now with these options. */
function timeOf(options: PublishOptions | undefined): string {
  return options?.time === undefined ? nowIso() : options.time.toISOString();
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
  time: string = timeOf(options),
): OutgoingCloudEvent {
  const metadata = eventTypeOfInstance(event);
  if (metadata === undefined) throw new UnregisteredEventError(event);
  const id = options?.id ?? randomUUID();
  if (options?.id !== undefined) requireString('id', options.id);
  const cloudEvent = new PlainCloudEvent(id, source, metadata.type, time);
  const data = dataFromEvent(metadata, event);
  if (metadata.dataSchema !== undefined) cloudEvent.dataschema = metadata.dataSchema;
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

/** An event and its CloudEvent; a class rather than a literal, as every per-event object on the hot path (see `Work` in handler-runner.ts). */
class BatchEntry {
  constructor(
    readonly event: object,
    readonly cloudEvent: OutgoingCloudEvent,
  ) {}
}

/** Builds the CloudEvents of a batch; an explicit `id` is only allowed for a single event. */
export function buildBatch(
  events: object | readonly object[],
  source: string,
  options: PublishOptions | undefined,
  parent: CloudEvent | undefined,
): { event: object; cloudEvent: OutgoingCloudEvent }[] {
  if (!Array.isArray(events)) return [new BatchEntry(events, buildCloudEvent(events, source, options, parent))];
  if (options?.id !== undefined && events.length > 1) {
    throw new ConfigurationError(`publish: options.id names one event, but the batch holds ${events.length}. Publish them one by one.`);
  }
  // One clock reading for the batch: its events are published at the same moment.
  const time = timeOf(options);
  return events.map((event: object) => new BatchEntry(event, buildCloudEvent(event, source, options, parent, time)));
}
