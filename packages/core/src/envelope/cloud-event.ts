/**
 * A CloudEvent 1.0 as cloudbus holds it: context attributes and extensions as plain properties,
 * the way the CloudEvents SDK's `CloudEvent` holds them.
 *
 * `data` is the decoded JSON value when `datacontenttype` is JSON (the default), a `Uint8Array`
 * for binary data, a string for `text/*`.
 *
 * Extension values decoded from binary mode (protocol headers) are strings, since headers carry
 * no type; from structured mode they keep their JSON type (string, integer or boolean).
 */
export interface CloudEvent<TData = unknown> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  readonly subject?: string;
  readonly data?: TData;
  /** Correlation id shared by every event of one flow (a framework extension). */
  readonly correlationid?: string;
  /** Id of the event whose handling raised this one (a framework extension). */
  readonly causationid?: string;
  /** W3C trace context, per the CloudEvents distributed tracing extension. */
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly [extension: string]: unknown;
}

/** A value an extension attribute may take (CloudEvents String, Integer, Boolean; others as strings). */
export type ExtensionValue = string | number | boolean;

/** Attributes the spec defines; every other attribute is an extension. */
export const CONTEXT_ATTRIBUTES: ReadonlySet<string> = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'datacontenttype',
  'dataschema',
  'subject',
]);

/** The only specversion cloudbus reads and writes. */
export const SPEC_VERSION = '1.0';

/** Extension names the framework owns. */
export const Extensions = {
  correlationId: 'correlationid',
  causationId: 'causationid',
  traceParent: 'traceparent',
  traceState: 'tracestate',
  /** The version of the event's data schema, written by `@EventType(type, { version })`. Absent means 1. */
  dataVersion: 'dataversion',
  /**
   * On a replayed dead letter: the one subscription (`<service>.<handler>`) it is for. Every other
   * subscription that receives it acks it without running its handler.
   */
  replayFor: 'replayfor',
} as const;
