import { ConfigurationError, createTransport } from '@cloudbus/core';
import { describe, expect, it } from 'vitest';

import './index.js';
import { NatsTransport } from './nats-transport.js';
import { resolveNatsOptions } from './nats-transport-options.js';

describe('nats transport options', () => {
  it('applies the documented defaults', () => {
    const options = resolveNatsOptions();
    expect(options).toMatchObject({
      servers: ['nats://localhost:4222'],
      stream: 'CLOUDBUS',
      subjectPrefix: 'cloudbus',
      deadLetterStream: 'CLOUDBUS_DLQ',
      deadLetterSubjectPrefix: 'cloudbus_dlq',
      ackWaitMs: 30_000,
      maxDeliver: -1,
      maxAckPending: undefined,
      duplicateWindowMs: 120_000,
      maxAgeMs: 604_800_000,
      deadLetterMaxAgeMs: 2_592_000_000,
      replicas: 1,
      startFrom: 'new',
      maxReconnectAttempts: -1,
    });
  });

  it('takes user and password, or a token, from the URL, and keeps them out of the endpoint', () => {
    const withUser = resolveNatsOptions({ url: 'nats://alice:s%40cret@host:4333' });
    expect(withUser.auth).toEqual({ user: 'alice', pass: 's@cret' });
    expect(withUser.servers).toEqual(['nats://host:4333']);
    expect(withUser.endpoint).not.toContain('cret');
    expect(resolveNatsOptions({ url: 'nats://t0ken@host' }).auth).toEqual({ token: 't0ken' });
    expect(resolveNatsOptions({ url: 'nats://a:4222, tls://b:4223' }).servers).toEqual(['nats://a:4222', 'tls://b:4223']);
  });

  it('prefers explicit auth over the URL', () => {
    expect(resolveNatsOptions({ url: 'nats://u:p@h', auth: { token: 'x' } }).auth).toEqual({ token: 'x' });
  });

  it('refuses bad options with a ConfigurationError that says how to fix them, never echoing credentials', () => {
    const cases: [object, RegExp][] = [
      [{ url: 'amqp://h' }, /must start with nats:\/\//],
      [{ url: 'nats://user:hunter2@' }, /not valid|no host/],
      [{ stream: 'a.b' }, /stream must be/],
      [{ subjectPrefix: 'a.*' }, /subjectPrefix must be/],
      [{ subjectPrefix: 'x', deadLetterSubjectPrefix: 'x.dead' }, /overlaps/],
      [{ stream: 'S', deadLetterStream: 'S' }, /must differ/],
      [{ ackWaitMs: 10 }, /ackWaitMs must be an integer of at least 100/],
      [{ maxDeliver: 0 }, /maxDeliver must be -1/],
      [{ maxAckPending: 0 }, /maxAckPending/],
      [{ startFrom: 'first' }, /startFrom must be 'new' or 'all'/],
      [{ replicas: 0 }, /replicas must be an integer from 1 to 5/],
      [{ replicas: 6 }, /replicas must be an integer from 1 to 5/],
      [{ replicas: 2.5 }, /replicas must be an integer from 1 to 5/],
      [{ replicas: '3' }, /replicas must be an integer from 1 to 5/],
      [{ auth: { user: 'u' } }, /auth must be/],
      [{ tls: { verify: true } }, /tls.verify is not a known option/],
    ];
    for (const [options, message] of cases) {
      let error: unknown;
      try {
        resolveNatsOptions(options);
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('refuses unknown keys, naming the known ones', () => {
    expect(() => resolveNatsOptions({ steam: 'S' } as object)).toThrow(/nats transport: steam is not a known option; use url, .*stream/);
    expect(() => resolveNatsOptions({ reconnectMinDelayMs: 100 })).toThrow(/reconnectMinDelayMs has no NATS counterpart.*reconnectTimeWaitMs/);
  });

  it('reads publishTimeoutMs, and requestTimeoutMs as its former name', () => {
    expect(resolveNatsOptions().publishTimeoutMs).toBe(10_000);
    expect(resolveNatsOptions({ publishTimeoutMs: 2_500 }).publishTimeoutMs).toBe(2_500);
    expect(resolveNatsOptions({ requestTimeoutMs: 3_000 }).publishTimeoutMs).toBe(3_000);
    expect(resolveNatsOptions({ requestTimeoutMs: 3_000, publishTimeoutMs: 4_000 }).publishTimeoutMs).toBe(4_000);
    expect(() => resolveNatsOptions({ requestTimeoutMs: 10 })).toThrow(/publishTimeoutMs must be an integer from 100 to 2147483647, got 10/);
  });

  it('maps username and password to user and password auth, over the URL, and refuses them with auth', () => {
    expect(resolveNatsOptions({ url: 'nats://u:p@h', username: 'alice', password: 's3cret' }).auth).toEqual({ user: 'alice', pass: 's3cret' });
    expect(() => resolveNatsOptions({ username: 'alice', password: 's3cret', auth: { token: 't' } })).toThrow(/either auth or username and password/);
    expect(() => resolveNatsOptions({ username: 'alice' })).toThrow(/username and password go together/);
    expect(() => resolveNatsOptions({ password: 's3cret' })).toThrow(/username and password go together/);
  });

  it('is registered as nats, taking the bus URL and the service as connection name', async () => {
    const transport = await createTransport('nats', { url: 'nats://example:4999', service: 'pizzeria', options: { stream: 'PIZZA' } });
    expect(transport).toBeInstanceOf(NatsTransport);
    const options = (transport as NatsTransport).options;
    expect(options.servers).toEqual(['nats://example:4999']);
    expect(options.stream).toBe('PIZZA');
    expect(options.connectionName).toBe('pizzeria');
    await expect(createTransport('nats', { service: 's', options: { ackWaitMs: -1 } })).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('declares what JetStream offers', () => {
    expect(new NatsTransport().capabilities).toEqual({
      maxMessageBytes: 1_048_576,
      binaryMode: true,
      nativeDelayedRedelivery: true,
      publishDeduplication: true,
      ordered: true,
      durable: true,
    });
  });
});
