// @cloudbus/core: the public entry point. Everything is exported by name.

// Bus and its set-up
export { EventBus, type BusState, type StopOptions } from './bus/event-bus.js';
export { cloudbus, type CloudbusBinding } from './bus/cloudbus-module.js';
export { resolveOptions, type CloudbusOptions, type ResolvedOptions, type TransportName } from './bus/options.js';
export { consoleLogger, silentLogger, type Logger } from './bus/logger.js';
export type { HandlerResolver } from './bus/handler-runner.js';
export { asyncApiDocument, type AsyncApiDocument, type AsyncApiOptions } from './asyncapi/asyncapi-document.js';

// Events and handlers
export {
  EventType,
  eventBrand,
  eventTypeOf,
  type Event,
  type EventClass,
  type EventTypeMetadata,
  type EventTypeOptions,
  type Upcaster,
} from './events/event-type.js';
export {
  describeIssues,
  isStandardSchema,
  type StandardSchemaIssue,
  type StandardSchemaResult,
  type StandardSchemaV1,
} from './events/standard-schema.js';
export {
  EventHandler,
  On,
  handlersOf,
  type HandlerClass,
  type HandlerDeclaration,
  type HandlerOptions,
} from './handlers/event-handler.js';
export {
  currentEventContext,
  type EventContext,
  type EventPublisher,
  type PublishOptions,
} from './handlers/event-context.js';

// Policies
export { retry, type ExponentialRetryOptions, type FixedRetryOptions, type RetryPolicy } from './policies/retry.js';
export { isRetryable, type ErrorClassification, type ErrorMatcher } from './policies/error-classification.js';

// Envelope
export { Extensions, SPEC_VERSION, type CloudEvent, type ExtensionValue } from './envelope/cloud-event.js';
export {
  decodeCloudEvent,
  decodeData,
  encodeCloudEvent,
  encodeData,
  isJsonContentType,
  MAX_JSON_DEPTH,
  STRUCTURED_CONTENT_TYPE,
  wireSize,
  type ContentMode,
  type WireMessage,
} from './envelope/wire-codec.js';
export { validateCloudEvent } from './envelope/validation.js';

// Dead letters
export {
  DeadLetterExtensions,
  errorRecordOf,
  readDeadLetterRecord,
  type DeadLetterReason,
  type DeadLetterRecord,
} from './dead-letter/dead-letter-record.js';
export { decodeDeadLetter, prepareReplay, toDeadLetterMessage, type DeadLetter } from './dead-letter/dead-letter-message.js';

// Middleware
export { compose, type ConsumeContext, type Middleware, type Next, type OutgoingCloudEvent, type PublishContext } from './middleware/middleware.js';
export { idempotency, inboxKey, MemoryInbox, type IdempotencyOptions, type Inbox, type MemoryInboxOptions } from './middleware/idempotency.js';
export { logging, type LoggingOptions } from './middleware/logging.js';
export { metrics, type MetricsOptions } from './middleware/metrics.js';
export { tracing, type TracingOptions } from './middleware/tracing.js';

// Transactional outbox
export { MemoryOutboxStore, OutboxRelay, type OutboxEntry, type OutboxRelayOptions, type OutboxStore } from './outbox/outbox-relay.js';

// Telemetry
export {
  Telemetry,
  type DeadLetteredTelemetry,
  type ErrorRecord,
  type HandlerFailedTelemetry,
  type HandlerSkippedTelemetry,
  type HandlerStartedTelemetry,
  type HandlerSucceededTelemetry,
  type PublishedTelemetry,
  type RetryScheduledTelemetry,
  type TelemetryEvent,
  type TelemetryListener,
} from './telemetry/telemetry.js';
export {
  TELEMETRY_EVENT_TYPE,
  TelemetryPublisher,
  type TelemetryBatch,
  type TelemetryPublishingOptions,
} from './telemetry/telemetry-publisher.js';

// Transports
export {
  canReadDeadLetters,
  SETTLED,
  type DeadLetterReader,
  type Delivery,
  type OutgoingMessage,
  type StoredDeadLetter,
  type Subscription,
  type SubscriptionSpec,
  type Transport,
  type TransportCapabilities,
} from './transport/transport.js';
export {
  createTransport,
  registerTransport,
  registeredTransports,
  transportPackage,
  type TransportFactory,
  type TransportFactoryOptions,
} from './transport/registry.js';
export {
  foreignProtocol,
  foreignProtocolAt,
  probeProtocol,
  protocolOfGreeting,
  type KnownProtocol,
  type ProbeOptions,
  type ProbeResult,
} from './transport/protocol-probe.js';
export { MemoryTransport, type MemoryTransportOptions } from './transport/memory/memory-transport.js';
export { MemoryBroker } from './transport/memory/memory-broker.js';

// Errors
export {
  BrokerConnectionError,
  BusNotStartedError,
  BusStateError,
  CloudbusError,
  ConfigurationError,
  InvalidCloudEventError,
  InvalidHandlerError,
  MessageTooLargeError,
  PermanentError,
  PublishError,
  TransportClosedError,
  UnknownTransportError,
  UnregisteredEventError,
  UnsupportedEventVersionError,
  WaitTimeoutError,
  EventSchemaError,
  type HandlerFailure,
} from './errors.js';
