import type { OrderPlaced } from '../order-placed.js';

/** Events per publish call (and per turn of the event loop), the same for every contender. */
export const BATCH = 500;

/** An in-process dispatcher measured by {@link dispatchThroughput}. */
export interface Dispatcher {
  readonly name: string;
  /** Starts it, with `handled` as the one handler's body. */
  start(handled: () => void): Promise<void>;
  /** Dispatches one batch; may resolve before the handlers ran. */
  dispatch(events: readonly OrderPlaced[]): Promise<void> | void;
  stop(): Promise<void>;
}

/**
 * Publish-to-handled throughput of a dispatcher: `events` in batches of {@link BATCH}, one turn of
 * the event loop per batch, timed until the handler has seen every event.
 */
export async function dispatchThroughput(dispatcher: Dispatcher, events: readonly OrderPlaced[]): Promise<number> {
  let handled = 0;
  let allHandled: (() => void) | undefined;
  const target = events.length;
  await dispatcher.start(() => {
    if (++handled === target) allHandled?.();
  });
  try {
    const done = new Promise<void>((resolve) => (allHandled = resolve));
    const started = performance.now();
    for (let i = 0; i < events.length; i += BATCH) {
      await dispatcher.dispatch(events.slice(i, i + BATCH));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await done;
    return events.length / ((performance.now() - started) / 1000);
  } finally {
    await dispatcher.stop();
  }
}
