import { randomUUID } from 'node:crypto';

import { Extensions, SPEC_VERSION, type CloudEvent } from '../envelope/cloud-event.js';
import { validateCloudEvent } from '../envelope/validation.js';
import { ConfigurationError, UnregisteredEventError } from '../errors.js';
import { dataFromEvent, eventTypeOfInstance } from '../events/event-type.js';
import type { PublishOptions } from '../handlers/event-context.js';
import type { OutgoingCloudEvent } from '../middleware/middleware.js';

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
  const cloudEvent: OutgoingCloudEvent = {
    specversion: SPEC_VERSION,
    id,
    source,
    type: metadata.type,
    time: (options?.time ?? new Date()).toISOString(),
  };
  const data = dataFromEvent(metadata, event);
  cloudEvent.datacontenttype =
    metadata.options.contentType ?? (data instanceof Uint8Array ? 'application/octet-stream' : 'application/json');
  const subject = options?.subject ?? metadata.options.subject?.(event);
  if (subject !== undefined) cloudEvent.subject = subject;
  cloudEvent[Extensions.dataVersion] = metadata.version;
  cloudEvent.correlationid = options?.correlationId ?? parent?.correlationid ?? parent?.id ?? id;
  if (parent !== undefined) {
    cloudEvent.causationid = parent.id;
    if (parent.traceparent !== undefined) cloudEvent.traceparent = parent.traceparent;
    if (parent.tracestate !== undefined) cloudEvent.tracestate = parent.tracestate;
  }
  const extensions = options?.extensions;
  if (extensions !== undefined) {
    for (const name in extensions) cloudEvent[name] = extensions[name];
  }
  cloudEvent.data = data;
  validateCloudEvent(cloudEvent);
  return cloudEvent;
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
