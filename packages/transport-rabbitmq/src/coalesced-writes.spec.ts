import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { PassThrough, Writable } from 'node:stream';

import type { ChannelModel } from 'amqplib';
import { describe, expect, it } from 'vitest';

import { coalesceWrites } from './coalesced-writes.js';

/** amqplib's own multiplexer (0.10), which writes every channel's frames to the socket. */
interface Mux {
  pipeFrom(readable: PassThrough): void;
  _readIncoming(): void;
}
const { Mux } = createRequire(import.meta.url)('amqplib/lib/mux.js') as { Mux: new (out: Writable) => Mux };

/** A socket stand-in: completes each write on a later turn, as a busy socket does, and records the frames in the order written. */
function slowSocket(highWaterMark: number) {
  const frames: string[] = [];
  let writes = 0;
  const stream = new Writable({
    highWaterMark,
    writev(chunks, callback) {
      writes++;
      for (const { chunk } of chunks) frames.push(String(chunk));
      setImmediate(callback);
    },
  });
  return { stream, frames, writes: () => writes };
}

/** A channel's write buffer, as amqplib makes one per channel: frames in, the multiplexer reads them. */
function channelBuffer(mux: Mux): PassThrough {
  const buffer = new PassThrough({ objectMode: true, highWaterMark: 16 });
  mux.pipeFrom(buffer);
  return buffer;
}

function coalesced(highWaterMark: number) {
  const socket = slowSocket(highWaterMark);
  const muxer = new Mux(socket.stream);
  const model = { connection: { stream: socket.stream, muxer } } as unknown as ChannelModel;
  expect(coalesceWrites(model)).toBe(true);
  return { ...socket, muxer };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('coalesced socket writes', () => {
  it("writes every frame of a turn in one go, in each channel's order, and leaves the socket uncorked", async () => {
    const { stream, frames, writes, muxer } = coalesced(1 << 20);
    const first = channelBuffer(muxer);
    const second = channelBuffer(muxer);
    for (let i = 0; i < 5; i++) {
      first.write(Buffer.from(`a${i}`));
      second.write(Buffer.from(`b${i}`));
    }
    await settle();
    expect(frames.filter((frame) => frame.startsWith('a'))).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(frames.filter((frame) => frame.startsWith('b'))).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    expect(writes()).toBeLessThanOrEqual(2);
    expect(stream.writableCorked).toBe(0);
  });

  it('flushes frames past the socket buffer once it drains: none stays behind the cork', async () => {
    // 1 KiB socket buffer, 200 frames of 100 bytes: the multiplexer stops on a full buffer and resumes on drain.
    const { stream, frames, muxer } = coalesced(1024);
    const channel = new PassThrough({ objectMode: true, highWaterMark: 1_000 });
    muxer.pipeFrom(channel);
    const sent = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(97)}`);
    for (const frame of sent) channel.write(Buffer.from(frame));
    await settle();
    expect(frames).toEqual(sent);
    expect(stream.writableCorked).toBe(0);
    expect(stream.writableLength).toBe(0);
  });

  it('sends the last frames of a channel closed in the same turn', async () => {
    const { frames, stream, muxer } = coalesced(1 << 20);
    const closing = channelBuffer(muxer);
    closing.write(Buffer.from('ack-1'));
    closing.write(Buffer.from('channel.close'));
    // amqplib ends a channel's buffer when it releases the channel.
    closing.end();
    const other = channelBuffer(muxer);
    other.write(Buffer.from('publish-1'));
    await settle();
    expect(frames).toEqual(expect.arrayContaining(['ack-1', 'channel.close', 'publish-1']));
    expect(frames.indexOf('ack-1')).toBeLessThan(frames.indexOf('channel.close'));
    expect(stream.writableCorked).toBe(0);
  });

  it('uncorks the socket when a write throws, so later frames still go out', async () => {
    const { stream, frames, muxer } = coalesced(1 << 20);
    const write = stream.write.bind(stream);
    stream.write = ((chunk: Buffer) => {
      if (String(chunk) === 'boom') throw new Error('write failed');
      return write(chunk);
    }) as typeof stream.write;
    const channel = channelBuffer(muxer);
    channel.write(Buffer.from('boom'));
    // The buffer reports itself readable on the next tick; the multiplexer's pass runs here, not on its own turn.
    await new Promise((resolve) => process.nextTick(resolve));
    expect(() => muxer._readIncoming()).toThrow('write failed');
    expect(stream.writableCorked).toBe(0);
    channel.write(Buffer.from('after'));
    await settle();
    expect(frames).toEqual(['after']);
  });
});
