export { createTestBus, type PublishedEvent, type TestBus, type TestBusOptions } from './test-bus.js';
