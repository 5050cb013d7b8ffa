import { encodeCloudEvent, SPEC_VERSION, TELEMETRY_EVENT_TYPE, type CloudEvent, type ContentMode, type TelemetryEvent } from '@cloudbus/core';

import type { TappedMessage } from './captured-message.js';

/** A CloudEvent as a tap would hand it over (test support). */
export function tapped(event: Partial<CloudEvent> & { id: string; type: string }, options: { mode?: ContentMode; deadLetter?: boolean; destination?: string } = {}): TappedMessage {
  const full: CloudEvent = { specversion: SPEC_VERSION, source: '/test', datacontenttype: 'application/json', ...event };
  const message = encodeCloudEvent(full, options.mode ?? 'binary');
  return {
    message,
    wire: { destination: 'test', headers: { ...message.headers }, contentType: message.contentType ?? '' },
    deadLetter: options.deadLetter ?? false,
    originalDestination: options.destination,
  };
}

/** A telemetry batch as a tap would hand it over (test support). */
export function tappedTelemetry(id: string, records: readonly TelemetryEvent[]): TappedMessage {
  return tapped({ id, type: TELEMETRY_EVENT_TYPE, source: '/shop', data: { service: 'shop', records } });
}
