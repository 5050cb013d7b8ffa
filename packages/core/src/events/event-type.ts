import { ConfigurationError, EventSchemaError, InvalidCloudEventError, UnsupportedEventVersionError } from '../errors.js';
import { describeIssues, isStandardSchema, schemaIdOf, schemaIssues, type StandardSchemaV1 } from './standard-schema.js';

/**
 * The key of the compile-time mark every event class declares, so that `publish` accepts its
 * instances and nothing else (an object literal, a `Date`):
 *
 * ```ts
 * @EventType('com.example.order.placed')
 * class OrderPlaced {
 *   declare readonly [eventBrand]: 'com.example.order.placed';
 *   constructor(readonly orderId: string) {}
 * }
 * ```
 *
 * `declare` emits nothing: the mark exists only for the type checker. `@EventType` refuses a class
 * whose mark is missing or names another type, and since each event type's mark differs, `@On` and
 * `@EventHandler` refuse a method taking another event than the one they declare.
 */
export const eventBrand: unique symbol = Symbol('cloudbus.event');

/** An instance of an `@EventType` class (of type `Type`): what `publish` takes. */
export interface Event<Type extends string = string> {
  readonly [eventBrand]: Type;
}

/**
 * The mark an event class of `Type` declares: `Type` itself for a literal type, any string for a
 * type built at run time (a template literal, a variable).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type EventBrandOf<Type extends string> = {} extends Record<Type, 0> ? string : Type;

/** A class whose instances are events. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventClass<T extends object = object> = abstract new (...args: any[]) => T;

/** Turns the data of one version into the data of the next. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Upcaster = (data: any) => unknown;

/** Options of {@link EventType}. */
export interface EventTypeOptions<T extends object = object> {
  /**
   * Version of the event's data schema, written as the `dataversion` extension.
   * @default 1
   */
  readonly version?: number;
  /**
   * Upcasters from older versions, keyed by the version each one reads; each returns the data of
   * the next version. An event of version 1 received by a version 3 class goes through `1` then `2`.
   */
  readonly upcast?: Readonly<Record<number, Upcaster>>;
  /**
   * Derives the CloudEvent `subject` from the event, e.g. `(e) => e.orderId`.
   * @default no subject
   */
  readonly subject?: (event: T) => string | undefined;
  /**
   * The `datacontenttype` of the event's data.
   * @default 'application/json', or 'application/octet-stream' when `toData` returns a Uint8Array
   */
  readonly contentType?: string;
  /**
   * Turns the event into JSON-serialisable data (or a Uint8Array for binary data).
   * @default the event itself (its own enumerable properties, or its `toJSON()`)
   */
  readonly toData?: (event: T) => unknown;
  /**
   * Builds the event from its (upcast) data.
   * @default an object with the class's prototype and the data's properties; the constructor is not called
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly fromData?: (data: any) => T;
  /**
   * A Standard Schema (zod, valibot, arktype...) of the event's data, as `toData` gives it. A
   * publish whose data fails it rejects with {@link EventSchemaError} and sends nothing; a received
   * event that fails it (after upcasting) is dead-lettered as `invalid`, with the issues in the
   * record. A schema with an id (`$id`, `id`, or zod's `.meta({ id })`) sets `dataschema`.
   * @default no validation
   */
  readonly schema?: StandardSchemaV1;
}

/** What `@EventType` records about a class. */
export interface EventTypeMetadata<T extends object = object> {
  readonly type: string;
  readonly version: number;
  readonly eventClass: EventClass<T>;
  readonly options: EventTypeOptions<T>;
  /** The schema's id, written as the CloudEvent `dataschema`; undefined without one. */
  readonly dataSchema: string | undefined;
}

const METADATA = Symbol.for('cloudbus.eventType');
// eslint-disable-next-line no-control-regex
const TYPE_NAME = /^[^\s\u0000-\u001f\u007f-\u009f]+$/;

/**
 * Declares a class as a domain event with a CloudEvents `type` (reverse-DNS, e.g.
 * `com.mariopizzeria.order.placed`) and a data version. Only records metadata. The class declares
 * `[eventBrand]` with the same type (see {@link eventBrand}).
 *
 * @example
 * ```ts
 * @EventType('com.example.order.placed', { version: 2, upcast: { 1: (v1) => ({ ...v1, channel: 'web' }) } })
 * class OrderPlaced {
 *   declare readonly [eventBrand]: 'com.example.order.placed';
 *   constructor(readonly orderId: string, readonly channel: string) {}
 * }
 * ```
 */
export function EventType<const Type extends string, T extends object = object>(type: Type, options: EventTypeOptions<T> = {}) {
  if (typeof type !== 'string' || !TYPE_NAME.test(type)) {
    throw new ConfigurationError(
      `@EventType needs a non-empty CloudEvents type without whitespace, such as 'com.example.order.placed'; got ${JSON.stringify(type)}.`,
    );
  }
  const version = options.version ?? 1;
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new ConfigurationError(`@EventType('${type}'): version must be an integer of 1 or more, got ${String(version)}.`);
  }
  for (const from of Object.keys(options.upcast ?? {})) {
    const fromVersion = Number(from);
    if (!Number.isSafeInteger(fromVersion) || fromVersion < 1 || fromVersion >= version) {
      throw new ConfigurationError(
        `@EventType('${type}', { version: ${version} }): upcasters are keyed by an older version (1 to ${version - 1}), got '${from}'.`,
      );
    }
  }
  if (options.schema !== undefined && !isStandardSchema(options.schema)) {
    throw new ConfigurationError(`@EventType('${type}'): schema must implement Standard Schema v1 (zod, valibot, arktype...): it has no '~standard' property of version 1.`);
  }
  const dataSchema = options.schema === undefined ? undefined : schemaIdOf(options.schema);
  return (eventClass: EventClass<T> & EventClass<Event<EventBrandOf<Type>>>): void => {
    const metadata: EventTypeMetadata<T> = { type, version, eventClass, options, dataSchema };
    Object.defineProperty(eventClass, METADATA, { value: metadata, enumerable: false });
  };
}

/** The metadata `@EventType` recorded on the class (not inherited), or undefined. */
export function eventTypeOf<T extends object>(eventClass: EventClass<T>): EventTypeMetadata<T> | undefined {
  return Object.hasOwn(eventClass, METADATA)
    ? ((eventClass as unknown as Record<symbol, EventTypeMetadata<T>>)[METADATA])
    : undefined;
}

/** The metadata of an event instance's class, or undefined when it is no `@EventType` event. */
export function eventTypeOfInstance(event: unknown): EventTypeMetadata | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  const ctor = (event as object).constructor as EventClass | undefined;
  return ctor === undefined ? undefined : eventTypeOf(ctor);
}

/** Reads the `dataversion` extension: absent means 1. */
export function dataVersionOf(value: unknown): number {
  if (value === undefined) return 1;
  const version = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new InvalidCloudEventError(`Extension 'dataversion' must be a positive integer, got '${String(value)}'.`, 'dataversion');
  }
  return version;
}

/**
 * Builds the event object of `metadata`'s class from received data of `version`: upcasts older
 * data step by step, refuses newer data, and refuses data that would tamper with the prototype.
 */
export function eventFromData<T extends object>(metadata: EventTypeMetadata<T>, data: unknown, version: number): T {
  let current = data;
  if (version > metadata.version) {
    throw new UnsupportedEventVersionError(
      `Event '${metadata.type}' has version ${version}, newer than version ${metadata.version} of ${metadata.eventClass.name} here. Deploy the newer event class before its publishers.`,
    );
  }
  for (let from = version; from < metadata.version; from++) {
    const upcaster = metadata.options.upcast?.[from];
    if (upcaster === undefined) {
      throw new UnsupportedEventVersionError(
        `Event '${metadata.type}' has version ${version}, but ${metadata.eventClass.name} (version ${metadata.version}) has no upcaster from version ${from}. Add upcast: { ${from}: (data) => ... }.`,
      );
    }
    current = upcaster(current);
  }
  const schema = metadata.options.schema;
  if (schema !== undefined) {
    const issues = schemaIssues(schema, current, metadata.type);
    if (issues !== undefined) {
      throw new EventSchemaError(metadata.type, issues, `Data of '${metadata.type}' does not match its schema: ${describeIssues(issues)}.`);
    }
  }
  if (metadata.options.fromData !== undefined) return metadata.options.fromData(current);
  if (current === null || typeof current !== 'object' || Array.isArray(current) || current instanceof Uint8Array) {
    throw new InvalidCloudEventError(
      `Data of '${metadata.type}' must be a JSON object to build a ${metadata.eventClass.name}.`,
      'data',
    );
  }
  if (Object.hasOwn(current, '__proto__')) {
    throw new InvalidCloudEventError(`Data of '${metadata.type}' has a '__proto__' key, refused.`, 'data');
  }
  return Object.assign(Object.create(metadata.eventClass.prototype as object) as T, current);
}

/**
 * The data to publish for an event, checked against the event type's schema: data that fails it
 * throws {@link EventSchemaError} naming the event type and the fields.
 */
export function dataFromEvent<T extends object>(metadata: EventTypeMetadata<T>, event: T): unknown {
  const data = metadata.options.toData === undefined ? event : metadata.options.toData(event);
  const schema = metadata.options.schema;
  if (schema !== undefined) {
    const issues = schemaIssues(schema, data, metadata.type);
    if (issues !== undefined) {
      throw new EventSchemaError(
        metadata.type,
        issues,
        `Cannot publish ${metadata.eventClass.name} ('${metadata.type}'): its data does not match the schema: ${describeIssues(issues)}. Nothing was published.`,
      );
    }
  }
  return data;
}
