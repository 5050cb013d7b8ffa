import { PublishError, TransportClosedError } from '../errors.js';
import { reportsConnectionState, type OutgoingMessage, type Transport } from '../transport/transport.js';

/** One `publish` call waiting for the flush: its messages are `messages[from, to)` of the merged batch. */
class Caller {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly resolve: () => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

/**
 * Merges the publish calls made in one run of synchronous code (the same task or microtask, e.g.
 * a loop of `bus.publish(event)` or several requests handled in one I/O callback) into one
 * `transport.publish` batch, sent in a microtask: the transports' per-batch work (a promise, a
 * confirm timer, a socket write) is then paid once per turn instead of once per call. No timer
 * and no extra turn of the event loop: a publish on an idle bus leaves after one microtask.
 *
 * Each caller still settles on its own messages only: when the merged batch fails with a
 * {@link PublishError} listing the ids the broker did not accept, a caller none of whose messages
 * is listed resolves, and the others reject with a `PublishError` naming only their own ids. Any
 * other error comes, by the transport contract, before anything of the batch was sent (one
 * message over a limit the transport checks itself, a header it cannot encode): each caller's
 * messages are then published again as a batch of their own, so the error reaches only the
 * caller it belongs to. A closed transport ({@link TransportClosedError}) rejects every caller at
 * once, and so does a `PublishError` naming no ids, which cannot be attributed.
 *
 * While a transport that reports its connection state is not connected, calls are not merged:
 * each goes to the transport as its own batch, as before, so a transport holding batches for the
 * reconnection admits or refuses each call by its own size (`publishBufferSize`).
 */
export class PublishCoalescer {
  readonly #transport: Transport;
  #messages: OutgoingMessage[] = [];
  #callers: Caller[] = [];
  readonly #flush = (): void => this.#send();

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Queues a call's messages for this turn's batch; settles as described on the class. */
  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#messages.length === 0 && this.#disconnected()) return publishAlone(this.#transport, messages);
    return new Promise<void>((resolve, reject) => {
      const queued = this.#messages;
      if (queued.length === 0) queueMicrotask(this.#flush);
      const from = queued.length;
      for (let i = 0; i < messages.length; i++) queued.push(messages[i]!);
      this.#callers.push(new Caller(from, queued.length, resolve, reject));
    });
  }

  #disconnected(): boolean {
    const transport = this.#transport;
    return reportsConnectionState(transport) && transport.connectionState !== 'connected';
  }

  #send(): void {
    const messages = this.#messages;
    const callers = this.#callers;
    this.#messages = [];
    this.#callers = [];
    const accepted = publishAlone(this.#transport, messages);
    if (callers.length === 1) {
      const only = callers[0]!;
      accepted.then(only.resolve, only.reject);
      return;
    }
    accepted.then(
      () => {
        for (const caller of callers) caller.resolve();
      },
      (error: unknown) => this.#settleEach(error, messages, callers),
    );
  }

  /** The merged batch failed: each caller gets its own outcome (see the class comment). */
  #settleEach(error: unknown, messages: readonly OutgoingMessage[], callers: readonly Caller[]): void {
    if (error instanceof PublishError) {
      settleByIds(error, messages, callers);
      return;
    }
    if (error instanceof TransportClosedError) {
      for (const caller of callers) caller.reject(error);
      return;
    }
    // Nothing was sent: each call alone, so one caller's bad message fails only that caller.
    for (const caller of callers) publishAlone(this.#transport, messages.slice(caller.from, caller.to)).then(caller.resolve, caller.reject);
  }
}

/**
 * `transport.publish(messages)`, as a promise that settles: a transport that throws (it must
 * reject) or returns a thenable or nothing must not throw in a microtask.
 */
function publishAlone(transport: Transport, messages: readonly OutgoingMessage[]): Promise<void> {
  try {
    const accepted = transport.publish(messages);
    return accepted instanceof Promise ? accepted : Promise.resolve(accepted);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The merged batch failed with a PublishError: each caller checks its own ids against `unconfirmed`. */
function settleByIds(error: PublishError, messages: readonly OutgoingMessage[], callers: readonly Caller[]): void {
  if (error.unconfirmed.length === 0) {
    // Not attributable to single messages: every caller failed.
    for (const caller of callers) caller.reject(error);
    return;
  }
  const unconfirmed = new Set(error.unconfirmed);
  for (const caller of callers) {
    const own: string[] = [];
    for (let i = caller.from; i < caller.to; i++) {
      const id = messages[i]!.id;
      if (unconfirmed.has(id)) own.push(id);
    }
    if (own.length === 0) caller.resolve();
    else {
      const count = caller.to - caller.from;
      caller.reject(
        new PublishError(
          `${own.length} of ${count} event(s) of this publish were not accepted (sent in one batch with the other publish calls of the same turn): ${error.message}`,
          own,
          error.cause === undefined ? undefined : { cause: error.cause },
        ),
      );
    }
  }
}
