import { EventEmitter } from 'node:events';

import type { Dispatcher } from './dispatch-run.js';

/** A plain EventEmitter calling the handler synchronously: the floor no bus beats. */
export function eventEmitterDispatcher(): Dispatcher {
  const emitter = new EventEmitter();
  return {
    name: 'EventEmitter (floor)',
    start(handled) {
      emitter.on('order.placed', handled);
      return Promise.resolve();
    },
    dispatch(events) {
      for (const event of events) emitter.emit('order.placed', event);
    },
    stop() {
      emitter.removeAllListeners();
      return Promise.resolve();
    },
  };
}
