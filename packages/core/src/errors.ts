/**
 * Errors cloudbus raises. One class per condition: each sets `name`, keeps the underlying
 * `cause`, and says in its message how to fix the problem.
 *
 * Catch the base class {@link CloudbusError} to handle every error of the framework.
 */

/** An error as telemetry and dead letters record it. */
export interface ErrorRecord {
  /** The error's `name` (class). */
  readonly type: string;
  readonly message: string;
  /** A few top frames, `|`-separated. */
  readonly stack?: string;
}

/** Base class of every error cloudbus raises. */
export class CloudbusError extends Error {
  override name = 'CloudbusError';
}

/** The bus or transport options are invalid (raised at construction, before anything connects). */
export class ConfigurationError extends CloudbusError {
  override name = 'ConfigurationError';
}

/**
 * The broker already holds a declaration (a queue of another type, a stream with other subjects or
 * limits) that conflicts with what the transport needs. cloudbus never deletes a declaration it
 * finds: remove or rename it, or point the transport at other names.
 */
export class TopologyConflictError extends ConfigurationError {
  override name = 'TopologyConflictError';
}

/**
 * `transport: '<name>'` names no registered transport and no installed `@cloudbus/transport-<name>`.
 * `suggestion` is the closest known name, when the name looks like a typo of one.
 */
export class UnknownTransportError extends ConfigurationError {
  override name = 'UnknownTransportError';
  constructor(
    readonly transport: string,
    readonly known: readonly string[],
    readonly suggestion?: string,
    options?: ErrorOptions,
  ) {
    const validName = /^[a-z][a-z0-9-]*$/.test(transport);
    super(
      (suggestion !== undefined
        ? `No transport named '${transport}': did you mean '${suggestion}'? Transport names are lower case (${KNOWN_TRANSPORT_LIST}). `
        : validName
          ? `No transport named '${transport}' is registered, and @cloudbus/transport-${transport} could not be imported. ` +
            `Install it (pnpm add @cloudbus/transport-${transport}), or register one with registerTransport('${transport}', factory). `
          : `No transport named '${transport}': transport names are lower-case words (${KNOWN_TRANSPORT_LIST}). `) +
        `Registered: ${known.join(', ') || 'none'}.`,
      options,
    );
  }
}

const KNOWN_TRANSPORT_LIST = `'memory', 'rabbitmq', 'nats', 'mqtt'`;

/**
 * A message could not be read as a CloudEvent 1.0: bad JSON, a missing or invalid required
 * attribute, an invalid attribute name or value, bad base64, invalid UTF-8, hostile data.
 * Invalid input is never retried: it goes straight to the dead-letter destination.
 */
export class InvalidCloudEventError extends CloudbusError {
  override name = 'InvalidCloudEventError';
  constructor(
    message: string,
    /** The attribute at fault, when one is. */
    readonly attribute?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A received message is over one of the receive limits (`receiveLimits` of the bus options): too
 * many extensions, too many header bytes, an attribute too long, JSON nested too deep. It is
 * dead-lettered as `invalid`, with the limit named in the record (`deadletterlimit`). Raise the
 * limit in the bus options if such messages are legitimate.
 */
export class ReceiveLimitError extends InvalidCloudEventError {
  override name = 'ReceiveLimitError';
  constructor(
    /** The limit broken, as named in `ReceiveLimits` (`maxExtensions`, `maxHeaderBytes`, ...). */
    readonly limit: string,
    message: string,
    attribute?: string,
  ) {
    super(`${message} (receive limit ${limit}; raise it in the bus option receiveLimits if such messages are expected).`, attribute);
  }
}

/** An event object passed to `publish` is not an instance of a class decorated with `@EventType`. */
export class UnregisteredEventError extends CloudbusError {
  override name = 'UnregisteredEventError';
  constructor(value: unknown) {
    const what =
      value === null || typeof value !== 'object'
        ? `a ${value === null ? 'null' : typeof value}`
        : `an instance of ${(value as object).constructor?.name ?? 'Object'}`;
    super(
      `Cannot publish ${what}: only instances of classes decorated with @EventType(type, { version }) can be published.`,
    );
  }
}

/**
 * An event's data does not match the Standard Schema of its `@EventType`. On publish nothing is
 * sent; on receive the event is dead-lettered as `invalid`. `issues` are the schema's findings.
 */
export class EventSchemaError extends CloudbusError {
  override name = 'EventSchemaError';
  constructor(
    readonly eventType: string,
    readonly issues: readonly { readonly message: string; readonly path?: readonly unknown[] | undefined }[],
    message: string,
  ) {
    super(message);
  }
}

/** A received event has a version this process has no class or upcaster for. */
export class UnsupportedEventVersionError extends CloudbusError {
  override name = 'UnsupportedEventVersionError';
}

/** An encoded event is larger than the transport or bus allows. Raised by `publish` before anything is sent. */
export class MessageTooLargeError extends CloudbusError {
  override name = 'MessageTooLargeError';
  constructor(
    readonly eventId: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      `Event ${eventId} is ${size} bytes encoded, over the limit of ${limit} bytes. ` +
        `Send a reference to the data instead of the data, or raise maxMessageBytes where the transport allows it.`,
    );
  }
}

/** `publish` was called on a bus that is not started, or already stopped. */
export class BusNotStartedError extends CloudbusError {
  override name = 'BusNotStartedError';
}

/** `start` or `stop` was called in a state that does not allow it (for example, stopping twice). */
export class BusStateError extends CloudbusError {
  override name = 'BusStateError';
}

/** A transport was used after `close()`. */
export class TransportClosedError extends CloudbusError {
  override name = 'TransportClosedError';
}

/**
 * A transport was asked to publish, subscribe or read before `connect()` resolved, or after
 * `close()`. The bus never does this; code that drives a transport directly must connect first.
 */
export class NotConnectedError extends TransportClosedError {
  override name = 'NotConnectedError';
}

/**
 * A delivery was acked or nacked after the connection, channel or session it came on was lost.
 * The broker hands the message out again (at-least-once), so the handler's work may run twice:
 * make handlers idempotent or use the inbox.
 */
export class DeliveryLostError extends TransportClosedError {
  override name = 'DeliveryLostError';
}

/** Options of {@link BrokerConnectionError}. */
export interface BrokerConnectionErrorOptions extends ErrorOptions {
  /**
   * Trying again cannot help: the port speaks another protocol, the virtual host does not exist.
   * `bus.start()` gives up at once instead of waiting for the broker.
   * @default false
   */
  readonly permanent?: boolean;
}

/**
 * A transport could not connect to its broker (refused, unreachable, TLS or login failed). Each
 * transport raises its own subclass; the message names the endpoint without credentials and says
 * what to check. Catch this class to handle any broker's connection failure. `bus.start()` tries
 * again while the broker may still come up, unless the error is `permanent`.
 */
export class BrokerConnectionError extends CloudbusError {
  override name = 'BrokerConnectionError';
  /** Trying again cannot help (see {@link BrokerConnectionErrorOptions.permanent}). */
  readonly permanent: boolean;

  constructor(message: string, options?: BrokerConnectionErrorOptions) {
    super(message, options);
    this.permanent = options?.permanent === true;
  }
}

/**
 * The transport keeps no dead letters that cloudbus can read (or remove): a custom transport
 * without `readDeadLetters()` (or `removeDeadLetters()`). Every built-in transport has both.
 */
export class DeadLettersUnsupportedError extends CloudbusError {
  override name = 'DeadLettersUnsupportedError';
}

/**
 * The transport keeps no registry of the subscriptions on its broker (a custom transport without
 * `listSubscriptions()` and `removeSubscription()`). Every built-in transport has both.
 */
export class SubscriptionAdminUnsupportedError extends CloudbusError {
  override name = 'SubscriptionAdminUnsupportedError';
}

/** The transport could not durably accept some messages of a batch. `unconfirmed` lists their ids. */
export class PublishError extends CloudbusError {
  override name = 'PublishError';
  constructor(
    message: string,
    readonly unconfirmed: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A handler class or method is declared wrongly (no `handle` method, no event class, duplicate name...). */
export class InvalidHandlerError extends CloudbusError {
  override name = 'InvalidHandlerError';
}

/**
 * Throw from a handler when retrying cannot help (the order does not exist, the input breaks a
 * business rule). The event goes straight to the dead-letter destination, without retries.
 */
export class PermanentError extends CloudbusError {
  override name = 'PermanentError';
}

/**
 * A saga's state changed between load and save (another event for the same instance was handled
 * meanwhile), or two starters created the same instance at once. The bus reloads the state and
 * runs the handler again a few times; after that, the event is retried by its retry policy.
 */
export class SagaConflictError extends CloudbusError {
  override name = 'SagaConflictError';
  constructor(
    readonly saga: string,
    readonly key: string,
    readonly expectedVersion: number,
    options?: ErrorOptions,
  ) {
    super(
      `Saga ${saga} '${key}' was changed by someone else (expected version ${expectedVersion}): reload it and handle the event again.`,
      options,
    );
  }
}

/**
 * An event for a saga instance that does not exist, on a handler declared `onMissing: 'retry'`
 * (retried by the retry policy, then dead-lettered) or `onMissing: 'dead-letter'` (dead-lettered
 * at once). Make the events that can arrive first `@StartedBy` starters to avoid it.
 */
export class SagaNotFoundError extends CloudbusError {
  override name = 'SagaNotFoundError';
  constructor(
    readonly saga: string,
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`No ${saga} saga with key '${key}' exists (yet): the event did not start one. Declare it with @StartedBy if it may come first.`, options);
  }
}

/** A handler failure seen by the test harness while it waited. */
export interface HandlerFailure {
  /** The subscription, `<service>.<handler>`. */
  readonly handler: string;
  readonly eventType: string;
  readonly eventId: string | undefined;
  readonly attempt: number;
  readonly error: { readonly type: string; readonly message: string; readonly stack?: string };
}

function describeFailures(failures: readonly HandlerFailure[]): string {
  if (failures.length === 0) return ' No handler failed meanwhile.';
  const shown = failures.slice(0, 10).map(
    (f) => `\n  - ${f.handler} on ${f.eventType}${f.eventId === undefined ? '' : ` (id ${f.eventId})`}, attempt ${f.attempt}: ${f.error.type}: ${f.error.message}`,
  );
  const more = failures.length > shown.length ? `\n  ... and ${failures.length - shown.length} more` : '';
  return ` Handler failures meanwhile:${shown.join('')}${more}`;
}

/**
 * A wait of the test harness (`waitFor`, `waitForDeadLetter`, `waitForTelemetry`) did not see a
 * match in time. `failures` (also listed in the message) are the handler failures that happened
 * while it waited: the handler, the event and the error.
 */
export class WaitTimeoutError extends CloudbusError {
  override name = 'WaitTimeoutError';
  constructor(
    message: string,
    readonly failures: readonly HandlerFailure[] = [],
  ) {
    super(message + describeFailures(failures));
  }
}
