// @cloudbus/core: the public entry point. Everything is exported by name.

// Bus and its set-up
export { EventBus, type BusHealth, type BusState, type StopOnSignalsOptions, type StopOptions } from './bus/event-bus.js';
export { cloudbus, type CloudbusBinding } from './bus/cloudbus-module.js';
export type { CloudbusOptions, ResolvedOptions, TransportName } from './bus/options.js';
export { asLogger, consoleLogger, consoleLoggerAt, fieldsFirstLogger, silentLogger, type Logger, type LogLevel } from './logger.js';
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
  type HandlerClass,
  type HandlerDeclaration,
  type HandlerOptions,
  type SagaMethodRole,
} from './handlers/event-handler.js';
export {
  currentEventContext,
  type EventContext,
  type EventPublisher,
  type PublishOptions,
} from './handlers/event-context.js';

// Scheduling and sagas
export { systemClock, VirtualClock, type Clock } from './scheduling/clock.js';
export { MemoryScheduleCancellations, type ScheduleCancellations } from './scheduling/schedule-cancellations.js';
export { carrierTypeOf, ScheduleExtensions, schedulerSubscriptionOf, type ScheduleTime } from './scheduling/scheduled-message.js';
export { OnTimeout, Saga, StartedBy, sagaOf, type OnMissing, type SagaContext, type SagaMetadata, type SagaOptions, type StartedByOptions } from './sagas/saga.js';
export { SagaExtensions, type SagaAction } from './sagas/saga-invoker.js';
export { MemorySagaStore } from './sagas/memory-saga-store.js';
export type { SagaOutgoing, SagaRecord, SagaStore, SagaTimeoutRecord } from './sagas/saga-store.js';

// Policies
export { retry, type ExponentialRetryOptions, type FixedRetryOptions, type RetryPolicy } from './policies/retry.js';
export { isRetryable, type ErrorClassification, type ErrorMatcher } from './policies/error-classification.js';

// Envelope
export { Extensions, SPEC_VERSION, type CloudEvent, type ExtensionValue } from './envelope/cloud-event.js';
export {
  decodeCloudEvent,
  encodeCloudEvent,
  isJsonContentType,
  STRUCTURED_CONTENT_TYPE,
  type ContentMode,
  type ReceiveLimits,
  type WireMessage,
} from './envelope/wire-codec.js';
export { assertExtension, validateCloudEvent } from './envelope/validation.js';

// Dead letters
export {
  DeadLetterExtensions,
  errorRecordOf,
  readDeadLetterRecord,
  type DeadLetterReason,
  type DeadLetterRecord,
} from './dead-letter/dead-letter-record.js';
export {
  decodeDeadLetter,
  prepareReplay,
  type DeadLetter,
  type DeadLetterLimits,
} from './dead-letter/dead-letter-message.js';
export { redactCredentials } from './dead-letter/redact-credentials.js';
export {
  DEAD_LETTER_REASONS,
  deadLetterId,
  DeadLetters,
  type DeadLetterEntry,
  type DeadLetterFilter,
  type DeadLetterSelection,
  type DeleteReport,
  type ReplayOptions,
  type ReplayReport,
} from './dead-letter/dead-letters.js';
export { Subscriptions, type RemovedSubscriptions, type SubscriptionFilter } from './bus/subscriptions.js';

// Middleware
export type { ConsumeContext, FailureOutcome, Middleware, Next, OutgoingCloudEvent, PublishContext } from './middleware/middleware.js';
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
  type HandlerFailedTelemetry,
  type HandlerSkippedTelemetry,
  type HandlerStartedTelemetry,
  type HandlerSucceededTelemetry,
  type PublishedTelemetry,
  type RetryScheduledTelemetry,
  type SagaTelemetry,
  type TelemetryEvent,
  type TelemetryListener,
} from './telemetry/telemetry.js';
export {
  TELEMETRY_EVENT_TYPE,
  type TelemetryBatch,
  type TelemetryPublishingOptions,
} from './telemetry/telemetry-publisher.js';

// Transports: what an application picks and configures. Writing a transport: `@cloudbus/core/transport`.
export type { ConnectionState, SubscriptionInfo, Transport, TransportCapabilities } from './transport/transport.js';
export { createTransport, type TransportFactory, type TransportFactoryOptions } from './transport/registry.js';
export { MemoryTransport, type MemoryTransportOptions } from './transport/memory/memory-transport.js';
export { MemoryBroker } from './transport/memory/memory-broker.js';

// Errors
export {
  BrokerConnectionError,
  type BrokerConnectionErrorOptions,
  BusNotStartedError,
  BusStateError,
  DeadLettersUnsupportedError,
  SubscriptionAdminUnsupportedError,
  CloudbusError,
  ConfigurationError,
  InvalidCloudEventError,
  InvalidHandlerError,
  MessageTooLargeError,
  PermanentError,
  PublishError,
  ReceiveLimitError,
  SagaConflictError,
  SagaNotFoundError,
  TransportClosedError,
  NotConnectedError,
  DeliveryLostError,
  TopologyConflictError,
  UnknownTransportError,
  UnregisteredEventError,
  UnsupportedEventVersionError,
  WaitTimeoutError,
  EventSchemaError,
  type ErrorRecord,
  type HandlerFailure,
} from './errors.js';
