export { createTestBus, type PublishedEvent, type TestBus, type TestBusOptions } from './test-bus.js';
export { recordingLogger, type LoggedLine, type RecordingLogger } from './recording-logger.js';
