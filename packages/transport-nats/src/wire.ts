// @cloudbus/transport-nats/wire: how the transport puts CloudEvents on NATS JetStream, for tools
// that read or write the wire without running the transport (the inspector's tap, the CLI). No
// side effects: importing it registers nothing.
export {
  decodeHeaderValue,
  encodeHeaderValue,
  INVALID_ENCODING_MARKER,
  readNatsMessage,
  readWireMessage,
  writeHeaders,
} from './nats-binding.js';
export { DEFAULT_DEAD_LETTER_STREAM, DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX, DEFAULT_URL } from './nats-transport-options.js';
export { deadLetterSubject, defaultDeadLetterSubjectPrefix, durableName, originalSubjectOf, subjectForType } from './subject-naming.js';
