import { TransportClosedError } from '@cloudbus/core/transport';
import type { Channel, ChannelModel } from 'amqplib';

const ignore = (): void => {};

/**
 * Bounds the steps of closing (cancel a consumer, close a channel, close the connection) on a
 * connection that may no longer answer: blackholed, the socket stays open and nothing comes back,
 * so amqplib's `close()` promises would never settle. Each step waits at most until its deadline
 * (`closeTimeoutMs` from the start of the closing call), and never rejects. Once a step timed out
 * on a connection, the connection is taken for unresponsive: later steps on it do not wait at all,
 * and closing the transport destroys its socket.
 */
export class ClosingSteps {
  readonly #timeoutMs: number;
  readonly #unresponsive = new WeakSet<ChannelModel>();

  /** @param timeoutMs the `closeTimeoutMs` option. */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** The deadline of a closing call starting now. */
  deadline(): number {
    return Date.now() + this.#timeoutMs;
  }

  /** True once a closing step timed out on `model`. */
  isUnresponsive(model: ChannelModel): boolean {
    return this.#unresponsive.has(model);
  }

  /**
   * Waits for `step`, done on `model`, until it settles or `deadline` passes; never rejects.
   * Resolves true when the step settled in time. A step on a connection known to be unresponsive
   * is not waited for.
   */
  async wait(model: ChannelModel, step: Promise<unknown>, deadline: number = this.deadline()): Promise<boolean> {
    if (this.#unresponsive.has(model)) {
      step.catch(ignore);
      return false;
    }
    const settled = await settleBefore(step, deadline);
    if (!settled) this.#unresponsive.add(model);
    return settled;
  }
}

/** Resolves true when `step` settles (either way) before `deadline`, false otherwise; never rejects. */
export function settleBefore(step: Promise<unknown>, deadline: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    step.then(done, done);
  });
}

/**
 * Closes a channel: settles when the broker confirms, when the close fails, or when the channel
 * closes otherwise (its connection lost, which amqplib does not report to `close()`); never rejects.
 */
export function closeChannel(channel: Channel): Promise<void> {
  return new Promise<void>((resolve) => {
    channel.once('close', () => resolve());
    channel.close().then(
      () => resolve(),
      () => resolve(),
    );
  });
}

/**
 * Closes a connection: settles when the broker confirms, when the close fails (already closed), or
 * when the connection closes otherwise (socket lost); never rejects.
 */
export function closeConnection(model: ChannelModel): Promise<void> {
  return new Promise<void>((resolve) => {
    model.once('close', () => resolve());
    model.close().then(
      () => resolve(),
      () => resolve(),
    );
  });
}

/**
 * Destroys a connection's socket at once, without waiting for the broker. amqplib then closes the
 * connection and its channels (rejecting their pending operations and unconfirmed publishes) and
 * emits `close`. The broker puts the connection's unacked deliveries back in their queues when it
 * notices the socket is gone. Relies on amqplib's `connection.stream` (the socket), present in 0.10.
 */
export function destroySocket(model: ChannelModel): void {
  const stream = (model.connection as unknown as { stream?: { destroyed?: boolean; destroy(error?: Error): void } }).stream;
  if (stream === undefined || stream.destroyed === true) return;
  // With an error, amqplib sees a socket error and closes the connection; a plain destroy would go unnoticed.
  stream.destroy(new TransportClosedError('rabbitmq transport: the broker did not answer within closeTimeoutMs; connection dropped'));
}
