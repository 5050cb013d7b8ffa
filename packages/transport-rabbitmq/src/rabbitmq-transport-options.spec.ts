import { ConfigurationError } from '@cloudbus/core';
import { describe, expect, it } from 'vitest';

import { resolveRabbitMqOptions, toAmqpConnectArguments } from './rabbitmq-transport-options.js';

describe('rabbitmq transport options', () => {
  it('connects to amqp://localhost:5672 as guest on vhost / when no URL is given', () => {
    const { url } = toAmqpConnectArguments(resolveRabbitMqOptions());
    expect(url).toMatchObject({ protocol: 'amqp', hostname: 'localhost', port: 5672, username: 'guest', password: 'guest', vhost: '/' });
  });

  it('reads credentials, port, a percent-encoded vhost and the heartbeat from the URL', () => {
    const { url } = toAmqpConnectArguments(resolveRabbitMqOptions({ url: 'amqp://mario:p%40ss%2Fword@rabbit.local:5673/pizza%2Fprod?heartbeat=15' }));
    expect(url).toMatchObject({ hostname: 'rabbit.local', port: 5673, username: 'mario', password: 'p@ss/word', vhost: 'pizza/prod', heartbeat: 15 });
  });

  it('takes a cluster as a comma-separated URL list: every node, in order, on one virtual host', () => {
    const options = resolveRabbitMqOptions({ url: 'amqp://mario:one@rabbit-1:5672/shop, amqp://mario:two@rabbit-2:5673/shop,amqp://rabbit-3/shop' });
    expect(options.nodes.map((node) => [node.hostname, node.port, node.username, node.password])).toEqual([
      ['rabbit-1', 5672, 'mario', 'one'],
      ['rabbit-2', 5673, 'mario', 'two'],
      ['rabbit-3', 5672, 'guest', 'guest'],
    ]);
    expect(options.endpoint).toBe('amqp://rabbit-1:5672/shop,amqp://rabbit-2:5673/shop,amqp://rabbit-3:5672/shop');
    expect(toAmqpConnectArguments(options, options.nodes[1]).url).toMatchObject({ hostname: 'rabbit-2', port: 5673, password: 'two', vhost: 'shop' });
    expect(() => resolveRabbitMqOptions({ url: 'amqp://rabbit-1/shop,amqp://rabbit-2/other' })).toThrow(/must share one virtual host; got 'shop' and 'other'/);
    expect(() => resolveRabbitMqOptions({ url: 'amqp://rabbit-1,,amqp://rabbit-2' })).toThrow(/empty entry/);
    expect(() => resolveRabbitMqOptions({ url: 'amqp://rabbit-1,amqps://rabbit-2' })).toThrow(/must all be amqp:\/\/ or all amqps:\/\//);
    // The faulty entry is named by its place, never quoted (it may hold a password).
    expect(() => resolveRabbitMqOptions({ url: 'amqp://rabbit-1,http://u:hunter2@rabbit-2' })).toThrow(/^rabbitmq transport: URL 2 of 2 must start with amqp:\/\/ or amqps:\/\/, got 'http:\/\/'\.$/);
  });

  it('lets username and password options override the URL', () => {
    const { url } = toAmqpConnectArguments(resolveRabbitMqOptions({ url: 'amqp://a:b@h', username: 'luigi', password: 's3cret' }));
    expect(url).toMatchObject({ username: 'luigi', password: 's3cret' });
  });

  it('hands ca, cert, key, passphrase, servername and rejectUnauthorized to the TLS socket for amqps://', () => {
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----ca');
    const { url, socketOptions } = toAmqpConnectArguments(
      resolveRabbitMqOptions({
        url: 'amqps://mario:secret@rabbit.example.com',
        tls: { ca, cert: 'CERT PEM', key: 'KEY PEM', passphrase: 'pp', servername: 'broker.internal', rejectUnauthorized: true },
      }),
    );
    expect(url).toMatchObject({ protocol: 'amqps', hostname: 'rabbit.example.com', port: 5671 });
    expect(socketOptions).toMatchObject({ ca, cert: 'CERT PEM', key: 'KEY PEM', passphrase: 'pp', servername: 'broker.internal', rejectUnauthorized: true });
  });

  it('names the connection after the service', () => {
    const { socketOptions } = toAmqpConnectArguments(resolveRabbitMqOptions({ connectionName: 'pizzeria' }));
    expect(socketOptions['clientProperties']).toEqual({ connection_name: 'pizzeria' });
  });

  it('refuses TLS options on a plain amqp:// URL, saying to use amqps://', () => {
    expect(() => resolveRabbitMqOptions({ url: 'amqp://h', tls: { ca: 'x' } })).toThrow(/use amqps:\/\//);
  });

  it('refuses other schemes, unknown options and bad numbers with a ConfigurationError', () => {
    expect(() => resolveRabbitMqOptions({ url: 'http://h' })).toThrow(ConfigurationError);
    expect(() => resolveRabbitMqOptions({ url: 'nats://h' })).toThrow(/amqp:\/\/ or amqps:\/\//);
    expect(() => resolveRabbitMqOptions({ exchagne: 'x' } as never)).toThrow(/rabbitmq transport: exchagne is not a known option; use url, /);
    expect(() => resolveRabbitMqOptions({ maxMessageBytes: 10 })).toThrow(/maxMessageBytes/);
    expect(() => resolveRabbitMqOptions({ queueType: 'stream' as never })).toThrow(/queueType/);
    expect(() => resolveRabbitMqOptions({ closeTimeoutMs: 0 })).toThrow(/closeTimeoutMs must be an integer of at least 1, got 0/);
    expect(() => resolveRabbitMqOptions({ closeTimeoutMs: 2.5 })).toThrow(/closeTimeoutMs/);
  });

  it('never quotes the password of a URL it cannot parse', () => {
    let message = '';
    try {
      resolveRabbitMqOptions({ url: 'amqp://mario:hunter2@[bad' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/URL is not valid/);
    expect(message).not.toContain('hunter2');
  });

  it('waits 5 s for the broker when closing unless told otherwise', () => {
    expect(resolveRabbitMqOptions().closeTimeoutMs).toBe(5_000);
    expect(resolveRabbitMqOptions({ closeTimeoutMs: 750 }).closeTimeoutMs).toBe(750);
  });

  it('bounds connection set-up and publish confirms at 30 s unless told otherwise, and refuses a bound under 1 ms', () => {
    expect(resolveRabbitMqOptions()).toMatchObject({ setupTimeoutMs: 30_000, publishTimeoutMs: 30_000 });
    expect(resolveRabbitMqOptions({ setupTimeoutMs: 2_000, publishTimeoutMs: 1_500 })).toMatchObject({ setupTimeoutMs: 2_000, publishTimeoutMs: 1_500 });
    // confirmTimeoutMs, the former name, is still read; publishTimeoutMs wins when both are given.
    expect(resolveRabbitMqOptions({ confirmTimeoutMs: 1_500 })).toMatchObject({ publishTimeoutMs: 1_500 });
    expect(resolveRabbitMqOptions({ confirmTimeoutMs: 1_500, publishTimeoutMs: 2_500 })).toMatchObject({ publishTimeoutMs: 2_500 });
    expect(() => resolveRabbitMqOptions({ setupTimeoutMs: 0 })).toThrow(/setupTimeoutMs must be an integer of at least 1, got 0/);
    expect(() => resolveRabbitMqOptions({ confirmTimeoutMs: -5 })).toThrow(/publishTimeoutMs must be an integer of at least 1, got -5/);
    expect(() => resolveRabbitMqOptions({ confirmTimeoutMs: '30s' as never })).toThrow(/publishTimeoutMs must be an integer of at least 1, got '30s'/);
    // Node fires a timer of more than 2^31 - 1 ms after 1 ms: every publish would time out at once.
    expect(() => resolveRabbitMqOptions({ confirmTimeoutMs: 3_000_000_000 })).toThrow(/publishTimeoutMs must be at most 2147483647 ms/);
    expect(() => resolveRabbitMqOptions({ setupTimeoutMs: 2 ** 31 })).toThrow(/setupTimeoutMs must be at most/);
  });

  it('describes the endpoint without credentials', () => {
    expect(resolveRabbitMqOptions({ url: 'amqp://mario:hunter2@rabbit:5672/shop' }).endpoint).toBe('amqp://rabbit:5672/shop');
  });
});
