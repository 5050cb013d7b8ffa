import type { Writable } from 'node:stream';

import type { ChannelModel } from 'amqplib';

/** The parts of amqplib's connection (0.10) this relies on: its socket and the multiplexer writing its channels' frames to it. */
interface AmqplibInternals {
  readonly stream?: Writable;
  readonly muxer?: { _readIncoming?: () => void };
}

/**
 * Makes amqplib write the frames of one event-loop turn in one system call. amqplib queues each
 * channel's frames (a publish, an ack) and its multiplexer then writes them to the socket one
 * `write` each, a system call per message: the largest single cost of a busy connection. Corked
 * for the length of one multiplexer pass, the socket sends them together (`writev`), in the same
 * order, with the same backpressure (`write` still reports a full buffer).
 *
 * Relies on amqplib 0.10's `connection.stream` and `connection.muxer`; returns false, changing
 * nothing, when they are not there (another amqplib version): frames are then written one by one.
 */
export function coalesceWrites(model: ChannelModel): boolean {
  const internals = model.connection as unknown as AmqplibInternals;
  const stream = internals.stream;
  const muxer = internals.muxer;
  const readIncoming = muxer?._readIncoming;
  if (stream === undefined || muxer === undefined || typeof readIncoming !== 'function' || typeof stream.cork !== 'function') return false;
  muxer._readIncoming = function corkedReadIncoming(this: unknown): void {
    stream.cork();
    try {
      readIncoming.call(this);
    } finally {
      stream.uncork();
    }
  };
  return true;
}
