import { describe, expect, it } from 'vitest';

import { ConfigurationError, MessageTooLargeError, NotConnectedError } from '../errors.js';
import { encodeCloudEvent } from '../envelope/wire-codec.js';
import { silentLogger } from '../logger.js';
import { MemoryTransport } from './memory/memory-transport.js';
import { checkMessageSize } from './message-size.js';
import { BASE_OPTION_KEYS, OptionsReader } from './transport-options.js';

const KEYS = [...BASE_OPTION_KEYS, 'stream'];

describe('OptionsReader', () => {
  it('refuses an unknown key, naming the transport and the keys it knows', () => {
    expect(() => new OptionsReader('nats', { url: 'nats://x', strem: 'S' }, KEYS)).toThrow(ConfigurationError);
    expect(() => new OptionsReader('nats', { strem: 'S' }, KEYS)).toThrow(/^nats transport: strem is not a known option; use url, tls, .*stream\.$/);
  });

  it('refuses options that are not an object, and accepts none', () => {
    expect(() => new OptionsReader('mqtt', 'mqtt://x', KEYS)).toThrow(/mqtt transport: options must be an object, got 'mqtt:\/\/x'/);
    expect(() => new OptionsReader('mqtt', [], KEYS)).toThrow(/must be an object/);
    expect(new OptionsReader('mqtt', undefined, KEYS).duration('publishTimeoutMs', 5000)).toBe(5000);
  });

  it('still reads a renamed option, and the current name wins over it', () => {
    const renamed = { confirmTimeoutMs: 'publishTimeoutMs' };
    expect(new OptionsReader('rabbitmq', { confirmTimeoutMs: 250 }, KEYS, renamed).duration('publishTimeoutMs', 10_000)).toBe(250);
    expect(new OptionsReader('rabbitmq', { confirmTimeoutMs: 250, publishTimeoutMs: 900 }, KEYS, renamed).duration('publishTimeoutMs', 10_000)).toBe(900);
    expect(() => new OptionsReader('rabbitmq', { confirmTimeoutMs: -1 }, KEYS, renamed).duration('publishTimeoutMs', 1)).toThrow(
      /publishTimeoutMs must be an integer of at least 1, got -1/,
    );
  });

  it('validates integers, durations, text, booleans and choices with messages that say what was wrong', () => {
    const read = new OptionsReader('nats', { connectTimeoutMs: 2 ** 31, publishTimeoutMs: 1.5, url: '', connectionName: 'x'.repeat(300), stream: 7 }, KEYS);
    expect(() => read.duration('connectTimeoutMs', 1)).toThrow(/at most 2147483647 ms/);
    expect(() => read.duration('publishTimeoutMs', 1)).toThrow(/must be an integer of at least 1, got 1.5/);
    expect(() => read.text('url', 'nats://localhost')).toThrow(/url must be a non-empty string, got ''/);
    expect(read.text('url', 'd', { allowEmpty: true })).toBe('');
    expect(() => read.optionalText('connectionName', { maxBytes: 255, maxBytesReason: 'the broker shows 255' })).toThrow(/at most 255 bytes \(the broker shows 255\)/);
    expect(() => read.oneOf('stream', ['a', 'b'], 'a')).toThrow(/stream must be 'a' or 'b', got 7/);
    expect(() => new OptionsReader('x', { tls: true }, KEYS).object('tls', ['ca'])).toThrow(/tls must be an object with ca/);
    expect(() => new OptionsReader('x', { tls: { ca: 'c', cert: 'd' } }, KEYS).object('tls', ['ca'])).toThrow(/tls\.cert is not a known option; use ca/);
    expect(() => new OptionsReader('x', { logger: 42 }, KEYS).logger()).toThrow(/logger must have debug, info, warn and error methods/);
    expect(new OptionsReader('x', { logger: silentLogger }, KEYS).logger()).toBe(silentLogger);
  });

  it('reads tls the same for every transport: PEM in each form Node takes, the transport\'s own keys, nothing else', () => {
    const pem = '-----BEGIN CERTIFICATE-----';
    const tls = (value: unknown, extra = {}) => new OptionsReader('x', { tls: value }, KEYS).tls(extra);
    expect(tls(undefined)).toBeUndefined();
    const given = { ca: [pem, Buffer.from(pem)], cert: Buffer.from(pem), key: [{ pem, passphrase: 'p' }], rejectUnauthorized: false, servername: 'h' };
    expect(tls(given, { servername: 'string' })).toEqual(given);
    expect(() => tls({ ca: 42 })).toThrow(/^x transport: tls\.ca must be PEM: a string, a Buffer, or an array of them, got 42\.$/);
    expect(() => tls({ ca: [] })).toThrow(/tls\.ca must be PEM/);
    expect(() => tls({ cert: [{ pem }] })).toThrow(/tls\.cert must be PEM/);
    expect(() => tls({ key: [{ pem: 1 }] })).toThrow(/tls\.key must be PEM: .* \(or of \{ pem, passphrase \}\)/);
    expect(() => tls({ rejectUnauthorized: 'no' })).toThrow(/tls\.rejectUnauthorized must be a boolean, got 'no'/);
    expect(() => tls({ handshakeFirst: 1 }, { handshakeFirst: 'boolean' })).toThrow(/tls\.handshakeFirst must be a boolean, got 1/);
    expect(() => tls({ servername: 'h' })).toThrow(/tls\.servername is not a known option; use ca, cert, key, rejectUnauthorized\./);
    expect(() => tls('yes')).toThrow(/tls must be an object/);
  });
});

describe('checkMessageSize', () => {
  const message = encodeCloudEvent({ specversion: '1.0', id: 'e-1', source: '/t', type: 't.v1', datacontenttype: 'application/json', data: { text: 'x'.repeat(100) } });

  it('throws MessageTooLargeError with the id, the size and the limit', () => {
    expect(() => checkMessageSize({ id: 'e-1', type: 't.v1', message }, 10_000)).not.toThrow();
    const error = (() => {
      try {
        checkMessageSize({ id: 'e-1', type: 't.v1', message }, 50);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({ eventId: 'e-1', limit: 50 });
    expect(() => checkMessageSize({ id: 'e-1', type: 't.v1', message }, 10_000, 10_001)).toThrow(MessageTooLargeError);
  });
});

describe('memory transport before connect()', () => {
  it('refuses publish and subscribe with NotConnectedError, as the broker transports do', async () => {
    const transport = new MemoryTransport({ broker: `not-connected-${Date.now()}` });
    await expect(transport.publish([])).rejects.toBeInstanceOf(NotConnectedError);
    await expect(transport.subscribe({ name: 's', types: ['t.v1'], concurrency: 1 } as never, () => undefined)).rejects.toThrow(
      /call connect\(\) before subscribe\(\)/,
    );
    await transport.connect();
    await transport.close();
    await expect(transport.publish([])).rejects.toThrow(/cannot publish after close/);
  });
});
