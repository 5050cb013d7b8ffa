// @cloudbus/core/transport: what a transport author needs, and nothing an application does.
// A transport implements `Transport` (and the optional capabilities below, all of them together
// being a `BrokerTransport`), reads its options with `OptionsReader`, carries `WireMessage`s through
// the codec, and fails with core's errors.

// The contract
export {
  canAdministerSubscriptions,
  canReadDeadLetters,
  canRemoveDeadLetters,
  reportsConnectionState,
  SETTLED,
  type BrokerTransport,
  type ConnectionState,
  type ConnectionStateReporter,
  type DeadLetterReader,
  type DeadLetterRemover,
  type Delivery,
  type OutgoingMessage,
  type StoredDeadLetter,
  type Subscription,
  type SubscriptionAdmin,
  type SubscriptionDescription,
  type SubscriptionInfo,
  type SubscriptionSpec,
  type Transport,
  type TransportCapabilities,
} from './transport.js';
export { registerTransport, transportOptionsOf, type TransportFactory, type TransportFactoryOptions } from './registry.js';

// Options
export { BASE_OPTION_KEYS, MAX_TIMER_MS, OptionsReader, TLS_OPTION_KEYS, type BaseTransportOptions, type TextOptions, type TlsOptions } from './transport-options.js';
export { asLogger, consoleLogger, silentLogger, type Logger } from '../logger.js';

// The codec
export {
  decodeCloudEvent,
  DEFAULT_RECEIVE_LIMITS,
  encodeCloudEvent,
  HEADER_OVERHEAD_BYTES,
  isJsonContentType,
  isStructuredContentType,
  STRUCTURED_CONTENT_TYPE,
  toBinaryMode,
  wireSize,
  withHeaders,
  type ContentMode,
  type ReceiveLimits,
  type WireMessage,
} from '../envelope/wire-codec.js';
export { fromStructuredMessage, toStructuredMessage } from '../envelope/structured-message.js';
export { checkMessageSize } from './message-size.js';
export { Backoff } from '../policies/backoff.js';
export type { CloudEvent, ExtensionValue } from '../envelope/cloud-event.js';

// Bookkeeping off the wire (hostile), dead letters and the subscription registry
export { BookkeepingReader, MAX_BOOKKEEPING_ATTEMPT, MAX_BOOKKEEPING_FUTURE_MS, MAX_BOOKKEEPING_NAME, safeIsoTime } from './bookkeeping.js';
export { decodeDeadLetter, headerBytes, toDeadLetterMessage, type DeadLetter } from '../dead-letter/dead-letter-message.js';
export { DeadLetterExtensions, readDeadLetterRecord, type DeadLetterRecord } from '../dead-letter/dead-letter-record.js';
export {
  byName,
  decodeSubscriptionRecord,
  describeSubscriptions,
  encodeSubscriptionRecord,
  removedTypes,
  subscriptionInfo,
  subscriptionRecord,
  type BrokerSubscriptionView,
  type SubscriptionRecord,
} from './subscription-record.js';
export { foreignProtocol, foreignProtocolAt, probeProtocol, protocolOfGreeting, type KnownProtocol, type ProbeOptions, type ProbeResult } from './protocol-probe.js';

// Errors a transport raises
export {
  BrokerConnectionError,
  CloudbusError,
  ConfigurationError,
  DeliveryLostError,
  InvalidCloudEventError,
  MessageTooLargeError,
  NotConnectedError,
  PublishError,
  ReceiveLimitError,
  TopologyConflictError,
  TransportClosedError,
  type BrokerConnectionErrorOptions,
} from '../errors.js';
